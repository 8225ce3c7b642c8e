// `tensorshare sim alloc [traces...]`: device-memory allocators on allocation
// traces (src/sim/alloc/README.md). Without traces it replays the committed
// ones under traces/alloc/, which is how docs/simulation.md's numbers are made.
import { type Command, InvalidArgumentError, Option } from 'commander';
import cliProgress from 'cli-progress';
import { mkdirSync, readdirSync, writeFileSync, existsSync } from 'node:fs';
import path from 'node:path';
import { performance } from 'node:perf_hooks';
import { TensorshareError } from '../../errors.js';
import { packageRoot } from '../../paths.js';
import { INPUT_FORMATS, readTrace, type InputFormat } from '../../sim/alloc/load.js';
import { parseAllocators, type AllocatorName } from '../../sim/alloc/replay.js';
import { allocCharts, markdownReport, simulateAlloc, summaryText } from '../../sim/alloc/report.js';
import { synthTrace } from '../../sim/alloc/synth.js';
import { action } from '../output.js';

interface SimAllocOptions {
  format: InputFormat;
  allocators?: AllocatorName[];
  synthetic?: number;
  seed: number;
  profileFrom?: string;
  check?: boolean;
  out?: string;
  timing?: boolean;
  json?: boolean;
}

const integer = (what: string, min: number) => (v: string) => {
  const n = Number(v.replace(/_/g, ''));
  if (!Number.isSafeInteger(n) || n < min) throw new InvalidArgumentError(`${what} must be an integer >= ${min}`);
  return n;
};

export const COMMITTED_TRACES = path.join(packageRoot, 'traces', 'alloc');

function committedTraces(): string[] {
  if (!existsSync(COMMITTED_TRACES))
    throw new TensorshareError('ERR_INVALID_ARGUMENT', `no traces given and ${COMMITTED_TRACES} does not exist`);
  return readdirSync(COMMITTED_TRACES)
    .filter((f) => /\.(json|jsonl|log|txt)(\.gz)?$/.test(f) && !f.startsWith('cudamalloc-'))
    .sort()
    .map((f) => path.join(COMMITTED_TRACES, f));
}

export function registerSimAlloc(sim: Command): Command {
  return sim
    .command('alloc')
    .description(
      'replay device-memory allocation traces through simulated allocators (direct, caching, bfc, buddy, learned-arena)',
    )
    .argument(
      '[traces...]',
      'TensorFlow __LOG_MEMORY__ logs, PyTorch snapshots as JSON, tensorshare-alloc JSON lines (gzip or plain; default: traces/alloc/)',
    )
    .addOption(new Option('--format <format>', 'trace format').choices(INPUT_FORMATS).default('auto'))
    .option('--allocators <list>', 'comma-separated allocators (default all)', parseAllocators)
    .option(
      '--synthetic <events>',
      'also replay a seeded synthetic trace of about this many events',
      integer('--synthetic', 1),
    )
    .option('--seed <n>', 'seed of the synthetic trace', integer('--seed', 0), 1)
    .option('--profile-from <trace>', "the previous run learned-arena learns from (default: each trace's own workload)")
    .option('--check', 'verify on every event that live blocks never overlap and lie in device segments (slow)')
    .option('--out <dir>', 'write report.md, results.json and SVG charts there')
    .option('--timing', 'include wall-clock replay rates in the --json output (they vary run to run)')
    .option('--json', 'print the report as JSON')
    .action(
      action(async (files: string[], o: SimAllocOptions) => {
        const t0 = performance.now();
        const traces = (files.length ? files : committedTraces()).map((f) => readTrace(f, o.format));
        if (o.synthetic) traces.push(synthTrace({ events: o.synthetic, seed: o.seed }));
        const parseMs = performance.now() - t0;
        const profileFrom = o.profileFrom ? readTrace(o.profileFrom, o.format) : undefined;
        const allocators = o.allocators;
        const total = traces.reduce((n, t) => n + t.length, 0) * (allocators?.length ?? 5);
        const bar = progress(o, total);
        const report = simulateAlloc(traces, {
          ...(allocators ? { allocators } : {}),
          ...(profileFrom ? { profileFrom } : {}),
          ...(o.check ? { check: true } : {}),
          onProgress: bar.update,
        });
        bar.stop();
        const { timing, ...stable } = report;
        if (o.out) {
          mkdirSync(o.out, { recursive: true });
          writeFileSync(path.join(o.out, 'report.md'), markdownReport(report));
          writeFileSync(path.join(o.out, 'results.json'), `${JSON.stringify(stable, null, 2)}\n`);
          for (const c of allocCharts(report)) writeFileSync(path.join(o.out, c.file), c.svg);
        }
        if (o.json) {
          process.stdout.write(`${JSON.stringify(o.timing ? report : stable, null, 2)}\n`);
          return;
        }
        const replayMs = timing.reduce((s, x) => s + x.wallMs, 0);
        const replayed = timing.reduce((s, x) => s + report.traces.find((t) => t.name === x.trace)!.events, 0);
        const lines = [
          summaryText(report),
          '',
          'winners (lowest): time | device calls | peak reserved (pooling only) | held at end',
          ...report.winners.map(
            (w) =>
              `  ${w.trace}: ${w.modeledUs} | ${w.deviceCalls} | ${w.peakReserved} (${w.pooledPeakReserved}) | ${w.reservedAtEnd}`,
          ),
          '',
          `parsed ${traces.length} traces in ${(parseMs / 1000).toFixed(2)} s; replayed ${replayed} events in ${(replayMs / 1000).toFixed(2)} s (${Math.round(replayed / Math.max(replayMs / 1000, 1e-6))} events/s)`,
        ];
        if (o.out) lines.push(`wrote ${o.out}/report.md, results.json and ${allocCharts(report).length} charts`);
        process.stdout.write(`${lines.join('\n')}\n`);
      }),
    );
}

/** An event progress bar on a terminal for runs of half a million events or more. */
function progress(o: SimAllocOptions, total: number): { update: (done: number) => void; stop: () => void } {
  if (o.json || !process.stderr.isTTY || total < 500_000) return { update: () => {}, stop: () => {} };
  const bar = new cliProgress.SingleBar(
    {
      stream: process.stderr,
      format: 'sim alloc [{bar}] {percentage}% | {value}/{total} events',
      hideCursor: true,
      clearOnComplete: true,
    },
    cliProgress.Presets.shades_classic,
  );
  bar.start(total, 0);
  return { update: (n) => bar.update(n), stop: () => bar.stop() };
}
