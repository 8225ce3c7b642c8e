// A function's measured profile: latency and private memory of one instance
// against its intra-op threads and batch cap, measured on one CPU model (the
// measuring lives in src/bench/plan-profile.ts; this file only reads it).
import { TensorshareError } from '../errors.js';

export const PROFILE_FORMAT = 'tensorshare.plan-profile/v1';

export interface ProfilePoint {
  threads: number;
  /** Rows on axis 0 of one run. */
  batch: number;
  /** Median service time of one run, ms. */
  latencyMs: number;
  /** Private memory (Pss_Anon) of an instance that ran batches up to this size, bytes. */
  memoryBytes: number;
}

export interface MeasuredProfile {
  format: typeof PROFILE_FORMAT;
  /** What was measured, e.g. a model ref with its version. */
  model: string;
  /** CPU model name the numbers hold for. */
  cpu: string;
  /** Bytes every instance maps shared (the model's weights in the store), counted once per function. */
  sharedBytes: number;
  points: ProfilePoint[];
}

const bad = (why: string, where: string) => new TensorshareError('ERR_INVALID_ARGUMENT', `${where}: ${why}`, { where });

const positive = (v: unknown) => typeof v === 'number' && Number.isFinite(v) && v > 0;
const count = (v: unknown) => typeof v === 'number' && Number.isInteger(v) && v >= 1;

/** Validates a parsed profile (from a cache file or --profile); errors name the file and the point. */
export function checkProfile(raw: unknown, where: string): MeasuredProfile {
  if (typeof raw !== 'object' || raw === null) throw bad('a profile must be a JSON object', where);
  const p = raw as Partial<MeasuredProfile>;
  if (p.format !== PROFILE_FORMAT)
    throw bad(`format must be "${PROFILE_FORMAT}", got ${JSON.stringify(p.format)}`, where);
  if (typeof p.model !== 'string' || typeof p.cpu !== 'string') throw bad('model and cpu must be strings', where);
  if (!(typeof p.sharedBytes === 'number' && p.sharedBytes >= 0)) throw bad('sharedBytes must be a number >= 0', where);
  if (!Array.isArray(p.points) || p.points.length === 0) throw bad('points must be a non-empty array', where);
  const seen = new Set<string>();
  p.points.forEach((q, i) => {
    if (!count(q?.threads) || !count(q?.batch))
      throw bad(`points[${i}]: threads and batch must be integers >= 1`, where);
    if (!positive(q.latencyMs) || !(q.memoryBytes >= 0))
      throw bad(`points[${i}]: latencyMs must be > 0, memoryBytes >= 0`, where);
    const key = `${q.threads}x${q.batch}`;
    if (seen.has(key)) throw bad(`points[${i}]: threads ${q.threads} batch ${q.batch} appears twice`, where);
    seen.add(key);
  });
  return p as MeasuredProfile;
}

/** The point at (threads, batch), if measured. */
export function pointAt(p: MeasuredProfile, threads: number, batch: number): ProfilePoint | undefined {
  return p.points.find((q) => q.threads === threads && q.batch === batch);
}

/** Latency against batch at one thread count, sorted by batch. */
export function batchCurve(p: MeasuredProfile, threads: number): ProfilePoint[] {
  return p.points.filter((q) => q.threads === threads).sort((a, b) => a.batch - b.batch);
}

/**
 * Latency of a batch of `items` at `threads` by linear interpolation between
 * measured batch sizes (linear scaling past the largest, as src/sched's
 * profile predicts); undefined when that thread count was not measured.
 */
export function interpolateLatency(p: MeasuredProfile, threads: number, items: number): number | undefined {
  const curve = batchCurve(p, threads);
  if (curve.length === 0) return undefined;
  let lo: ProfilePoint | undefined;
  for (const q of curve) {
    if (q.batch === items) return q.latencyMs;
    if (q.batch < items) lo = q;
    else {
      if (!lo) return q.latencyMs;
      return lo.latencyMs + ((q.latencyMs - lo.latencyMs) * (items - lo.batch)) / (q.batch - lo.batch);
    }
  }
  const last = curve[curve.length - 1]!;
  return (last.latencyMs * items) / last.batch;
}
