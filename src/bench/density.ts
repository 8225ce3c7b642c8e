// Density benchmark: how much memory N isolated inference processes of one
// model cost together, per "mode" of loading the model.
//
// For each mode and each N (1, 2, 4, ... while the estimate fits in a fraction
// of MemAvailable) the harness starts N worker processes (a few at a time),
// each of which creates a session, runs one inference and reports ready; when
// all are ready it samples every worker's /proc/<pid>/smaps_rollup, then kills
// them all. A "runtime baseline" step (the same worker on a weightless
// Identity model) gives the per-process cost of Node + onnxruntime alone.
//
// A mode is plain data: which worker script to run, with which arguments. The
// plain onnxruntime-node modes use density-worker.js; a store-backed mode
// plugs in by pointing at its own worker that speaks the same protocol.
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { TensorshareError } from '../errors.js';
import { readTreeRollup, readSmapsByFile, sumFileMappings, sumRollups, type FileMapping, type SmapsRollup } from '../proc/smaps.js';
import type { FeedsSpec } from './feeds.js';
import { memAvailable } from './machine.js';
import { summarize, type Summary } from './stats.js';
import { writeIdentityModel } from './tinymodel.js';

export interface DensityMode {
  /** Name in results and charts, e.g. "plain", "plain-noprepack", "tensorshare". */
  name: string;
  /** Absolute path of the worker script (run as `node <worker> ...args`). */
  worker: string;
  args: readonly string[];
  /** Extra environment for the worker (merged over the parent's). */
  env?: Readonly<Record<string, string>>;
}

/** Sent to each worker on its IPC channel right after it starts. */
export interface WorkerJob {
  /** What to load: a model file path for the plain workers; a mode's worker may read it otherwise (e.g. a store reference). */
  model: string;
  feeds: FeedsSpec;
  intraOpNumThreads: number;
}

export interface WorkerOutput {
  name: string;
  type: string;
  dims: number[];
  /** Sum of elements (null for non-numeric types): compare modes' results. */
  checksum: number | null;
}

export type WorkerMessage =
  | { type: 'ready'; pid: number; importMs: number; loadMs: number; firstRunMs: number; outputs: WorkerOutput[] }
  | { type: 'error'; pid: number; message: string };

const here = path.dirname(fileURLToPath(import.meta.url));

/** The compiled worker of the plain onnxruntime-node modes. */
export const plainWorkerPath = path.join(here, 'density-worker.js');

/** Plain onnxruntime-node with default session options (plus `sessionOptions`). */
export function plainMode(sessionOptions: Record<string, unknown> = {}, name = 'plain'): DensityMode {
  return { name, worker: plainWorkerPath, args: ['--session-options', JSON.stringify(sessionOptions)] };
}

/** Plain onnxruntime-node with prepacking disabled (weights can stay mapped in place). */
export function plainNoPrepackMode(name = 'plain-noprepack'): DensityMode {
  return plainMode({ extra: { session: { disable_prepacking: '1' } } }, name);
}

export interface DensityOptions {
  /** Passed to every worker as job.model (a .onnx path for the plain modes). */
  model: string;
  modes: readonly DensityMode[];
  /** Process counts to try, ascending (default 1, 2, 4, 8, 16, 32). */
  counts?: readonly number[];
  feeds?: FeedsSpec;
  /** Per worker session (default 1, so many processes on few cores do not thrash). */
  intraOpNumThreads?: number;
  /** Workers starting at once (default 4). */
  concurrency?: number;
  /** Longest wait for one worker to report ready (default 120 s). */
  readyTimeoutMs?: number;
  /** Pause after all workers are ready, before sampling (default 200 ms). */
  settleMs?: number;
  /** Stop before the estimated total PSS exceeds this fraction of MemAvailable (default 0.7). */
  memoryFraction?: number;
  /** Runtime baseline: false to skip; default the first plain mode on a generated Identity model. */
  baseline?: false | { mode?: DensityMode; model?: string };
  /** Attribute Rss/Pss of mapped files under this folder (e.g. the model's or the store's folder). */
  mapsUnder?: string;
  /** MemAvailable in bytes, read before each step (default /proc/meminfo). */
  memAvailable?: () => number;
  log?: (message: string) => void;
  signal?: AbortSignal;
}

export interface DensityChild {
  pid: number;
  importMs: number;
  loadMs: number;
  firstRunMs: number;
  /** smaps_rollup of the worker and its descendants. */
  rollup: SmapsRollup;
}

export interface DensityStep {
  mode: string;
  n: number;
  /** Sum over all N workers. */
  total: SmapsRollup;
  /** Pss of each worker, in start order. */
  perProcessPss: number[];
  meanPss: number;
  /** (total Pss - total Pss of the previous N) / (N - previous N); null for the first N of a mode. */
  marginalPss: number | null;
  loadMs: Summary;
  firstRunMs: Summary;
  /** Outputs of the first worker (all workers ran the same inference). */
  outputs: WorkerOutput[];
  /** Mapped files under options.mapsUnder, summed over workers. */
  files?: FileMapping[];
  memAvailableBefore: number;
  children: DensityChild[];
}

export interface DensitySkip {
  mode: string;
  n: number;
  estimatedPss: number;
  budget: number;
  reason: string;
}

export interface DensityResult {
  kind: 'density';
  model: string;
  startedAt: string;
  durationMs: number;
  intraOpNumThreads: number;
  counts: number[];
  modes: DensityMode[];
  /** One worker on a weightless model: what Node + onnxruntime cost per process. */
  baseline: DensityStep | null;
  steps: DensityStep[];
  skipped: DensitySkip[];
}

// ---------- children ----------

interface Live {
  child: ChildProcess;
  stderr: string;
}

/** The workers alive during one runDensity call; killed synchronously on any exit path. */
class Fleet {
  readonly live = new Set<Live>();

  killAll(): void {
    for (const l of this.live) {
      if (l.child.exitCode === null && l.child.signalCode === null) l.child.kill('SIGKILL');
    }
  }

  async killAllAndWait(timeoutMs = 5000): Promise<void> {
    const waits = [...this.live].map((l) =>
      l.child.exitCode !== null || l.child.signalCode !== null
        ? Promise.resolve()
        : new Promise<void>((resolve) => {
            const t = setTimeout(resolve, timeoutMs);
            l.child.once('exit', () => {
              clearTimeout(t);
              resolve();
            });
          }),
    );
    this.killAll();
    await Promise.all(waits);
    this.live.clear();
  }
}

/** Starts one worker and resolves with its ready message. */
function startWorker(fleet: Fleet, mode: DensityMode, job: WorkerJob, timeoutMs: number): Promise<{ live: Live; ready: Extract<WorkerMessage, { type: 'ready' }> }> {
  const child = spawn(process.execPath, [mode.worker, ...mode.args], {
    stdio: ['ignore', 'ignore', 'pipe', 'ipc'],
    env: { ...process.env, ...mode.env },
  });
  const live: Live = { child, stderr: '' };
  fleet.live.add(live);
  child.stderr!.on('data', (d: Buffer) => {
    live.stderr = (live.stderr + d.toString()).slice(-4000);
  });
  return new Promise((resolve, reject) => {
    const fail = (code: 'ERR_TIMEOUT' | 'ERR_INTERNAL', why: string) => {
      clearTimeout(timer);
      child.kill('SIGKILL');
      reject(new TensorshareError(code, `density worker of mode "${mode.name}" (pid ${child.pid}) ${why}${live.stderr ? `; stderr: ${live.stderr.trim()}` : ''}`, {
        mode: mode.name,
        pid: child.pid,
        model: job.model,
      }));
    };
    const timer = setTimeout(() => fail('ERR_TIMEOUT', `was not ready after ${timeoutMs} ms`), timeoutMs);
    child.once('error', (e) => fail('ERR_INTERNAL', `could not start: ${e.message}`));
    child.once('exit', (code, signal) => fail('ERR_INTERNAL', `exited (${signal ?? code}) before it was ready`));
    child.on('message', (msg: WorkerMessage) => {
      if (msg.type === 'ready') {
        clearTimeout(timer);
        child.removeAllListeners('exit');
        resolve({ live, ready: msg });
      } else if (msg.type === 'error') {
        fail('ERR_INTERNAL', `failed: ${msg.message}`);
      }
    });
    child.send({ type: 'job', job });
  });
}

/** Starts n workers, at most `concurrency` starting at once; rejects on the first failure. */
async function startWorkers(fleet: Fleet, n: number, mode: DensityMode, job: WorkerJob, concurrency: number, timeoutMs: number) {
  const results: Awaited<ReturnType<typeof startWorker>>[] = new Array(n);
  let next = 0;
  let failed: unknown;
  const lane = async () => {
    while (next < n && failed === undefined) {
      const i = next++;
      try {
        results[i] = await startWorker(fleet, mode, job, timeoutMs);
      } catch (e) {
        failed ??= e;
        fleet.killAll(); // workers still starting fail fast instead of running into their timeout
      }
    }
  };
  await Promise.all(Array.from({ length: Math.min(concurrency, n) }, lane));
  if (failed !== undefined) throw failed;
  return results;
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

// ---------- steps ----------

interface StepContext {
  fleet: Fleet;
  job: WorkerJob;
  concurrency: number;
  readyTimeoutMs: number;
  settleMs: number;
  mapsUnder?: string;
  memAvailableBefore: number;
}

async function measureStep(mode: DensityMode, n: number, ctx: StepContext, previous: DensityStep | undefined): Promise<DensityStep> {
  try {
    const started = await startWorkers(ctx.fleet, n, mode, ctx.job, ctx.concurrency, ctx.readyTimeoutMs);
    await sleep(ctx.settleMs);
    const children: DensityChild[] = started.map(({ ready }) => ({
      pid: ready.pid,
      importMs: ready.importMs,
      loadMs: ready.loadMs,
      firstRunMs: ready.firstRunMs,
      rollup: readTreeRollup(ready.pid).total,
    }));
    const files = ctx.mapsUnder !== undefined ? sumFileMappings(children.map((c) => readSmapsByFile(c.pid, ctx.mapsUnder!))) : undefined;
    const total = sumRollups(children.map((c) => c.rollup));
    return {
      mode: mode.name,
      n,
      total,
      perProcessPss: children.map((c) => c.rollup.pss),
      meanPss: total.pss / n,
      marginalPss: previous ? (total.pss - previous.total.pss) / (n - previous.n) : null,
      loadMs: summarize(children.map((c) => c.loadMs)),
      firstRunMs: summarize(children.map((c) => c.firstRunMs)),
      outputs: started[0]!.ready.outputs,
      ...(files ? { files } : {}),
      memAvailableBefore: ctx.memAvailableBefore,
      children,
    };
  } finally {
    await ctx.fleet.killAllAndWait();
  }
}

/**
 * Estimated total Pss of `n` workers from the steps of this mode so far: the
 * last total plus the marginal cost per extra process. With only one step the
 * marginal cost is taken as that step's Rss per process (pessimistic: nothing
 * shared). Null when nothing is known yet.
 */
export function estimatePss(steps: readonly DensityStep[], n: number): number | null {
  const last = steps[steps.length - 1];
  if (!last) return null;
  const marginal = steps.length >= 2 && last.marginalPss !== null ? Math.max(0, last.marginalPss) : last.total.rss / last.n;
  return last.total.pss + (n - last.n) * marginal;
}

function checkCounts(counts: readonly number[]): number[] {
  const c = [...counts];
  if (c.length === 0 || c.some((x, i) => !Number.isInteger(x) || x < 1 || (i > 0 && x <= c[i - 1]!))) {
    throw new TensorshareError('ERR_INVALID_ARGUMENT', `density counts must be ascending positive integers, got [${c.join(', ')}]`);
  }
  return c;
}

/**
 * Runs the density benchmark and returns structured results. Workers are
 * always killed: on success, on error, and (synchronously) when the process
 * receives SIGINT/SIGTERM or exits; a worker whose parent dies exits by itself.
 */
export async function runDensity(options: DensityOptions): Promise<DensityResult> {
  const counts = checkCounts(options.counts ?? [1, 2, 4, 8, 16, 32]);
  if (options.modes.length === 0) throw new TensorshareError('ERR_INVALID_ARGUMENT', 'runDensity needs at least one mode');
  const names = new Set(options.modes.map((m) => m.name));
  if (names.size !== options.modes.length) throw new TensorshareError('ERR_INVALID_ARGUMENT', 'density mode names must be unique');
  const fraction = options.memoryFraction ?? 0.7;
  const readAvailable = options.memAvailable ?? (() => memAvailable());
  const log = options.log ?? (() => {});
  const intraOpNumThreads = options.intraOpNumThreads ?? 1;
  const job: WorkerJob = { model: options.model, feeds: options.feeds ?? {}, intraOpNumThreads };
  const fleet = new Fleet();
  const startedAt = new Date();
  const t0 = performance.now();

  const onExit = () => fleet.killAll();
  const onSignal = (sig: NodeJS.Signals) => {
    fleet.killAll();
    removeHandlers();
    process.kill(process.pid, sig); // default action, now that workers are gone
  };
  const removeHandlers = () => {
    process.off('exit', onExit);
    process.off('SIGINT', onSignal);
    process.off('SIGTERM', onSignal);
  };
  process.on('exit', onExit);
  process.once('SIGINT', onSignal);
  process.once('SIGTERM', onSignal);

  let baselineDir: string | undefined;
  try {
    const ctx = (memAvailableBefore: number, jobFor = job): StepContext => ({
      fleet,
      job: jobFor,
      concurrency: options.concurrency ?? 4,
      readyTimeoutMs: options.readyTimeoutMs ?? 120_000,
      settleMs: options.settleMs ?? 200,
      mapsUnder: options.mapsUnder,
      memAvailableBefore,
    });
    const aborted = () => {
      if (options.signal?.aborted) throw new TensorshareError('ERR_INTERNAL', 'density benchmark aborted', { reason: String(options.signal.reason) });
    };

    let baseline: DensityStep | null = null;
    if (options.baseline !== false) {
      aborted();
      let model = options.baseline?.model;
      if (!model) {
        baselineDir = mkdtempSync(path.join(os.tmpdir(), 'tensorshare-density-baseline-'));
        model = writeIdentityModel(baselineDir).modelPath;
      }
      const mode = options.baseline?.mode ?? { ...plainMode(), name: 'runtime-baseline' };
      log(`density: runtime baseline (${mode.name}, ${path.basename(model)})`);
      baseline = await measureStep(mode, 1, { ...ctx(readAvailable(), { model, feeds: {}, intraOpNumThreads }), mapsUnder: undefined }, undefined);
    }

    const steps: DensityStep[] = [];
    const skipped: DensitySkip[] = [];
    for (const mode of options.modes) {
      const own: DensityStep[] = [];
      for (let i = 0; i < counts.length; i++) {
        aborted();
        const n = counts[i]!;
        const available = readAvailable();
        const budget = fraction * available;
        const estimate = estimatePss(own, n);
        if (estimate !== null && estimate > budget) {
          for (const m of counts.slice(i)) {
            skipped.push({
              mode: mode.name,
              n: m,
              estimatedPss: estimatePss(own, m)!,
              budget,
              reason: `estimated total PSS exceeds ${Math.round(fraction * 100)}% of MemAvailable`,
            });
          }
          log(`density: ${mode.name} stops before N=${n} (estimate ${(estimate / 2 ** 20).toFixed(0)} MiB > budget ${(budget / 2 ** 20).toFixed(0)} MiB)`);
          break;
        }
        log(`density: ${mode.name} N=${n}`);
        const step = await measureStep(mode, n, ctx(available), own[own.length - 1]);
        own.push(step);
        steps.push(step);
      }
    }
    return {
      kind: 'density',
      model: options.model,
      startedAt: startedAt.toISOString(),
      durationMs: performance.now() - t0,
      intraOpNumThreads,
      counts,
      modes: options.modes.map((m) => ({ ...m, args: [...m.args] })),
      baseline,
      steps,
      skipped,
    };
  } finally {
    await fleet.killAllAndWait();
    removeHandlers();
    if (baselineDir) rmSync(baselineDir, { recursive: true, force: true });
  }
}
