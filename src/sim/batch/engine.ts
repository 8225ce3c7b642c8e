// The batching simulator: one function's requests through the scheduler's
// own dispatcher (src/sched/dispatcher.ts: its batcher, its AIMD controller,
// its queue limits), driven by a simulated clock. Service times come from a
// measured latency-versus-batch profile with seeded jitter. Instances are a
// fixed count or follow a scaler (an autoscaler's decision function) with a
// cold start; on a machine with fewer cores than busy threads every run
// slows by the oversubscription, as runs on a shared CPU do.
import { TensorshareError } from '../../errors.js';
import { seededRandom } from '../../prng.js';
import { type AimdConfig, type Batch, createDispatcher } from '../../sched/index.js';

export interface ScalerInput {
  now: number;
  ready: number;
  /** Ready or starting. */
  current: number;
  inFlight: number;
  queued: number;
}

export interface Scaler {
  tickMs: number;
  coldStartMs: number;
  /** Instances wanted now (the engine starts or stops the difference). */
  decide(input: ScalerInput): number;
}

export interface SimOptions {
  /** Service time of a batch of `items`, ms (before jitter). */
  serviceMs(items: number): number;
  arrivals: readonly number[];
  maxBatchSize: number;
  /** With it, the cap is the scheduler's AIMD cap; without, maxBatchSize (static). */
  aimd?: AimdConfig;
  maxQueueDelayMs?: number;
  /** Batches one instance runs at once (default 1). */
  concurrencyPerInstance?: number;
  /** Instances at start (default 1); a scaler changes them. */
  instances?: number;
  scaler?: Scaler;
  /** Intra-op threads per instance and the machine's cores (oversubscription slows runs); default no contention. */
  threads?: number;
  cores?: number;
  /** Queued requests beyond this are refused (default 1000). */
  maxQueueLength?: number;
  /** Queue timeout per request, ms (default none). */
  timeoutMs?: number;
  /** Standard deviation of ln(service time) (default 0: the profile exactly). */
  jitter?: number;
  seed?: string | number;
  /** The batch-execution SLO attainment is measured against (default: aimd.sloMs). */
  sloMs?: number;
  /** Progress callback, every few thousand events. */
  onProgress?(done: number, total: number): void;
}

export interface BatchRecord {
  at: number;
  items: number;
  /** Cap when the batch formed. */
  cap: number;
  serviceMs: number;
}

export interface SimResult {
  requests: number;
  completed: number;
  rejected: number;
  expired: number;
  durationMs: number;
  /** Completed rows per second over the trace's span. */
  throughputPerS: number;
  /** Share of all requests whose batch ran within sloMs (refused and expired ones count as misses). */
  sloAttainment: number | null;
  /** End-to-end (queue + run) latency of completed requests, ms. */
  latencyMs: { p50: number; p95: number; p99: number; mean: number };
  batches: BatchRecord[];
  meanBatch: number;
  /** Time-weighted mean and peak of instances (ready or starting). */
  meanInstances: number;
  peakInstances: number;
  coldStarts: number;
  /** End-to-end latency of each request (NaN: never ran), in arrival order. */
  latencies: Float64Array;
}

interface Running {
  batch: Batch<number>;
  doneAt: number;
  serviceMs: number;
}

const FN = 'f';

export function simulate(o: SimOptions): SimResult {
  if (!(Number.isInteger(o.maxBatchSize) && o.maxBatchSize >= 1))
    throw new TensorshareError('ERR_INVALID_ARGUMENT', `maxBatchSize must be an integer >= 1, got ${o.maxBatchSize}`);
  const perInstance = o.concurrencyPerInstance ?? 1;
  const sloMs = o.sloMs ?? o.aimd?.sloMs;
  const random = seededRandom(o.seed ?? 1);
  const normal = () => Math.sqrt(-2 * Math.log(1 - random())) * Math.cos(2 * Math.PI * random());
  const d = createDispatcher<number>({ policy: 'fifo', slots: Infinity });
  let ready = o.instances ?? 1;
  const starting: number[] = []; // ready times of instances starting
  d.register({
    name: FN,
    batching: { maxBatchSize: o.maxBatchSize, maxQueueDelayMs: o.maxQueueDelayMs ?? 0 },
    ...(o.aimd ? { aimd: o.aimd } : {}),
    maxQueueLength: o.maxQueueLength ?? 1000,
    ...(o.timeoutMs ? { defaultTimeoutMs: o.timeoutMs } : {}),
    maxConcurrency: ready * perInstance,
  });

  const n = o.arrivals.length;
  const latencies = new Float64Array(n).fill(Number.NaN);
  const withinSlo = new Uint8Array(n);
  const batches: BatchRecord[] = [];
  let running: Running[] = [];
  let rejected = 0;
  let expired = 0;
  let completed = 0;
  let items = 0;
  let coldStarts = 0;
  let next = 0;
  let wakeAt: number | null = null;
  let nextTick = o.scaler ? 0 : Infinity;
  let now = 0;
  let instanceMs = 0;
  let peak = ready;
  let lastAt = 0;
  const account = (t: number) => {
    instanceMs += (ready + starting.length) * (t - lastAt);
    lastAt = t;
  };

  const dispatchAll = () => {
    for (;;) {
      const dec = d.next(now);
      expired += dec.expired.length;
      if (!dec.batch) {
        wakeAt = dec.wakeAt;
        return;
      }
      const b = dec.batch;
      const busyThreads = (running.length + 1) * (o.threads ?? 1);
      const slowdown = o.cores ? Math.max(1, busyThreads / o.cores) : 1;
      const serviceMs = o.serviceMs(b.items) * slowdown * (o.jitter ? Math.exp(o.jitter * normal()) : 1);
      batches.push({ at: now, items: b.items, cap: d.cap(FN), serviceMs });
      // The cap recorded is the one the batch formed under (complete() updates it afterwards).
      running.push({ batch: b, doneAt: now + serviceMs, serviceMs });
    }
  };
  const setInstances = (count: number) => {
    ready = count;
    d.setConcurrency(FN, ready * perInstance);
  };

  let events = 0;
  while (next < n || running.length > 0 || starting.length > 0) {
    const nextArrival = next < n ? o.arrivals[next]! : Infinity;
    let nextDone = Infinity;
    for (const r of running) nextDone = Math.min(nextDone, r.doneAt);
    const nextStart = starting.length ? Math.min(...starting) : Infinity;
    const t = Math.min(
      nextArrival,
      nextDone,
      wakeAt ?? Infinity,
      nextStart,
      next < n || running.length ? nextTick : Infinity,
    );
    if (t === Infinity) break;
    account(t);
    now = t;
    // The live scheduler's order: every batch done now completes, then one pump; each arrival is its own submit (and pump).
    const done = running.filter((r) => r.doneAt <= now);
    if (done.length) {
      running = running.filter((r) => r.doneAt > now);
      for (const r of done) {
        d.complete(r.batch, r.serviceMs);
        for (const q of r.batch.requests) {
          latencies[q.payload] = now - q.enqueuedAt;
          if (sloMs !== undefined && r.serviceMs <= sloMs) withinSlo[q.payload] = 1;
          completed++;
          items += q.items;
        }
      }
    }
    while (starting.length && Math.min(...starting) <= now) {
      starting.splice(starting.indexOf(Math.min(...starting)), 1);
      setInstances(ready + 1);
    }
    dispatchAll();
    while (next < n && o.arrivals[next]! <= now) {
      try {
        d.enqueue({ fn: FN, payload: next }, now);
      } catch (e) {
        if (!(e instanceof TensorshareError && e.code === 'ERR_OVERLOADED')) throw e;
        rejected++;
      }
      next++;
      // A request that finds no instance asks the scaler at once (the autoscaler's poke), not at its next tick.
      if (o.scaler && ready + starting.length === 0) nextTick = now;
      else dispatchAll();
    }
    if (o.scaler && now >= nextTick) {
      nextTick = now + o.scaler.tickMs;
      const stats = d.snapshot().functions[0]!;
      const want = Math.max(
        0,
        Math.round(
          o.scaler.decide({
            now,
            ready,
            current: ready + starting.length,
            inFlight: stats.inFlight,
            queued: stats.queued,
          }),
        ),
      );
      for (let k = ready + starting.length; k < want; k++) {
        starting.push(now + o.scaler.coldStartMs);
        coldStarts++;
      }
      // Scale down: starting ones first, then ready ones (their running batches finish).
      while (ready + starting.length > want && starting.length) starting.pop();
      if (ready > want) setInstances(want);
      peak = Math.max(peak, ready + starting.length);
    }
    dispatchAll();
    if (++events % 4096 === 0) o.onProgress?.(next, n);
  }
  o.onProgress?.(n, n);
  const span = Math.max(1, now);
  const done = [...latencies].filter((v) => !Number.isNaN(v)).sort((a, b) => a - b);
  const q = (p: number) =>
    done.length ? done[Math.min(done.length - 1, Math.floor(p * (done.length - 1) + 0.5))]! : 0;
  return {
    requests: n,
    completed,
    rejected,
    expired,
    durationMs: now,
    throughputPerS: (items * 1000) / span,
    sloAttainment: sloMs === undefined || n === 0 ? null : withinSlo.reduce((a, v) => a + v, 0) / n,
    latencyMs: {
      p50: q(0.5),
      p95: q(0.95),
      p99: q(0.99),
      mean: done.reduce((a, v) => a + v, 0) / Math.max(1, done.length),
    },
    batches,
    meanBatch: batches.length ? batches.reduce((a, b) => a + b.items, 0) / batches.length : 0,
    meanInstances: instanceMs / span,
    peakInstances: peak,
    coldStarts,
    latencies,
  };
}
