// Where `plan` and `sim batch` get a measured profile: a file (--profile), or
// measured now on this machine (src/bench/plan-profile.ts, cached).
import fs from 'node:fs';
import { availableParallelism } from 'node:os';
import type { Command } from 'commander';
import { TensorshareError } from '../../errors.js';
import { defaultProfileCache, measureProfile } from '../../bench/plan-profile.js';
import { type MeasuredProfile, checkProfile } from '../../plan/index.js';
import { roots } from '../context.js';
import { progressBar } from '../output.js';

export interface ProfileFlags {
  json?: boolean;
  threads?: string;
  batches: string;
  dim: string[];
  budgetMs: string;
  cacheDir?: string;
  refresh?: boolean;
}

export function intList(flag: string, v: string): number[] {
  const out = v.split(',').map((s) => Number(s.trim()));
  if (out.length === 0 || out.some((n) => !Number.isInteger(n) || n < 1))
    throw new TensorshareError(
      'ERR_INVALID_ARGUMENT',
      `${flag} must be a comma-separated list of integers >= 1, got '${v}'`,
    );
  return out;
}

export function positive(flag: string, v: string): number {
  const n = Number(v);
  if (!(Number.isFinite(n) && n > 0))
    throw new TensorshareError('ERR_INVALID_ARGUMENT', `${flag} must be a number > 0, got '${v}'`);
  return n;
}

export function addProfileOptions(c: Command): Command {
  return c
    .option('--threads <list>', 'intra-op thread counts to measure (default 1,2,4.. up to the cores)')
    .option('--batches <list>', 'batch sizes to measure', '1,2,4,8,16,32')
    .option(
      '--dim <name=size>',
      'size of a symbolic input dimension past the batch axis (default 1); repeatable',
      (v: string, p: string[]) => [...p, v],
      [] as string[],
    )
    .option('--budget-ms <ms>', 'measuring time per batch size and thread count', '300')
    .option(
      '--cache-dir <dir>',
      'where measured profiles are cached (default $XDG_CACHE_HOME/tensorshare/plan-profiles)',
    )
    .option('--refresh', 'measure again even when a cached profile exists');
}

export function readProfileFile(file: string): MeasuredProfile {
  let raw: unknown;
  try {
    raw = JSON.parse(fs.readFileSync(file, 'utf8'));
  } catch (e) {
    throw new TensorshareError('ERR_INVALID_ARGUMENT', `${file}: cannot read a profile: ${(e as Error).message}`, {
      file,
    });
  }
  return checkProfile(raw, file);
}

/** Measures (or reads from the cache) the profile of a model in the repository. */
export async function measuredProfile(ref: string, o: ProfileFlags, cmd: Command): Promise<MeasuredProfile> {
  const cores = availableParallelism();
  const threads = o.threads ? intList('--threads', o.threads) : [1, 2, 4, 8, 16, 32, 64].filter((t) => t <= cores);
  const dims = Object.fromEntries(
    o.dim.map((d) => {
      const [name, size] = d.split('=');
      const n = Number(size);
      if (!name || !Number.isInteger(n) || n < 1)
        throw new TensorshareError('ERR_INVALID_ARGUMENT', `--dim must be name=size with size >= 1, got '${d}'`);
      return [name, n];
    }),
  );
  const r = roots(cmd);
  const bar = progressBar(o, `profiling ${ref}`);
  const { profile, cached, file } = await measureProfile({
    ref,
    repository: r.repository,
    store: r.store,
    threads,
    batches: intList('--batches', o.batches),
    dims,
    budgetMs: positive('--budget-ms', o.budgetMs),
    cacheDir: o.cacheDir ?? defaultProfileCache(process.env),
    refresh: o.refresh === true,
    env: process.env,
    onProgress: (done, total) => bar.update(done, total),
  });
  bar.stop();
  if (!o.json)
    process.stderr.write(`profile of ${ref}: ${cached ? 'cached' : 'measured'}${file ? ` (${file})` : ''}\n`);
  return profile;
}
