// A fixed, made-up BenchResults document for tests of the report, charts
// and target verdicts (never published: real figures come from a run).
import type { DensityModeResult, DensityPoint } from '../bench/density.js';
import type { BenchResults } from '../bench/results.js';
import { emptyRollup } from '../proc/smaps.js';
import { summarize } from '../bench/stats.js';

const MiB = 2 ** 20;

function point(
  n: number,
  total: number,
  opts: { anon?: number; store?: number; unmapped?: number } = {},
): DensityPoint {
  const sum = emptyRollup();
  sum.pss = total - (opts.unmapped ?? 0);
  sum.pssAnon = opts.anon ?? sum.pss * 0.9;
  sum.pssFile = n * 10 * MiB;
  sum.pssShmem = opts.store ?? 0;
  return {
    n,
    sum,
    storePss: opts.store ?? 0,
    storeUnmapped: opts.unmapped ?? 0,
    storeCopied: 0,
    totalBytes: total,
    perProcessBytes: total / n,
  };
}

function mode(
  id: string,
  label: string,
  perProcess: number,
  fixed: number,
  counts: number[],
  store = 0,
): DensityModeResult {
  return {
    id,
    label,
    settings: `${label} settings`,
    points: counts.map((n) =>
      point(n, fixed + n * perProcess, { store: Math.min(store, fixed), unmapped: Math.max(0, fixed - store) }),
    ),
    openMs: 40,
    firstRunMs: 120,
    selfPssGrowth: 4 * MiB,
    selfAnonGrowth: 3 * MiB,
    servedMode: id.startsWith('plain') ? 'plain' : id,
    privateParts: {
      imported: 12 * MiB,
      total: 15 * MiB,
      heap: 9 * MiB,
      files: 0.5 * MiB,
      other: 5.5 * MiB,
      jsHeap: 4 * MiB,
    },
  };
}

/** `scale` multiplies tensorshare's per-process cost (to make targets miss). */
export function sampleResults(opts: { scale?: number; quick?: boolean } = {}): BenchResults {
  const scale = opts.scale ?? 1;
  const counts = [1, 2, 4, 8, 16];
  const weights = 436 * MiB;
  const baselinePer = 22 * MiB;
  return {
    format: 'tensorshare.bench/v1',
    startedAt: '2025-01-01T00:00:00.000Z',
    durationMs: 600_000,
    quick: opts.quick ?? false,
    suites: ['import', 'dedup', 'density', 'coldstart', 'latency'],
    machine: {
      hostname: 'test',
      os: 'Linux',
      kernel: '6.0',
      arch: 'x64',
      cpuModel: 'Test CPU',
      logicalCores: 2,
      physicalCores: 2,
      isa: ['avx2', 'fma'],
      memTotalBytes: 24 * 2 ** 30,
      memAvailableBytes: 20 * 2 ** 30,
      cgroupMemoryLimitBytes: null,
      node: 'v20.0.0',
      onnxruntimeNode: '1.30.0',
      dropCaches: { writable: true, works: true, detail: 'ok' },
    },
    load: { start: [0.5, 0.5, 0.5], end: [0.6, 0.6, 0.6] },
    threads: 1,
    workerEnv: { MALLOC_ARENA_MAX: '2' },
    modes: [
      { id: 'plain', label: 'plain ORT', describe: 'defaults' },
      { id: 'fast-open', label: 'tensorshare fast-open', describe: 'fast-open' },
      { id: 'baseline', label: 'runtime baseline', describe: 'identity' },
    ],
    models: [
      {
        id: 'bert',
        label: 'BERT-base-shaped encoder (generated)',
        source: 'generated',
        inputLabel: 'sequence 128',
        fileBytes: weights + 100_000,
        params: 108_891_648,
        weightBytes: weights,
        tensors: 197,
        fastRun: { status: 'ok', buildMs: 3600, bytes: 775 * MiB, prepackedTensors: 72 },
      },
    ],
    density: {
      counts,
      baseline: mode('baseline', 'runtime baseline', baselinePer, 0, counts),
      tuning: [
        {
          subject: 'baseline',
          mode: 'baseline',
          setting: 'ORT defaults',
          n: 4,
          perProcessBytes: 30 * MiB,
          perProcessAnon: 18 * MiB,
        },
      ],
      models: [
        {
          model: 'bert',
          storeBytes: { 'fast-open': weights, 'fast-run': 480 * MiB },
          modes: [
            mode('plain', 'plain ORT', weights * 1.35, 0, counts),
            mode('plain-malloc', 'plain ORT, tuned malloc', weights + baselinePer, 0, counts),
            mode('fast-open', 'tensorshare fast-open', baselinePer + 3 * MiB * scale, weights, counts, weights),
            mode('fast-run', 'tensorshare fast-run', baselinePer + 3 * MiB * scale, 480 * MiB, counts, 440 * MiB),
            mode('peer', 'one process, one ORT session, N callers', 2 * MiB, weights * 1.35 + 20 * MiB, counts),
          ],
        },
      ],
    },
    dedup: [
      {
        model: 'bert',
        variants: 4,
        diffLayers: 1,
        filesBytes: 4 * weights,
        repositoryBytes: weights + 3 * 28 * MiB,
        storeBytes: weights + 3 * 28 * MiB,
        logicalBytes: 4 * weights,
        physicalBytes: weights + 3 * 28 * MiB,
        variedBytesPerVariant: 28 * MiB,
        importMs: [900, 300, 300, 300],
      },
    ],
    coldStart: {
      reps: 3,
      dropCaches: { works: true, detail: 'ok' },
      scenarios: [
        cold('ts-fast-open', 'tensorshare fast-open, resident', 20 * scale, 5),
        cold('ts-fast-run', 'tensorshare fast-run, resident', 300, 5),
        cold('plain-warm', 'plain ORT, file in page cache', 800, 5),
        {
          id: 'plain-cold',
          label: 'plain ORT, page cache dropped',
          model: 'bert',
          describe: '',
          reps: [],
          skipped: 'cannot drop caches',
        },
      ],
    },
    latency: {
      models: [
        {
          model: 'bert',
          batches: [1, 8].map((batch) => ({
            model: 'bert',
            batch,
            rounds: 5,
            sessions: [
              { label: 'private', mode: 'plain', summary: summarize([100, 101, 102, 103, 104].map((v) => v * batch)) },
              {
                label: 'fast-run',
                mode: 'fast-run',
                summary: summarize([100, 101, 102, 103, 104].map((v) => v * batch * (scale > 1 ? 1.1 : 1))),
              },
            ],
            ratios: [
              {
                mode: 'fast-run',
                ratioOfMedians: scale > 1 ? 1.1 : 1.0,
                pairedMedian: scale > 1 ? 1.1 : 1.0,
                pairedIqr: 0.01,
                p99Ratio: 1.0,
              },
            ],
          })),
        },
      ],
    },
    import: {
      model: 'bert',
      sourceBytes: weights,
      reps: 3,
      cases: [
        {
          target: 'disk',
          dir: '/tmp',
          ms: [600, 610, 620],
          mbPerSecond: summarize([760, 750, 740]),
          copyMbPerSecond: 900,
        },
        {
          target: 'tmpfs',
          dir: '/dev/shm',
          ms: [500, 510, 520],
          mbPerSecond: summarize([900, 890, 880].map((v) => v / scale)),
          copyMbPerSecond: 1000,
        },
      ],
      sha256MbPerSecond: 1800,
      fastRunBuildMs: 3600,
    },
    requestPath: {
      requests: 200,
      functionConfig: { model: 'ocr-rec', maxInstances: 2 },
      scenarios: [
        requestPathScenario('peer', 'json', 'ocr-rec', 1, 12, 80, 100),
        requestPathScenario('tensorshare', 'json', 'ocr-rec', 1, 12, 78 * scale, 95 * scale),
        requestPathScenario('peer', 'json', 'ocr-rec', 4, 13, 290, 500),
        requestPathScenario('tensorshare', 'json', 'ocr-rec', 4, 22 / scale, 180 * scale, 400 * scale),
        requestPathScenario('tensorshare', 'binary', 'ocr-rec', 4, 25 / scale, 160 * scale, 300 * scale),
        requestPathScenario('tensorshare', 'grpc', 'ocr-rec', 4, 24 / scale, 165 * scale, 300 * scale),
        requestPathScenario('peer', 'json', 'tiny', 1, 1500, 0.6, 1),
        requestPathScenario('tensorshare', 'json', 'tiny', 1, 1200, 0.8 * scale, 1.5 * scale),
      ],
    },
    errors: [],
  };
}

function requestPathScenario(
  server: 'peer' | 'tensorshare',
  protocol: 'json' | 'binary' | 'grpc',
  model: 'ocr-rec' | 'tiny',
  concurrency: number,
  throughput: number,
  p50: number,
  p99: number,
) {
  return {
    id: `${server} ${model} ${protocol} c=${concurrency}`,
    server,
    protocol,
    model,
    concurrency,
    report: {
      concurrency,
      throughput,
      latencyMs: { count: 200, mean: p50, p50, p95: p99, p99, max: p99 },
      errors: {},
      durationMs: (200 / throughput) * 1000,
      samplesMs: [],
    },
    ...(server === 'tensorshare' ? { stagesMs: { decode: 0.1, queue: 0, run: p50 * 0.9, encode: 0.1 } } : {}),
  };
}

function cold(id: string, label: string, openMs: number, runMs: number) {
  const reps = [0.9, 1, 1.1].map((f) => ({
    openToFirstMs: (openMs + runMs) * f,
    spawnToFirstMs: (openMs + runMs + 150) * f,
    importMs: 100,
    openMs: openMs * f,
    firstRunMs: runMs * f,
  }));
  return {
    id,
    label,
    model: 'bert',
    describe: label,
    reps,
    servedMode: id.startsWith('ts-') ? id.slice(3) : 'plain',
    openToFirst: summarize(reps.map((r) => r.openToFirstMs)),
    spawnToFirst: summarize(reps.map((r) => r.spawnToFirstMs)),
    openMs: summarize(reps.map((r) => r.openMs)),
    firstRunMs: summarize(reps.map((r) => r.firstRunMs)),
  };
}
