// The executor's run loop over src/sched's lane scheduler: every resident
// model's requests wait here, and each decision starts device runs, one per
// lane that can run, concurrently (each its own ORT run call in flight).
// Runs in one lane are one at a time; a model that fits no lane waits;
// requests that can never fit fail with RESOURCE_EXHAUSTED. The clock is the
// process's monotonic one; decisions happen on enqueue and on completion.
import { TensorshareError } from '../errors.js';
import type { DevicePolicy } from '../sched/device-policy.js';
import type { PriorityClass } from '../sched/dispatcher.js';
import {
  type DeviceModelSpec,
  type DeviceRun,
  type LaneSnapshot,
  type RealtimeLoad,
  createLaneScheduler,
} from '../sched/lanes-scheduler.js';

/** Where and when a request ran on the device (executor clock, ms). */
export interface RunPlacement {
  lane: number;
  /** Runs on the device when it started, its own included. */
  concurrent: number;
  queuedMs: number;
  startedAt: number;
  endedAt: number;
}

export interface LaneJob<R> {
  rows: number;
  group: string;
  priority: PriorityClass;
  tenant?: string;
  /** The function's own policy among the model's requests (lanes-scheduler.ts); default the executor's. */
  policy?: DevicePolicy;
  resolve(r: R, placement: RunPlacement): void;
  reject(e: unknown): void;
}

/** Runs a batch of one model's jobs (`rows` in all); one result per job, in order. */
export type RunJobs<R> = (jobs: LaneJob<R>[], run: { rows: number }) => Promise<R[]>;

export interface DeviceLanesOptions {
  capacity: number;
  policy: DevicePolicy;
  maxBatchRows: number;
  weights?: Readonly<Record<string, number>>;
  now?: () => number;
}

export type DeviceLanes = ReturnType<typeof createDeviceLanes>;

export function createDeviceLanes(o: DeviceLanesOptions) {
  const now = o.now ?? (() => performance.now());
  const sched = createLaneScheduler({
    capacity: o.capacity,
    policy: o.policy,
    maxBatchRows: o.maxBatchRows,
    weights: o.weights,
  });
  // biome-ignore lint/suspicious/noExplicitAny: each model's jobs carry that model's result type
  const runners = new Map<string, RunJobs<any>>();
  // biome-ignore lint/suspicious/noExplicitAny: as above
  const jobs = new Map<number, LaneJob<any>>();
  const depth = new Map<string, number>();
  const bump = (key: string, n: number) => depth.set(key, (depth.get(key) ?? 0) + n);

  function start(run: DeviceRun): void {
    const batch = run.requests.map((r) => jobs.get(r.id)!);
    for (const r of run.requests) jobs.delete(r.id);
    const run_ = runners.get(run.key);
    const settle = (results: unknown[] | undefined, error: unknown) => {
      const endedAt = now();
      sched.complete(run, endedAt - run.startedAt);
      bump(run.key, -batch.length);
      for (const [i, j] of batch.entries()) {
        if (error !== undefined) j.reject(error);
        else
          j.resolve(results![i], {
            lane: run.lane,
            concurrent: run.concurrent,
            queuedMs: run.startedAt - run.requests[i]!.enqueuedAt,
            startedAt: run.startedAt,
            endedAt,
          });
      }
      pump();
    };
    if (!run_) {
      settle(undefined, new TensorshareError('ERR_UNAVAILABLE', `model ${run.key} was unloaded from the device`));
      return;
    }
    run_(batch, { rows: run.rows }).then(
      (results) => settle(results, undefined),
      (e) => settle(undefined, e ?? new Error('device run failed')),
    );
  }

  function pump(): void {
    const d = sched.next(now());
    for (const { request, error } of d.rejected) {
      const j = jobs.get(request.id);
      jobs.delete(request.id);
      bump(request.key, -1);
      j?.reject(error);
    }
    for (const run of d.start) start(run);
  }

  return {
    /** A model is resident: its bytes join the lanes' accounting (RESOURCE_EXHAUSTED when its P does not fit). */
    add<R>(key: string, spec: DeviceModelSpec, run: RunJobs<R>): void {
      sched.addModel(key, spec);
      runners.set(key, run);
    },
    /** A larger ephemeral peak was measured for a model. */
    updateEphemeral(key: string, bytes: number): void {
      if (sched.has(key)) sched.updateEphemeral(key, bytes);
    },
    submit<R>(key: string, job: LaneJob<R>): void {
      const r = sched.enqueue(
        {
          key,
          priority: job.priority,
          tenant: job.tenant,
          rows: job.rows,
          group: job.group,
          ...(job.policy ? { policy: job.policy } : {}),
        },
        now(),
      );
      jobs.set(r.id, job);
      bump(key, 1);
      pump();
    },
    /** The model leaves: its queued jobs fail with `error`; a run in flight finishes. */
    remove(key: string, error: Error): void {
      runners.delete(key);
      for (const r of sched.removeModel(key)) {
        const j = jobs.get(r.id);
        jobs.delete(r.id);
        bump(key, -1);
        j?.reject(error);
      }
      pump();
    },
    /** Requests of a model waiting or on the device. */
    depth: (key: string) => depth.get(key) ?? 0,
    snapshot: (): LaneSnapshot => sched.snapshot(),
    /** The realtime pressure now (queued, oldest wait): what the gateway's GPU -> CPU fallback samples. */
    realtimeLoad: (): RealtimeLoad => sched.realtimeLoad(now()),
    policy: o.policy,
  };
}
