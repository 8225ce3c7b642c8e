// `sim batch`'s comparison on one trace: the scheduler's AIMD cap, every
// static batch cap, and the offline optimum
//   b* = argmax_b throughput(b) = b / (latency(b) + overhead(b))
//        subject to latency(b) + overhead(b) <= SLO
// computed from the profile alone (no trace). Convergence time of a cap
// trajectory: when it entered, for good, the band of +-10% around its final
// value (the median cap of the last fifth of the batches).
import { TensorshareError } from '../../errors.js';
import type { AimdConfig } from '../../sched/index.js';
import { type SimResult, simulate } from './engine.js';

export interface BatchProfilePoint {
  batch: number;
  latencyMs: number;
}

export interface BatchProfile {
  /** What was measured (model, threads, CPU). */
  model: string;
  points: BatchProfilePoint[];
}

export interface CompareOptions {
  profile: BatchProfile;
  arrivals: readonly number[];
  sloMs: number;
  /** Largest cap considered (default: the largest measured batch). */
  maxBatchSize?: number;
  /** Fixed cost per batch outside the model run (dispatch, concatenation, IPC), ms; default 0. */
  overheadMs?: number;
  /** Extra cost per row outside the model run, ms; default 0. */
  overheadPerItemMs?: number;
  aimd?: Omit<AimdConfig, 'sloMs'>;
  jitter?: number;
  seed?: string | number;
  instances?: number;
  maxQueueDelayMs?: number;
  /** Times the load changes (e.g. the starts of rate phases): convergence is measured after each. Default [0]. */
  phaseStartsMs?: number[];
  /** A static cap counts as meeting the SLO with at least this attainment (default 0.99). */
  target?: number;
  onProgress?(label: string, done: number, total: number): void;
}

export interface Summary {
  throughputPerS: number;
  sloAttainment: number;
  p50Ms: number;
  p99Ms: number;
  meanBatch: number;
  rejected: number;
}

export interface CompareResult {
  sloMs: number;
  maxBatchSize: number;
  offline: { batch: number | null; batchMs: number | null; throughputPerS: number | null };
  bestStatic: { batch: number; metTarget: boolean } & Summary;
  staticSweep: Array<{ batch: number } & Summary>;
  aimd: Summary & {
    finalCap: number;
    /** Per load phase: the cap it settled at and how long after the phase began (null: it never settled). */
    phases: Array<{ startMs: number } & Convergence>;
    capTrace: Array<{ t: number; cap: number }>;
  };
  requests: number;
}

/** Latency of a batch by linear interpolation between measured sizes (linear beyond the largest). */
export function batchLatency(profile: BatchProfile, items: number): number {
  const pts = [...profile.points].sort((a, b) => a.batch - b.batch);
  if (pts.length === 0) throw new TensorshareError('ERR_INVALID_ARGUMENT', `profile of ${profile.model} has no points`);
  let lo = pts[0]!;
  if (items <= lo.batch) return (lo.latencyMs * items) / lo.batch;
  for (const p of pts) {
    if (p.batch === items) return p.latencyMs;
    if (p.batch > items)
      return lo.latencyMs + ((p.latencyMs - lo.latencyMs) * (items - lo.batch)) / (p.batch - lo.batch);
    lo = p;
  }
  return (lo.latencyMs * items) / lo.batch;
}

export function offlineOptimum(
  cost: (b: number) => number,
  sloMs: number,
  maxBatchSize: number,
): { batch: number | null; batchMs: number | null; throughputPerS: number | null } {
  let best: { batch: number; batchMs: number; throughputPerS: number } | null = null;
  for (let b = 1; b <= maxBatchSize; b++) {
    const ms = cost(b);
    if (ms > sloMs) continue;
    const tp = (b * 1000) / ms;
    if (!best || tp > best.throughputPerS) best = { batch: b, batchMs: ms, throughputPerS: tp };
  }
  return best ?? { batch: null, batchMs: null, throughputPerS: null };
}

export interface Convergence {
  /** Median cap of the last fifth of the batches. */
  finalCap: number;
  /** Time from `fromMs` until the cap entered the band around finalCap for good; null if it never did. */
  convergenceMs: number | null;
}

/**
 * When a cap trajectory settled: the band is +-20% of its final value (AIMD's
 * sawtooth backs off 10% below the SLO edge and climbs back, so a tighter band
 * would call a controller that works unsettled).
 */
export function convergence(caps: ReadonlyArray<{ t: number; cap: number }>, fromMs = 0): Convergence {
  if (caps.length === 0) return { finalCap: 0, convergenceMs: null };
  const tail = caps
    .slice(Math.floor(caps.length * 0.8))
    .map((c) => c.cap)
    .sort((a, b) => a - b);
  const finalCap = tail[Math.floor(tail.length / 2)]!;
  const lo = Math.floor(finalCap * 0.8);
  const hi = Math.ceil(finalCap * 1.2);
  let last = -1;
  caps.forEach((c, i) => {
    if (c.cap < lo || c.cap > hi) last = i;
  });
  if (last === caps.length - 1) return { finalCap, convergenceMs: null };
  return { finalCap, convergenceMs: last < 0 ? 0 : Math.max(0, caps[last + 1]!.t - fromMs) };
}

function summarize(r: SimResult): Summary {
  return {
    throughputPerS: r.throughputPerS,
    sloAttainment: r.sloAttainment ?? 0,
    p50Ms: r.latencyMs.p50,
    p99Ms: r.latencyMs.p99,
    meanBatch: r.meanBatch,
    rejected: r.rejected,
  };
}

export function compareBatching(o: CompareOptions): CompareResult {
  if (!(o.sloMs > 0)) throw new TensorshareError('ERR_INVALID_ARGUMENT', `SLO must be > 0 ms, got ${o.sloMs}`);
  const maxBatchSize = o.maxBatchSize ?? Math.max(...o.profile.points.map((p) => p.batch));
  const cost = (b: number) => batchLatency(o.profile, b) + (o.overheadMs ?? 0) + (o.overheadPerItemMs ?? 0) * b;
  const common = {
    serviceMs: cost,
    arrivals: o.arrivals,
    jitter: o.jitter,
    seed: o.seed,
    instances: o.instances,
    maxQueueDelayMs: o.maxQueueDelayMs,
    sloMs: o.sloMs,
  };
  const target = o.target ?? 0.99;
  const sweep: Array<{ batch: number } & Summary> = [];
  for (let b = 1; b <= maxBatchSize; b++) {
    o.onProgress?.('static caps', b - 1, maxBatchSize);
    sweep.push({ batch: b, ...summarize(simulate({ ...common, maxBatchSize: b })) });
  }
  o.onProgress?.('static caps', maxBatchSize, maxBatchSize);
  const meeting = sweep.filter((s) => s.sloAttainment >= target);
  const pool = meeting.length ? meeting : sweep;
  const key = meeting.length ? (s: Summary) => s.throughputPerS : (s: Summary) => s.sloAttainment;
  const best = pool.reduce((a, s) => (key(s) > key(a) + 1e-9 ? s : a));
  const aimdRun = simulate({
    ...common,
    maxBatchSize,
    aimd: { ...o.aimd, sloMs: o.sloMs },
    onProgress: (done, total) => o.onProgress?.('aimd', done, total),
  });
  const caps = aimdRun.batches.map((b) => ({ t: b.at, cap: b.cap }));
  const starts = o.phaseStartsMs ?? [0];
  const phases = starts.map((startMs, i) => {
    const end = starts[i + 1] ?? Infinity;
    return {
      startMs,
      ...convergence(
        caps.filter((c) => c.t >= startMs && c.t < end),
        startMs,
      ),
    };
  });
  return {
    sloMs: o.sloMs,
    maxBatchSize,
    offline: offlineOptimum(cost, o.sloMs, maxBatchSize),
    bestStatic: { ...best, metTarget: meeting.length > 0 },
    staticSweep: sweep,
    aimd: {
      ...summarize(aimdRun),
      finalCap: phases[phases.length - 1]?.finalCap ?? 0,
      phases,
      capTrace: thin(caps, 400),
    },
    requests: o.arrivals.length,
  };
}

/** At most `n` points of a trace, evenly spaced by index (charts and JSON stay small). */
function thin<T>(xs: readonly T[], n: number): T[] {
  if (xs.length <= n) return [...xs];
  return Array.from({ length: n }, (_, i) => xs[Math.floor((i * (xs.length - 1)) / (n - 1))]!);
}
