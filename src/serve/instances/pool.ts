// The instances of one function, as slots. Holds no queue and no timer: the
// scheduler (src/sched, through ../scheduling.ts) is where requests wait and
// where their deadlines live. The pool reports its slots (ready instances of
// the current deployment x maxConcurrency) whenever they change, as undici's
// clients emit 'drain', and run() routes a request to the least-loaded ready
// instance with a free slot; while a cold start is under way there are no
// slots and requests stay upstream. It starts and drains instances when the
// autoscaler asks, rolls a new deployment (new instances, old ones drain),
// and says when nothing can serve the requests waiting upstream (a start
// failed, no memory or cores, unloaded) so the scheduler fails them.
import { TensorshareError, isTensorshareError } from '../../errors.js';
import type { Clock, TimerHandle } from '../autoscaler/clock.js';
import { createConcurrencyMeter } from '../autoscaler/meter.js';
import type { KpaConfig, KpaDecision } from '../autoscaler/kpa.js';
import type { DeployedFunction } from '../functions/deploy.js';
import type { PriorityClass } from '../functions/config.js';
import type { InferRequest, InferResponse } from '../../tensor/index.js';
import type { EventSink } from './events.js';
import type { ExitInfo, ExitReason, Instance, InstanceResult } from './instance.js';

export interface RunOptions {
  /** Cooperative cancel: the instance is told to drop the request; the slot frees when it answers. */
  signal?: AbortSignal;
  /** performance.now() when the request arrived upstream: whether it waited for a cold start, and for how long. */
  arrivedAt?: number;
  /** 'cpu': the GPU -> CPU fallback of a `device: auto` function's besteffort work (the instance's CPU sessions). */
  device?: 'cpu';
  /** The request's class: an executor runs it in that class, also where it is not the function's own. */
  priority?: PriorityClass;
}

export interface InstanceHooks {
  onReady(inst: Instance): void;
  onExit(inst: Instance, info: ExitInfo): void;
}

export interface PoolOptions {
  deployed: DeployedFunction;
  clock: Clock;
  /** Starts an instance, or returns why it cannot now (ERR_RESOURCE_EXHAUSTED from the memory guard or the core budget). */
  spawn(d: DeployedFunction, hooks: InstanceHooks): Instance | TensorshareError;
  /** Frees memory for a blocked start if anything can; true when waiting makes sense. */
  reclaim(fn: string): boolean;
  /** Ask the autoscaler to decide for this function now. */
  poke(): void;
  emit: EventSink;
  /** The slots changed (an instance became ready, left, or drains; a new deployment): dispatch against the new count. */
  onSlots(slots: number): void;
  /** Nothing can serve the requests waiting upstream: fail them with this error. */
  onUnservable(error: TensorshareError): void;
}

export interface PoolStats {
  name: string;
  version: string;
  /** Runs waiting upstream of the pool (scheduler), as last reported. */
  backlog: number;
  inflight: number;
  /** Requests the ready instances take at once, and how many of those are free now. */
  slots: number;
  free: number;
  instances: { id: string; version: string; pid?: number; state: string; inflight: number; coldStartMs?: number }[];
  lastError?: string;
}

export interface FunctionPool {
  readonly name: string;
  readonly deployed: DeployedFunction;
  readonly closing: boolean;
  /** Requests the ready instances of the current deployment take at once (maxConcurrency each). */
  slots(): number;
  /** Slots not running anything now. */
  free(): number;
  /** Runs on the least-loaded ready instance with a free slot; ERR_UNAVAILABLE when there is none (dispatch only against free slots). */
  run(request: InferRequest, opts?: RunOptions): Promise<InferResponse>;
  scaleTo(desired: number, decision?: KpaDecision): void;
  /** Takes instance `id` out of rotation and replaces it (memory limit). */
  recycle(id: string, reason: ExitReason): void;
  update(deployed: DeployedFunction): void;
  /** Graceful: no new instances; serves what the scheduler still holds for it, then drains every instance. */
  close(reason: ExitReason): Promise<void>;
  /** Hard: kills every instance now (their requests fail with ERR_UNAVAILABLE). */
  destroy(reason: ExitReason): void;
  kpaConfig(): KpaConfig;
  counts(): { ready: number; current: number; starting: number; draining: number };
  stats(): PoolStats;
  /** Runs waiting upstream (the scheduler's queue, in batches): demand for the autoscaler. */
  setBacklog(runs: number): void;
  /** The upstream backlog, in runs. */
  waiting(): number;
  /** Average of in flight + backlog since the previous sample (the autoscaler's input). */
  sampleConcurrency(now: number): { dt: number; concurrency: number };
  /** In flight + backlog now. */
  concurrency(): number;
  /** Drains one idle instance beyond minInstances (memory for another function); true when one was. */
  evictIdle(): boolean;
}

const BACKOFF_MAX_MS = 30_000;

export function createPool(o: PoolOptions): FunctionPool {
  const name = o.deployed.name;
  let deployed = o.deployed;
  const instances = new Set<Instance>();
  const meter = createConcurrencyMeter(o.clock.now());
  let inflight = 0;
  let closing = false;
  let closeReason: ExitReason = 'close';
  let resolveClosed: (() => void) | undefined;
  const closed = new Promise<void>((r) => (resolveClosed = r));
  let failures = 0;
  let nextStartAt = 0;
  let backoffTimer: TimerHandle | undefined;
  let lastError: string | undefined;
  let memoryBlocked = false;
  let backlog = 0;
  let lastCounts = '';
  let lastSlots = 0;
  /** Evicted for another function's memory: stay at minInstances until a request comes. */
  let evicted = false;

  const measure = () => meter.set(inflight + backlog, o.clock.now());
  const isCurrentReady = (i: Instance) => i.state === 'ready' && i.version === deployed.version;
  function free() {
    let n = 0;
    for (const i of instances) if (isCurrentReady(i)) n += Math.max(0, deployed.config.maxConcurrency - i.inflight);
    return n;
  }
  function slots() {
    let n = 0;
    for (const i of instances) if (isCurrentReady(i)) n += deployed.config.maxConcurrency;
    return n;
  }
  // Emitted after every change of instance states, once the change is complete (the scheduler may dispatch from onSlots).
  const reportCounts = () => {
    const c = counts();
    const key = `${c.starting}/${c.ready}/${c.draining}`;
    if (key !== lastCounts) {
      lastCounts = key;
      o.emit({ type: 'instances', function: name, starting: c.starting, ready: c.ready, draining: c.draining });
    }
    const s = slots();
    if (s !== lastSlots) {
      lastSlots = s;
      o.onSlots(s);
    }
  };
  const live = () =>
    [...instances].filter((i) => i.version === deployed.version && (i.state === 'starting' || i.state === 'ready'));
  function counts() {
    let ready = 0,
      starting = 0,
      draining = 0;
    for (const i of instances) {
      if (i.state === 'draining') draining++;
      else if (i.version !== deployed.version) continue;
      else if (i.state === 'ready') ready++;
      else if (i.state === 'starting') starting++;
    }
    return { ready, starting, draining, current: ready + starting };
  }

  const pick = (): Instance | undefined => {
    let best: Instance | undefined;
    for (const i of instances) {
      if (!isCurrentReady(i) || i.inflight >= deployed.config.maxConcurrency) continue;
      if (!best || i.inflight < best.inflight) best = i;
    }
    return best;
  };

  const run = (request: InferRequest, opts: RunOptions): Promise<InferResponse> => {
    const inst = pick();
    if (!inst) {
      return Promise.reject(
        new TensorshareError(
          'ERR_UNAVAILABLE',
          `function '${name}' has no free instance slot (${free()} of ${slots()} free)`,
          { function: name },
        ),
      );
    }
    evicted = false;
    const startedAt = performance.now();
    const arrivedAt = opts.arrivedAt ?? startedAt;
    // The instance serving it became ready after the request arrived: it waited for that cold start.
    const coldStartMs = inst.readyAt !== undefined && arrivedAt < inst.readyAt ? inst.coldStartMs : undefined;
    inflight++;
    measure();
    const { id, result } = inst.request(request, opts.device, opts.priority);
    const signal = opts.signal;
    const onAbort = () => inst.cancel(id);
    signal?.addEventListener('abort', onAbort, { once: true });
    const report = (outcome: string, runMs?: number) =>
      o.emit({
        type: 'request',
        function: name,
        outcome,
        queueMs: startedAt - arrivedAt,
        runMs,
        coldStart: coldStartMs !== undefined,
      });
    const done = () => {
      signal?.removeEventListener('abort', onAbort);
      inflight--;
      measure();
      checkClose();
    };
    return result.then(
      (r: InstanceResult) => {
        done();
        report('ok', r.runMs);
        return response(request, r, coldStartMs, performance.now() - startedAt);
      },
      (e: Error) => {
        done();
        const err = signal?.aborted ? cancelled(name) : e;
        report(isTensorshareError(err) ? err.code : 'ERR_INTERNAL');
        throw err;
      },
    );
  };
  const response = (
    request: InferRequest,
    r: InstanceResult,
    coldStartMs: number | undefined,
    instanceMs: number,
  ): InferResponse => ({
    ...(request.id !== undefined ? { id: request.id } : {}),
    outputs: r.outputs,
    ...(r.parameters ? { parameters: r.parameters } : {}),
    // The pool holds no queue: waiting happened upstream, and the scheduler adds it.
    timing: {
      queueMs: 0,
      runMs: r.runMs,
      instanceMs,
      ...(coldStartMs !== undefined ? { coldStartMs } : {}),
      ...(r.formatMs !== undefined ? { formatMs: r.formatMs } : {}),
      ...(r.device ? { device: r.device } : {}),
    },
  });

  const tryStart = (): boolean => {
    const now = o.clock.now();
    if (now < nextStartAt) {
      if (backoffTimer === undefined) {
        backoffTimer = o.clock.setTimeout(() => {
          backoffTimer = undefined;
          o.poke();
        }, nextStartAt - now);
      }
      return false;
    }
    const r = o.spawn(deployed, { onReady, onExit });
    if (r instanceof TensorshareError) {
      if (!memoryBlocked) {
        memoryBlocked = true;
        if (r.details.resource === 'cores') {
          o.emit({
            type: 'cores-refused',
            function: name,
            requested: Number(r.details.requested ?? 0),
            available: Number(r.details.available ?? 0),
            total: Number(r.details.total ?? 0),
          });
        } else {
          o.emit({
            type: 'memory-refused',
            function: name,
            estimateBytes: Number(r.details.estimateBytes ?? 0),
            reservedBytes: Number(r.details.reservedBytes ?? 0),
            budgetBytes: Number(r.details.budgetBytes ?? 0),
          });
        }
      }
      if (live().length === 0 && backlog > 0 && !o.reclaim(name)) o.onUnservable(r);
      lastError = r.message;
      return false;
    }
    memoryBlocked = false;
    instances.add(r);
    o.emit({ type: 'instance-starting', function: name, version: r.version, instance: r.id, pid: r.pid });
    reportCounts();
    return true;
  };

  function onReady(inst: Instance) {
    failures = 0;
    nextStartAt = 0;
    const info = inst.readyInfo!;
    o.emit({
      type: 'instance-ready',
      function: name,
      version: inst.version,
      instance: inst.id,
      pid: inst.pid,
      coldStartMs: inst.coldStartMs!,
      openMs: info.openMs,
      handlerMs: info.handlerMs,
      models: info.models,
    });
    if (inst.version !== deployed.version || (closing && backlog === 0)) inst.drain(closing ? closeReason : 'update');
    reportCounts();
    checkClose();
  }

  function onExit(inst: Instance, info: ExitInfo) {
    instances.delete(inst);
    o.emit({
      type: 'instance-exit',
      function: name,
      version: inst.version,
      instance: inst.id,
      pid: inst.pid,
      reason: info.reason,
      code: info.code,
      signal: info.signal,
      error: info.error?.message,
    });
    reportCounts();
    if (info.reason === 'start-failed' && inst.version === deployed.version) {
      failures++;
      nextStartAt = o.clock.now() + Math.min(BACKOFF_MAX_MS, 250 * 2 ** failures);
      lastError = info.error?.message;
      if (live().length === 0 && info.error) o.onUnservable(info.error);
    }
    if (!closing && (info.reason === 'crash' || info.reason === 'start-failed' || info.reason === 'memory')) o.poke();
    checkClose();
  }

  function checkClose() {
    if (!closing) return;
    if (backlog > 0 && live().length === 0) {
      o.onUnservable(
        new TensorshareError(
          'ERR_UNAVAILABLE',
          `function '${name}' was unloaded before an instance could serve the request`,
          { function: name },
        ),
      );
    }
    if (backlog === 0) for (const i of instances) i.drain(closeReason);
    if (instances.size === 0 && inflight === 0) resolveClosed?.();
  }

  return {
    name,
    get deployed() {
      return deployed;
    },
    get closing() {
      return closing;
    },
    slots,
    free,
    run: (request, opts = {}) => run(request, opts),
    scaleTo(desired, decision) {
      if (closing) return;
      if (evicted && backlog === 0 && inflight === 0) desired = Math.min(desired, deployed.config.minInstances);
      const current = live();
      if (decision && desired !== current.length) {
        o.emit({
          type: 'scale',
          function: name,
          from: current.length,
          to: desired,
          reason: decision.reason,
          panicking: decision.panicking,
          stableConcurrency: decision.stableConcurrency,
          panicConcurrency: decision.panicConcurrency,
        });
      }
      if (desired > current.length) {
        for (let k = current.length; k < desired; k++) if (!tryStart()) break;
      } else if (desired < current.length) {
        const order = (i: Instance) =>
          i.state === 'ready' && i.inflight === 0 ? 0 : i.state === 'starting' && backlog === 0 ? 1 : 2;
        const victims = current
          .sort((a, b) => order(a) - order(b) || a.inflight - b.inflight || a.lastUsedAt - b.lastUsedAt)
          .slice(0, current.length - desired);
        for (const v of victims) v.drain('scale-down');
      }
      reportCounts();
    },
    recycle(id, reason) {
      const inst = [...instances].find((i) => i.id === id);
      if (!inst || (inst.state !== 'ready' && inst.state !== 'starting')) return;
      inst.drain(reason);
      reportCounts();
      if (!closing) o.poke();
    },
    update(next) {
      const before = live().length;
      deployed = next;
      failures = 0;
      nextStartAt = 0;
      lastError = undefined;
      for (const i of instances) if (i.version !== next.version) i.drain('update');
      const c = next.config;
      const want = Math.min(c.maxInstances, Math.max(c.minInstances, before, backlog > 0 ? 1 : 0));
      for (let k = 0; k < want; k++) if (!tryStart()) break;
      reportCounts();
    },
    close(reason) {
      if (!closing) {
        closing = true;
        closeReason = reason;
        if (backoffTimer !== undefined) o.clock.clearTimeout(backoffTimer);
        checkClose();
      }
      return closed;
    },
    destroy(reason) {
      for (const i of instances) i.kill(reason);
    },
    kpaConfig() {
      const c = deployed.config;
      return {
        targetConcurrency: c.targetConcurrency,
        minInstances: c.minInstances,
        maxInstances: c.maxInstances,
        stableWindowMs: c.stableWindowSeconds * 1000,
        panicWindowMs: c.panicWindowSeconds * 1000,
        panicThreshold: c.panicThreshold,
        keepAliveMs: c.keepAliveSeconds * 1000,
        maxScaleDownRate: 2,
      };
    },
    counts,
    setBacklog(runs) {
      const next = Math.max(0, runs);
      if (next === backlog) return;
      const was = backlog;
      backlog = next;
      if (backlog > 0) evicted = false;
      measure();
      if (closing) {
        checkClose();
        return;
      }
      // Demand at zero instances: start one now rather than at the next autoscaler tick.
      if (was === 0 && backlog > 0 && live().length === 0) o.poke();
    },
    waiting: () => backlog,
    sampleConcurrency: (now) => meter.take(now),
    concurrency: () => meter.value,
    stats() {
      return {
        name,
        version: deployed.version,
        backlog,
        inflight,
        slots: slots(),
        free: free(),
        instances: [...instances].map((i) => ({
          id: i.id,
          version: i.version,
          pid: i.pid,
          state: i.state,
          inflight: i.inflight,
          coldStartMs: i.coldStartMs,
        })),
        ...(lastError ? { lastError } : {}),
      };
    },
    evictIdle() {
      if (closing) return false;
      const current = live();
      if (current.length <= deployed.config.minInstances || backlog > 0) return false;
      const idle = current
        .filter((i) => i.state === 'ready' && i.inflight === 0)
        .sort((a, b) => a.lastUsedAt - b.lastUsedAt)[0];
      if (!idle) return false;
      idle.drain('evicted');
      evicted = true;
      reportCounts();
      return true;
    },
  };
}

function cancelled(fn: string): TensorshareError {
  return new TensorshareError(
    'ERR_UNAVAILABLE',
    `request to function '${fn}' was cancelled by its caller while it ran`,
    { function: fn, cancelled: true },
  );
}
