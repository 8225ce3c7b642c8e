// DART's node configuration for realtime functions with deadlines on a
// machine with GPUs: each function runs either on the CPU, one instance with
// c dedicated cores (the core split), or on a GPU, where the functions placed
// on it share it non-preemptively in deadline-monotonic order. Chosen to
// minimize weighted response time subject to every deadline; exhaustive, so
// for the handful of realtime functions a node holds.
//
// Response times (sporadic requests, at least periodMs apart):
//   CPU  R = s(c)                          needs s(c) <= period (the instance is free again)
//   GPU  R = w + g, w = B + sum over higher-priority j of (floor(w / T_j) + 1) g_j
//        (B: the longest lower-priority run, which cannot be preempted);
//        needs the GPU's utilization sum g / T <= 1.
import { TensorshareError } from '../errors.js';

export interface RealtimeFunction {
  fn: string;
  /** Shortest time between two requests, ms. */
  periodMs: number;
  deadlineMs: number;
  /** Weight of its response time in the objective (default 1). */
  weight?: number;
  /** Batch-1 latency on the CPU by intra-op threads (measured). */
  cpuMs: ReadonlyMap<number, number>;
  /** Batch-1 latency on a GPU, ms; undefined: no GPU profile (CPU only). */
  gpuMs?: number;
}

export type Placement = { device: 'cpu'; cores: number } | { device: 'gpu'; gpu: number };

export interface RealtimeAssignment {
  fn: string;
  placement: Placement;
  responseMs: number;
  deadlineMs: number;
}

export interface RealtimePlan {
  schedulable: boolean;
  /** Sum of weight x response time over the functions (when schedulable). */
  weightedResponseMs: number | null;
  assignments: RealtimeAssignment[];
  /** Cores the realtime CPU instances take; the rest stay for besteffort work. */
  realtimeCores: number;
  besteffortCores: number;
  /** When not schedulable: why, per function that cannot meet its deadline anywhere, or for the whole set. */
  reasons: string[];
  combinations: number;
}

export function checkRealtime(f: RealtimeFunction): void {
  const bad = (why: string) =>
    new TensorshareError('ERR_INVALID_ARGUMENT', `realtime function ${f.fn}: ${why}`, { fn: f.fn });
  if (!(f.periodMs > 0)) throw bad(`periodMs must be > 0, got ${f.periodMs}`);
  if (!(f.deadlineMs > 0)) throw bad(`deadlineMs must be > 0, got ${f.deadlineMs}`);
  if (f.weight !== undefined && !(f.weight > 0)) throw bad(`weight must be > 0, got ${f.weight}`);
  if (f.cpuMs.size === 0 && f.gpuMs === undefined) throw bad('has neither a CPU nor a GPU profile');
}

/** Response time of each function on one GPU (deadline-monotonic, non-preemptive); Infinity past its deadline. */
export function gpuResponseTimes(fns: readonly RealtimeFunction[]): number[] {
  const order = fns.map((_, i) => i).sort((a, b) => fns[a]!.deadlineMs - fns[b]!.deadlineMs || a - b);
  const util = fns.reduce((a, f) => a + f.gpuMs! / f.periodMs, 0);
  const out = new Array<number>(fns.length).fill(Infinity);
  if (util > 1) return out;
  order.forEach((i, rank) => {
    const f = fns[i]!;
    const higher = order.slice(0, rank).map((k) => fns[k]!);
    const blocking = Math.max(0, ...order.slice(rank + 1).map((k) => fns[k]!.gpuMs!));
    let w = blocking;
    for (let iter = 0; iter < 1000; iter++) {
      const next = blocking + higher.reduce((a, h) => a + (Math.floor(w / h.periodMs) + 1) * h.gpuMs!, 0);
      if (next + f.gpuMs! > f.deadlineMs) return;
      if (next === w) break;
      w = next;
    }
    out[i] = w + f.gpuMs!;
  });
  return out;
}

/** The best node configuration, or `schedulable: false` with reasons. */
export function planRealtime(fns: readonly RealtimeFunction[], cores: number, gpus: number): RealtimePlan {
  for (const f of fns) checkRealtime(f);
  if (!(Number.isInteger(cores) && cores >= 0))
    throw new TensorshareError('ERR_INVALID_ARGUMENT', `cores must be an integer >= 0, got ${cores}`);
  if (!(Number.isInteger(gpus) && gpus >= 0))
    throw new TensorshareError('ERR_INVALID_ARGUMENT', `gpus must be an integer >= 0, got ${gpus}`);
  const options = fns.map((f) => {
    const out: Placement[] = [];
    for (const [c, ms] of [...f.cpuMs].sort((a, b) => a[0] - b[0]))
      if (c <= cores && ms <= f.periodMs && ms <= f.deadlineMs) out.push({ device: 'cpu', cores: c });
    if (f.gpuMs !== undefined && f.gpuMs <= f.deadlineMs && f.gpuMs <= f.periodMs)
      for (let g = 0; g < gpus; g++) out.push({ device: 'gpu', gpu: g });
    return out;
  });
  const reasons = fns.flatMap((f, i) =>
    options[i]!.length === 0
      ? [
          `${f.fn}: no placement meets deadline ${f.deadlineMs} ms at period ${f.periodMs} ms (CPU ${[...f.cpuMs].map(([c, ms]) => `${c} cores ${round(ms)} ms`).join(', ') || 'not profiled'}; GPU ${f.gpuMs === undefined ? 'not profiled' : gpus === 0 ? 'none on this machine' : `${round(f.gpuMs)} ms`})`,
        ]
      : [],
  );
  const empty = { assignments: [], realtimeCores: 0, besteffortCores: cores, combinations: 0 };
  if (reasons.length) return { schedulable: false, weightedResponseMs: null, reasons, ...empty };

  let best: { cost: number; pick: Placement[]; response: number[]; used: number } | null = null;
  let combinations = 0;
  const pick: Placement[] = [];
  const visit = (i: number, used: number): void => {
    if (i === fns.length) {
      combinations++;
      const response = responseTimes(fns, pick);
      if (response.some((r, k) => !(r <= fns[k]!.deadlineMs))) return;
      const cost = response.reduce((a, r, k) => a + (fns[k]!.weight ?? 1) * r, 0);
      // Ties: fewer realtime cores leave more for besteffort.
      if (!best || cost < best.cost - 1e-9 || (Math.abs(cost - best.cost) <= 1e-9 && used < best.used))
        best = { cost, pick: [...pick], response, used };
      return;
    }
    for (const p of options[i]!) {
      const c = p.device === 'cpu' ? p.cores : 0;
      if (used + c > cores) continue;
      pick.push(p);
      visit(i + 1, used + c);
      pick.pop();
    }
  };
  visit(0, 0);
  if (!best) {
    return {
      schedulable: false,
      weightedResponseMs: null,
      reasons: [
        `no combination of placements meets every deadline: the functions fit alone but not together on ${cores} cores and ${gpus} GPU(s)`,
      ],
      ...empty,
      combinations,
    };
  }
  const b = best as { cost: number; pick: Placement[]; response: number[]; used: number };
  return {
    schedulable: true,
    weightedResponseMs: b.cost,
    assignments: fns.map((f, i) => ({
      fn: f.fn,
      placement: b.pick[i]!,
      responseMs: b.response[i]!,
      deadlineMs: f.deadlineMs,
    })),
    realtimeCores: b.used,
    besteffortCores: cores - b.used,
    reasons: [],
    combinations,
  };
}

function responseTimes(fns: readonly RealtimeFunction[], pick: readonly Placement[]): number[] {
  const out = fns.map((f, i) => {
    const p = pick[i]!;
    return p.device === 'cpu' ? f.cpuMs.get(p.cores)! : Infinity;
  });
  const byGpu = new Map<number, number[]>();
  pick.forEach((p, i) => {
    if (p.device === 'gpu') byGpu.set(p.gpu, [...(byGpu.get(p.gpu) ?? []), i]);
  });
  for (const members of byGpu.values()) {
    const r = gpuResponseTimes(members.map((i) => fns[i]!));
    members.forEach((i, k) => {
      out[i] = r[k]!;
    });
  }
  return out;
}

const round = (ms: number) => Math.round(ms * 100) / 100;
