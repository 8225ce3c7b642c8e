// `sim sched`'s engine: a job trace on simulated GPUs under the device
// executor's own code. Each GPU is one createLaneScheduler (src/sched/
// lanes-scheduler.ts: Salus's lanes and Algorithm 1, the device policies,
// realtime first), exactly as src/device/device-lanes.ts drives it in the
// executor: enqueue a request, ask next(now) for the runs to start, tell
// complete(run, serviceMs) when one ends. Jobs are placed on a GPU by
// src/sched/packing.ts's placeOne (best fit over memory and load), and wait
// in arrival order while no GPU can take them. Time is the event queue's.
//
// A job is a resident model of its own (P persistent bytes, E ephemeral
// bytes) whose requests are its iterations, one iteration per run. What is
// not the product's code is the device itself: a run takes iterationMs alone,
// and runs that share a GPU slow each other down when their utilizations add
// up to more than the device (processor sharing: every run on the GPU
// progresses at 1 / max(1, sum of utilizations) of its speed alone).
//
// `submit: queue` jobs hand every iteration over at admission. The engine
// keeps only the next one in the scheduler (enqueued at the admission time,
// as it was handed over): for a model that runs one request per run the
// scheduler only ever looks at the head of its queue, so the decisions are
// those of the full queue (checked in simulate.test.ts) without sorting
// thousands of waiting iterations on every decision.
import { percentile } from '../../bench/stats.js';
import type { DevicePolicy } from '../../sched/device-policy.js';
import { type DeviceRun, type LaneScheduler, createLaneScheduler } from '../../sched/lanes-scheduler.js';
import { type PackDevice, type PackModel, type Placement, placeOne } from '../../sched/packing.js';
import { createEventQueue } from '../event-queue.js';
import { type Progress, noProgress } from '../progress.js';
import type { SchedJob } from './trace.js';

export interface SimSchedOptions {
  policy: DevicePolicy;
  /** Bytes of each simulated GPU (one lane scheduler each). */
  devices: readonly number[];
  /** srtf: ms of score gained per ms waited (the lane scheduler's default when unset). */
  agingRate?: number;
  /** fair: weight per tenant. */
  weights?: Readonly<Record<string, number>>;
  progress?: Progress;
  /** Keep every run start (device, job, lane), e.g. to compare with the live executor. */
  recordStarts?: boolean;
  /** Materialize every iteration of a queue job in the scheduler (slow; the equivalence test). */
  fullQueues?: boolean;
}

export interface JobResult {
  id: string;
  model?: string;
  kind?: string;
  device?: number;
  arrivalMs: number;
  admittedMs?: number;
  startedMs?: number;
  finishedMs?: number;
  /** First run's start - arrival (Salus's queuing time). */
  queuingMs?: number;
  /** Finish - arrival (job completion time). */
  completionMs?: number;
  /** Why it never finished (its runs were refused, or no GPU could ever hold it). */
  failed?: string;
}

export interface RunStart {
  at: number;
  device: number;
  job: string;
  lane: number;
  concurrent: number;
}

export interface SimSchedResult {
  policy: DevicePolicy;
  devices: number;
  jobs: JobResult[];
  finished: number;
  failed: number;
  makespanMs: number;
  avgQueuingMs: number;
  avgCompletionMs: number;
  p95CompletionMs: number;
  /** Runs started (iterations). */
  runs: number;
  /** Most runs on one GPU at once. */
  peakConcurrent: number;
  /** Time-weighted mean of runs on a GPU while it was busy. */
  meanConcurrent: number;
  /** Arrivals, run starts and run ends handled. */
  events: number;
  wallMs: number;
  eventsPerSecond: number;
  starts?: RunStart[];
}

interface Running {
  run: DeviceRun;
  job: JobState;
  /** ms of work left at full speed. */
  remaining: number;
}

interface DeviceState {
  index: number;
  sched: LaneScheduler;
  running: Map<number, Running>;
  lastT: number;
  /** max(1, sum of the running runs' utilizations). */
  slow: number;
  version: number;
  busyMs: number;
  concurrentMs: number;
}

interface JobState {
  job: SchedJob;
  device?: DeviceState;
  /** Iterations handed to the scheduler, and finished. */
  handed: number;
  done: number;
  admittedMs?: number;
  startedMs?: number;
  finishedMs?: number;
  failed?: string;
}

type Event = { kind: 'arrive'; job: JobState } | { kind: 'finish'; device: DeviceState; version: number };

const EPS = 1e-7;

export function simulateSched(trace: readonly SchedJob[], o: SimSchedOptions): SimSchedResult {
  const t0 = performance.now();
  const progress = o.progress ?? noProgress;
  const devices: DeviceState[] = o.devices.map((capacity, index) => ({
    index,
    sched: createLaneScheduler({
      capacity,
      policy: o.policy,
      maxBatchRows: 1,
      agingRate: o.agingRate,
      weights: o.weights,
    }),
    running: new Map(),
    lastT: 0,
    slow: 1,
    version: 0,
    busyMs: 0,
    concurrentMs: 0,
  }));
  const packDevices: PackDevice[] = o.devices.map((capacity, index) => ({ index, capacity }));
  const placement: Placement = new Map(packDevices.map((d) => [d.index, []]));
  const placed = new Map<string, PackModel>();
  const states = new Map<string, JobState>();
  const queue = createEventQueue<Event>();
  const pending: JobState[] = [];
  const starts: RunStart[] = [];
  let events = 0;
  let runs = 0;
  let peak = 0;
  const totalEvents = trace.length + 2 * trace.reduce((a, j) => a + j.iterations, 0);

  for (const job of trace) {
    const s: JobState = { job, handed: 0, done: 0 };
    states.set(job.id, s);
    queue.push(job.arrivalMs, { kind: 'arrive', job: s });
  }

  const packModel = (j: SchedJob, load: number): PackModel => ({
    key: j.id,
    persistentBytes: j.persistentBytes,
    ephemeralBytes: j.ephemeralBytes,
    load,
  });

  /** Moves a GPU's runs forward to `now` at their shared speed. */
  function advance(d: DeviceState, now: number): void {
    const dt = now - d.lastT;
    if (dt > 0 && d.running.size > 0) {
      for (const r of d.running.values()) r.remaining -= dt / d.slow;
      d.busyMs += dt;
      d.concurrentMs += dt * d.running.size;
    }
    d.lastT = now;
  }

  /** The next run end of a GPU (one live event per GPU; older ones are stale by version). */
  function reschedule(d: DeviceState, now: number): void {
    d.version++;
    let u = 0;
    let least = Infinity;
    for (const r of d.running.values()) {
      u += r.job.job.utilization;
      least = Math.min(least, r.remaining);
    }
    d.slow = Math.max(1, u);
    if (d.running.size > 0)
      queue.push(now + Math.max(0, least) * d.slow, { kind: 'finish', device: d, version: d.version });
  }

  function hand(s: JobState, now: number): void {
    const j = s.job;
    s.handed++;
    s.device!.sched.enqueue({ key: j.id, priority: j.priority, tenant: j.tenant, rows: 1, group: '' }, now);
  }

  /** next(now) on a GPU: start what the policy starts, fail what can never fit. */
  function pump(d: DeviceState, now: number): void {
    const decision = d.sched.next(now);
    for (const { request, error } of decision.rejected) {
      const s = states.get(request.key)!;
      if (!s.failed) {
        s.failed = error.message;
        leave(s, now);
      }
    }
    if (decision.start.length === 0) return;
    advance(d, now);
    for (const run of decision.start) {
      const s = states.get(run.key)!;
      s.startedMs ??= now;
      d.running.set(run.id, { run, job: s, remaining: s.job.iterationMs });
      runs++;
      events++;
      if (o.recordStarts)
        starts.push({ at: now, device: d.index, job: run.key, lane: run.lane, concurrent: run.concurrent });
      if (s.job.submit === 'queue' && s.handed < s.job.iterations) hand(s, s.admittedMs!);
    }
    peak = Math.max(peak, d.running.size);
    reschedule(d, now);
  }

  function leave(s: JobState, now: number): void {
    const d = s.device;
    if (!d) return;
    d.sched.removeModel(s.job.id);
    placed.delete(s.job.id);
    placement.set(
      d.index,
      placement.get(d.index)!.filter((k) => k !== s.job.id),
    );
    placementVersion++;
    pump(d, now);
  }

  /** Where placeOne puts the first waiting job: recomputed only when the placement changed. */
  let placementVersion = 0;
  let choice: { version: number; job: JobState; index: number | undefined } | undefined;

  function chooseDevice(s: JobState): number | undefined {
    if (choice && choice.version === placementVersion && choice.job === s) return choice.index;
    const j = s.job;
    const models = [...placed.values()];
    // A GPU with compute to spare first (best fit over memory and load), else any whose memory holds it.
    let index = placeOne(packDevices, models, placement, packModel(j, j.utilization), { maxLoad: 1 });
    if (index === undefined)
      index = placeOne(
        packDevices,
        models.map((m) => ({ ...m, load: 0 })),
        placement,
        packModel(j, 0),
        { maxLoad: 1 },
      );
    choice = { version: placementVersion, job: s, index };
    return index;
  }

  /** Admits waiting jobs in arrival order while a GPU takes the next one. */
  function admit(now: number): void {
    while (pending.length > 0) {
      const s = pending[0]!;
      const j = s.job;
      const index = chooseDevice(s);
      if (index === undefined) {
        if (!placed.size && devices.every((d) => d.running.size === 0)) {
          // Nothing is resident and it still fits nowhere: it never will.
          s.failed = `needs ${j.persistentBytes + j.ephemeralBytes} bytes (P + E) and no GPU has that many`;
          pending.shift();
          continue;
        }
        return;
      }
      const d = devices[index]!;
      // Its P must also fit beside the lanes open now (addModel refuses it otherwise): else wait for them to shrink.
      if (d.sched.snapshot().freeBytes < j.persistentBytes) return;
      d.sched.addModel(j.id, {
        persistentBytes: j.persistentBytes,
        ephemeralBytes: j.ephemeralBytes,
        batchable: false,
      });
      pending.shift();
      placed.set(j.id, packModel(j, j.utilization));
      placement.get(index)!.push(j.id);
      placementVersion++;
      s.device = d;
      s.admittedMs = now;
      if (o.fullQueues && j.submit === 'queue') for (let i = 0; i < j.iterations; i++) hand(s, now);
      else hand(s, now);
      pump(d, now);
    }
  }

  function finishRuns(d: DeviceState, now: number): void {
    advance(d, now);
    const ended = [...d.running.values()].filter((r) => r.remaining <= EPS * r.job.job.iterationMs + EPS);
    ended.sort((a, b) => a.run.id - b.run.id);
    for (const r of ended) d.running.delete(r.run.id);
    reschedule(d, now);
    for (const r of ended) {
      events++;
      const s = r.job;
      d.sched.complete(r.run, now - r.run.startedAt);
      s.done++;
      pump(d, now);
      if (s.done === s.job.iterations) {
        s.finishedMs = now;
        leave(s, now);
      } else if (s.job.submit === 'loop') {
        hand(s, now);
        pump(d, now);
      }
    }
    if (pending.length > 0) admit(now);
  }

  let now = 0;
  let steps = 0;
  for (let e = queue.pop(); e; e = queue.pop()) {
    now = e.at;
    const ev = e.event;
    if (ev.kind === 'arrive') {
      events++;
      pending.push(ev.job);
      admit(now);
    } else if (ev.version === ev.device.version) finishRuns(ev.device, now);
    if (++steps % 4096 === 0) progress.tick(events, totalEvents);
  }
  progress.tick(events, totalEvents);
  progress.stop();
  for (const s of pending) s.failed ??= 'never admitted: no GPU had room for it';

  const jobs: JobResult[] = [...states.values()].map((s) => ({
    id: s.job.id,
    model: s.job.model,
    kind: s.job.kind,
    device: s.device?.index,
    arrivalMs: s.job.arrivalMs,
    admittedMs: s.admittedMs,
    startedMs: s.startedMs,
    finishedMs: s.finishedMs,
    queuingMs: s.startedMs === undefined ? undefined : s.startedMs - s.job.arrivalMs,
    completionMs: s.finishedMs === undefined ? undefined : s.finishedMs - s.job.arrivalMs,
    failed: s.failed ?? (s.finishedMs === undefined ? 'did not finish' : undefined),
  }));
  const done = jobs.filter((j) => j.completionMs !== undefined);
  const avg = (xs: number[]) => (xs.length ? xs.reduce((a, b) => a + b, 0) / xs.length : 0);
  const firstArrival = Math.min(...trace.map((j) => j.arrivalMs));
  const lastFinish = Math.max(firstArrival, ...done.map((j) => j.finishedMs!));
  const busy = devices.reduce((a, d) => a + d.busyMs, 0);
  const wallMs = performance.now() - t0;
  return {
    policy: o.policy,
    devices: devices.length,
    jobs,
    finished: done.length,
    failed: jobs.length - done.length,
    makespanMs: lastFinish - firstArrival,
    avgQueuingMs: avg(done.map((j) => j.queuingMs!)),
    avgCompletionMs: avg(done.map((j) => j.completionMs!)),
    p95CompletionMs: done.length
      ? percentile(
          done.map((j) => j.completionMs!),
          95,
        )
      : 0,
    runs,
    peakConcurrent: peak,
    meanConcurrent: busy > 0 ? devices.reduce((a, d) => a + d.concurrentMs, 0) / busy : 0,
    events,
    wallMs,
    eventsPerSecond: wallMs > 0 ? (events / wallMs) * 1000 : 0,
    ...(o.recordStarts ? { starts } : {}),
  };
}
