// Runs benchmark suites end to end: temp folders, models, suites, results.
// Every worker process is killed and every temp folder removed on the way
// out, including on error and SIGINT/SIGTERM.
import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { machineInfo } from './machine.js';
import { modelPlans, prepareModels } from './models.js';
import { WorkerPool, WORKER_ENV } from './procs.js';
import { modeSettings } from './settings.js';
import { writeIdentityModel } from './tinymodel.js';
import { RESULTS_FORMAT, SUITES, type BenchResults, type SuiteId } from './results.js';
import type { BenchContext } from './context.js';
import { runDensity } from './density-suite.js';
import { runDedup } from './dedup.js';
import { runColdStart } from './coldstart.js';
import { runLatency } from './latency.js';
import { runImport } from './import-bench.js';
import { runRequestPath } from './requestpath.js';
import { runFunctions } from './functions-suite.js';

export interface BenchOptions {
  suites?: readonly SuiteId[];
  quick?: boolean;
  /** Intra-op threads of every session in every mode (default 1). */
  threads?: number;
  /** Folder for temp repositories on disk (default os.tmpdir()). */
  tmpDir?: string;
  /** tmpfs folder for temp stores (default /dev/shm). */
  shmDir?: string;
  log?: (line: string) => void;
}

/** Order suites run in: import first, while the machine is quietest; the request path and many functions last. */
const ORDER: readonly SuiteId[] = ['import', 'dedup', 'density', 'coldstart', 'latency', 'requestpath', 'functions'];
/** Suites that generate their own models: a run of only these prepares none of the shared ones. */
const OWN_MODELS: readonly SuiteId[] = ['functions'];

export async function runBench(opts: BenchOptions = {}): Promise<BenchResults> {
  const t0 = performance.now();
  const startedAt = new Date().toISOString();
  const quick = opts.quick ?? false;
  const threads = opts.threads ?? 1;
  const suites = ORDER.filter((s) => (opts.suites?.length ? opts.suites : SUITES).includes(s));
  const log = opts.log ?? (() => {});
  const loadStart = os.loadavg();
  // Dropping caches is probed only when the cold-start suite needs it (the probe itself drops clean cache).
  const machine = machineInfo({ probeDropCaches: suites.includes('coldstart'), probeDir: opts.tmpDir });
  const work = await fs.mkdtemp(path.join(opts.tmpDir ?? os.tmpdir(), 'tensorshare-bench-'));
  const shm = await fs.mkdtemp(path.join(opts.shmDir ?? '/dev/shm', 'tensorshare-bench-'));
  const pool = new WorkerPool();
  const cleanup = async () => {
    await pool.killAll();
    await fs.rm(work, { recursive: true, force: true });
    await fs.rm(shm, { recursive: true, force: true });
  };
  const unguard = pool.guard(cleanup);
  const settings = modeSettings(threads);
  const results: BenchResults = {
    format: RESULTS_FORMAT,
    startedAt,
    durationMs: 0,
    quick,
    suites: [...suites],
    machine,
    load: { start: loadStart, end: [] },
    threads,
    workerEnv: { ...WORKER_ENV },
    modes: Object.values(settings).map((m) => ({ id: m.id, label: m.label, describe: m.describe })),
    models: [],
    errors: [],
  };
  try {
    log(
      `machine: ${machine.cpuModel}, ${machine.logicalCores} cores, ${(machine.memTotalBytes / 2 ** 30).toFixed(1)} GiB, load ${loadStart.map((x) => x.toFixed(2)).join(' ')}`,
    );
    const repository = path.join(work, 'repo');
    // The request path needs only the recognizer; the functions suite generates its own models.
    const needed = suites.filter((s) => !OWN_MODELS.includes(s));
    const plans = needed.every((s) => s === 'requestpath')
      ? modelPlans(quick).filter((p) => needed.length > 0 && p.id === 'ocr-rec')
      : modelPlans(quick);
    const models = plans.length === 0 ? [] : await prepareModels(plans, path.join(work, 'models'), repository, log);
    results.models = models.map(
      ({ id, label, source, inputLabel, fileBytes, params, weightBytes, tensors, fastRun }) => ({
        id,
        label,
        source,
        inputLabel,
        fileBytes,
        params,
        weightBytes,
        tensors,
        fastRun,
      }),
    );
    const ctx: BenchContext = {
      quick,
      threads,
      pool,
      work,
      shm,
      repository,
      models,
      settings,
      machine,
      log,
      identityFile: writeIdentityModel(work).modelPath,
    };
    for (const suite of suites) {
      const s0 = performance.now();
      try {
        if (suite === 'import') results.import = await runImport(ctx);
        else if (suite === 'dedup') results.dedup = await runDedup(ctx);
        else if (suite === 'density') results.density = await runDensity(ctx);
        else if (suite === 'coldstart') results.coldStart = await runColdStart(ctx);
        else if (suite === 'latency') results.latency = await runLatency(ctx);
        else if (suite === 'requestpath') results.requestPath = await runRequestPath(ctx);
        else if (suite === 'functions') results.functions = await runFunctions(ctx);
      } catch (e) {
        results.errors.push({ suite, message: (e as Error).message });
        log(`${suite}: failed: ${(e as Error).message}`);
      } finally {
        await pool.killAll();
      }
      log(`${suite}: done in ${((performance.now() - s0) / 1000).toFixed(1)} s`);
    }
  } finally {
    unguard();
    await cleanup();
  }
  results.load.end = os.loadavg();
  results.durationMs = performance.now() - t0;
  results.errors.push(...nestedErrors(results));
  return results;
}

/** Errors recorded inside suites (one mode, scenario or model failed while the suite went on). */
export function nestedErrors(r: BenchResults): { suite: string; message: string }[] {
  const out: { suite: string; message: string }[] = [];
  const d = r.density;
  if (d) {
    for (const m of [d.baseline, ...d.models.flatMap((x) => x.modes)])
      if (m.error) out.push({ suite: 'density', message: `${m.id}: ${m.error}` });
    for (const t of d.tuning)
      if (t.error && t.n === 0)
        out.push({ suite: 'density', message: `tuning ${t.subject} ${t.mode} ${t.setting}: ${t.error}` });
  }
  for (const s of r.coldStart?.scenarios ?? [])
    if (s.error) out.push({ suite: 'coldstart', message: `${s.model} ${s.id}: ${s.error}` });
  for (const m of r.latency?.models ?? [])
    if (m.error) out.push({ suite: 'latency', message: `${m.model}: ${m.error}` });
  return out;
}
