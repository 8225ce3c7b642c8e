// `tensorshare sim batch`: AIMD (the scheduler's own controller) against every
// static batch cap and the offline optimum, on a measured profile and a trace.
import fs from 'node:fs';
import path from 'node:path';
import type { Command } from 'commander';
import { TensorshareError } from '../../errors.js';
import { batchCurve } from '../../plan/index.js';
import {
  type BatchProfile,
  type RatePhase,
  batchCharts,
  batchTable,
  compareBatching,
  offlineOptimum,
  batchLatency,
  parseTrace,
  poissonArrivals,
  writeCharts,
} from '../../sim/batch/index.js';
import { action, emit, progressBar, table } from '../output.js';
import {
  type ProfileFlags,
  addProfileOptions,
  intList,
  measuredProfile,
  positive,
  readProfileFile,
} from './profile-source.js';

interface SimBatchOpts extends ProfileFlags {
  model?: string;
  profile?: string;
  atThreads: string;
  sloMs: string;
  rate?: string;
  phaseMs: string;
  trace?: string;
  maxBatch?: string;
  overheadMs: string;
  jitter: string;
  seed: string;
  target: string;
  out?: string;
}

export function registerSimBatch(sim: Command): void {
  const c = sim
    .command('batch')
    .description(
      "dynamic batch sizes under an SLO: the scheduler's AIMD cap vs every static cap vs the offline optimum, on a measured profile and an arrival trace",
    )
    .option('--model <ref>', 'measure this model of the repository on this machine (cached)')
    .option(
      '--profile <file>',
      'a measured profile (tensorshare plan --save-profile, or {"model", "points": [{"batch", "latencyMs"}]})',
    )
    .option('--at-threads <n>', 'which intra-op thread count of the profile', '1')
    .requiredOption('--slo-ms <ms>', "latency objective of one batch (the scheduler's batching.sloMs)")
    .option(
      '--rate <list>',
      "requests/s per phase, comma-separated (default: 0.5x, 1.2x and 0.8x the offline optimum's capacity)",
    )
    .option('--phase-ms <ms>', 'duration of each rate phase', '10000')
    .option('--trace <file>', 'arrival times instead (ms; JSON array or one per line)')
    .option('--max-batch <n>', 'largest cap (default: the largest measured batch)')
    .option('--overhead-ms <ms>', 'fixed cost per batch outside the model run', '0')
    .option('--jitter <sigma>', 'standard deviation of ln(service time)', '0.05')
    .option('--seed <seed>', 'seed of the trace and the jitter', '1')
    .option('--target <share>', 'SLO attainment a static cap must reach to count', '0.99')
    .option('--out <dir>', 'write the charts (SVG) here')
    .option('--json', 'print JSON');
  addProfileOptions(c).action(
    action(async (o: SimBatchOpts, cmd: Command) => {
      if ((o.model === undefined) === (o.profile === undefined))
        throw new TensorshareError('ERR_INVALID_ARGUMENT', 'give exactly one of --model and --profile');
      const profile = await batchProfile(o, cmd);
      const sloMs = positive('--slo-ms', o.sloMs);
      const overheadMs = Number(o.overheadMs);
      if (!(overheadMs >= 0))
        throw new TensorshareError('ERR_INVALID_ARGUMENT', `--overhead-ms must be >= 0, got '${o.overheadMs}'`);
      const maxBatchSize = o.maxBatch
        ? intList('--max-batch', o.maxBatch)[0]!
        : Math.max(...profile.points.map((p) => p.batch));
      const phaseMs = positive('--phase-ms', o.phaseMs);
      let arrivals: number[];
      let phaseStartsMs: number[] = [0];
      let rates: number[] = [];
      if (o.trace) arrivals = parseTrace(fs.readFileSync(o.trace, 'utf8'), o.trace);
      else {
        const capacity = offlineOptimum(
          (b) => batchLatency(profile, b) + overheadMs,
          sloMs,
          maxBatchSize,
        ).throughputPerS;
        if (o.rate === undefined && capacity === null)
          throw new TensorshareError('ERR_INVALID_ARGUMENT', `no batch size runs within ${sloMs} ms: give --rate`);
        rates = o.rate
          ? o.rate.split(',').map((r) => positive('--rate', r))
          : [0.5, 1.2, 0.8].map((k) => k * capacity!);
        const phases: RatePhase[] = rates.map((ratePerS) => ({ ratePerS, durationMs: phaseMs }));
        phaseStartsMs = phases.map((_, i) => i * phaseMs);
        arrivals = poissonArrivals(phases, o.seed);
      }
      const bar = progressBar(o, 'simulating');
      const result = compareBatching({
        profile,
        arrivals,
        sloMs,
        maxBatchSize,
        overheadMs,
        jitter: Number(o.jitter),
        seed: o.seed,
        target: Number(o.target),
        phaseStartsMs,
        onProgress: (label, done, total) => bar.update(label === 'aimd' ? total + done : done, 2 * total),
      });
      bar.stop();
      const charts = o.out ? writeCharts(path.resolve(o.out), batchCharts(result, profile.model)) : [];
      emit(o, { profile: profile.model, ratesPerS: rates, seed: o.seed, ...result, charts }, (v) =>
        [
          `${v.profile}: SLO ${sloMs} ms per batch, ${v.requests} requests${rates.length ? ` in phases of ${phaseMs / 1000} s at ${rates.map((r) => r.toFixed(0)).join(', ')}/s` : ''}, seed ${o.seed}`,
          table(batchTable(v)),
          ...(charts.length ? ['', `charts: ${charts.join(', ')}`] : []),
        ].join('\n'),
      );
    }),
  );
}

async function batchProfile(o: SimBatchOpts, cmd: Command): Promise<BatchProfile> {
  const threads = intList('--at-threads', o.atThreads)[0]!;
  if (o.profile) {
    const raw = JSON.parse(fs.readFileSync(o.profile, 'utf8')) as { format?: string; model?: string; points?: unknown };
    if (raw.format === undefined && Array.isArray(raw.points)) {
      const points = raw.points as BatchProfile['points'];
      if (!points.every((p) => Number.isInteger(p?.batch) && p.batch >= 1 && p.latencyMs > 0))
        throw new TensorshareError(
          'ERR_INVALID_ARGUMENT',
          `${o.profile}: every point needs batch >= 1 and latencyMs > 0`,
        );
      return { model: raw.model ?? path.basename(o.profile), points };
    }
    return fromPlanProfile(readProfileFile(o.profile), threads, o.profile);
  }
  return fromPlanProfile(
    await measuredProfile(o.model!, { ...o, threads: o.threads ?? String(threads) }, cmd),
    threads,
    o.model!,
  );
}

function fromPlanProfile(p: ReturnType<typeof readProfileFile>, threads: number, where: string): BatchProfile {
  const curve = batchCurve(p, threads);
  if (curve.length === 0)
    throw new TensorshareError('ERR_INVALID_ARGUMENT', `${where}: the profile has no points at ${threads} threads`);
  return {
    model: `${p.model} (${threads} thread${threads > 1 ? 's' : ''}, ${p.cpu})`,
    points: curve.map((q) => ({ batch: q.batch, latencyMs: q.latencyMs })),
  };
}
