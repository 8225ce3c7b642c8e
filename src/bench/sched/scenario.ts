// What the scenarios share besides the harness: the scale of offered loads
// and the base of every function config.
import type { Compute } from './results.js';

export interface ScenarioContext {
  /** What `instances` instances complete at the model's fastest per-sequence time with nothing else running: rate ladders are fractions of it, overloads multiples of it. */
  ideal: number;
  instances: number;
  /** Tokens per request. */
  seq: number;
  /** The model alone, by sequence length (the benchmark's, and in a full run of scenario 1 also 8 and 16). */
  computeBySeq: Record<string, Compute>;
  functionBase: { model: string; maxQueueLength: number; requestTimeoutMs: number };
}

/** A rate rounded to a multiple of 5, at least 5. */
export const nice = (x: number) => Math.max(5, Math.round(x / 5) * 5);

/** The one function tenants share in scenarios 2 and 3 (AIMD batching, a tight sloMs). */
export function sharedFunction(c: ScenarioContext) {
  return {
    shared: {
      ...c.functionBase,
      minInstances: c.instances,
      maxInstances: c.instances,
      batching: { maxBatchSize: 32, sloMs: 30 },
    },
  };
}
