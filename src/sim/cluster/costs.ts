// Instance start costs from the product's own benchmark results
// (docs/bench/results.json, `tensorshare bench`): per measured model,
// - residentStartMs: spawn to first result with the model resident in the
//   store (cold-start scenario `ts-fast-open`), minus one warm request;
// - execMs: a warm batch-1 request in fast-open mode (latency suite);
// - instanceBytes: private memory per extra instance, the slope of the
//   density suite's fast-open total (the store's bytes count once);
// - the repository's copy bandwidth: model bytes / median materialize time of
//   the scenario `ts-repo-fast-open` (the daemon copying the model into the store).
// A simulated model's costs interpolate linearly in model bytes between the
// measured models (clamped to the nearest slope outside them).
import { TensorshareError } from '../../errors.js';

export interface CostPoint {
  readonly model: string;
  readonly bytes: number;
  readonly residentStartMs: number;
  readonly execMs: number;
  readonly instanceBytes: number;
}

export interface StartCosts {
  /** Ascending by bytes. */
  readonly points: readonly CostPoint[];
  /** Repository to store copy bandwidth, bytes per ms. */
  readonly repositoryBytesPerMs: number;
  /** Where the numbers come from (the results file's start time and machine). */
  readonly source: string;
}

export interface ModelCosts {
  residentStartMs: number;
  execMs: number;
  instanceBytes: number;
}

type Json = Record<string, unknown>;

function bad(what: string): never {
  throw new TensorshareError('ERR_INVALID_ARGUMENT', `benchmark results: ${what}`);
}

const median = (xs: number[]): number => {
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m]! : (s[m - 1]! + s[m]!) / 2;
};

/** Reads the costs out of a parsed docs/bench/results.json. */
export function costsFromResults(results: unknown): StartCosts {
  const r = results as Json;
  if (r?.format !== 'tensorshare.bench/v1') bad(`format is ${String(r?.format)}, want tensorshare.bench/v1`);
  const models = (r.models as Json[] | undefined) ?? bad('no models');
  const scenarios = ((r.coldStart as Json | undefined)?.scenarios as Json[] | undefined) ?? bad('no coldStart');
  const latency = ((r.latency as Json | undefined)?.models as Json[] | undefined) ?? bad('no latency suite');
  const density = ((r.density as Json | undefined)?.models as Json[] | undefined) ?? bad('no density suite');
  const points: CostPoint[] = [];
  let copiedBytes = 0;
  let copyMs = 0;
  for (const m of models) {
    const id = String(m.id);
    const bytes = Number(m.weightBytes);
    const scen = (sid: string) => scenarios.find((s) => s.model === id && s.id === sid);
    const resident = scen('ts-fast-open');
    const repo = scen('ts-repo-fast-open');
    const lat = latency.find((x) => x.model === id);
    const batch1 = (lat?.batches as Json[] | undefined)?.find((b) => b.batch === 1);
    const fo = (batch1?.sessions as Json[] | undefined)?.find((s) => s.mode === 'fast-open');
    const dens = density.find((x) => x.model === id);
    const dpts = ((dens?.modes as Json[] | undefined)?.find((s) => s.id === 'fast-open')?.points ?? []) as Json[];
    if (!resident || !repo || !fo || dpts.length < 2) continue; // a model some suite left out
    const execMs = Number((fo.summary as Json).p50);
    const spawnToFirst = Number((resident.spawnToFirst as Json).p50);
    const first = dpts[0]!;
    const last = dpts[dpts.length - 1]!;
    const instanceBytes = (Number(last.totalBytes) - Number(first.totalBytes)) / (Number(last.n) - Number(first.n));
    const mats = (repo.reps as Json[]).map((x) => Number(x.materializeMs)).filter((x) => x > 0);
    if (mats.length) {
      copiedBytes += bytes;
      copyMs += median(mats);
    }
    points.push({ model: id, bytes, residentStartMs: Math.max(spawnToFirst - execMs, 0), execMs, instanceBytes });
  }
  if (points.length === 0) bad('no model has cold-start, latency and density results');
  if (copyMs <= 0) bad('no materialize times in the ts-repo-fast-open scenario');
  points.sort((a, b) => a.bytes - b.bytes);
  return {
    points,
    repositoryBytesPerMs: copiedBytes / copyMs,
    source: `results of ${String(r.startedAt)} (${String((r.machine as Json | undefined)?.cpuModel ?? 'unknown CPU')})`,
  };
}

/** The costs of a model of `bytes`, interpolated between the measured models. */
export function costsFor(costs: StartCosts, bytes: number): ModelCosts {
  const p = costs.points;
  const at = (k: keyof ModelCosts): number => {
    if (p.length === 1) return p[0]![k];
    let i = 0;
    while (i < p.length - 2 && bytes > p[i + 1]!.bytes) i++;
    const a = p[i]!;
    const b = p[i + 1]!;
    const v = a[k] + ((b[k] - a[k]) * (bytes - a.bytes)) / (b.bytes - a.bytes);
    return Math.max(v, Math.min(a[k], b[k]) * 0.5);
  };
  return { residentStartMs: at('residentStartMs'), execMs: at('execMs'), instanceBytes: at('instanceBytes') };
}
