// The planned configuration against serve's default autoscaler on the same
// trace, both through the batching simulator: memory (shared weights once
// plus each instance's private memory, time-averaged and peak) and SLO
// attainment (end-to-end latency within the SLO; refused requests miss).
// A simulation, not a live serve run: the instances' service times and
// memory are the measured profile's, the cold start a measured constant.
import { TensorshareError } from '../../errors.js';
import type { KpaConfig } from '../../serve/autoscaler/kpa.js';
import { DEFAULT_KPA, kpaScaler } from './autoscaler.js';
import { type SimResult, simulate } from './engine.js';

export interface InstanceShape {
  threads: number;
  maxBatchSize: number;
  /** Service time of a batch of `items` at these threads, ms. */
  serviceMs(items: number): number;
  /** Private memory of one instance at this batch cap, bytes. */
  memoryBytes: number;
}

export interface AutoscaleCompareOptions {
  arrivals: readonly number[];
  sloMs: number;
  cores: number;
  sharedBytes: number;
  planned: InstanceShape & { instances: number };
  /** What an unplanned function runs as (serve's defaults: 1 thread, no batching). */
  unplanned: InstanceShape;
  kpa?: KpaConfig;
  coldStartMs: number;
  jitter?: number;
  seed?: string | number;
}

export interface ConfigOutcome {
  label: string;
  meanMemoryBytes: number;
  peakMemoryBytes: number;
  meanInstances: number;
  peakInstances: number;
  coldStarts: number;
  sloAttainment: number;
  p50Ms: number;
  p99Ms: number;
  throughputPerS: number;
  rejected: number;
}

/** Share of all requests answered within `sloMs` end to end (never answered: a miss). */
export function endToEndAttainment(r: SimResult, sloMs: number): number {
  let ok = 0;
  for (const v of r.latencies) if (v <= sloMs) ok++;
  return r.requests ? ok / r.requests : 0;
}

export function compareWithAutoscaler(o: AutoscaleCompareOptions): {
  planned: ConfigOutcome;
  autoscaler: ConfigOutcome;
} {
  if (o.planned.instances * o.planned.threads > o.cores)
    throw new TensorshareError(
      'ERR_INVALID_ARGUMENT',
      `the plan needs ${o.planned.instances * o.planned.threads} cores, more than the ${o.cores} given`,
    );
  const common = { arrivals: o.arrivals, jitter: o.jitter, seed: o.seed, cores: o.cores };
  const planned = simulate({
    ...common,
    serviceMs: o.planned.serviceMs,
    maxBatchSize: o.planned.maxBatchSize,
    threads: o.planned.threads,
    instances: o.planned.instances,
  });
  // serve's core budget refuses instances past the cores: the autoscaler's maximum is capped the same way.
  const kpa = o.kpa ?? DEFAULT_KPA;
  const maxInstances = Math.min(kpa.maxInstances, Math.floor(o.cores / o.unplanned.threads));
  const auto = simulate({
    ...common,
    serviceMs: o.unplanned.serviceMs,
    maxBatchSize: o.unplanned.maxBatchSize,
    threads: o.unplanned.threads,
    instances: 0,
    scaler: kpaScaler({ ...kpa, maxInstances }, o.coldStartMs),
  });
  const outcome = (label: string, r: SimResult, per: number): ConfigOutcome => ({
    label,
    meanMemoryBytes: o.sharedBytes + r.meanInstances * per,
    peakMemoryBytes: o.sharedBytes + r.peakInstances * per,
    meanInstances: r.meanInstances,
    peakInstances: r.peakInstances,
    coldStarts: r.coldStarts,
    sloAttainment: endToEndAttainment(r, o.sloMs),
    p50Ms: r.latencyMs.p50,
    p99Ms: r.latencyMs.p99,
    throughputPerS: r.throughputPerS,
    rejected: r.rejected,
  });
  return {
    planned: outcome(
      `plan: ${o.planned.instances} x ${o.planned.threads} threads, cap ${o.planned.maxBatchSize}`,
      planned,
      o.planned.memoryBytes,
    ),
    autoscaler: outcome(
      `default autoscaler (KPA, target 1, up to ${maxInstances} x ${o.unplanned.threads} thread, cap ${o.unplanned.maxBatchSize})`,
      auto,
      o.unplanned.memoryBytes,
    ),
  };
}
