// Cold start phase by phase (issue 15), tensorshare and plain ONNX Runtime
// side by side in one run:
//   process: spawn -> Node running -> onnxruntime-node imported -> the
//     opener's modules imported -> open -> first run -> steady runs, with the
//     first run's minor page faults and system time against the second's
//     (phase-worker.ts, one fresh process per measurement, scenarios
//     interleaved). Overhead = open -> first result minus one steady run.
//     Stores: /dev/shm as it is, and a tmpfs mounted with huge=within_size
//     (where this process may mount one); workers with glibc's malloc asked
//     for transparent huge pages (GLIBC_TUNABLES=glibc.malloc.hugetlb=1).
//   instance: `tensorshare serve`'s runtime starting the bundled `ocr`
//     function and a BERT-base function from zero: spawn -> ready -> first
//     answer, forking a process and taking a pre-started one.
// Run: tensorshare bench coldphases [--quick] [--out <dir>] (default: ./docs, --quick: a
// new temp folder; node dist/src/bench/coldphases.js [--only phases|instances] [--reps n] [--scenarios id,..] runs it
// too, default a temp folder); docs: the coldphases section of
// docs/benchmarks.md and docs/bench/coldphases.json).
import { execFileSync, fork } from 'node:child_process';
import { mountHugePageStore } from '../store/huge-pages.js';
import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { localResidency } from '../client/residency.js';
import { bundledFile, packageRoot } from '../paths.js';
import { fastRunKey, findFastRun } from '../store/fast-run.js';
import { cutOriginals } from '../store/originals.js';
import { resolveModel } from '../store/repository.js';
import { importModel } from '../store/import.js';
import { layout } from '../store/layout.js';
import { buildFastRunIsolated } from '../store/runtime-process.js';
import { DEFAULT_OPENER, type OpenerSpec } from '../serve/instances/opener.js';
import { instanceOnce, type InstanceRow } from './instance-path.js';
import type { InferRequest } from '../tensor/index.js';
import { modelPlans, prepareModels, type PreparedModel } from './models.js';
import type { ConcurrentReport, PhaseReport, PhaseTask } from './phase-worker.js';
import { WORKER_ENV, WorkerPool } from './procs.js';
import { startStoreDaemon, type StoreDaemon } from './store-daemon.js';
import type { Opener } from './protocol.js';
import { writeResultsJson, writeSectionMarkdown } from './report.js';
import { coldPhasesSection } from './coldphases-report.js';
import { modeSettings } from './settings.js';
import { storeSessionOptions, type SessionOptions } from '../store/ort-options.js';
import { median, percentile } from './stats.js';

const WORKER = fileURLToPath(new URL('./phase-worker.js', import.meta.url));
const THP_MALLOC = 'glibc.malloc.hugetlb=1';

export interface PhaseRow {
  spawnMs: number;
  /** Node start to onnxruntime-node imported. */
  ortImportMs: number;
  /** The opener's own modules (tensorshare's client) and the inputs. */
  clientImportMs: number;
  openMs: number;
  firstMs: number;
  secondMs: number;
  steadyMs: number;
  /** open -> first result minus one steady run. */
  overheadMs: number;
  spawnToFirstMs: number;
  faults: { first: number; second: number };
  systemMs: { first: number; second: number };
  pmdMappedKb: number;
  mode: string;
}

export interface PhaseScenario {
  id: string;
  model: string;
  label: string;
  rows: PhaseRow[];
  error?: string;
  skipped?: string;
}

export interface InstanceScenario {
  id: string;
  fn: string;
  prestarted: boolean;
  /** What the process column says (default: forked / pre-started). */
  label?: string;
  rows: InstanceRow[];
  error?: string;
}

/** N clients of one model at once, each running back to back: in-process sessions against the CPU executor. */
export interface ConcurrencyScenario {
  id: string;
  label: string;
  clients: number;
  runsPerClient: number;
  /** Per repetition: requests per second over all clients (first start to last end), and the median run. */
  rows: { requestsPerSecond: number; p50Ms: number; p90Ms: number }[];
  error?: string;
}

export interface ColdPhasesResults {
  quick: boolean;
  startedAt: string;
  load: { start: number[]; end: number[] };
  cpu: string;
  kernel: string;
  hugeStore: { mounted: boolean; detail: string };
  reps: number;
  phases: PhaseScenario[];
  instances: InstanceScenario[];
  concurrency: ConcurrencyScenario[];
}

/** The product's huge-page store (store/huge-pages.ts), asked for at this benchmark's own folder. */
async function tryMountHuge(dir: string): Promise<{ mounted: boolean; detail: string }> {
  try {
    const r = await mountHugePageStore(dir, 'on', { isDefaultStore: false });
    return { mounted: r.hugePages, detail: r.detail };
  } catch (e) {
    return { mounted: false, detail: (e as Error).message };
  }
}

/** A phase worker for `task`; `env` adds to (undefined: removes from) this process's environment and WORKER_ENV. */
function forkWorker(task: PhaseTask, env: Record<string, string | undefined> = {}) {
  const full: NodeJS.ProcessEnv = { ...process.env, ...WORKER_ENV };
  for (const [k, v] of Object.entries(env)) {
    if (v === undefined) delete full[k];
    else full[k] = v;
  }
  return fork(WORKER, [JSON.stringify(task)], {
    env: full,
    execArgv: [],
    stdio: ['ignore', 'ignore', 'inherit', 'ipc'],
  });
}

function runPhase(task: PhaseTask, env: Record<string, string | undefined>, timeoutMs: number): Promise<PhaseRow> {
  return new Promise((resolve, reject) => {
    const spawnedAt = process.hrtime.bigint();
    const child = forkWorker(task, env);
    const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
    let done = false;
    child.on('message', (m: PhaseReport | { error: string }) => {
      done = true;
      clearTimeout(timer);
      if ('error' in m) return reject(new Error(m.error));
      const k = m.marks;
      const ms = (a: string | bigint, b: string) => Number(BigInt(b) - BigInt(a)) / 1e6;
      const openToFirst = ms(k.openStart, k.first);
      resolve({
        spawnMs: ms(spawnedAt, k.start),
        ortImportMs: ms(k.start, k.ortImported),
        clientImportMs: ms(k.ortImported, k.imported),
        openMs: ms(k.openStart, k.opened),
        firstMs: ms(k.opened, k.first),
        secondMs: m.secondMs,
        steadyMs: m.steadyMs,
        overheadMs: openToFirst - m.steadyMs,
        spawnToFirstMs: ms(spawnedAt, k.first),
        faults: m.faults,
        systemMs: m.systemMs,
        pmdMappedKb: m.pmdMappedKb,
        mode: m.mode,
      });
    });
    child.on('exit', (code) => {
      clearTimeout(timer);
      if (!done) reject(new Error(`phase worker exited (code ${code}) without a report`));
    });
  });
}

/** `clients` workers open and warm up, then run `task.concurrentRuns` times each, all released at once. */
async function runConcurrent(
  task: PhaseTask,
  clients: number,
  timeoutMs: number,
): Promise<ConcurrencyScenario['rows'][number]> {
  const children = Array.from({ length: clients }, () => forkWorker(task));
  const timer = setTimeout(() => {
    for (const c of children) c.kill('SIGKILL');
  }, timeoutMs);
  const next = (c: (typeof children)[number]) =>
    new Promise<Record<string, unknown>>((resolve, reject) => {
      c.once('message', (m: Record<string, unknown>) => (m.error ? reject(new Error(String(m.error))) : resolve(m)));
      c.once('exit', (code) => reject(new Error(`concurrent worker exited (code ${code})`)));
    });
  try {
    await Promise.all(children.map(next));
    const reports = children.map(next);
    for (const c of children) c.send('go');
    const got = (await Promise.all(reports)) as unknown as ConcurrentReport[];
    const start = got.reduce((a, r) => (BigInt(r.start) < a ? BigInt(r.start) : a), BigInt(got[0]!.start));
    const end = got.reduce((a, r) => (BigInt(r.end) > a ? BigInt(r.end) : a), BigInt(got[0]!.end));
    const runs = got.flatMap((r) => r.runsMs);
    return {
      requestsPerSecond: runs.length / (Number(end - start) / 1e9),
      p50Ms: median(runs),
      p90Ms: percentile(runs, 90),
    };
  } finally {
    clearTimeout(timer);
    for (const c of children) c.kill('SIGKILL');
  }
}

interface PhasePlan {
  id: string;
  label: string;
  opener: Opener;
  env: Record<string, string | undefined>;
  skipped?: string;
  /** Before every run of the plan (fast-run-cut: the originals cut off its store, as the daemon leaves a served model). */
  before?: () => Promise<void>;
}

/**
 * The model's fast-open graph over the store, saved by ONNX Runtime in its own format (`.ort`: graph and weights
 * in one flatbuffer, the optimizations of the level it was loaded at already applied).
 */
async function writeOrtFormat(model: PreparedModel, repository: string, store: string, file: string): Promise<void> {
  const r = await localResidency({ repository, store }).ensureResident(model.ref, 'fast-open');
  const ort = (await import('onnxruntime-node')).default;
  const options = storeSessionOptions('fast-open', r.tensorsDir, { logSeverityLevel: 3, intraOpNumThreads: 1 });
  const s = await ort.InferenceSession.create(r.graphPath, { ...options, optimizedModelFilePath: file });
  await s.release();
  await r.release();
}

async function phasePlans(
  model: PreparedModel,
  repository: string,
  stores: { shm: string; cut: string; huge?: string; hugeWhy: string; ortDir: string; executor: string },
): Promise<PhasePlan[]> {
  const s = modeSettings(1);
  const ts = (mode: 'fast-open' | 'fast-run' | 'auto', store: string, executor?: 'cpu'): Opener => ({
    kind: 'tensorshare',
    repository,
    store,
    ref: model.ref,
    mode,
    sessionOptions: s[mode].sessionOptions,
    ...(executor ? { executor } : {}),
  });
  const ortFile = async () => {
    const file = path.join(stores.ortDir, `${model.id}.ort`);
    await writeOrtFormat(model, repository, stores.shm, file);
    return file;
  };
  const plans: PhasePlan[] = [
    {
      id: 'plain',
      label: 'plain ORT (file in page cache)',
      opener: { kind: 'plain', file: model.file, sessionOptions: s.plain.sessionOptions },
      env: s.plain.env,
    },
    { id: 'fast-open', label: 'tensorshare fast-open', opener: ts('fast-open', stores.shm), env: {} },
    // ORT format, as the binding can load it: from a path ORT reads the whole file (weights inline) into its own
    // buffer, so the weights are private; Node has no mmap to hand it mapped bytes instead.
    {
      id: 'plain-ort-format',
      label: 'plain ORT, ORT-format file of the fast-open graph (use_ort_model_bytes_*)',
      opener: { kind: 'plain', file: await ortFile(), sessionOptions: ortFormatOptions(s.plain.sessionOptions) },
      env: s.plain.env,
    },
    { id: 'fast-run', label: 'tensorshare fast-run', opener: ts('fast-run', stores.shm), env: {} },
    {
      id: 'fast-run-cut',
      label: 'tensorshare fast-run, originals cut (restored by the open)',
      opener: ts('fast-run', stores.cut),
      env: {},
      // What an instance started after the daemon's linger pays: its window restores the originals.
      before: async () => {
        const m = await resolveModel(layout(repository), model.ref);
        const v = await findFastRun(layout(repository), m.digest);
        if (v) await cutOriginals(layout(stores.cut), v, fastRunKey(v.ortVersion, v.target));
      },
    },
    { id: 'auto', label: 'tensorshare auto', opener: ts('auto', stores.shm), env: {} },
    {
      id: 'cpu-executor',
      label: "tensorshare, daemon's CPU executor (its session, created once, shared)",
      opener: ts('fast-open', stores.executor, 'cpu'),
      env: {},
    },
    {
      id: 'fast-run-thp-malloc',
      label: 'tensorshare fast-run, malloc THP',
      opener: ts('fast-run', stores.shm),
      env: { GLIBC_TUNABLES: THP_MALLOC },
    },
  ];
  const huge = (id: string, label: string, mode: 'fast-open' | 'fast-run', env: Record<string, string>): PhasePlan =>
    stores.huge
      ? { id, label, opener: ts(mode, stores.huge), env }
      : { id, label, opener: ts(mode, stores.shm), env, skipped: stores.hugeWhy };
  plans.push(
    huge('fast-open-huge', 'tensorshare fast-open, huge-page store', 'fast-open', {}),
    huge('fast-run-huge', 'tensorshare fast-run, huge-page store', 'fast-run', {}),
    huge('fast-open-huge-thp', 'tensorshare fast-open, huge-page store + malloc THP', 'fast-open', {
      GLIBC_TUNABLES: THP_MALLOC,
    }),
    huge('fast-run-huge-thp', 'tensorshare fast-run, huge-page store + malloc THP', 'fast-run', {
      GLIBC_TUNABLES: THP_MALLOC,
    }),
  );
  return plans;
}

/** Loads an .ort file with its weights used in place in ORT's buffer, at fast-open's settings (nothing re-optimized, no prepacking). */
function ortFormatOptions(base: SessionOptions): SessionOptions {
  return {
    ...base,
    graphOptimizationLevel: 'disabled',
    enableMemPattern: false,
    extra: {
      session: {
        disable_prepacking: '1',
        use_ort_model_bytes_directly: '1',
        use_ort_model_bytes_for_initializers: '1',
      },
    },
  };
}

/** How one instance scenario starts its runtime. */
interface InstancePlan {
  scenario: InstanceScenario;
  store: string;
  /** The functions folder (default: the target's). */
  dir?: string;
  opener?: OpenerSpec;
  originalsAhead?: boolean;
  /** Before every run (the cut scenarios: the originals cut off the store, as the daemon leaves an idle model). */
  before?: () => Promise<void>;
}

export type ColdPhasesPart = 'phases' | 'concurrency' | 'instances';

/** The concurrency part: this many client processes, each running BERT-base this many times. */
const CONCURRENT_CLIENTS = 4;
const CONCURRENT_RUNS = 6;

export async function runColdPhases(o: {
  quick: boolean;
  log(line: string): void;
  /** Only this part (default both): a re-run of one table. */
  only?: ColdPhasesPart;
  reps?: number;
  /** Only the instance scenarios whose id contains one of these (e.g. `ocr-fork`): a re-run of some rows. */
  scenarios?: readonly string[];
}): Promise<ColdPhasesResults> {
  const { quick, log } = o;
  const reps = o.reps ?? (quick ? 1 : 3);
  const runs = (part: ColdPhasesPart) => o.only === undefined || o.only === part;
  const startedAt = new Date().toISOString();
  const loadStart = os.loadavg();
  const work = await fs.mkdtemp(path.join(os.tmpdir(), 'tensorshare-coldphases-'));
  const shm = await fs.mkdtemp(path.join('/dev/shm', 'tensorshare-coldphases-'));
  const hugeDir = path.join(work, 'huge');
  await fs.mkdir(hugeDir);
  let hugeStore = { mounted: false, detail: '' };
  const pool = new WorkerPool();
  let executorDaemon: StoreDaemon | undefined;
  let oneThreadDaemon: StoreDaemon | undefined;
  try {
    const repository = path.join(work, 'repo');
    const models = await prepareModels(
      modelPlans(quick).filter((p) => p.id === 'bert' || p.id === 'ocr-rec'),
      path.join(work, 'models'),
      repository,
      log,
    );
    const store = path.join(shm, 'store');
    await fs.mkdir(store);
    hugeStore = await tryMountHuge(hugeDir);
    log(hugeStore.mounted ? `huge pages: ${hugeStore.detail}` : `huge pages: ${hugeStore.detail}; scenarios skipped`);
    // Both modes resident up front in every store, so no measured open copies files; the huge-page store is
    // written by the product's materialize (presized files).
    const cutStore = path.join(shm, 'store-cut');
    await fs.mkdir(cutStore);
    for (const m of models)
      await (await localResidency({ repository, store: cutStore }).ensureResident(m.ref, 'fast-run')).release();
    for (const s of hugeStore.mounted ? [store, hugeDir] : [store])
      for (const m of models)
        for (const mode of ['fast-run', 'fast-open'] as const)
          await (await localResidency({ repository, store: s }).ensureResident(m.ref, mode)).release();
    // A store whose daemon runs the CPU executor, every model resident there before the measurements (as after
    // any earlier instance's open).
    const executorStore = path.join(shm, 'store-executor');
    await fs.mkdir(executorStore);
    executorDaemon = await startStoreDaemon(repository, executorStore, models[0]!.ref, pool, [
      '--gpus',
      'none',
      '--cpu-executor',
      '50%',
    ]);
    await residentOnExecutor(
      repository,
      executorStore,
      models.map((m) => m.ref),
    );
    const stores = {
      executor: executorStore,
      ortDir: shm,
      shm: store,
      cut: cutStore,
      huge: hugeStore.mounted ? hugeDir : undefined,
      hugeWhy: hugeStore.detail,
    };

    const phases: PhaseScenario[] = [];
    for (const m of runs('phases') ? models : []) {
      const plans = await phasePlans(m, repository, stores);
      const results = plans.map(
        (p): PhaseScenario => ({ id: p.id, model: m.id, label: p.label, rows: [], skipped: p.skipped }),
      );
      phases.push(...results);
      const runnable = plans.map((p, i) => ({ p, r: results[i]! })).filter((x) => !x.p.skipped);
      for (let rep = 0; rep < reps; rep++) {
        for (let k = 0; k < runnable.length; k++) {
          const { p, r } = runnable[(rep + k) % runnable.length]!;
          if (r.error) continue;
          try {
            await p.before?.();
            r.rows.push(await runPhase({ opener: p.opener, inputs: m.inputs(1), steadyRuns: 5 }, p.env, 300_000));
          } catch (e) {
            r.error = (e as Error).message;
            log(`coldphases ${m.id} ${p.id}: ${r.error}`);
          }
        }
        log(`coldphases: ${m.id} round ${rep + 1}/${reps}`);
      }
    }

    // N clients of BERT-base at once: sessions in each process against the CPU executor's one session.
    const concurrency: ConcurrencyScenario[] = [];
    const cbert = models.find((m) => m.id === 'bert')!;
    if (runs('concurrency')) {
      // The same executor with one ORT thread per session (`--cpu-executor-threads 1`) beside the default, which
      // gives its sessions every CPU of the machine.
      const oneThreadStore = path.join(shm, 'store-executor-1-thread');
      await fs.mkdir(oneThreadStore);
      oneThreadDaemon = await startStoreDaemon(repository, oneThreadStore, cbert.ref, pool, [
        '--gpus',
        'none',
        '--cpu-executor',
        '50%',
        '--cpu-executor-threads',
        '1',
      ]);
      await residentOnExecutor(repository, oneThreadStore, [cbert.ref]);
      const s = modeSettings(1);
      const base = {
        kind: 'tensorshare' as const,
        repository,
        ref: cbert.ref,
        sessionOptions: s['fast-run'].sessionOptions,
      };
      const plans = [
        {
          id: 'fast-run',
          label: 'tensorshare fast-run, a session in each process (1 intra-op thread)',
          opener: { ...base, store: stores.shm, mode: 'fast-run' as const },
        },
        {
          id: 'cpu-executor',
          label: `tensorshare, the daemon's CPU executor (one session, device batching, ${os.availableParallelism()} ORT threads: the default)`,
          opener: { ...base, store: stores.executor, mode: 'fast-open' as const, executor: 'cpu' as const },
        },
        {
          id: 'cpu-executor-1-thread',
          label: "tensorshare, the daemon's CPU executor with one ORT thread (`--cpu-executor-threads 1`)",
          opener: { ...base, store: oneThreadStore, mode: 'fast-open' as const, executor: 'cpu' as const },
        },
      ];
      for (const p of plans)
        concurrency.push({
          id: p.id,
          label: p.label,
          clients: CONCURRENT_CLIENTS,
          runsPerClient: CONCURRENT_RUNS,
          rows: [],
        });
      for (let rep = 0; rep < Math.max(2, Math.ceil(reps / 2)); rep++)
        for (let k = 0; k < plans.length; k++) {
          const i = (rep + k) % plans.length;
          const sc = concurrency[i]!;
          if (sc.error) continue;
          try {
            sc.rows.push(
              await runConcurrent(
                { opener: plans[i]!.opener, inputs: cbert.inputs(1), steadyRuns: 0, concurrentRuns: CONCURRENT_RUNS },
                CONCURRENT_CLIENTS,
                300_000,
              ),
            );
          } catch (e) {
            sc.error = (e as Error).message;
            log(`coldphases concurrency ${sc.id}: ${sc.error}`);
          }
        }
      await oneThreadDaemon.stop();
      oneThreadDaemon = undefined;
      log('coldphases: concurrency done');
    }

    // The instance path: the bundled ocr function and a BERT-base raw tensor function.
    // The models the bundled ocr function names (as `tensorshare serve --bundled` imports them).
    for (const [name, file] of [
      ['ppocr-det', 'ocrDet'],
      ['ppocr-rec', 'ocrRec'],
    ] as const) {
      const r = await importModel(repository, bundledFile(file), { name, defaultMode: 'fast-run' });
      const repo = layout(repository);
      if (!(await findFastRun(repo, r.manifest.digest))) await buildFastRunIsolated(repo, repo, r.manifest);
    }
    const bert = models.find((m) => m.id === 'bert')!;
    const fnDir = path.join(work, 'functions');
    const bertConfig = { model: bert.ref, minInstances: 0, maxInstances: 1, intraOpThreads: 1 };
    await fs.mkdir(path.join(fnDir, 'bert'), { recursive: true });
    await fs.writeFile(path.join(fnDir, 'bert', 'config.json'), JSON.stringify(bertConfig));
    // The same functions with `mode: auto` (the bundled ocr's handler linked: it resolves its imports from
    // where it really lies).
    const autoDir = path.join(work, 'functions-auto');
    const ocrDir = path.join(packageRoot, 'functions', 'ocr');
    await fs.mkdir(path.join(autoDir, 'ocr'), { recursive: true });
    await fs.mkdir(path.join(autoDir, 'bert'), { recursive: true });
    const ocrConfig = JSON.parse(await fs.readFile(path.join(ocrDir, 'config.json'), 'utf8')) as object;
    await fs.writeFile(path.join(autoDir, 'ocr', 'config.json'), JSON.stringify({ ...ocrConfig, mode: 'auto' }));
    await fs.symlink(path.join(ocrDir, 'handler.js'), path.join(autoDir, 'ocr', 'handler.js'));
    await fs.writeFile(path.join(autoDir, 'bert', 'config.json'), JSON.stringify({ ...bertConfig, mode: 'auto' }));
    // And on the daemon's CPU executor (`device: cpu-executor`), their models resident there.
    const executorDir = path.join(work, 'functions-executor');
    await fs.mkdir(path.join(executorDir, 'ocr'), { recursive: true });
    await fs.mkdir(path.join(executorDir, 'bert'), { recursive: true });
    await fs.writeFile(
      path.join(executorDir, 'ocr', 'config.json'),
      JSON.stringify({ ...ocrConfig, device: 'cpu-executor' }),
    );
    await fs.symlink(path.join(ocrDir, 'handler.js'), path.join(executorDir, 'ocr', 'handler.js'));
    await fs.writeFile(
      path.join(executorDir, 'bert', 'config.json'),
      JSON.stringify({ ...bertConfig, device: 'cpu-executor' }),
    );
    await residentOnExecutor(repository, stores.executor, ['ppocr-det', 'ppocr-rec']);
    const png = await fs.readFile(path.join(packageRoot, 'assets/ocr-word.png'));
    const { buildInputs } = await import('./inputs.js');
    const bertReq: InferRequest = {
      inputs: (await buildInputs(bert.inputs(1))).map((i) => ({
        name: i.name,
        datatype: 'INT64',
        shape: i.shape,
        data: i.data as BigInt64Array,
      })),
    };
    const targets = [
      {
        fn: 'ocr',
        dir: path.join(packageRoot, 'functions'),
        req: { inputs: [{ name: 'image', datatype: 'BYTES', shape: [1], data: [png] }] } as InferRequest,
      },
      { fn: 'bert', dir: fnDir, req: bertReq },
    ];
    const instances: InstanceScenario[] = [];
    for (const t of runs('instances') ? targets : []) {
      const sc = (id: string, prestarted: boolean, label?: string): InstanceScenario => ({
        id: `${t.fn}-${id}`,
        fn: t.fn,
        prestarted,
        label,
        rows: [],
      });
      const plans: InstancePlan[] = [
        { scenario: sc('fork', false), store: stores.shm },
        { scenario: sc('prestarted', true), store: stores.shm },
        {
          scenario: sc('prestarted-no-warm-up', true, 'pre-started, no ORT warm-up'),
          store: stores.shm,
          opener: { ...DEFAULT_OPENER, warmUp: undefined },
        },
        { scenario: sc('fork-auto', false, 'forked, mode auto'), store: stores.shm, dir: autoDir },
        { scenario: sc('prestarted-auto', true, 'pre-started, mode auto'), store: stores.shm, dir: autoDir },
        {
          scenario: sc('fork-executor', false, 'forked, device cpu-executor'),
          store: stores.executor,
          dir: executorDir,
        },
        {
          scenario: sc('prestarted-executor', true, 'pre-started, device cpu-executor'),
          store: stores.executor,
          dir: executorDir,
        },
      ];
      if (t.fn === 'bert') {
        // What a scale-from-zero after the daemon's linger pays: the originals cut off the store.
        const cutBert = async () => {
          const m = await resolveModel(layout(repository), bert.ref);
          const v = await findFastRun(layout(repository), m.digest);
          if (v) await cutOriginals(layout(stores.cut), v, fastRunKey(v.ortVersion, v.target));
        };
        plans.push(
          {
            scenario: sc('fork-cut', false, 'forked, originals cut, restored by serve ahead'),
            store: stores.cut,
            before: cutBert,
          },
          {
            scenario: sc('fork-cut-in-open', false, 'forked, originals cut, restored in the open'),
            store: stores.cut,
            originalsAhead: false,
            before: cutBert,
          },
        );
      }
      const chosen = o.scenarios?.length
        ? plans.filter((p) => o.scenarios!.some((id) => p.scenario.id.includes(id)))
        : plans;
      instances.push(...chosen.map((p) => p.scenario));
      for (let rep = 0; rep < reps; rep++) {
        for (let k = 0; k < chosen.length; k++) {
          const p = chosen[(rep + k) % chosen.length]!;
          const s = p.scenario;
          if (s.error) continue;
          try {
            await p.before?.();
            s.rows.push(
              await instanceOnce(
                {
                  functionsDir: p.dir ?? t.dir,
                  repository,
                  store: p.store,
                  opener: p.opener,
                  originalsAhead: p.originalsAhead,
                },
                t.fn,
                t.req,
                s.prestarted ? 1 : 0,
              ),
            );
          } catch (e) {
            s.error = (e as Error).message;
            log(`coldphases instance ${s.id}: ${s.error}`);
          }
        }
      }
      log(`coldphases: instance path of ${t.fn} done`);
    }
    return {
      quick,
      startedAt,
      load: { start: loadStart, end: os.loadavg() },
      cpu: os.cpus()[0]?.model ?? 'unknown',
      kernel: os.release(),
      hugeStore,
      reps,
      phases,
      instances,
      concurrency,
    };
  } finally {
    await executorDaemon?.stop();
    await oneThreadDaemon?.stop();
    await pool.killAll();
    if (hugeStore.mounted) {
      try {
        execFileSync('umount', [hugeDir], { stdio: 'ignore' });
      } catch {
        log(`coldphases: could not unmount ${hugeDir}`);
      }
    }
    await fs.rm(shm, { recursive: true, force: true });
    await fs.rm(work, { recursive: true, force: true });
  }
}

/** Opens and closes each model once on the store daemon's CPU executor: it stays resident there for the measurements. */
async function residentOnExecutor(repository: string, store: string, refs: readonly string[]): Promise<void> {
  const { openSession } = await import('../client/open-session.js');
  for (const ref of refs) await (await openSession(ref, { repository, store, executor: 'cpu' })).release();
}

/** Median of a field over a scenario's rows. */
export const med = (rows: readonly object[], f: (r: never) => number): number => median(rows.map(f as never));

/** `tensorshare bench coldphases`: runs, then writes `bench/coldphases.json` and the coldphases section of `<out>/benchmarks.md`. */
export async function benchColdPhases(o: {
  quick: boolean;
  out: string;
  only?: ColdPhasesPart;
  reps?: number;
  scenarios?: readonly string[];
}): Promise<ColdPhasesResults> {
  const log = (line: string) =>
    process.stderr.write(`[coldphases ${new Date().toISOString().slice(11, 19)}] ${line}\n`);
  const r = await runColdPhases({ quick: o.quick, log, only: o.only, reps: o.reps, scenarios: o.scenarios });
  writeResultsJson(path.join(o.out, 'bench', 'coldphases.json'), r);
  const md = coldPhasesSection(r);
  writeSectionMarkdown(path.join(o.out, 'benchmarks.md'), 'coldphases', md);
  process.stdout.write(`${md}\nreport: ${path.join(o.out, 'benchmarks.md')}\n`);
  return r;
}

async function main(): Promise<void> {
  const args = process.argv.slice(2);
  const quick = args.includes('--quick');
  const outArg = args.indexOf('--out');
  const onlyArg = args.indexOf('--only');
  const only = onlyArg >= 0 ? (args[onlyArg + 1] as ColdPhasesPart) : undefined;
  if (only !== undefined && only !== 'phases' && only !== 'concurrency' && only !== 'instances')
    throw new Error(`--only takes 'phases', 'concurrency' or 'instances', not '${only}'`);
  const repsArg = args.indexOf('--reps');
  const reps = repsArg >= 0 ? Number(args[repsArg + 1]) : undefined;
  if (reps !== undefined && !(Number.isInteger(reps) && reps > 0)) throw new Error('--reps takes a positive integer');
  const scenariosArg = args.indexOf('--scenarios');
  const scenarios = scenariosArg >= 0 ? (args[scenariosArg + 1] ?? '').split(',').filter(Boolean) : undefined;
  if (scenarios !== undefined && !scenarios.length)
    throw new Error('--scenarios takes a comma-separated list of instance scenario ids, e.g. ocr-fork-executor');
  const out = path.resolve(
    outArg >= 0 ? args[outArg + 1]! : await fs.mkdtemp(path.join(os.tmpdir(), 'tensorshare-coldphases-report-')),
  );
  await benchColdPhases({ quick, out, only, reps, scenarios });
}

if (process.argv[1] && fileURLToPath(import.meta.url) === path.resolve(process.argv[1])) {
  main().catch((e: Error) => {
    process.stderr.write(`${e.stack ?? e.message}\n`);
    process.exit(1);
  });
}
