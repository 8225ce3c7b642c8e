// `tensorshare sim cluster`: placement and keep-alive across nodes, driven by
// the placement scorer and the daemon's eviction policies on a simulated
// clock (src/sim/cluster). `tensorshare sim trims`: the TrIMS sharing-benefit
// estimate with q, o and s measured on this machine.
import { type Command, InvalidArgumentError } from 'commander';
import cliProgress from 'cli-progress';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { formatBytes } from '../../bytes.js';
import { parseBytes, parseDuration } from '../../daemon/units.js';
import { POLICY_NAMES, isPolicyName, type PolicyName } from '../../daemon/policy/index.js';
import { mapFile } from '../../device/mapping.js';
import { TensorshareError } from '../../errors.js';
import { packageRoot } from '../../paths.js';
import { buildCatalog, DEFAULT_CATALOG } from '../../sim/cluster/catalog.js';
import { costsFor, costsFromResults } from '../../sim/cluster/costs.js';
import { PLACEMENTS, simulateCluster, type PlacementName } from '../../sim/cluster/engine.js';
import { comboResult, markdownTable, writeCharts, type ComboResult } from '../../sim/cluster/report.js';
import { createTrace } from '../../sim/cluster/trace.js';
import { trimsRows, type TrimsMeasurement } from '../../sim/cluster/trims.js';
import { action, emit, table } from '../output.js';

interface ClusterCliOptions {
  nodes: number;
  functions: number;
  invocations: number;
  duration: string;
  nodeMemory: string;
  placement: string;
  policy: string;
  ttl: string;
  reclaimInterval: string;
  instanceIdle: string;
  sloStartFactor: number;
  remoteBandwidth: string;
  familyFraction: number;
  familySize: number;
  diffLayers: number;
  bench: string;
  seed: string;
  out?: string;
  json?: boolean;
}

const positiveInt = (what: string) => (v: string) => {
  const n = Number(v.replace(/_/g, ''));
  if (!Number.isSafeInteger(n) || n < 1) throw new InvalidArgumentError(`${what} must be a positive integer`);
  return n;
};
const fraction = (what: string) => (v: string) => {
  const n = Number(v);
  if (!(n >= 0 && n <= 1)) throw new InvalidArgumentError(`${what} must be in [0, 1]`);
  return n;
};
const positive = (what: string) => (v: string) => {
  const n = Number(v);
  if (!(n > 0)) throw new InvalidArgumentError(`${what} must be positive`);
  return n;
};

function listOf<T extends string>(s: string, all: readonly T[], what: string, is: (x: string) => x is T): T[] {
  if (s === 'all') return [...all];
  const items = s.split(',').map((x) => x.trim());
  for (const x of items)
    if (!is(x))
      throw new TensorshareError('ERR_INVALID_ARGUMENT', `unknown ${what} '${x}': use ${all.join(', ')} or all`);
  return items as T[];
}

const DEFAULT_BENCH = path.join(packageRoot, 'docs', 'bench', 'results.json');

function readJson(file: string, what: string): unknown {
  try {
    return JSON.parse(fs.readFileSync(file, 'utf8'));
  } catch (e) {
    throw new TensorshareError('ERR_INVALID_ARGUMENT', `cannot read ${what} ${file}: ${(e as Error).message}`, {
      file,
    });
  }
}

export function registerSimCluster(sim: Command): void {
  sim
    .command('cluster')
    .description(
      'placement (random, least-loaded, tensor similarity) and keep-alive (the daemon eviction policies) across nodes, on a generated serverless trace',
    )
    .option('--nodes <n>', 'nodes', positiveInt('--nodes'), 100)
    .option('--functions <n>', 'functions (one model each)', positiveInt('--functions'), 1000)
    .option('--invocations <n>', 'expected invocations over the duration', positiveInt('--invocations'), 1_000_000)
    .option('--duration <d>', 'simulated time (e.g. 24h)', '24h')
    .option('--node-memory <size>', 'memory of each node: its store plus its instances', '1GiB')
    .option('--placement <list>', `comma list of ${PLACEMENTS.join(', ')}, or all`, 'all')
    .option('--policy <list>', `comma list of ${POLICY_NAMES.join(', ')}, or all`, 'all')
    .option('--ttl <d>', 'keep-alive window of the ttl policy (the daemon default)', '60s')
    .option('--reclaim-interval <d>', 'period of the reclaimer (the daemon default)', '5s')
    .option('--instance-idle <d>', 'an idle instance stops after this long', '60s')
    .option(
      '--slo-start-factor <x>',
      'SLO: warm execution + at most this multiple of a start from the store',
      positive('--slo-start-factor'),
      1.5,
    )
    .option('--remote-bandwidth <size>', 'bytes per second for bytes no local repository holds', '1250MB')
    .option(
      '--family-fraction <f>',
      'share of functions in fine-tuned families',
      fraction('--family-fraction'),
      DEFAULT_CATALOG.familyFraction,
    )
    .option(
      '--family-size <n>',
      'models per family (a base and its variants)',
      positiveInt('--family-size'),
      DEFAULT_CATALOG.familySize,
    )
    .option(
      '--diff-layers <n>',
      'trainable units a variant changes',
      positiveInt('--diff-layers'),
      DEFAULT_CATALOG.diffLayers,
    )
    .option('--bench <file>', 'benchmark results with the start costs', DEFAULT_BENCH)
    .option('--seed <s>', 'seed of the catalog, trace and random placement', '1')
    .option('--out <dir>', 'write the charts (SVG) and a Markdown table here')
    .option('--json', 'print JSON')
    .action(
      action(async (o: ClusterCliOptions) => {
        const placements = listOf(o.placement, PLACEMENTS, 'placement', (x): x is PlacementName =>
          (PLACEMENTS as readonly string[]).includes(x),
        );
        const policies = listOf(o.policy, POLICY_NAMES, 'policy', isPolicyName) as PolicyName[];
        const durationMs = parseDuration(o.duration, '--duration');
        if (!(durationMs > 0)) throw new TensorshareError('ERR_INVALID_ARGUMENT', '--duration must be positive');
        const nodeMemoryBytes = parseBytes(o.nodeMemory, '--node-memory');
        const remoteBytesPerMs = parseBytes(o.remoteBandwidth, '--remote-bandwidth') / 1000;
        const startCosts = costsFromResults(readJson(o.bench, 'benchmark results'));
        const catalog = buildCatalog({
          functions: o.functions,
          familyFraction: o.familyFraction,
          familySize: o.familySize,
          diffLayers: o.diffLayers,
          seed: o.seed,
        });
        const costs = catalog.models.map((m) => costsFor(startCosts, m.bytes));
        const combos = placements.flatMap((p) => policies.map((pol) => ({ placement: p, policy: pol })));
        const bar =
          !o.json && process.stderr.isTTY
            ? new cliProgress.SingleBar(
                {
                  stream: process.stderr,
                  format: 'sim cluster [{bar}] {percentage}% | {combo} | {value}/{total} invocations | {rate} inv/s',
                  hideCursor: true,
                  clearOnComplete: true,
                },
                cliProgress.Presets.shades_classic,
              )
            : undefined;
        const results: ComboResult[] = [];
        const timing: {
          placement: string;
          policy: string;
          wallMs: number;
          eventsPerSecond: number;
          invocationsPerSecond: number;
        }[] = [];
        const traceOpts = { functions: o.functions, invocations: o.invocations, durationMs, seed: o.seed };
        for (const [k, combo] of combos.entries()) {
          const label = `${k + 1}/${combos.length} ${combo.placement} + ${combo.policy}`;
          const t0 = performance.now();
          bar?.start(o.invocations, 0, { combo: label, rate: 0 });
          const c = simulateCluster(
            catalog,
            costs,
            createTrace(traceOpts),
            {
              nodes: o.nodes,
              nodeMemoryBytes,
              placement: combo.placement,
              policy: combo.policy,
              ttlMs: parseDuration(o.ttl, '--ttl'),
              reclaimIntervalMs: parseDuration(o.reclaimInterval, '--reclaim-interval'),
              instanceIdleMs: parseDuration(o.instanceIdle, '--instance-idle'),
              sloStartFactor: o.sloStartFactor,
              repositoryBytesPerMs: startCosts.repositoryBytesPerMs,
              remoteBytesPerMs,
              seed: o.seed,
            },
            {
              onProgress: (n) =>
                bar?.update(Math.min(n, o.invocations), {
                  combo: label,
                  rate: Math.round((n / Math.max(performance.now() - t0, 1)) * 1000),
                }),
            },
          );
          bar?.stop();
          const wallMs = performance.now() - t0;
          results.push(comboResult(combo.placement, combo.policy, c));
          timing.push({
            ...combo,
            wallMs,
            eventsPerSecond: ((c.invocations + c.otherEvents) / wallMs) * 1000,
            invocationsPerSecond: (c.invocations / wallMs) * 1000,
          });
        }
        const subtitle = `${o.nodes} nodes x ${formatBytes(nodeMemoryBytes)}, ${o.functions} functions, ${results[0]?.invocations ?? 0} invocations over ${o.duration}, seed ${o.seed}`;
        const charts = o.out ? writeCharts(o.out, results, subtitle) : [];
        if (o.out) fs.writeFileSync(path.join(o.out, 'sim-cluster.md'), `${markdownTable(results)}\n`);
        const doc = {
          seed: o.seed,
          options: {
            nodes: o.nodes,
            nodeMemoryBytes,
            functions: o.functions,
            invocations: o.invocations,
            durationMs,
            ttl: o.ttl,
            reclaimInterval: o.reclaimInterval,
            instanceIdle: o.instanceIdle,
            sloStartFactor: o.sloStartFactor,
            remoteBytesPerMs,
          },
          catalog: {
            models: catalog.models.length,
            families: new Set(catalog.models.filter((m) => m.family >= 0).map((m) => m.family)).size,
            segments: catalog.segmentBytes.length,
            uniqueBytes: catalog.uniqueBytes,
            logicalBytes: catalog.logicalBytes,
          },
          costs: startCosts,
          results,
          /** Wall-clock numbers: the only part that differs between runs with the same seed. */
          timing,
          charts,
        };
        emit(o, doc, () =>
          [
            `catalog: ${doc.catalog.models} models (${doc.catalog.families} fine-tuned families), ${formatBytes(catalog.uniqueBytes)} unique of ${formatBytes(catalog.logicalBytes)}`,
            `start costs: ${startCosts.source}; repository copy ${formatBytes(startCosts.repositoryBytesPerMs * 1000)}/s`,
            '',
            markdownTable(results),
            '',
            table([
              ['placement', 'policy', 'wall', 'events/s', 'invocations/s'],
              ...timing.map((t) => [
                t.placement,
                t.policy,
                `${(t.wallMs / 1000).toFixed(1)} s`,
                Math.round(t.eventsPerSecond),
                Math.round(t.invocationsPerSecond),
              ]),
            ]),
            ...(charts.length ? ['', `charts: ${charts.join(', ')}`] : []),
          ].join('\n'),
        );
      }),
    );
}

/** Median of `reps` timings of fn (ms). */
function medianMs(reps: number, fn: () => void): number {
  const xs: number[] = [];
  for (let i = 0; i < reps; i++) {
    const t0 = performance.now();
    fn();
    xs.push(performance.now() - t0);
  }
  xs.sort((a, b) => a - b);
  return xs[xs.length >> 1]!;
}

/**
 * q: copying a repository file into the store (as materialize does), and
 * reading it into process memory (page cache warm, as a plain open reads); o: open + fstat + close of store files;
 * s: mmap + first-page touch + munmap of the same files (koffi, as the device tier maps).
 */
export function measureTrims(opts: {
  bytes: number;
  objects: number;
  repoDir: string;
  storeDir: string;
}): TrimsMeasurement {
  const repo = fs.mkdtempSync(path.join(opts.repoDir, 'tensorshare-trims-'));
  const store = fs.mkdtempSync(path.join(opts.storeDir, 'tensorshare-trims-'));
  try {
    const file = path.join(repo, 'model.bin');
    const chunk = Buffer.alloc(1 << 20, 7);
    const fd = fs.openSync(file, 'w');
    for (let done = 0; done < opts.bytes; done += chunk.length)
      fs.writeSync(fd, chunk, 0, Math.min(chunk.length, opts.bytes - done));
    fs.closeSync(fd);
    const into = Buffer.allocUnsafe(opts.bytes);
    const readMs = medianMs(5, () => {
      const f = fs.openSync(file, 'r');
      let off = 0;
      while (off < opts.bytes) off += fs.readSync(f, into, off, opts.bytes - off, off);
      fs.closeSync(f);
    });
    const copied = path.join(store, 'model.bin');
    const copyMs = medianMs(5, () => {
      fs.rmSync(copied, { force: true });
      fs.copyFileSync(file, copied);
    });
    fs.rmSync(copied, { force: true });
    const objects = Array.from({ length: opts.objects }, (_, i) => path.join(store, `t${i}.bin`));
    const page = Buffer.alloc(4096, 1);
    for (const p of objects) fs.writeFileSync(p, page);
    const shareMs = medianMs(5, () => {
      for (const p of objects) {
        const f = fs.openSync(p, 'r');
        fs.fstatSync(f);
        fs.closeSync(f);
      }
    });
    const fds = objects.map((p) => fs.openSync(p, 'r'));
    let sum = 0;
    const mapMs = medianMs(5, () => {
      for (const f of fds) {
        const m = mapFile(f, 4096, 'read');
        sum += m.view(0, 1)[0]!;
        m.unmap();
      }
    });
    for (const f of fds) fs.closeSync(f);
    if (sum < 0) throw new Error('unreachable');
    return {
      storageBytesPerMs: opts.bytes / copyMs,
      readBytesPerMs: opts.bytes / readMs,
      shareMsPerObject: shareMs / opts.objects,
      mapMsPerObject: mapMs / opts.objects,
      detail: `read ${formatBytes(opts.bytes)} from ${opts.repoDir} (page cache warm), ${opts.objects} objects in ${opts.storeDir}; medians of 5`,
    };
  } finally {
    fs.rmSync(repo, { recursive: true, force: true });
    fs.rmSync(store, { recursive: true, force: true });
  }
}

export function registerSimTrims(sim: Command): void {
  sim
    .command('trims')
    .description('TrIMS sharing benefit rho = b/q - n(o+s), with q, o, s measured here, against the benchmark results')
    .option('--bench <file>', 'benchmark results (cold-start suite)', DEFAULT_BENCH)
    .option('--bytes <size>', 'file size for the storage bandwidth q', '256MiB')
    .option('--objects <n>', 'objects for o and s', positiveInt('--objects'), 2000)
    .option('--repo-dir <dir>', 'file system of the repository (for q)', os.tmpdir())
    .option('--store-dir <dir>', 'tmpfs of the store (for o and s)', '/dev/shm')
    .option('--json', 'print JSON')
    .action(
      action(
        async (o: {
          bench: string;
          bytes: string;
          objects: number;
          repoDir: string;
          storeDir: string;
          json?: boolean;
        }) => {
          const results = readJson(o.bench, 'benchmark results');
          const m = measureTrims({
            bytes: parseBytes(o.bytes, '--bytes'),
            objects: o.objects,
            repoDir: o.repoDir,
            storeDir: o.storeDir,
          });
          const rows = trimsRows(results, m);
          const ms = (x: number | null) => (x === null ? 'n/a' : `${x.toFixed(1)} ms`);
          emit(o, { measurement: m, rows }, () =>
            [
              `q = ${formatBytes(m.storageBytesPerMs * 1000)}/s copying into the store (${formatBytes(m.readBytesPerMs * 1000)}/s reading), o = ${(m.shareMsPerObject * 1000).toFixed(2)} us, s = ${(m.mapMsPerObject * 1000).toFixed(2)} us per object (${m.detail})`,
              '',
              table([
                [
                  'model',
                  'b',
                  'n',
                  'b/q',
                  'n(o+s)',
                  'rho predicted',
                  'rho (q = read)',
                  'measured vs not resident',
                  'measured vs plain ORT',
                ],
                ...rows.map((r) => [
                  r.model,
                  formatBytes(r.bytes),
                  r.objects,
                  ms(r.loadMs),
                  ms(r.sharingMs),
                  ms(r.predictedMs),
                  ms(r.predictedReadMs),
                  ms(r.measuredVsRepositoryMs),
                  ms(r.measuredVsPlainMs),
                ]),
              ]),
            ].join('\n'),
          );
        },
      ),
    );
}
