// The dispatcher: per-function queues with dynamic batching, one scheduling
// policy across functions, and a fixed number of execution slots. It is a
// synchronous state machine driven by the caller's clock readings:
//
//   enqueue(init, now)          -> Request        (or throws ERR_OVERLOADED, ...)
//   next(now)                   -> { batch, expired, wakeAt }
//   complete(batch, serviceMs)  -> frees the slot, feeds profile / AIMD / fair share
//
// The caller runs `batch` on an instance, rejects `expired` with ERR_TIMEOUT,
// calls next() again until it returns no batch, and otherwise calls next() at
// `wakeAt` or when something is enqueued or completes. `createScheduler`
// (scheduler.ts) is that loop.
//
// Policies, chosen per server:
//   fifo      the batch whose oldest request arrived first, across functions.
//   priority  realtime requests before besteffort ones: while any realtime
//             request is queued, no besteffort work is started (a realtime
//             request waits at most for batches already running); fifo within
//             a class; batches hold one class. With a realtime reserve,
//             besteffort batches also leave that many of a function's runs
//             free while realtime requests for it keep arriving, so those
//             need not wait for besteffort batches at all.
//   fair      deficit round robin over tenants, cost = service time (predicted
//             at dispatch, corrected to the measured time on completion);
//             tenant weights. A batch starts with the chosen tenant's requests
//             and fills with others', each charged its share of the batch.
//   srtf      shortest predicted batch service time first (latency profile),
//             aged: score = predictedMs - agingRate * waitedMs, lowest first.
// Request priority classes matter only under `priority`; timeouts and queue
// limits apply under every policy.

import { TensorshareError } from '../errors.js';
import { type AimdConfig, type AimdState, aimdInit, aimdUpdate } from './aimd.js';
import { type BatchingConfig, checkBatchingConfig, decideBatch } from './batcher.js';
import { drrActivate, drrCharge, drrCreate, drrDeactivate, drrPick } from './drr.js';
import { type ProfileConfig, createProfile, observe, predict } from './profile.js';

export type Policy = 'fifo' | 'priority' | 'fair' | 'srtf';
export const POLICIES: readonly Policy[] = ['fifo', 'priority', 'fair', 'srtf'];
export type PriorityClass = 'realtime' | 'besteffort';
export const PRIORITY_CLASSES: readonly PriorityClass[] = ['realtime', 'besteffort'];

export interface FunctionConfig {
  name: string;
  /** Omitted or null: the function is not batchable; each request runs alone. */
  batching?: BatchingConfig | null;
  /** Adaptive batch cap against a latency SLO (needs `batching`). Without it the cap is maxBatchSize. */
  aimd?: AimdConfig;
  /**
   * Queued requests of one priority class beyond this are refused with
   * ERR_OVERLOADED. Each class has a queue limit of its own, so a besteffort
   * backlog never refuses a realtime request. Default: unbounded.
   */
  maxQueueLength?: number;
  /** A class's own limit instead of maxQueueLength (e.g. a short besteffort queue). */
  maxQueueLengthByClass?: Partial<Record<PriorityClass, number>>;
  /** Queue timeout for requests that set none, ms. Default: none. */
  defaultTimeoutMs?: number;
  /** Batches of this function that may run at once (its runner's slots; 0 while none is up). Default: unbounded (slots still apply). */
  maxConcurrency?: number;
  /** Guess of one request's service time before anything was measured, ms (srtf, fair). */
  expectedServiceMs?: number;
}

export interface DispatcherConfig {
  policy: Policy;
  /** Batches that may run at once across all functions (execution slots). */
  slots: number;
  profile?: ProfileConfig;
  /** fair: credit per round, ms (default 10); tenant weights (default 1). */
  fair?: { quantumMs?: number; weights?: Record<string, number> };
  /** srtf: ms of priority gained per ms waited (default 0.5; 0 = pure SRTF, may starve). */
  srtf?: { agingRate?: number };
  /**
   * priority: runs of a function (of its maxConcurrency; at least one stays
   * usable) that besteffort batches leave free while a realtime request for
   * it arrived within the last `windowMs` (default 1000). Default 0.
   */
  priorityReserve?: { runs: number; windowMs?: number };
}

export interface RequestInit<P> {
  fn: string;
  payload: P;
  /** Caller's id (e.g. the KServe request id). Default: the sequence number. */
  id?: string;
  /** Default 'default'. */
  tenant?: string;
  /** Default 'besteffort'. */
  priority?: PriorityClass;
  /** Longest time the request may wait in the queue, ms. Default: the function's defaultTimeoutMs. */
  timeoutMs?: number;
  /** Rows on the batch axis. Default 1. */
  items?: number;
  /** Requests batch together only with equal keys (shapes past axis 0; see tensor.ts shapeKey). Default ''. */
  shapeKey?: string;
}

export interface Request<P> {
  readonly id: string;
  /** Arrival order within this dispatcher. */
  readonly seq: number;
  readonly fn: string;
  readonly tenant: string;
  readonly priority: PriorityClass;
  readonly enqueuedAt: number;
  /** Absolute time after which the request is rejected instead of run; Infinity if none. */
  readonly deadline: number;
  readonly items: number;
  readonly shapeKey: string;
  readonly payload: P;
}

export interface Batch<P> {
  readonly id: number;
  readonly fn: string;
  /** In the order their rows are concatenated. */
  readonly requests: readonly Request<P>[];
  readonly items: number;
  readonly predictedMs: number;
  readonly dispatchedAt: number;
  /** The batch cap limited this batch (AIMD raises the cap only after such batches). */
  readonly reachedCap: boolean;
}

export interface Decision<P> {
  /** Run this now; a slot is taken until complete(batch). Call next() again after it. */
  batch: Batch<P> | null;
  /** Requests past their deadline: reject with ERR_TIMEOUT; they were never run. */
  expired: Request<P>[];
  /** When batch is null: call next() again at this time, or earlier if something is enqueued or completes. Null: nothing to wait for. */
  wakeAt: number | null;
}

export interface FunctionStats {
  fn: string;
  queued: number;
  /** `queued` by priority class. */
  queuedByClass: Record<PriorityClass, number>;
  inFlight: number;
  /** Current batch cap, items (the AIMD gauge). */
  cap: number;
  concurrency: number;
}

export interface DispatcherSnapshot {
  policy: Policy;
  slots: number;
  inFlight: number;
  functions: FunctionStats[];
  /** fair: deficit per tenant, ms; queued per tenant under every policy. */
  tenants: Array<{ tenant: string; queued: number; deficitMs: number }>;
}

export interface Dispatcher<P> {
  register(config: FunctionConfig): void;
  /** Removes a function; returns its queued requests (reject them). Running batches may still complete. */
  unregister(fn: string): Request<P>[];
  enqueue(init: RequestInit<P>, now: number): Request<P>;
  /** Takes a queued request out (its caller went away); false when it is not queued. */
  remove(request: Request<P>): boolean;
  /** Takes every queued request of `fn` out and returns them (reject them: nothing can serve them). */
  takeQueued(fn: string): Request<P>[];
  next(now: number): Decision<P>;
  /** Call once per batch from next(), after it ran (also when it failed: the CPU time was spent). */
  complete(batch: Batch<P>, serviceMs: number, options?: { failed?: boolean }): void;
  setSlots(slots: number): void;
  /** Batches of `fn` that may run at once; 0 holds its queue (no runner up yet). */
  setConcurrency(fn: string, n: number): void;
  cap(fn: string): number;
  snapshot(): DispatcherSnapshot;
}

interface FnState<P> {
  config: FunctionConfig;
  /** Queued requests in arrival (seq) order. */
  queue: Request<P>[];
  /** How many of `queue` are of each class (each class has its own queue limit). */
  queuedByClass: Record<PriorityClass, number>;
  inFlight: number;
  aimd: AimdState | null;
  /** Lower bound of the queue's earliest deadline (exact after a purge). */
  nextDeadline: number;
  /** Arrival of the latest realtime request (priority reserve). */
  lastRealtimeAt: number;
  /** Arrival of the latest request, and its distance from the one before (undefined until two have come). */
  lastArrivalAt: number | undefined;
  arrivalGapMs: number | undefined;
}

interface Candidate<P> {
  fn: FnState<P>;
  requests: Request<P>[];
  /** `requests[0]`, the oldest request in take order (a batch takes at least one). */
  head: Request<P>;
  /** The batch cap limited this batch: it is full or the next request did not fit. */
  reachedCap: boolean;
}

export function createDispatcher<P>(config: DispatcherConfig): Dispatcher<P> {
  const policy = config.policy;
  if (!POLICIES.includes(policy)) {
    throw new TensorshareError(
      'ERR_INVALID_ARGUMENT',
      `unknown scheduling policy "${policy}"; expected one of ${POLICIES.join(', ')}`,
      { policy },
    );
  }
  checkCount('slots', config.slots);
  let slots = config.slots;
  const quantumMs = config.fair?.quantumMs ?? 10;
  const weights = config.fair?.weights ?? {};
  for (const [t, w] of Object.entries(weights)) {
    if (!(w > 0 && Number.isFinite(w)))
      throw new TensorshareError('ERR_INVALID_ARGUMENT', `fair-share weight of tenant ${t} must be > 0, got ${w}`, {
        tenant: t,
      });
  }
  if (!(quantumMs > 0))
    throw new TensorshareError('ERR_INVALID_ARGUMENT', `fair quantumMs must be > 0, got ${quantumMs}`);
  const agingRate = config.srtf?.agingRate ?? 0.5;
  const reserveRuns = config.priorityReserve?.runs ?? 0;
  const reserveWindowMs = config.priorityReserve?.windowMs ?? 1000;
  if (!(Number.isInteger(reserveRuns) && reserveRuns >= 0))
    throw new TensorshareError(
      'ERR_INVALID_ARGUMENT',
      `priority reserve must be an integer >= 0 runs, got ${reserveRuns}`,
    );
  if (!(reserveWindowMs > 0))
    throw new TensorshareError('ERR_INVALID_ARGUMENT', `priority reserve windowMs must be > 0, got ${reserveWindowMs}`);
  const weight = (t: string) => weights[t] ?? 1;

  const fns = new Map<string, FnState<P>>();
  const profile = createProfile(config.profile);
  const drr = drrCreate();
  const queuedByTenant = new Map<string, number>();
  const running = new Map<number, Batch<P>>();
  /** Requests expired while handling enqueue(); handed out by the next next(). */
  let outbox: Request<P>[] = [];
  let seq = 0;
  let batchSeq = 0;

  function fnState(fn: string): FnState<P> {
    const s = fns.get(fn);
    if (!s)
      throw new TensorshareError('ERR_MODEL_NOT_FOUND', `function ${fn} is not registered with the scheduler`, { fn });
    return s;
  }

  function capOf(s: FnState<P>): number {
    if (!s.config.batching) return 1;
    return s.aimd ? s.aimd.cap : s.config.batching.maxBatchSize;
  }

  function tenantQueued(tenant: string, delta: number): void {
    const n = (queuedByTenant.get(tenant) ?? 0) + delta;
    if (n > 0) {
      queuedByTenant.set(tenant, n);
      if (delta > 0) drrActivate(drr, tenant);
    } else {
      queuedByTenant.delete(tenant);
      drrDeactivate(drr, tenant);
    }
  }

  function removeFromQueue(s: FnState<P>, gone: ReadonlySet<Request<P>>): void {
    s.queue = s.queue.filter((r) => !gone.has(r));
    for (const r of gone) {
      tenantQueued(r.tenant, -1);
      s.queuedByClass[r.priority]--;
    }
  }

  /** Moves expired requests of `s` out of its queue; returns them. */
  function purge(s: FnState<P>, now: number): Request<P>[] {
    if (now < s.nextDeadline) return [];
    const expired = s.queue.filter((r) => r.deadline <= now);
    if (expired.length) removeFromQueue(s, new Set(expired));
    s.nextDeadline = s.queue.reduce((m, r) => Math.min(m, r.deadline), Infinity);
    return expired;
  }

  /** The requests a batch of `s` would be formed from, in take order. */
  function view(s: FnState<P>, lane: PriorityClass | null, tenant: string | null): Request<P>[] {
    let v = lane ? s.queue.filter((r) => r.priority === lane) : s.queue;
    if (tenant !== null) v = [...v.filter((r) => r.tenant === tenant), ...v.filter((r) => r.tenant !== tenant)];
    const [head] = v;
    if (head === undefined) return v;
    const key = head.shapeKey;
    return v.every((r) => r.shapeKey === key) ? v : v.filter((r) => r.shapeKey === key);
  }

  /** Ready candidate for `s` now, or the time it becomes ready (folded into `wake`). */
  function candidate(s: FnState<P>, v: Request<P>[], now: number, wake: { at: number }): Candidate<P> | null {
    const [head] = v;
    if (head === undefined) return null;
    const cap = capOf(s);
    const d = decideBatch(v, s.config.batching ?? null, cap, now, s.arrivalGapMs);
    if ('take' in d) {
      const items = v.slice(0, d.take).reduce((a, r) => a + r.items, 0);
      const next = v[d.take];
      const reachedCap = items >= cap || (next !== undefined && items + next.items > cap);
      return { fn: s, requests: v.slice(0, d.take), head, reachedCap };
    }
    wake.at = Math.min(wake.at, d.waitUntil);
    return null;
  }

  function eligible(): FnState<P>[] {
    return [...fns.values()].filter((s) => s.queue.length > 0 && s.inFlight < (s.config.maxConcurrency ?? Infinity));
  }

  function predictFor(c: Candidate<P>): number {
    const items = c.requests.reduce((a, r) => a + r.items, 0);
    return predict(profile, c.fn.config.name, items, c.fn.config.expectedServiceMs);
  }

  /** Besteffort may not take the runs of `s` kept for realtime now; when that ends, it is folded into `wake`. */
  function reservedAgainstBesteffort(s: FnState<P>, now: number, wake: { at: number }): boolean {
    if (reserveRuns === 0 || now - s.lastRealtimeAt > reserveWindowMs) return false;
    const limit = s.config.maxConcurrency ?? Infinity;
    const usable = limit === Infinity ? Infinity : Math.max(1, limit - reserveRuns);
    if (s.inFlight < usable) return false;
    wake.at = Math.min(wake.at, s.lastRealtimeAt + reserveWindowMs);
    return true;
  }

  function pickFifoLike(now: number, lane: PriorityClass | null, wake: { at: number }): Candidate<P> | null {
    let best: Candidate<P> | null = null;
    let bestScore = Infinity;
    for (const s of eligible()) {
      if (lane === 'besteffort' && policy === 'priority' && reservedAgainstBesteffort(s, now, wake)) continue;
      const c = candidate(s, view(s, lane, null), now, wake);
      if (!c) continue;
      const score = policy === 'srtf' ? predictFor(c) - agingRate * (now - c.head.enqueuedAt) : c.head.seq;
      if (score < bestScore || (score === bestScore && best !== null && c.head.seq < best.head.seq)) {
        best = c;
        bestScore = score;
      }
    }
    return best;
  }

  function pickFair(now: number, wake: { at: number }): Candidate<P> | null {
    // Each tenant's best candidate: the function holding its oldest ready work.
    const byTenant = new Map<string, Candidate<P>>();
    const fnsNow = eligible();
    for (const tenant of drr.order) {
      let best: Candidate<P> | null = null;
      for (const s of fnsNow) {
        if (!s.queue.some((r) => r.tenant === tenant)) continue;
        const c = candidate(s, view(s, null, tenant), now, wake);
        if (c && (best === null || c.head.seq < best.head.seq)) best = c;
      }
      if (best) byTenant.set(tenant, best);
    }
    const t = drrPick(drr, (x) => byTenant.has(x), weight, quantumMs);
    return t === null ? null : byTenant.get(t)!;
  }

  function dispatch(c: Candidate<P>, now: number): Batch<P> {
    const items = c.requests.reduce((a, r) => a + r.items, 0);
    const batch: Batch<P> = {
      id: ++batchSeq,
      fn: c.fn.config.name,
      requests: c.requests,
      items,
      predictedMs: predict(profile, c.fn.config.name, items, c.fn.config.expectedServiceMs),
      dispatchedAt: now,
      reachedCap: c.reachedCap,
    };
    // Charge before dequeuing: a tenant whose queue empties here leaves the
    // round, and leaving drops positive credit that this batch should use.
    if (policy === 'fair') chargeShares(batch, batch.predictedMs);
    removeFromQueue(c.fn, new Set(c.requests));
    c.fn.inFlight++;
    running.set(batch.id, batch);
    return batch;
  }

  function chargeShares(batch: Batch<P>, ms: number): void {
    for (const r of batch.requests) drrCharge(drr, r.tenant, (ms * r.items) / batch.items);
  }

  return {
    register(cfg) {
      if (cfg.batching) checkBatchingConfig(cfg.name, cfg.batching);
      if (cfg.maxQueueLength !== undefined) checkCount(`${cfg.name}: maxQueueLength`, cfg.maxQueueLength);
      for (const [cls, n] of Object.entries(cfg.maxQueueLengthByClass ?? {})) {
        if (!(PRIORITY_CLASSES as readonly string[]).includes(cls))
          throw new TensorshareError(
            'ERR_INVALID_ARGUMENT',
            `${cfg.name}: maxQueueLengthByClass has unknown priority class '${cls}'; expected ${PRIORITY_CLASSES.join(' or ')}`,
            { fn: cfg.name, class: cls },
          );
        checkCount(`${cfg.name}: maxQueueLengthByClass.${cls}`, n as number);
      }
      if (cfg.maxConcurrency !== undefined) checkCount(`${cfg.name}: maxConcurrency`, cfg.maxConcurrency, 0);
      const old = fns.get(cfg.name);
      let aimd: AimdState | null = null;
      if (cfg.batching && cfg.aimd) {
        aimd = aimdInit(cfg.batching.maxBatchSize, cfg.aimd);
        if (old?.aimd) aimd = { cap: Math.min(old.aimd.cap, aimd.max), max: aimd.max };
      }
      fns.set(cfg.name, {
        config: { ...cfg },
        queue: old?.queue ?? [],
        queuedByClass: old?.queuedByClass ?? { realtime: 0, besteffort: 0 },
        inFlight: old?.inFlight ?? 0,
        aimd,
        nextDeadline: old?.nextDeadline ?? Infinity,
        lastRealtimeAt: old?.lastRealtimeAt ?? -Infinity,
        lastArrivalAt: old?.lastArrivalAt,
        arrivalGapMs: old?.arrivalGapMs,
      });
    },

    unregister(fn) {
      const s = fns.get(fn);
      if (!s) return [];
      fns.delete(fn);
      for (const r of s.queue) tenantQueued(r.tenant, -1);
      return s.queue;
    },

    enqueue(init, now) {
      const s = fnState(init.fn);
      const items = init.items ?? 1;
      if (!Number.isInteger(items) || items < 1) {
        throw new TensorshareError(
          'ERR_INVALID_ARGUMENT',
          `request to ${init.fn}: items must be an integer >= 1, got ${items}`,
          { fn: init.fn },
        );
      }
      const max = s.config.batching?.maxBatchSize;
      if (max !== undefined && items > max) {
        throw new TensorshareError(
          'ERR_INVALID_ARGUMENT',
          `request to ${init.fn} has ${items} rows, more than its max batch size ${max}`,
          { fn: init.fn, items, maxBatchSize: max },
        );
      }
      const timeoutMs = init.timeoutMs ?? s.config.defaultTimeoutMs ?? Infinity;
      if (!(timeoutMs > 0)) {
        throw new TensorshareError(
          'ERR_INVALID_ARGUMENT',
          `request to ${init.fn}: timeoutMs must be > 0, got ${timeoutMs}`,
          { fn: init.fn },
        );
      }
      const priority = init.priority ?? 'besteffort';
      const limit = s.config.maxQueueLengthByClass?.[priority] ?? s.config.maxQueueLength ?? Infinity;
      if (s.queuedByClass[priority] >= limit) outbox.push(...purge(s, now));
      if (s.queuedByClass[priority] >= limit) {
        const queued = s.queuedByClass[priority];
        throw new TensorshareError(
          'ERR_OVERLOADED',
          `function '${init.fn}' is overloaded: ${queued} requests already queued (maxQueueLength ${limit}) in its ${priority} queue`,
          { fn: init.fn, queued, maxQueueLength: limit, priority },
        );
      }
      const n = ++seq;
      const req: Request<P> = {
        id: init.id ?? String(n),
        seq: n,
        fn: init.fn,
        tenant: init.tenant ?? 'default',
        priority,
        enqueuedAt: now,
        deadline: now + timeoutMs,
        items,
        shapeKey: init.shapeKey ?? '',
        payload: init.payload,
      };
      s.queue.push(req);
      s.queuedByClass[priority]++;
      if (req.priority === 'realtime') s.lastRealtimeAt = now;
      s.arrivalGapMs = s.lastArrivalAt === undefined ? undefined : now - s.lastArrivalAt;
      s.lastArrivalAt = now;
      s.nextDeadline = Math.min(s.nextDeadline, req.deadline);
      tenantQueued(req.tenant, +1);
      return req;
    },

    remove(request) {
      const s = fns.get(request.fn);
      if (!s?.queue.includes(request)) return false;
      removeFromQueue(s, new Set([request]));
      return true;
    },

    takeQueued(fn) {
      const s = fns.get(fn);
      if (!s || s.queue.length === 0) return [];
      const out = s.queue;
      removeFromQueue(s, new Set(out));
      s.nextDeadline = Infinity;
      return out;
    },

    next(now) {
      const expired = outbox;
      outbox = [];
      for (const s of fns.values()) expired.push(...purge(s, now));
      const wake = { at: Infinity };
      for (const s of fns.values()) wake.at = Math.min(wake.at, s.nextDeadline);
      let chosen: Candidate<P> | null = null;
      if (running.size < slots) {
        if (policy === 'fair') chosen = pickFair(now, wake);
        else if (policy === 'priority') {
          const rt = [...fns.values()].some((s) => s.queue.some((r) => r.priority === 'realtime'));
          chosen = pickFifoLike(now, rt ? 'realtime' : 'besteffort', wake);
        } else chosen = pickFifoLike(now, null, wake);
      }
      const batch = chosen ? dispatch(chosen, now) : null;
      return { batch, expired, wakeAt: batch || wake.at === Infinity ? null : wake.at };
    },

    complete(batch, serviceMs, options = {}) {
      if (!running.delete(batch.id)) {
        throw new TensorshareError(
          'ERR_INVALID_ARGUMENT',
          `batch ${batch.id} of ${batch.fn} is not running (completed twice?)`,
          { batch: batch.id, fn: batch.fn },
        );
      }
      if (policy === 'fair') chargeShares(batch, serviceMs - batch.predictedMs);
      const s = fns.get(batch.fn);
      if (s) s.inFlight--;
      if (options.failed) return;
      observe(profile, batch.fn, batch.items, serviceMs);
      if (s?.aimd && s.config.aimd) s.aimd = aimdUpdate(s.aimd, s.config.aimd, serviceMs, batch.reachedCap);
    },

    setSlots(n) {
      checkCount('slots', n);
      slots = n;
    },

    setConcurrency(fn, n) {
      checkCount(`${fn}: maxConcurrency`, n, 0);
      const s = fnState(fn);
      s.config = { ...s.config, maxConcurrency: n };
    },

    cap: (fn) => capOf(fnState(fn)),

    snapshot() {
      const tenants = new Set([...queuedByTenant.keys(), ...drr.deficit.keys()]);
      return {
        policy,
        slots,
        inFlight: running.size,
        functions: [...fns.values()].map((s) => ({
          fn: s.config.name,
          queued: s.queue.length,
          queuedByClass: { ...s.queuedByClass },
          inFlight: s.inFlight,
          cap: capOf(s),
          concurrency: s.config.maxConcurrency ?? Infinity,
        })),
        tenants: [...tenants]
          .sort()
          .map((t) => ({ tenant: t, queued: queuedByTenant.get(t) ?? 0, deficitMs: drr.deficit.get(t) ?? 0 })),
      };
    },
  };
}

/** The error for a request that was still queued at its deadline. */
export function timeoutError(r: Request<unknown>, now: number): TensorshareError {
  return new TensorshareError(
    'ERR_TIMEOUT',
    `request ${r.id} to ${r.fn} waited ${Math.round(now - r.enqueuedAt)} ms in the queue, past its timeout of ${Math.round(r.deadline - r.enqueuedAt)} ms; it was not run`,
    {
      fn: r.fn,
      id: r.id,
      tenant: r.tenant,
      waitedMs: now - r.enqueuedAt,
      timeoutMs: r.deadline - r.enqueuedAt,
      expired: true,
    },
  );
}

function checkCount(what: string, n: number, min = 1): void {
  if (!(Number.isInteger(n) && n >= min) && n !== Infinity) {
    throw new TensorshareError('ERR_INVALID_ARGUMENT', `${what} must be an integer >= ${min}, got ${n}`, {
      what,
      value: n,
    });
  }
}
