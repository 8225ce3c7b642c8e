// `tensorshare load`: an open-loop HTTP load generator against a running
// gateway (Poisson arrivals in fixed rate steps, bounded in count and time),
// and `tensorshare bench-sched`: the scheduling benchmark (batching, priority,
// fair share, srtf) that starts its own servers, and `tensorshare bench-hostile`:
// issue 11's hostile requests against a real serve while its health is polled.
import fs from 'node:fs/promises';
import path from 'node:path';
import type { Command } from 'commander';
import { TensorshareError } from '../../errors.js';
import { packageRoot } from '../../paths.js';
import { formatReport, runLoad, type LoadReport } from '../../bench/loadgen.js';
import { httpClient, inferBody, type ModelMeta } from '../../bench/http-load.js';
import { lineChart } from '../../bench/charts.js';
import { runSchedBench } from '../../bench/sched/run.js';
import { writeReport } from '../../bench/sched/report.js';
import type { SchedBenchResults } from '../../bench/sched/results.js';
import { runHostileBench } from '../../bench/hostile/run.js';
import { summary as hostileSummary, writeReport as writeHostileReport } from '../../bench/hostile/report.js';
import { action, emit } from '../output.js';

interface LoadOpts {
  url: string;
  rates: string;
  stepMs: string;
  maxRequests: string;
  maxSeconds?: string;
  sloMs: string;
  shape: string[];
  param: string[];
  output: string[];
  binary: boolean;
  seed: string;
  drainMs: string;
  chart?: string;
  json?: boolean;
}

const collect = (v: string, acc: string[]) => [...acc, v];

const positive = (flag: string, v: string, integer = false): number => {
  const n = Number(v);
  if (!(Number.isFinite(n) && n > 0) || (integer && !Number.isInteger(n)))
    throw new TensorshareError(
      'ERR_INVALID_ARGUMENT',
      `${flag} must be a${integer ? 'n integer' : ' number'} > 0, got '${v}'`,
    );
  return n;
};

/** "10,20,40" -> [10, 20, 40] (0 = a pause). */
export function parseRates(v: string): number[] {
  const rates = v.split(',').map((s) => Number(s.trim()));
  if (rates.length === 0 || rates.some((r) => !(Number.isFinite(r) && r >= 0)))
    throw new TensorshareError(
      'ERR_INVALID_ARGUMENT',
      `--rates takes requests per second separated by commas (e.g. 10,20,40), got '${v}'`,
    );
  return rates;
}

/** "input_ids=1,32" -> ['input_ids', [1, 32]]; "priority=besteffort" / "timeout_ms=50" -> typed parameter. */
function kv(flag: string, s: string): [string, string] {
  const i = s.indexOf('=');
  if (i <= 0) throw new TensorshareError('ERR_INVALID_ARGUMENT', `${flag} expects name=value, got '${s}'`);
  return [s.slice(0, i), s.slice(i + 1)];
}

export function registerLoad(program: Command): void {
  program
    .command('load')
    .description(
      'open-loop HTTP load against a running tensorshare (or any KServe v2) server: Poisson arrivals in rate steps; reports throughput, p50/p95/p99, SLO attainment and rejections per step',
    )
    .argument('<model>', 'function / model to call')
    .option('--url <url>', 'gateway base URL', 'http://127.0.0.1:8000')
    .option('--rates <r1,r2,..>', 'arrival rate of each step, requests/s (0 = pause)', '10,20,40')
    .option('--step-ms <ms>', 'duration of each step', '5000')
    .option('--max-requests <n>', 'stop scheduling arrivals after this many', '100000')
    .option('--max-seconds <s>', "stop scheduling arrivals after this long (default: the steps' total)")
    .option('--slo-ms <ms>', 'latency objective for SLO attainment', '100')
    .option(
      '-s, --shape <name=d0,d1,..>',
      'full shape of an input with dynamic dimensions (others: -1 becomes 1)',
      collect,
      [],
    )
    .option(
      '-p, --param <name=value>',
      'request parameter, e.g. priority=besteffort, timeout_ms=50, tenant=a (repeatable)',
      collect,
      [],
    )
    .option('-o, --output <name>', 'output to ask for (repeatable; default all)', collect, [])
    .option('--binary', 'ask for outputs in the binary tensor extension', false)
    .option('--seed <n>', 'arrival schedule and input values seed', '1')
    .option('--drain-ms <ms>', 'after the last arrival, wait this long for answers', '2000')
    .option('--chart <file.svg>', 'write p50/p99 latency against offered rate as an SVG chart')
    .option('--json', 'print the full report as JSON')
    .action(
      action(async (model: string, opts: LoadOpts) => {
        const rates = parseRates(opts.rates);
        const stepMs = positive('--step-ms', opts.stepMs);
        const sloMs = positive('--slo-ms', opts.sloMs);
        const client = httpClient(opts.url, 1024);
        try {
          const meta = await client.getJson<ModelMeta>(`/v2/models/${encodeURIComponent(model)}`).catch((e: Error) => {
            throw new TensorshareError(
              'ERR_MODEL_NOT_FOUND',
              `cannot read the metadata of '${model}' from ${opts.url}: ${e.message}`,
            );
          });
          const shapes = Object.fromEntries(
            opts.shape.map((s) => {
              const [k, v] = kv('--shape', s);
              return [k, v.split(',').map((d) => positive(`--shape ${k}`, d, true))];
            }),
          );
          const parameters = Object.fromEntries(
            opts.param.map((s) => {
              const [k, v] = kv('--param', s);
              return [k, v === 'true' ? true : v === 'false' ? false : /^-?\d+(\.\d+)?$/.test(v) ? Number(v) : v];
            }),
          );
          const body = inferBody(meta, {
            shapes,
            outputs: opts.output.length ? opts.output : undefined,
            binaryOutputs: opts.binary,
            parameters,
            seed: Number(opts.seed),
          });
          const report = await runLoad({
            steps: rates.map((ratePerSec) => ({ ratePerSec, durationMs: stepMs })),
            seed: Number(opts.seed),
            maxRequests: positive('--max-requests', opts.maxRequests, true),
            ...(opts.maxSeconds ? { maxDurationMs: positive('--max-seconds', opts.maxSeconds) * 1000 } : {}),
            sloMs,
            drainMs: positive('--drain-ms', opts.drainMs),
            send: () => client.infer(model, body),
          });
          if (opts.chart) await fs.writeFile(opts.chart, stepChart(model, report));
          emit(opts, { model, url: opts.url, ...report }, () => formatReport(report));
        } finally {
          client.close();
        }
      }),
    );

  program
    .command('bench-sched')
    .description(
      'scheduling benchmark: no batching vs fixed batching vs AIMD on a BERT-shaped encoder, priority, fair share and srtf vs fifo, each side by side; writes JSON and SVGs and its section of docs/benchmarks.md',
    )
    .option('--quick', 'short version (under a minute; for CI): fewer, shorter steps, one repetition', false)
    .option('--scenarios <list>', 'which scenarios to run, e.g. 1,3 (default all)', '1,2,3,4')
    .option(
      '--out <dir>',
      'folder for sched.json and the SVG charts (default docs/bench, or a temp folder with --quick)',
    )
    .option(
      '--docs <file>',
      'markdown file whose <!-- bench:sched:start --> .. <!-- bench:sched:end --> section is replaced (default docs/benchmarks.md; none with --quick)',
    )
    .option('--layers <n>', 'encoder layers of the BERT-shaped model (hidden 768)', '2')
    .option('--seq <n>', 'sequence length of every request', '32')
    .option('--render <sched.json>', 'measure nothing: write the charts and the docs section again from saved results')
    .option('--json', 'print the results as JSON')
    .action(
      action(
        async (opts: {
          quick: boolean;
          scenarios: string;
          out?: string;
          docs?: string;
          layers: string;
          seq: string;
          render?: string;
          json?: boolean;
        }) => {
          if (opts.render) {
            const saved = JSON.parse(await fs.readFile(opts.render, 'utf8')) as SchedBenchResults;
            await writeReport(
              saved,
              opts.out ?? path.dirname(path.resolve(opts.render)),
              opts.docs ?? path.join(packageRoot, 'docs/benchmarks.md'),
              (l) => process.stderr.write(`${l}\n`),
            );
            emit(opts, saved, (r) => r.summary.join('\n'));
            return;
          }
          const scenarios = opts.scenarios.split(',').map((s) => Number(s.trim()));
          if (scenarios.some((s) => ![1, 2, 3, 4].includes(s)))
            throw new TensorshareError(
              'ERR_INVALID_ARGUMENT',
              `--scenarios takes numbers 1-4 separated by commas, got '${opts.scenarios}'`,
            );
          const results = await runSchedBench({
            quick: opts.quick,
            scenarios,
            outDir: opts.out ?? (opts.quick ? undefined : path.join(packageRoot, 'docs/bench')),
            docsFile: opts.docs ?? (opts.quick ? undefined : path.join(packageRoot, 'docs/benchmarks.md')),
            layers: positive('--layers', opts.layers, true),
            seq: positive('--seq', opts.seq, true),
            log: (line) => {
              if (!opts.json) process.stderr.write(`${line}\n`);
            },
          });
          emit(opts, results, (r) => r.summary.join('\n'));
        },
      ),
    );

  program
    .command('bench-hostile')
    .description(
      "hostile-input benchmark: a real serve receives each of issue 11's hostile requests while /v2/health/ready is polled; reports health latency, answers and the gateway's memory, with verdicts; writes JSON and its section of docs/benchmarks.md",
    )
    .option('--quick', 'a few of the attacks (under a minute; for CI)', false)
    .option('--out <dir>', 'folder for hostile.json (default docs/bench; none with --quick)')
    .option(
      '--docs <file>',
      'markdown file whose <!-- bench:hostile:start --> .. <!-- bench:hostile:end --> section is replaced (default docs/benchmarks.md; none with --quick)',
    )
    .option('--json', 'print the results as JSON')
    .action(
      action(async (opts: { quick: boolean; out?: string; docs?: string; json?: boolean }) => {
        const log = (line: string) => {
          if (!opts.json) process.stderr.write(`${line}\n`);
        };
        const results = await runHostileBench({ quick: opts.quick, log });
        await writeHostileReport(
          results,
          opts.out ?? (opts.quick ? undefined : path.join(packageRoot, 'docs/bench')),
          opts.docs ?? (opts.quick ? undefined : path.join(packageRoot, 'docs/benchmarks.md')),
          log,
        );
        emit(opts, results, (r) => hostileSummary(r).join('\n'));
      }),
    );
}

function stepChart(model: string, r: LoadReport): string {
  const steps = r.bySteps.filter((s) => s.ratePerSec > 0 && s.ok > 0).sort((a, b) => a.ratePerSec - b.ratePerSec);
  return lineChart({
    title: `${model}: latency against offered load`,
    xLabel: 'offered rate (requests/s)',
    yLabel: 'latency (ms)',
    series: [
      { name: 'p50', points: steps.map((s) => ({ x: s.ratePerSec, y: s.latency.p50 })) },
      { name: 'p99', points: steps.map((s) => ({ x: s.ratePerSec, y: s.latency.p99 })) },
    ],
    references: [{ y: r.sloMs, label: `SLO ${r.sloMs} ms` }],
  });
}
