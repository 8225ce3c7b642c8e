// The instances of one function and the requests waiting for them. Routes
// each request to the least-loaded ready instance with spare concurrency,
// queues it when all are busy (or none is up yet: it waits for the cold
// start), enforces the request timeout, and starts/drains instances when the
// autoscaler asks. A new deployment gets new instances while the old ones
// drain; closing serves what is queued, then drains everything.
import { TensorshareError, isTensorshareError } from '../../errors.js';
import type { Clock, TimerHandle } from '../autoscaler/clock.js';
import { createConcurrencyMeter, type ConcurrencyMeter } from '../autoscaler/meter.js';
import type { KpaConfig, KpaDecision } from '../autoscaler/kpa.js';
import type { PriorityClass } from '../functions/config.js';
import type { DeployedFunction } from '../functions/deploy.js';
import type { InferRequest, InferResponse } from '../../tensor/index.js';
import type { EventSink } from './events.js';
import type { ExitInfo, ExitReason, Instance, InstanceResult } from './instance.js';
import type { QueueFactory, RequestQueue } from './queue.js';

export interface InferOptions {
  signal?: AbortSignal;
  /** Overrides the function's priority class (kept with the request for the scheduler). */
  priority?: PriorityClass;
  /** Overrides the function's requestTimeoutMs. */
  timeoutMs?: number;
}

export interface InstanceHooks {
  onReady(inst: Instance): void;
  onExit(inst: Instance, info: ExitInfo): void;
}

export interface PoolOptions {
  deployed: DeployedFunction;
  clock: Clock;
  queue: QueueFactory;
  /** Starts an instance, or returns why it cannot now (ERR_RESOURCE_EXHAUSTED from the memory guard). */
  spawn(d: DeployedFunction, hooks: InstanceHooks): Instance | TensorshareError;
  /** Frees memory for a blocked start if anything can; true when waiting makes sense. */
  reclaim(fn: string): boolean;
  /** Ask the autoscaler to decide for this function now. */
  poke(): void;
  emit: EventSink;
}

interface Pending {
  request: InferRequest;
  priority: PriorityClass;
  enqueuedAt: number;
  /** performance.now() on arrival, to tell whether the request waited for a cold start. */
  arrivedPerf: number;
  resolve(r: InferResponse): void;
  reject(e: Error): void;
  settled: boolean;
  timer?: TimerHandle;
  signal?: AbortSignal;
  onAbort?: () => void;
  instance?: Instance;
  reqId?: number;
  startedAt?: number;
}

export interface PoolStats {
  name: string;
  version: string;
  queueLength: number;
  /** Runs waiting upstream of the pool (scheduler), as last reported. */
  backlog: number;
  inflight: number;
  instances: { id: string; version: string; pid?: number; state: string; inflight: number; coldStartMs?: number }[];
  lastError?: string;
}

export interface FunctionPool {
  readonly name: string;
  readonly deployed: DeployedFunction;
  readonly instances: ReadonlySet<Instance>;
  readonly meter: ConcurrencyMeter;
  readonly closing: boolean;
  submit(request: InferRequest, opts?: InferOptions): Promise<InferResponse>;
  scaleTo(desired: number, decision?: KpaDecision): void;
  /** Takes an instance out of rotation and replaces it (memory limit). */
  recycle(inst: Instance, reason: ExitReason): void;
  update(deployed: DeployedFunction): void;
  close(reason: ExitReason): Promise<void>;
  /** Kills every instance now (after a close timeout). */
  kill(reason: ExitReason): void;
  kpaConfig(): KpaConfig;
  counts(): { ready: number; current: number; starting: number; draining: number };
  stats(): PoolStats;
  /** Runs waiting upstream (the scheduler's queue, in batches): demand for the autoscaler. */
  setBacklog(runs: number): void;
  /** Requests queued here plus the upstream backlog. */
  waiting(): number;
  /** Drains one idle instance beyond minInstances (memory for another function); true when one was. */
  evictIdle(): boolean;
}

const BACKOFF_MAX_MS = 30_000;

export function createPool(o: PoolOptions): FunctionPool {
  const name = o.deployed.name;
  let deployed = o.deployed;
  const instances = new Set<Instance>();
  let queue: RequestQueue<Pending> = o.queue<Pending>(name, deployed.config.maxQueueLength);
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
  let lastQueueLength = 0;
  let backlog = 0;
  let lastCounts = '';
  /** Evicted for another function's memory: stay at minInstances until a request comes. */
  let evicted = false;

  const measure = () => {
    meter.set(inflight + queue.length + backlog, o.clock.now());
    if (queue.length !== lastQueueLength) {
      lastQueueLength = queue.length;
      o.emit({ type: 'queue', function: name, length: queue.length });
    }
  };
  const reportCounts = () => {
    const c = counts();
    const key = `${c.starting}/${c.ready}/${c.draining}`;
    if (key === lastCounts) return;
    lastCounts = key;
    o.emit({ type: 'instances', function: name, starting: c.starting, ready: c.ready, draining: c.draining });
  };
  const live = () => [...instances].filter((i) => i.version === deployed.version && (i.state === 'starting' || i.state === 'ready'));
  function counts() {
    let ready = 0, starting = 0, draining = 0;
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
      if (i.state !== 'ready' || i.version !== deployed.version || i.inflight >= deployed.config.maxConcurrency) continue;
      if (!best || i.inflight < best.inflight) best = i;
    }
    return best;
  };

  const settle = (p: Pending, outcome: { ok: InferResponse } | { error: Error }) => {
    if (p.settled) return;
    p.settled = true;
    if (p.timer !== undefined) o.clock.clearTimeout(p.timer);
    if (p.onAbort) p.signal?.removeEventListener('abort', p.onAbort);
    const queueMs = (p.startedAt ?? o.clock.now()) - p.enqueuedAt;
    const coldStart = p.instance !== undefined && waitedForStart(p);
    if ('ok' in outcome) {
      o.emit({ type: 'request', function: name, outcome: 'ok', queueMs, runMs: outcome.ok.timing?.runMs, coldStart });
      p.resolve(outcome.ok);
    } else {
      o.emit({ type: 'request', function: name, outcome: isTensorshareError(outcome.error) ? outcome.error.code : 'ERR_INTERNAL', queueMs, coldStart });
      p.reject(outcome.error);
    }
  };
  // The instance that served p became ready after p arrived: p waited for its cold start.
  const waitedForStart = (p: Pending) => p.instance?.readyAt !== undefined && p.arrivedPerf < p.instance.readyAt;

  const run = (p: Pending, inst: Instance) => {
    p.instance = inst;
    p.startedAt = o.clock.now();
    inflight++;
    const { id, result } = inst.request(p.request);
    p.reqId = id;
    measure();
    result.then(
      (r: InstanceResult) => finish(p, { ok: response(p, inst, r) }),
      (e: Error) => finish(p, { error: e }),
    );
  };
  const response = (p: Pending, inst: Instance, r: InstanceResult): InferResponse => {
    const queueMs = p.startedAt! - p.enqueuedAt;
    const cold = waitedForStart(p) ? inst.coldStartMs : undefined;
    return {
      ...(p.request.id !== undefined ? { id: p.request.id } : {}),
      outputs: r.outputs,
      ...(r.parameters ? { parameters: r.parameters } : {}),
      timing: { queueMs, runMs: r.runMs, ...(cold !== undefined ? { coldStartMs: cold } : {}) },
    };
  };
  const finish = (p: Pending, outcome: { ok: InferResponse } | { error: Error }) => {
    inflight--;
    measure();
    settle(p, outcome);
    dispatch();
    checkClose();
  };

  function dispatch() {
    while (queue.length > 0) {
      const inst = pick();
      if (!inst) break;
      const p = queue.dequeue()!;
      run(p, inst);
    }
    measure();
  }

  const rejectQueued = (e: TensorshareError) => {
    for (const p of queue.drain()) settle(p, { error: e });
    measure();
  };

  const expire = (p: Pending, timeoutMs: number) => {
    if (p.settled) return;
    if (!p.instance) {
      queue.remove(p);
      measure();
      const c = counts();
      const waitingFor = c.ready === 0 && c.starting > 0 ? ' (waiting for an instance to start)' : c.current === 0 ? ' (no instance could be started)' : ' (all instances busy)';
      settle(p, { error: new TensorshareError('ERR_TIMEOUT', `request to function '${name}' timed out after ${timeoutMs} ms in the queue${waitingFor}`, { function: name, timeoutMs, phase: 'queue' }) });
    } else {
      p.instance.cancel(p.reqId!);
      settle(p, { error: new TensorshareError('ERR_TIMEOUT', `request to function '${name}' timed out after ${timeoutMs} ms (still running on instance ${p.instance.id})`, { function: name, timeoutMs, phase: 'run' }) });
    }
  };

  const tryStart = (): boolean => {
    const now = o.clock.now();
    if (now < nextStartAt) {
      if (backoffTimer === undefined) {
        backoffTimer = o.clock.setTimeout(() => { backoffTimer = undefined; o.poke(); }, nextStartAt - now);
      }
      return false;
    }
    const r = o.spawn(deployed, { onReady, onExit });
    if (r instanceof TensorshareError) {
      if (!memoryBlocked) {
        memoryBlocked = true;
        if (r.details.resource === 'cores') {
          o.emit({ type: 'cores-refused', function: name, requested: Number(r.details.requested ?? 0), available: Number(r.details.available ?? 0), total: Number(r.details.total ?? 0) });
        } else {
          o.emit({ type: 'memory-refused', function: name, estimateBytes: Number(r.details.estimateBytes ?? 0), reservedBytes: Number(r.details.reservedBytes ?? 0), budgetBytes: Number(r.details.budgetBytes ?? 0) });
        }
      }
      if (live().length === 0 && queue.length > 0 && !o.reclaim(name)) rejectQueued(r);
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
    o.emit({ type: 'instance-ready', function: name, version: inst.version, instance: inst.id, pid: inst.pid, coldStartMs: inst.coldStartMs!, openMs: info.openMs, handlerMs: info.handlerMs, models: info.models });
    reportCounts();
    if (inst.version !== deployed.version || (closing && queue.length === 0)) inst.drain(closing ? closeReason : 'update');
    dispatch();
    checkClose();
  }

  function onExit(inst: Instance, info: ExitInfo) {
    instances.delete(inst);
    o.emit({ type: 'instance-exit', function: name, version: inst.version, instance: inst.id, pid: inst.pid, reason: info.reason, code: info.code, signal: info.signal, error: info.error?.message });
    reportCounts();
    if (info.reason === 'start-failed' && inst.version === deployed.version) {
      failures++;
      nextStartAt = o.clock.now() + Math.min(BACKOFF_MAX_MS, 250 * 2 ** failures);
      lastError = info.error?.message;
      if (live().length === 0 && info.error) rejectQueued(info.error);
    }
    if (!closing && (info.reason === 'crash' || info.reason === 'start-failed' || info.reason === 'memory')) o.poke();
    checkClose();
  }

  function checkClose() {
    if (!closing) return;
    if (queue.length > 0 && ![...instances].some((i) => i.state === 'ready' || i.state === 'starting')) {
      rejectQueued(new TensorshareError('ERR_UNAVAILABLE', `function '${name}' was unloaded before an instance could serve the request`, { function: name }));
    }
    if (queue.length === 0) for (const i of instances) i.drain(closeReason);
    if (instances.size === 0 && inflight === 0) resolveClosed?.();
  }

  return {
    name,
    get deployed() { return deployed; },
    instances,
    meter,
    get closing() { return closing; },
    submit(request, opts = {}) {
      return new Promise<InferResponse>((resolve, reject) => {
        if (closing) {
          reject(new TensorshareError('ERR_UNAVAILABLE', `function '${name}' is being unloaded`, { function: name }));
          return;
        }
        evicted = false;
        const timeoutMs = opts.timeoutMs ?? deployed.config.requestTimeoutMs;
        const p: Pending = { request, priority: opts.priority ?? deployed.config.priority, enqueuedAt: o.clock.now(), arrivedPerf: performance.now(), resolve, reject, settled: false, signal: opts.signal };
        if (opts.signal?.aborted) {
          settle(p, { error: cancelled(name) });
          return;
        }
        if (opts.signal) {
          p.onAbort = () => {
            if (p.settled) return;
            if (!p.instance) { queue.remove(p); measure(); } else p.instance.cancel(p.reqId!);
            settle(p, { error: cancelled(name) });
          };
          opts.signal.addEventListener('abort', p.onAbort, { once: true });
        }
        p.timer = o.clock.setTimeout(() => expire(p, timeoutMs), timeoutMs);
        const inst = queue.length === 0 ? pick() : undefined;
        if (inst) { run(p, inst); return; }
        try {
          queue.enqueue(p);
        } catch (e) {
          settle(p, { error: e as Error });
          return;
        }
        measure();
        dispatch();
        if (!p.instance && live().length === 0) o.poke();
      });
    },
    scaleTo(desired, decision) {
      if (closing) return;
      if (evicted && queue.length === 0 && backlog === 0 && inflight === 0) desired = Math.min(desired, deployed.config.minInstances);
      const current = live();
      if (decision && desired !== current.length) {
        o.emit({ type: 'scale', function: name, from: current.length, to: desired, reason: decision.reason, panicking: decision.panicking, stableConcurrency: decision.stableConcurrency, panicConcurrency: decision.panicConcurrency });
      }
      if (desired > current.length) {
        for (let k = current.length; k < desired; k++) if (!tryStart()) break;
      } else if (desired < current.length) {
        const order = (i: Instance) => (i.state === 'ready' && i.inflight === 0 ? 0 : i.state === 'starting' && queue.length === 0 ? 1 : 2);
        const victims = current.sort((a, b) => order(a) - order(b) || a.inflight - b.inflight || a.lastUsedAt - b.lastUsedAt).slice(0, current.length - desired);
        for (const v of victims) v.drain('scale-down');
      }
      reportCounts();
    },
    recycle(inst, reason) {
      if (inst.state !== 'ready' && inst.state !== 'starting') return;
      inst.drain(reason);
      reportCounts();
      if (!closing) o.poke();
    },
    update(next) {
      const before = live().length;
      const oldMax = deployed.config.maxQueueLength;
      deployed = next;
      failures = 0;
      nextStartAt = 0;
      lastError = undefined;
      if (next.config.maxQueueLength !== oldMax) {
        const old = queue.drain();
        queue = o.queue<Pending>(name, next.config.maxQueueLength);
        for (const p of old) {
          try { queue.enqueue(p); } catch (e) { settle(p, { error: e as Error }); }
        }
      }
      for (const i of instances) if (i.version !== next.version) i.drain('update');
      const c = next.config;
      const want = Math.min(c.maxInstances, Math.max(c.minInstances, before, queue.length > 0 ? 1 : 0));
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
    kill(reason) {
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
      if (closing || runs === backlog) return;
      const was = backlog;
      backlog = Math.max(0, runs);
      if (backlog > 0) evicted = false;
      measure();
      // Demand at zero instances: start one now rather than at the next autoscaler tick.
      if (was === 0 && backlog > 0 && live().length === 0) o.poke();
    },
    waiting: () => queue.length + backlog,
    stats() {
      return {
        name,
        version: deployed.version,
        queueLength: queue.length,
        backlog,
        inflight,
        instances: [...instances].map((i) => ({ id: i.id, version: i.version, pid: i.pid, state: i.state, inflight: i.inflight, coldStartMs: i.coldStartMs })),
        ...(lastError ? { lastError } : {}),
      };
    },
    evictIdle() {
      if (closing) return false;
      const current = live();
      if (current.length <= deployed.config.minInstances || queue.length > 0 || backlog > 0) return false;
      const idle = current.filter((i) => i.state === 'ready' && i.inflight === 0).sort((a, b) => a.lastUsedAt - b.lastUsedAt)[0];
      if (!idle) return false;
      idle.drain('evicted');
      evicted = true;
      reportCounts();
      return true;
    },
  };
}

function cancelled(fn: string): TensorshareError {
  return new TensorshareError('ERR_UNAVAILABLE', `request to function '${fn}' was cancelled by its caller`, { function: fn, cancelled: true });
}
