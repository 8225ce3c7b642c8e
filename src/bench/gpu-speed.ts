// `bench gpu`'s speed rows: steady-state latency through the device executor
// against private in-process CUDA sessions, side by side. Every path is one
// long-lived process (gpu-worker.ts `rounds`), all of them up at once; each
// round runs every path at every batch in an order rotated round by round, so
// drift of the machine (clocks, other load) falls on every path alike, and
// each round's median of a path is paired with the baselines' medians of the
// same round. Two baselines: the private session as a user writes it (default
// options: the target's), and one with the executor's thread settings (the
// same session options: what the shared path itself costs). The executor's
// own ORT call of each run, timed inside it, is a third reference: the same
// session in the same process, CUDA context and CPUs.
import type { GpuWorkerArgs } from './gpu-worker.js';
import { median, pct, worker, type Worker } from './gpu-proc.js';

export interface SpeedPath {
  key: string;
  what: string;
  args: GpuWorkerArgs;
}

export interface Spread {
  median: number;
  min: number;
  max: number;
}

export interface SpeedPathResult {
  what: string;
  /** All timed runs of all rounds, by batch. */
  ms: Record<string, { p50: number; p90: number; mean: number; n: number }>;
  /** Each round's median, by batch, in round order. */
  roundMedians: Record<string, number[]>;
  /** Executor paths: medians of each stage (stageMedians). */
  stages?: Record<string, Record<string, number>>;
  /** Executor paths, by batch: each round's median run time over the median of the executor's own ORT call in it. */
  vsOwnOrt?: Record<string, Spread>;
  /** Each round's median over the baselines' medians of the same round, by batch. */
  vsPrivate: Record<string, Spread>;
  vsSameOptions?: Record<string, Spread>;
}

export interface SpeedMeasurement {
  rounds: number;
  runsPerRound: number;
  batches: number[];
  order: 'rotated per round';
  paths: Record<string, SpeedPathResult>;
  /** Largest difference of the first output's samples from the private session's, by batch (Infinity: shapes differ). */
  outputMaxAbsDiff: Record<string, number>;
  /** Whether every executor path answered the very same samples, by batch. */
  executorPathsAgree: Record<string, boolean>;
}

/**
 * Medians of each stage of the executor's runs, by batch (DeviceSession.lastTiming), and the stages derived from
 * them: `transportMs` (the socket round trip: all but the executor and this process's copies), `handoffMs` (the
 * device run beside ORT's own call: to and from the session's thread), `bookkeepingMs` (the executor's time that is
 * neither reading inputs, waiting for a lane nor the run).
 */
export function stageMedians(
  byBatch: Record<string, Record<string, number>[]>,
): Record<string, Record<string, number>> {
  const out: Record<string, Record<string, number>> = {};
  for (const [b, runs] of Object.entries(byBatch)) {
    if (!runs.length) continue;
    const derived = runs.map((t) => ({
      ...t,
      transportMs: t.totalMs! - t.executorMs! - t.writeMs! - t.outMs!,
      handoffMs: t.runMs! - t.ortMs!,
      bookkeepingMs: t.executorMs! - t.readMs! - t.queuedMs! - t.runMs!,
    }));
    out[b] = Object.fromEntries(
      Object.keys(derived[0]!).map((k) => [k, median(derived.map((t) => (t as Record<string, number>)[k]!))]),
    );
  }
  return out;
}

const spread = (xs: number[]): Spread => ({ median: median(xs), min: Math.min(...xs), max: Math.max(...xs) });

/** Round r's order of n paths: rotated by r, and reversed every other round (each path both early and late). */
export function roundOrder(n: number, r: number): number[] {
  const o = Array.from({ length: n }, (_, i) => (i + r) % n);
  return r % 2 ? o.reverse() : o;
}

/**
 * Measures `paths` (the first is the baseline a user writes; `sameOptions` names the one with the executor's session
 * options) in `rounds` interleaved rounds of `runs` runs per batch.
 */
export async function measureSpeed(
  paths: SpeedPath[],
  o: { batches: number[]; rounds: number; runs: number; sameOptions?: string; log(line: string): void },
): Promise<SpeedMeasurement> {
  const workers: Worker[] = [];
  try {
    for (const p of paths) {
      const w = worker({ ...p.args, after: 'rounds' });
      workers.push(w);
      await w.wait('ready', 300_000);
    }
    const ms = paths.map(() => Object.fromEntries(o.batches.map((b) => [b, [] as number[][]])));
    const stages = paths.map(() => Object.fromEntries(o.batches.map((b) => [b, [] as Record<string, number>[][]])));
    const samples = paths.map(() => ({}) as Record<string, number[]>);
    for (let r = 0; r < o.rounds; r++) {
      for (const i of roundOrder(paths.length, r))
        for (const b of o.batches) {
          const line = await workers[i]!.ask({ batch: b, runs: o.runs }, 'round', 120_000);
          ms[i]![b]!.push(line.ms as number[]);
          stages[i]![b]!.push(line.stages as Record<string, number>[]);
          samples[i]![b] = line.sample as number[];
        }
      o.log(`speed round ${r + 1}/${o.rounds}`);
    }
    const base = 0;
    const same = o.sameOptions === undefined ? -1 : paths.findIndex((p) => p.key === o.sameOptions);
    const roundMedians = ms.map((byB) =>
      Object.fromEntries(Object.entries(byB).map(([b, rounds]) => [b, rounds.map(median)])),
    );
    const paired = (i: number, j: number) =>
      Object.fromEntries(
        o.batches.map((b) => [b, spread(roundMedians[i]![b]!.map((m, r) => m / roundMedians[j]![b]![r]!))]),
      );
    const result: Record<string, SpeedPathResult> = {};
    for (const [i, p] of paths.entries()) {
      const all = Object.fromEntries(Object.entries(ms[i]!).map(([b, rounds]) => [b, rounds.flat()]));
      const st = Object.fromEntries(Object.entries(stages[i]!).map(([b, rounds]) => [b, rounds.flat()]));
      const timed = Object.values(st).some((x) => x.length > 0);
      result[p.key] = {
        what: p.what,
        ms: Object.fromEntries(
          Object.entries(all).map(([b, xs]) => [
            b,
            { p50: median(xs), p90: pct(xs, 90), mean: xs.reduce((x, y) => x + y, 0) / xs.length, n: xs.length },
          ]),
        ),
        roundMedians: roundMedians[i]!,
        ...(timed
          ? {
              stages: stageMedians(st),
              vsOwnOrt: Object.fromEntries(
                o.batches.map((b) => [
                  b,
                  spread(
                    stages[i]![b]!.map(
                      (runs) => median(runs.map((t) => t.totalMs!)) / median(runs.map((t) => t.ortMs!)),
                    ),
                  ),
                ]),
              ),
            }
          : {}),
        vsPrivate: paired(i, base),
        ...(same >= 0 ? { vsSameOptions: paired(i, same) } : {}),
      };
    }
    const outputMaxAbsDiff: Record<string, number> = {};
    const executorPathsAgree: Record<string, boolean> = {};
    for (const b of o.batches) {
      const p = samples[base]![b] ?? [];
      const execs = paths.flatMap((x, i) => (x.args.kind === 'ts' ? [samples[i]![b] ?? []] : []));
      executorPathsAgree[b] = execs.every(
        (e) => e.length === execs[0]!.length && e.every((v, k) => v === execs[0]![k]),
      );
      const e = execs[0] ?? [];
      outputMaxAbsDiff[b] =
        e.length !== p.length || e[0] !== p[0]
          ? Number.POSITIVE_INFINITY
          : p.reduce((m, v, k) => Math.max(m, Math.abs(v - e[k]!)), 0);
    }
    return {
      rounds: o.rounds,
      runsPerRound: o.runs,
      batches: o.batches,
      order: 'rotated per round',
      paths: result,
      outputMaxAbsDiff,
      executorPathsAgree,
    };
  } finally {
    await Promise.all(workers.map((w) => w.exit().catch(() => w.proc.kill('SIGKILL'))));
  }
}
