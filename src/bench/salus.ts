// `tensorshare bench salus`: Salus's comparison on one device executor. The
// same mixed set of models and the same request trace under fifo, pack,
// srtf and fair (makespan, average queuing time, average and 95th-percentile
// completion time: Salus's table columns), device busy time with models
// co-located against one at a time, and realtime p99 beside a besteffort
// overload against realtime alone. Then best-fit packing against first fit
// and one model per GPU on a simulated set of devices. `--stand-in`: a fake
// device with the CPU provider (real executor, real processes; times are
// CPU times); otherwise the CUDA provider on GPU 0.
import { fork } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { DevicePolicy } from '../sched/device-policy.js';
import {
  type PackDevice,
  type PackModel,
  packBestFit,
  packFirstFit,
  packOnePerDevice,
  reportPlacement,
} from '../sched/packing.js';
import { startStandaloneExecutor } from './salus-executor.js';
import { type ChainSpec, writeMatMulChain } from './salus-models.js';

export interface SalusBenchOptions {
  quick: boolean;
  standIn: boolean;
  /** Markdown section and JSON are written here. */
  outDir: string;
}

const POLICIES: DevicePolicy[] = ['fifo', 'pack', 'srtf', 'fair'];
const MAX_BATCH = 8;

const pct = (xs: number[], p: number) => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length ? s[Math.min(s.length - 1, Math.ceil((p / 100) * s.length) - 1)]! : 0;
};
const mean = (xs: number[]) => (xs.length ? xs.reduce((a, b) => a + b, 0) / xs.length : 0);

interface PolicyRow {
  policy: DevicePolicy;
  makespanMs: number;
  avgQueueMs: number;
  avgCompletionMs: number;
  p95CompletionMs: number;
  /** Sum of run times / makespan: above 1 when runs overlap (co-location). */
  busyPerWallclock: number;
  peakConcurrent: number;
}

function models(quick: boolean, standIn: boolean): ChainSpec[] {
  const w = standIn ? 256 : 2048;
  return [
    { name: 'small', width: w, depth: quick ? 2 : 4 },
    { name: 'medium', width: w, depth: quick ? 6 : 12 },
    { name: 'large', width: w * 2, depth: quick ? 4 : 8 },
  ];
}

/** ONNX Runtime only when the benchmark runs: the CLI imports this module for every command (and serve's process must never load it). */
const loadOrt = async () => (await import('onnxruntime-node')).default;

/** The executor every run measures: GPU 0 with CUDA, or a fake device with the CPU provider standing in. */
function benchExecutor(dir: string, o: SalusBenchOptions, policy: DevicePolicy) {
  return startStandaloneExecutor({
    dir,
    device: o.standIn
      ? { kind: 'fake', index: 0, totalBytes: 8 * 2 ** 30, runBytes: true }
      : { kind: 'nvml', index: 0 },
    provider: o.standIn ? 'cpu' : 'cuda',
    maxBatchSize: MAX_BATCH,
    policy,
  });
}

async function policyRun(
  dir: string,
  o: SalusBenchOptions,
  policy: DevicePolicy,
  specs: ChainSpec[],
): Promise<PolicyRow> {
  const ort = await loadOrt();
  const ex = await benchExecutor(dir, o, policy);
  try {
    const chains = await Promise.all(specs.map((s, i) => writeMatMulChain(path.join(dir, `${s.name}.onnx`), s, i + 1)));
    for (const c of chains) await ex.load(c);
    // The trace: per model, clients x jobs of requests sent back to back (Salus's jobs), all starting at once.
    const clients = o.quick ? 2 : 4;
    const perClient = o.quick ? 4 : 12;
    const sessions = [];
    for (const c of chains)
      for (let k = 0; k < clients; k++) sessions.push({ c, s: await ex.open(c.name, { tenant: c.name }) });
    const warm = sessions.map(({ c, s }) =>
      s.run({ x: new ort.Tensor('float32', new Float32Array(c.width), [1, c.width]) }),
    );
    await Promise.all(warm);
    const queue: number[] = [];
    const completion: number[] = [];
    const runs = new Map<string, number>();
    const placements = new Set<{ concurrent: number }>();
    const t0 = performance.now();
    await Promise.all(
      sessions.map(async ({ c, s }) => {
        const x = new ort.Tensor('float32', new Float32Array(MAX_BATCH * c.width).fill(0.01), [MAX_BATCH, c.width]);
        for (let i = 0; i < perClient; i++) {
          await s.run({ x });
          const p = s.lastPlacement!;
          queue.push(p.queuedMs);
          // A run that served several requests counts once.
          runs.set(`${p.lane}@${p.startedAt}`, p.endedAt - p.startedAt);
          placements.add(p);
          completion.push(performance.now() - t0);
        }
      }),
    );
    const makespanMs = performance.now() - t0;
    for (const { s } of sessions) await s.release();
    const busy = [...runs.values()].reduce((a, b) => a + b, 0);
    return {
      policy,
      makespanMs,
      avgQueueMs: mean(queue),
      avgCompletionMs: mean(completion),
      p95CompletionMs: pct(completion, 95),
      busyPerWallclock: busy / makespanMs,
      peakConcurrent: Math.max(...[...placements].map((p) => p.concurrent), 0),
    };
  } finally {
    await ex.stop();
  }
}

/** Where a realtime request's time went, at the 99th percentile of each part. */
export interface RealtimeRow {
  p99Ms: number;
  /** Waiting in the executor for its lane (no run of its model in flight, no besteffort start). */
  queuedP99Ms: number;
  /** The run on the device (ORT). */
  runP99Ms: number;
  /** The rest: socket, shared memory, the executor's and the client's event loops. */
  transportP99Ms: number;
  /** Besteffort runs done meanwhile (their own process). */
  besteffortRuns: number;
}

async function realtimeRun(dir: string, o: SalusBenchOptions, withBestEffort: boolean): Promise<RealtimeRow> {
  const ort = await loadOrt();
  const ex = await benchExecutor(dir, o, 'pack');
  try {
    const specs = models(o.quick, o.standIn);
    const rtModel = await writeMatMulChain(path.join(dir, 'rt.onnx'), specs[0]!, 11);
    const beModel = await writeMatMulChain(path.join(dir, 'be.onnx'), { ...specs[2]!, name: 'be' }, 12);
    await ex.load({ ...rtModel, name: 'rt' });
    await ex.load(beModel);
    const rt = await ex.open('rt', { priority: 'realtime' });
    const x = new ort.Tensor('float32', new Float32Array(rtModel.width).fill(0.01), [1, rtModel.width]);
    await rt.run({ x });
    // The besteffort clients run in a process of their own, as another function's instances would.
    const flood = withBestEffort
      ? fork(
          new URL('./salus-flood.js', import.meta.url),
          [
            JSON.stringify({
              daemonSocket: ex.daemonSocket,
              model: 'be',
              width: beModel.width,
              rows: MAX_BATCH,
              clients: 4,
            }),
          ],
          { stdio: ['ignore', 'pipe', 'inherit', 'ipc'] },
        )
      : undefined;
    let floodOut = '';
    flood?.stdout?.on('data', (b: Buffer) => {
      floodOut += b.toString();
    });
    if (flood)
      await new Promise<void>((resolve, reject) => {
        flood.once('message', () => resolve());
        flood.once('exit', (code) => reject(new Error(`the besteffort process exited (${code}) before it was ready`)));
      });
    const lat: number[] = [];
    const queued: number[] = [];
    const run: number[] = [];
    const transport: number[] = [];
    const n = o.quick ? 60 : 300;
    for (let i = 0; i < n; i++) {
      const t = performance.now();
      await rt.run({ x });
      const total = performance.now() - t;
      lat.push(total);
      const p = rt.lastPlacement!;
      queued.push(p.queuedMs);
      run.push(p.endedAt - p.startedAt);
      transport.push(total - (rt.lastTiming?.executorMs ?? 0));
      await new Promise((r) => setTimeout(r, 2));
    }
    let besteffortRuns = 0;
    if (flood) {
      const exited = new Promise((r) => flood.once('exit', r));
      flood.disconnect();
      await exited;
      besteffortRuns = (JSON.parse(floodOut.trim().split('\n').pop() || '{}') as { runs?: number }).runs ?? 0;
    }
    await rt.release();
    return {
      p99Ms: pct(lat, 99),
      queuedP99Ms: pct(queued, 99),
      runP99Ms: pct(run, 99),
      transportP99Ms: pct(transport, 99),
      besteffortRuns,
    };
  } finally {
    await ex.stop();
  }
}

/** Best fit against first fit and one model per GPU on a simulated set: 8 GPUs of mixed sizes, 45 models, 50 draws. */
export function simulatedPacking() {
  const GiB = 2 ** 30;
  const devices: PackDevice[] = [24, 80, 16, 141, 24, 48, 80, 16].map((c, index) => ({ index, capacity: c * GiB }));
  const sum: Record<string, { served: number; frag: number; stranded: number }> = {};
  const draws = 50;
  for (let seed = 1; seed <= draws; seed++) {
    let s = seed * 7919;
    const rand = () => {
      s = (s * 48271) % 2147483647;
      return s / 2147483647;
    };
    const ms: PackModel[] = Array.from({ length: 45 }, (_, i) => ({
      key: `m${i}`,
      persistentBytes: Math.round(2 ** (rand() * 5.3) * GiB),
      ephemeralBytes: Math.round((0.25 + rand() * 3.75) * GiB),
      load: rand() * 0.1,
    }));
    for (const [k, f] of [
      ['best fit', packBestFit],
      ['first fit', packFirstFit],
      ['one model per GPU', packOnePerDevice],
    ] as const) {
      const r = reportPlacement(devices, ms, f(devices, ms));
      const a = sum[k] ?? { served: 0, frag: 0, stranded: 0 };
      sum[k] = a;
      a.served += r.modelsServed / draws;
      a.frag += r.fragmentation / draws;
      a.stranded += r.strandedFraction / draws;
    }
  }
  return sum;
}

export async function runSalusBench(o: SalusBenchOptions): Promise<{ markdown: string; json: unknown }> {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'tensorshare-salus-'));
  try {
    const specs = models(o.quick, o.standIn);
    // One discarded round first: the first executor of a run pays for cold caches the others would not.
    await policyRun(dir, o, 'pack', specs);
    const rows: PolicyRow[] = [];
    for (const p of POLICIES) rows.push(await policyRun(dir, o, p, specs));
    const rtAlone = await realtimeRun(dir, o, false);
    const rtLoaded = await realtimeRun(dir, o, true);
    const packing = simulatedPacking();
    const where = o.standIn
      ? 'stand-in: fake device, CPU provider (real executor process, real shared memory; times are CPU times, not GPU times)'
      : 'real hardware: GPU 0 with the CUDA provider';
    const f = (n: number) => n.toFixed(1);
    const lines = [
      '<!-- bench:salus:start -->',
      '## Salus lanes and device policies (issue 14)',
      '',
      `Measured ${new Date().toISOString().slice(0, 10)} on ${where}, load average ${os.loadavg()[0]!.toFixed(1)}; \`tensorshare bench salus${o.quick ? ' --quick' : ''}${o.standIn ? ' --stand-in' : ''}\`. Models: MatMul chains ${specs.map((s) => `${s.name} ${s.width}x${s.width}x${s.depth}`).join(', ')}; every model has clients sending batch-${MAX_BATCH} requests back to back, all starting together.`,
      '',
      '| policy | makespan | avg queuing | avg completion | p95 completion | run time / wall time | runs at once (peak) |',
      '| --- | ---: | ---: | ---: | ---: | ---: | ---: |',
      ...rows.map(
        (r) =>
          `| ${r.policy} | ${f(r.makespanMs)} ms | ${f(r.avgQueueMs)} ms | ${f(r.avgCompletionMs)} ms | ${f(r.p95CompletionMs)} ms | ${r.busyPerWallclock.toFixed(2)} | ${r.peakConcurrent} |`,
      ),
      '',
      `Realtime p99 (batch 1, one client) beside a besteffort overload (4 clients in a process of their own, batch ${MAX_BATCH}, larger model; ${rtLoaded.besteffortRuns} besteffort runs meanwhile): ${f(rtLoaded.p99Ms)} ms, alone ${f(rtAlone.p99Ms)} ms: ${(rtLoaded.p99Ms / rtAlone.p99Ms).toFixed(2)}x (target at most 1.5x: ${rtLoaded.p99Ms / rtAlone.p99Ms <= 1.5 ? 'met' : 'missed'}${o.standIn ? ', on the stand-in; the target is about the GPU' : ''}).`,
      '',
      '| realtime request, p99 of each part | alone | beside besteffort |',
      '| --- | ---: | ---: |',
      `| waiting in the executor for its lane | ${f(rtAlone.queuedP99Ms)} ms | ${f(rtLoaded.queuedP99Ms)} ms |`,
      `| run on the device (ORT) | ${f(rtAlone.runP99Ms)} ms | ${f(rtLoaded.runP99Ms)} ms |`,
      `| transport (socket, shared memory, event loops) | ${f(rtAlone.transportP99Ms)} ms | ${f(rtLoaded.transportP99Ms)} ms |`,
      `| whole request | ${f(rtAlone.p99Ms)} ms | ${f(rtLoaded.p99Ms)} ms |`,
      '',
      'Packing (simulated, no hardware): 8 GPUs of 24, 80, 16, 141, 24, 48, 80, 16 GiB, 45 models of 1-40 GiB weights and 0.25-4 GiB activations, mean of 50 draws:',
      '',
      '| placement | models served | fragmentation (1 - largest hole / free) | memory stranded on GPUs in use |',
      '| --- | ---: | ---: | ---: |',
      ...Object.entries(packing).map(
        ([k, v]) => `| ${k} | ${v.served.toFixed(1)} | ${v.frag.toFixed(3)} | ${(v.stranded * 100).toFixed(1)}% |`,
      ),
      '<!-- bench:salus:end -->',
      '',
    ];
    return {
      markdown: lines.join('\n'),
      json: {
        where,
        quick: o.quick,
        standIn: o.standIn,
        policies: rows,
        realtime: { aloneP99Ms: rtAlone.p99Ms, besteffortP99Ms: rtLoaded.p99Ms, alone: rtAlone, besteffort: rtLoaded },
        packing,
      },
    };
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

/** Writes the section and its JSON into `o.outDir`. */
export async function benchSalus(o: SalusBenchOptions): Promise<void> {
  const r = await runSalusBench(o);
  fs.mkdirSync(o.outDir, { recursive: true });
  fs.writeFileSync(path.join(o.outDir, 'salus.md'), r.markdown);
  fs.writeFileSync(path.join(o.outDir, 'salus-results.json'), `${JSON.stringify(r.json, null, 2)}\n`);
  process.stdout.write(r.markdown);
}
