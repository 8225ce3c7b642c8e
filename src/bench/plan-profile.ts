// The planner's profiler: latency and private memory of one instance of a
// model against intra-op threads and batch size, measured on this machine
// (one child process per thread count, plan-profile-worker.ts) and cached
// per model version, CPU model and ONNX Runtime version in a cache folder
// (never in the repository). `tensorshare plan` and `sim batch` read it.
import { execFile } from 'node:child_process';
import { createHash } from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { TensorshareError } from '../errors.js';
import { ortVersion } from '../ort-version.js';
import { PROFILE_FORMAT, type MeasuredProfile, checkProfile } from '../plan/profile.js';
import type { ProfileRow, ProfileTask } from './plan-profile-worker.js';

export interface ProfileRequest {
  /** Model ref in the repository (name or name:version). */
  ref: string;
  repository: string;
  store: string;
  threads: number[];
  batches: number[];
  dims?: Record<string, number>;
  budgetMs?: number;
  /** Folder profiles are cached in; null: measure, never cache. */
  cacheDir: string | null;
  /** Measure again even when cached. */
  refresh?: boolean;
  /** Environment of the child processes. */
  env: NodeJS.ProcessEnv;
  onProgress?(done: number, total: number): void;
}

/** `$XDG_CACHE_HOME/tensorshare/plan-profiles` or `~/.cache/tensorshare/plan-profiles`. */
export function defaultProfileCache(env: NodeJS.ProcessEnv): string {
  const base = env.XDG_CACHE_HOME || path.join(os.homedir(), '.cache');
  return path.join(base, 'tensorshare', 'plan-profiles');
}

export function cpuModel(): string {
  return os.cpus()[0]?.model.trim() ?? 'unknown cpu';
}

/** The cache file of a request: the model ref, CPU model, ORT version and grid. */
export function profileCacheFile(r: ProfileRequest, cacheDir: string): string {
  const key = JSON.stringify([r.ref, cpuModel(), ortVersion(), r.threads, r.batches, r.dims ?? {}, r.budgetMs ?? 300]);
  const hash = createHash('sha256').update(key).digest('hex').slice(0, 16);
  return path.join(cacheDir, `${r.ref.replace(/[^A-Za-z0-9._-]/g, '_')}-${hash}.json`);
}

const run = promisify(execFile);
const WORKER = new URL('./plan-profile-worker.js', import.meta.url);

export async function measureProfile(
  r: ProfileRequest,
): Promise<{ profile: MeasuredProfile; cached: boolean; file: string | null }> {
  const file = r.cacheDir === null ? null : profileCacheFile(r, r.cacheDir);
  if (file && !r.refresh && fs.existsSync(file))
    return { profile: checkProfile(JSON.parse(fs.readFileSync(file, 'utf8')), file), cached: true, file };
  const points: MeasuredProfile['points'] = [];
  let sharedBytes = 0;
  for (const [i, threads] of r.threads.entries()) {
    r.onProgress?.(i, r.threads.length);
    const task: ProfileTask = {
      ref: r.ref,
      repository: r.repository,
      store: r.store,
      threads,
      batches: [...r.batches].sort((a, b) => a - b),
      dims: r.dims ?? {},
      budgetMs: r.budgetMs ?? 300,
    };
    const { stdout } = await run(process.execPath, [WORKER.pathname, JSON.stringify(task)], {
      env: r.env,
      maxBuffer: 1 << 20,
    }).catch((e: Error & { stderr?: string }) => {
      throw new TensorshareError(
        'ERR_INTERNAL',
        `profiling ${r.ref} at ${threads} threads failed: ${e.stderr?.trim() || e.message}`,
        {
          ref: r.ref,
        },
      );
    });
    const out = JSON.parse(stdout.trim().split('\n').pop() ?? '{}') as { rows?: ProfileRow[]; error?: string };
    if (out.error) throw new TensorshareError('ERR_INVALID_ARGUMENT', out.error, { ref: r.ref });
    for (const row of out.rows ?? []) {
      points.push({ threads, batch: row.batch, latencyMs: row.latencyMs, memoryBytes: row.pssAnon });
      sharedBytes = Math.max(sharedBytes, row.sharedBytes);
    }
  }
  r.onProgress?.(r.threads.length, r.threads.length);
  const profile: MeasuredProfile = { format: PROFILE_FORMAT, model: r.ref, cpu: cpuModel(), sharedBytes, points };
  if (file) {
    fs.mkdirSync(path.dirname(file), { recursive: true });
    fs.writeFileSync(
      file,
      `${JSON.stringify({ ...profile, ortVersion: ortVersion(), measuredAt: new Date().toISOString() }, null, 2)}\n`,
    );
  }
  return { profile, cached: false, file };
}
