// Closed-loop load: `concurrency` callers, each sending its next request as
// soon as its last one is answered, until `requests` have been answered
// (after `warmup` untimed ones). The load a client with a fixed number of
// connections puts on a server; throughput is answered requests per second
// of the timed window.
import type { Clock } from '../sched/clock.js';
import { realClock } from '../sched/clock.js';
import { errorKey, latencyStats, type LatencyStats } from './loadgen.js';

export interface ClosedLoopOptions {
  concurrency: number;
  requests: number;
  /** Requests answered before timing starts (default: 2 per caller). */
  warmup?: number;
  send(): Promise<unknown>;
  clock?: Clock;
}

export interface ClosedLoopReport {
  concurrency: number;
  /** Answered requests per second. */
  throughput: number;
  latencyMs: LatencyStats;
  /** Failed requests by error key; they count in neither throughput nor latency. */
  errors: Record<string, number>;
  durationMs: number;
  /** Every timed latency, sorted (ms). */
  samplesMs: number[];
}

/** Rounds of one scenario as one report: samples pooled, time and errors summed. */
export function mergeClosedLoop(rounds: readonly ClosedLoopReport[]): ClosedLoopReport {
  const samplesMs = rounds.flatMap((r) => r.samplesMs).sort((a, b) => a - b);
  const durationMs = rounds.reduce((a, r) => a + r.durationMs, 0);
  const errors: Record<string, number> = {};
  for (const r of rounds) for (const [k, n] of Object.entries(r.errors)) errors[k] = (errors[k] ?? 0) + n;
  return {
    concurrency: rounds[0]?.concurrency ?? 0,
    throughput: samplesMs.length / (durationMs / 1000),
    latencyMs: latencyStats(samplesMs),
    errors,
    durationMs,
    samplesMs,
  };
}

export async function runClosedLoop(o: ClosedLoopOptions): Promise<ClosedLoopReport> {
  const clock = o.clock ?? realClock;
  const errors: Record<string, number> = {};
  const call = async (): Promise<number | undefined> => {
    const t = clock.now();
    try {
      await o.send();
      return clock.now() - t;
    } catch (e) {
      const k = errorKey(e);
      errors[k] = (errors[k] ?? 0) + 1;
      return undefined;
    }
  };
  let warm = o.warmup ?? 2 * o.concurrency;
  await Promise.all(
    Array.from({ length: o.concurrency }, async () => {
      while (warm-- > 0) await call();
    }),
  );
  for (const k of Object.keys(errors)) delete errors[k];
  const latencies: number[] = [];
  let left = o.requests;
  const t0 = clock.now();
  await Promise.all(
    Array.from({ length: o.concurrency }, async () => {
      while (left-- > 0) {
        const ms = await call();
        if (ms !== undefined) latencies.push(ms);
      }
    }),
  );
  const durationMs = clock.now() - t0;
  const samplesMs = latencies.sort((a, b) => a - b);
  return {
    concurrency: o.concurrency,
    throughput: samplesMs.length / (durationMs / 1000),
    latencyMs: latencyStats(samplesMs),
    errors,
    durationMs,
    samplesMs,
  };
}
