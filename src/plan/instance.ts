// The configurations of one function that meet its SLO, from its profile.
// A configuration is n instances x t intra-op threads x batch cap b; with
// s = latency(t, b):
//   latency bound   2 s <= SLO   (a request that arrives while a full batch
//                                 runs waits for it, then runs in the next)
//   throughput      rate <= maxUtilization x n x b / s
//   cores           n x t <= cores (the core budget serve reserves from)
//   memory          sharedBytes + n x memory(t, b)   (minimized)
// For each (t, b) only the smallest n matters: more instances cost memory
// and cores and buy nothing the constraints ask for. memory(t, b) is the
// largest measured at any t' <= t and b' <= b: more threads or a larger
// batch never take less memory, so a measured dip is noise (a profile where
// two threads measured 0.1 MiB under one made the planner choose two
// threads, which took more memory live than one).
import { TensorshareError } from '../errors.js';
import type { MeasuredProfile } from './profile.js';

export interface Demand {
  fn: string;
  /** Requests per second, one row each. */
  ratePerS: number;
  /** Latency objective of one request (queueing + run), ms. */
  sloMs: number;
}

export interface Limits {
  /** Cores the instances' threads may take in total. */
  cores: number;
  /** Most instances of one function (serve's maxInstances; default 64). */
  maxInstances?: number;
  /** Highest planned utilization of the instances, in (0, 1] (default 0.7: headroom for bursts). */
  maxUtilization?: number;
}

export interface Choice {
  fn: string;
  instances: number;
  threads: number;
  maxBatchSize: number;
  cores: number;
  /** sharedBytes + instances x the instance's private memory at this batch cap. */
  memoryBytes: number;
  /** 2 x the batch's service time: the planned worst-case latency, ms. */
  boundMs: number;
  /** Service time of a full batch, ms. */
  serviceMs: number;
  utilization: number;
}

export function checkDemand(d: Demand): void {
  if (!(d.ratePerS > 0 && Number.isFinite(d.ratePerS)))
    throw new TensorshareError(
      'ERR_INVALID_ARGUMENT',
      `${d.fn}: request rate must be > 0 per second, got ${d.ratePerS}`,
    );
  if (!(d.sloMs > 0 && Number.isFinite(d.sloMs)))
    throw new TensorshareError('ERR_INVALID_ARGUMENT', `${d.fn}: SLO must be > 0 ms, got ${d.sloMs}`);
}

export function checkLimits(l: Limits): Required<Limits> {
  const out = { maxInstances: 64, maxUtilization: 0.7, ...l };
  if (!(Number.isInteger(out.cores) && out.cores >= 1))
    throw new TensorshareError('ERR_INVALID_ARGUMENT', `cores must be an integer >= 1, got ${out.cores}`);
  if (!(Number.isInteger(out.maxInstances) && out.maxInstances >= 1))
    throw new TensorshareError('ERR_INVALID_ARGUMENT', `maxInstances must be an integer >= 1, got ${out.maxInstances}`);
  if (!(out.maxUtilization > 0 && out.maxUtilization <= 1))
    throw new TensorshareError('ERR_INVALID_ARGUMENT', `maxUtilization must be in (0, 1], got ${out.maxUtilization}`);
  return out;
}

/** Every (threads, batch) configuration that meets the SLO within the limits, smallest memory first. */
export function choicesFor(profile: MeasuredProfile, demand: Demand, limits: Limits): Choice[] {
  checkDemand(demand);
  const l = checkLimits(limits);
  const out: Choice[] = [];
  const memoryOf = (t: number, b: number) =>
    Math.max(...profile.points.filter((q) => q.threads <= t && q.batch <= b).map((q) => q.memoryBytes));
  for (const p of profile.points) {
    if (2 * p.latencyMs > demand.sloMs) continue;
    const perInstance = (p.batch * 1000) / p.latencyMs;
    const instances = Math.max(1, Math.ceil(demand.ratePerS / (l.maxUtilization * perInstance) - 1e-9));
    if (instances > l.maxInstances || instances * p.threads > l.cores) continue;
    out.push({
      fn: demand.fn,
      instances,
      threads: p.threads,
      maxBatchSize: p.batch,
      cores: instances * p.threads,
      memoryBytes: profile.sharedBytes + instances * memoryOf(p.threads, p.batch),
      boundMs: 2 * p.latencyMs,
      serviceMs: p.latencyMs,
      utilization: demand.ratePerS / (instances * perInstance),
    });
  }
  return out.sort(byMemoryThenCores);
}

export function byMemoryThenCores(a: Choice, b: Choice): number {
  return (
    a.memoryBytes - b.memoryBytes ||
    a.cores - b.cores ||
    a.boundMs - b.boundMs ||
    a.threads - b.threads ||
    a.maxBatchSize - b.maxBatchSize
  );
}

/** Drops every choice another one beats on both memory and cores (ties keep the first). */
export function paretoFront(choices: readonly Choice[]): Choice[] {
  const sorted = [...choices].sort(byMemoryThenCores);
  const out: Choice[] = [];
  let fewestCores = Infinity;
  for (const c of sorted) {
    if (c.cores < fewestCores) {
      out.push(c);
      fewestCores = c.cores;
    }
  }
  return out;
}
