// `tensorshare bench [suite...] [--quick] [--out dir]`: runs the benchmark
// suites against plain onnxruntime-node and writes benchmarks.md,
// bench/results.json and bench/*.svg (default: ./docs, or a temp folder with
// --quick so smoke runs never touch the checkout).
import type { Command } from 'commander';
import { InvalidArgumentError } from 'commander';
import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { TensorshareError } from '../../errors.js';
import { runBench } from '../../bench/run.js';
import { readGpuReport, runGpuBench, writeGpuReport, type GpuSection } from '../../bench/gpu.js';
import { benchGpuFallback, fallbackMarkdown, fallbackModels } from '../../bench/gpu-fallback.js';
import { benchSalus } from '../../bench/salus.js';
import { writeOutputs } from '../../bench/figures.js';
import { evaluateTargets } from '../../bench/targets.js';
import { RESULTS_FORMAT, SUITES, type BenchResults, type SuiteId } from '../../bench/results.js';
import { action, emit, table } from '../output.js';

interface BenchOptions {
  from?: string;
  models?: string;
  standIn?: boolean;
  only?: string;
  quick?: boolean;
  out?: string;
  threads: number;
  rounds?: number;
  json?: boolean;
}

const positiveInt = (v: string): number => {
  const n = Number(v);
  if (!Number.isSafeInteger(n) || n < 1) throw new InvalidArgumentError('must be a positive integer');
  return n;
};

export function registerBench(program: Command): void {
  program
    .command('bench')
    .description(
      `measure tensorshare against plain onnxruntime-node: ${SUITES.join(', ')} (default: all); 'gpu' alone: the GPU tier on this machine's GPU`,
    )
    .argument('[suite...]', `suites to run: ${SUITES.join(' | ')}, or gpu, salus, coldphases, plan or cluster alone`)
    .option(
      '--quick',
      'smoke run: small models, few processes and repetitions (about 2 minutes); writes to a temp folder unless --out is given',
    )
    .option(
      '--out <dir>',
      'write benchmarks.md and bench/ (results.json, charts) here (default: ./docs; --quick: a new temp folder)',
    )
    .option('--threads <n>', 'intra-op threads of every session in every mode', positiveInt, 1)
    .option('--rounds <n>', 'cluster suite: warm-ups per source, round-robin (default 3; --quick: 1)', positiveInt)
    .option(
      '--from <results.json>',
      'measure nothing: re-render the report and charts of a saved run (its own figures) into --out',
    )
    .option('--json', 'print the output paths and target verdicts as JSON')
    .option('--models <dir>', 'gpu suite: folder of ONNX models with models.json (names, files, inputs at batch 1)')
    .option(
      '--stand-in',
      'gpu suite without a GPU: a fake device and the CPU provider (checks the harness, measures nothing)',
    )
    .option(
      '--only <scenario>',
      "gpu suite: run one scenario alone: 'fallback' (GPU -> CPU fallback of besteffort work, on vs off; --models optional, default a generated MLP) 'speed' (steady latency, executor vs private sessions, interleaved rounds), 'trims' (request to first result from fresh processes, plain CUDA vs each tier) or 'instances' (a GPU function of serve at zero instances: request to first answer, forked and pre-started, beside plain CUDA)",
    )
    .action(
      action(async (suites: string[], opts: BenchOptions) => {
        if (suites.length === 1 && suites[0] === 'gpu') return benchGpu(opts);
        if (suites.length === 1 && suites[0] === 'salus')
          return benchSalus({
            quick: !!opts.quick,
            standIn: !!opts.standIn,
            outDir: path.resolve(
              opts.out ?? (opts.quick ? await fs.mkdtemp(path.join(os.tmpdir(), 'tensorshare-salus-')) : 'docs/bench'),
            ),
          });
        // Several nodes on one machine (issue 18): peer warm-up and placement, its own section and bench/cluster.json.
        if (suites.length === 1 && suites[0] === 'cluster') {
          const { benchCluster } = await import('../../bench/cluster.js');
          await benchCluster({
            quick: !!opts.quick,
            rounds: opts.rounds,
            from: opts.from,
            out: path.resolve(
              opts.out ??
                (opts.quick && !opts.from
                  ? await fs.mkdtemp(path.join(os.tmpdir(), 'tensorshare-cluster-report-'))
                  : 'docs'),
            ),
          });
          return;
        }
        // Cold start phase by phase (issue 15): its own section and bench/coldphases.json.
        if (suites.length === 1 && suites[0] === 'coldphases') {
          // Loaded when it runs: it brings the serve runtime and store writers, which other commands do not need.
          const { benchColdPhases } = await import('../../bench/coldphases.js');
          await benchColdPhases({
            quick: !!opts.quick,
            out: path.resolve(
              opts.out ??
                (opts.quick ? await fs.mkdtemp(path.join(os.tmpdir(), 'tensorshare-coldphases-report-')) : 'docs'),
            ),
          });
          return;
        }
        // The planned configuration against the default autoscaler, live (issue 17): its own section and bench/plan.json.
        if (suites.length === 1 && suites[0] === 'plan') {
          const { benchPlan } = await import('../../bench/plan-live.js');
          await benchPlan({
            quick: !!opts.quick,
            ...(opts.from ? { from: path.resolve(opts.from) } : {}),
            out: path.resolve(
              opts.out ?? (opts.quick ? await fs.mkdtemp(path.join(os.tmpdir(), 'tensorshare-bench-plan-')) : 'docs'),
            ),
          });
          return;
        }
        for (const s of suites) {
          if (!SUITES.includes(s as SuiteId))
            throw new TensorshareError(
              'ERR_INVALID_ARGUMENT',
              `unknown suite '${s}': choose from ${SUITES.join(', ')} (or gpu, alone)`,
            );
        }
        const out = path.resolve(
          opts.out ?? (opts.quick ? await fs.mkdtemp(path.join(os.tmpdir(), 'tensorshare-bench-report-')) : 'docs'),
        );
        const log = (line: string) =>
          process.stderr.write(`[bench ${new Date().toISOString().slice(11, 19)}] ${line}\n`);
        const results = opts.from
          ? await readSavedRun(opts.from)
          : await runBench({ suites: suites as SuiteId[], quick: opts.quick, threads: opts.threads, log });
        const command = [
          'tensorshare bench',
          ...suites,
          results.quick ? '--quick' : '',
          opts.threads !== 1 ? `--threads ${opts.threads}` : '',
        ]
          .filter(Boolean)
          .join(' ');
        const written = await writeOutputs(results, out, command);
        const targets = evaluateTargets(results);
        emit(
          opts,
          {
            ...written,
            durationMs: results.durationMs,
            errors: results.errors,
            targets: targets.map(({ id, verdict, measured }) => ({ id, verdict, measured })),
          },
          (v) =>
            [
              `report: ${v.report}`,
              `results: ${v.results}`,
              `charts: ${v.charts.length} in ${path.dirname(v.results)}`,
              `took ${(v.durationMs / 60000).toFixed(1)} min${results.quick ? ' (quick: indicative only)' : ''}`,
              '',
              table([['target', 'verdict', 'measured'], ...targets.map((t) => [t.id, t.verdict, t.measured])]),
              ...(v.errors.length ? ['', ...v.errors.map((e) => `error in ${e.suite}: ${e.message}`)] : []),
            ].join('\n'),
        );
        if (results.errors.length) process.exitCode = 1;
      }),
    );
}

/**
 * The GPU tier's suite (src/bench/gpu.ts): needs an NVIDIA GPU and the CUDA provider; writes bench/gpu-results.json
 * and the gpu section of benchmarks.md under --out (default ./docs; --stand-in or --quick: a new temp folder, so a
 * dry run never replaces measurements). --from re-renders a saved gpu-results.json.
 */
async function benchGpu(opts: BenchOptions): Promise<void> {
  const out = path.resolve(
    opts.out ??
      (opts.standIn || opts.quick ? await fs.mkdtemp(path.join(os.tmpdir(), 'tensorshare-bench-gpu-')) : 'docs'),
  );
  if (opts.from) {
    let r: Awaited<ReturnType<typeof readGpuReport>>;
    try {
      r = await readGpuReport(path.resolve(opts.from));
    } catch (e) {
      throw new TensorshareError('ERR_INVALID_ARGUMENT', `--from ${opts.from}: ${(e as Error).message}`);
    }
    const w = await writeGpuReport(out, r);
    emit(
      opts,
      { ...w, targets: r.targets, errors: r.errors },
      (v) => `report section: ${v.doc}, results: ${v.results}`,
    );
    return;
  }
  const alone = ['fallback', 'speed', 'trims', 'instances'] as const;
  if (opts.only !== undefined && !(alone as readonly string[]).includes(opts.only))
    throw new TensorshareError(
      'ERR_INVALID_ARGUMENT',
      `--only takes 'fallback', 'speed', 'trims' or 'instances', got '${opts.only}'`,
    );
  if (opts.only === 'fallback') return benchGpuFallbackOnly(opts, out);
  if (!opts.models)
    throw new TensorshareError('ERR_INVALID_ARGUMENT', 'bench gpu needs --models <dir> (ONNX files and models.json)');
  const log = (line: string) => process.stderr.write(`[bench gpu ${new Date().toISOString().slice(11, 19)}] ${line}\n`);
  const r = await runGpuBench({
    models: path.resolve(opts.models),
    out,
    log,
    standIn: opts.standIn,
    // 'fallback' ran alone above; the others are sections of the run.
    ...(opts.only !== undefined ? { only: opts.only as GpuSection } : {}),
  });
  emit(opts, { out, targets: r.targets, errors: r.errors }, (v) =>
    [
      `results: ${path.join(v.out, 'bench', 'gpu-results.json')}, report section: ${path.join(v.out, 'benchmarks.md')}`,
      table([['target', 'verdict', 'measured'], ...v.targets.map((t) => [t.id, t.verdict, t.measured])]),
      ...v.errors.map((e) => `error: ${e}`),
    ].join('\n'),
  );
  if (r.errors.length) process.exitCode = 1;
}

/** `bench gpu --only fallback`: the fallback scenario alone; JSON to <out>/bench/gpu-fallback-results.json. */
async function benchGpuFallbackOnly(opts: BenchOptions, out: string): Promise<void> {
  const log = (line: string) =>
    process.stderr.write(`[bench gpu fallback ${new Date().toISOString().slice(11, 19)}] ${line}\n`);
  let models: ReturnType<typeof fallbackModels>;
  if (opts.models) {
    const dir = path.resolve(opts.models);
    const specs = JSON.parse(await fs.readFile(path.join(dir, 'models.json'), 'utf8')) as {
      name: string;
      file: string;
      inputs: { name: string; dtype: string; shape: number[] }[];
    }[];
    models = fallbackModels(specs, (f) => path.resolve(dir, f));
    if (!models)
      throw new TensorshareError('ERR_INVALID_ARGUMENT', `--models ${opts.models}: models.json names no model`);
  }
  const r = await benchGpuFallback({ ...models, standIn: opts.standIn, log });
  const file = path.join(out, 'bench', 'gpu-fallback-results.json');
  await fs.mkdir(path.dirname(file), { recursive: true });
  await fs.writeFile(file, `${JSON.stringify({ date: new Date().toISOString(), ...r }, null, 2)}\n`);
  emit(opts, { results: file, ...r }, () => `${fallbackMarkdown(r)}\nresults: ${file}`);
}

/** A run saved by writeOutputs (bench/results.json): the report is rebuilt from its figures only. */
async function readSavedRun(file: string): Promise<BenchResults> {
  let r: BenchResults;
  try {
    r = JSON.parse(await fs.readFile(file, 'utf8')) as BenchResults;
  } catch (e) {
    throw new TensorshareError(
      'ERR_INVALID_ARGUMENT',
      `--from ${file}: cannot read a saved run (${(e as Error).message})`,
    );
  }
  if ((r as { format?: string }).format !== RESULTS_FORMAT)
    throw new TensorshareError('ERR_INVALID_ARGUMENT', `--from ${file}: not a ${RESULTS_FORMAT} results file`);
  return r;
}
