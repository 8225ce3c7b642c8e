// `tensorshare bench gpu`: the GPU tier's targets measured side by side on
// one machine with an NVIDIA GPU and the CUDA provider installed. Models come
// from a folder with models.json ([{name, file, inputs: [{name, dtype,
// shape}]}], shapes at batch 1), exported for example with PyTorch. Every
// instance is a fresh process (gpu-worker.ts); device memory is read with
// NVML. Writes <out>/bench/gpu-results.json and its section of
// <out>/benchmarks.md (fenced by <!-- bench:gpu:start/end -->).
import { spawn } from 'node:child_process';
import fs from 'node:fs/promises';
import { createRequire } from 'node:module';
import os from 'node:os';
import path from 'node:path';
import { DaemonClient } from '../client/daemon-client.js';
import { deviceControl } from '../device/device-session.js';
import { loadNvml } from '../device/memory.js';
import { readProvisionRecord } from '../device/provision.js';
import { residencyRecordFile, type DevicesStatus } from '../device/protocol.js';
import { packageRoot } from '../paths.js';
import { benchGpuFallback, fallbackMarkdown, fallbackModels, type FallbackReport } from './gpu-fallback.js';
import { fenceSection, writeSectionMarkdown } from './report.js';
import type { GpuWorkerArgs } from './gpu-worker.js';
import { median, worker } from './gpu-proc.js';
import { measureSpeed, type SpeedPath, type SpeedPathResult, type Spread } from './gpu-speed.js';
import { gpuInstancesMarkdown, measureGpuInstances, type GpuInstancePath } from './gpu-instances.js';

export interface GpuModelSpec {
  name: string;
  file: string;
  inputs: { name: string; dtype: string; shape: number[] }[];
}

export const GPU_SECTION_ID = 'gpu';

interface SharingBytes {
  tensorshareBytes: number;
  onePlainSessionBytes: number;
  plainProcessesBytes: number;
  instances: number;
}

/**
 * One plain session's device bytes for the sharing target: the smaller of the session measured alone and the mean
 * of the N plain processes. One reading alone has come out 500 MiB (a CUDA context) above the mean of the 16 read
 * together (1703 against 1197 MiB, 2026-12-04), which would flatter the ratio.
 */
const sharingBaseline = (s: SharingBytes): number =>
  Math.min(s.onePlainSessionBytes, s.plainProcessesBytes / s.instances);
const sharingRatio = (s: SharingBytes): number => s.tensorshareBytes / sharingBaseline(s);

export interface GpuBenchOptions {
  models: string;
  /** Folder of benchmarks.md; the JSON goes to bench/ under it. */
  out: string;
  log(line: string): void;
  /** Which model the sharing, speed, throughput and swap-in rows use (default bert_base). */
  shareModel?: string;
  instances?: number;
  loopMs?: number;
  /** Dry run without a GPU: a fake device (CPU provider) for tensorshare, the CPU provider for plain sessions. */
  standIn?: boolean;
  /** One section only (the others are not measured): trims, instances, speed, throughput, sharing, fallback or swap. */
  only?: GpuSection;
  /** Interleaved rounds of the speed rows (default 12, 25 runs per path and batch each). */
  speedRounds?: number;
}

export const GPU_SECTIONS = ['trims', 'instances', 'speed', 'throughput', 'sharing', 'fallback', 'swap'] as const;
export type GpuSection = (typeof GPU_SECTIONS)[number];

const CLI = path.join(packageRoot, 'bin', 'tensorshare.js');
const MIB = 2 ** 20;

/** Wall time from spawning a fresh instance process to its first result. */
async function firstResult(args: GpuWorkerArgs): Promise<{
  wallMs: number;
  openMs: number;
  firstRunMs: number;
  process: { beforeStartMs: number; bootMs: number; importsMs: number };
  openParts?: unknown;
  firstRunStages?: unknown;
}> {
  const t = performance.now();
  const w = worker({ ...args, after: 'exit' });
  const first = await w.wait('first');
  const wallMs = performance.now() - t;
  await new Promise((r) => w.proc.once('exit', r));
  return {
    wallMs,
    openMs: first.openMs as number,
    firstRunMs: first.firstRunMs as number,
    // spawn() to the process's time origin (and the first line's way back), Node's bootstrap, imports before the open.
    process: {
      beforeStartMs: wallMs - (first.sinceStartMs as number),
      bootMs: first.bootMs as number,
      importsMs: first.importsMs as number,
    },
    openParts: first.openParts,
    firstRunStages: first.firstRunStages,
  };
}

interface Daemon {
  socket: string;
  client: DaemonClient;
  stop(): Promise<void>;
}

async function startDaemon(
  repository: string,
  store: string,
  maxBatch: number,
  gpus: string,
  extra: string[] = [],
): Promise<Daemon> {
  const socket = path.join(store, 'daemon.sock');
  // Every start is a daemon with nothing on the GPU: columns (b) and (c) and the sharing rows count on it, and a
  // daemon restores what its devices held before (device-record.ts).
  await fs.rm(residencyRecordFile(store), { force: true });
  const proc = spawn(
    process.execPath,
    [
      CLI,
      'daemon',
      '--repository',
      repository,
      '--store',
      store,
      '--gpus',
      gpus,
      '--gpu-max-batch',
      String(maxBatch),
      '--log-level',
      'warn',
      ...extra,
    ],
    { stdio: ['ignore', 'inherit', 'inherit'] },
  );
  const statusFile = path.join(store, '.daemon', 'devices.json');
  const deadline = Date.now() + 60_000;
  for (;;) {
    if (proc.exitCode !== null) throw new Error(`the daemon exited (${proc.exitCode})`);
    const st = await fs.readFile(statusFile, 'utf8').catch(() => '');
    if (st && (JSON.parse(st) as DevicesStatus).devices[0]?.state === 'ready') break;
    if (Date.now() > deadline) throw new Error('the daemon did not get its device executor ready in 60 s');
    await new Promise((r) => setTimeout(r, 100));
  }
  const client = new DaemonClient({ socket, env: {}, name: 'bench-gpu' });
  return {
    socket,
    client,
    async stop() {
      await client.disconnect().catch(() => {});
      const gone = new Promise((r) => proc.once('exit', r));
      proc.kill('SIGTERM');
      await gone;
    },
  };
}

async function status(store: string): Promise<DevicesStatus> {
  return JSON.parse(await fs.readFile(path.join(store, '.daemon', 'devices.json'), 'utf8')) as DevicesStatus;
}

/** The status once it shows `model` resident (the daemon writes it within 100 ms of a change). */
async function statusWith(store: string, model: string): Promise<DevicesStatus> {
  const deadline = Date.now() + 5000;
  for (;;) {
    const st = await status(store);
    if (st.devices[0]?.models.some((m) => m.model === model) || Date.now() > deadline) return st;
    await new Promise((r) => setTimeout(r, 50));
  }
}

export async function runGpuBench(o: GpuBenchOptions) {
  const nvml = o.standIn ? undefined : loadNvml();
  const gpusArg = o.standIn ? 'fake:16GiB' : '0';
  const specs = JSON.parse(await fs.readFile(path.join(o.models, 'models.json'), 'utf8')) as GpuModelSpec[];
  const file = (s: GpuModelSpec) => path.resolve(o.models, s.file);
  const work = await fs.mkdtemp(path.join(os.tmpdir(), 'ts-bench-gpu-'));
  const repository = path.join(work, 'repo');
  const store = await fs.mkdtemp(path.join('/dev/shm', 'ts-bench-gpu-'));
  // Device memory in use: NVML on the GPU; the stand-in's fake device as its executor last reported it.
  const used = async (): Promise<number> => {
    if (nvml) return nvml.memory(0).used;
    await new Promise((r) => setTimeout(r, 1100));
    return (await status(store).catch(() => undefined))?.devices[0]?.device?.usedBytes ?? 0;
  };
  const warm = specs.find((s) => s.name === 'warmup');
  const models = specs.filter((s) => s.name !== 'warmup');
  const shareName = o.shareModel ?? 'bert_base';
  const share = models.find((s) => s.name === shareName) ?? models[0]!;
  const N = o.instances ?? 16;
  const started = new Date().toISOString();
  const ortVersion = (createRequire(import.meta.url)('onnxruntime-node/package.json') as { version: string }).version;
  const ts = (s: GpuModelSpec, d: Daemon): GpuWorkerArgs => ({
    kind: 'ts',
    model: s.name,
    socket: d.socket,
    inputs: s.inputs,
    after: 'exit',
  });
  const plain = (s: GpuModelSpec): GpuWorkerArgs => ({
    kind: 'plain',
    model: file(s),
    inputs: s.inputs,
    after: 'exit',
    provider: o.standIn ? 'cpu' : 'cuda',
  });
  const daemon = () => startDaemon(repository, store, 8, gpusArg);
  let d = await daemon();
  const restart = async () => {
    await d.stop();
    d = await daemon();
    // The executor's CUDA context comes up with its first model; a long-lived executor has it.
    if (warm) await firstResult(ts(warm, d));
  };
  const errors: string[] = [];
  const result: Record<string, unknown> = {};
  const want = (section: GpuSection) => o.only === undefined || o.only === section;
  try {
    for (const s of o.only === 'speed' ? specs.filter((x) => x === warm || x === share) : specs) {
      o.log(`import ${s.name}`);
      await d.client.import(file(s), s.name);
    }
    // ---- TrIMS table ----
    const trims: Record<string, unknown>[] = [];
    for (const s of want('trims') ? models : []) {
      o.log(`trims ${s.name}`);
      try {
        const a = [await firstResult(plain(s)), await firstResult(plain(s))];
        await restart();
        await d.client.evict(s.name).catch(() => {});
        const b = await firstResult(ts(s, d));
        await restart();
        const c = await firstResult(ts(s, d));
        const dd = [await firstResult(ts(s, d)), await firstResult(ts(s, d))];
        const st = await statusWith(store, `${s.name}:1`);
        const resident = st.devices[0]?.models.find((m) => m.model === `${s.name}:1`);
        trims.push({
          model: s.name,
          bytes: (await fs.stat(file(s))).size,
          plainCuda: { wallMs: median(a.map((x) => x.wallMs)), runs: a },
          repositoryOnly: b,
          hostStoreResident: c,
          gpuResident: { wallMs: median(dd.map((x) => x.wallMs)), runs: dd },
          ratioPlainToGpuResident: median(a.map((x) => x.wallMs)) / median(dd.map((x) => x.wallMs)),
          ratioPlainToGpuResidentFirstResultInProcess:
            median(a.map((x) => x.openMs + x.firstRunMs)) / median(dd.map((x) => x.openMs + x.firstRunMs)),
          deviceBytes: resident
            ? { persistent: resident.persistentBytes, ephemeral: resident.ephemeralBytes, loadMs: resident.loadMs }
            : undefined,
        });
      } catch (e) {
        errors.push(`trims ${s.name}: ${(e as Error).message}`);
      }
    }
    if (want('trims')) result.trims = trims;

    // ---- Serve's instance path: a GPU function at zero instances, its first request ----
    if (want('instances')) {
      const rows: GpuInstancePath[] = [];
      for (const s of models)
        try {
          rows.push(
            await measureGpuInstances({
              model: s,
              modelsDir: o.models,
              repository,
              store,
              work,
              reps: o.standIn ? 1 : 3,
              plainFirstResultMs: async () => (await firstResult(plain(s))).wallMs,
              makeResident: async () => {
                await firstResult(ts(s, d));
              },
              log: o.log,
            }),
          );
        } catch (e) {
          errors.push(`instances ${s.name}: ${(e as Error).message}`);
        }
      result.instances = rows;
    }

    // ---- Speed: executor vs private in-process CUDA sessions, batch 1 and 8, interleaved ----
    if (want('speed')) {
      o.log('speed');
      const others: Daemon[] = [];
      try {
        // Beside this daemon (pack, threads placed by gpuCpus auto): one under fifo, whose sessions run on the
        // executor's own thread (no hand-off to a session worker; one client, so the policy decides nothing else),
        // and, when this executor was pinned, one unpinned. Each has its own store; all are up at once.
        const second = async (name: string, extra: string[]) => {
          const st = await fs.mkdtemp(path.join('/dev/shm', `ts-bench-gpu-${name}-`));
          const x = await startDaemon(repository, st, 8, gpusArg, extra);
          others.push({
            ...x,
            async stop() {
              await x.stop();
              await fs.rm(st, { recursive: true, force: true });
            },
          });
          if (warm) await firstResult(ts(warm, x));
          return { daemon: x, store: st };
        };
        if (warm) await firstResult(ts(warm, d));
        const fifo = await second('fifo', ['--gpu-policy', 'fifo']);
        const cpusOf = async (st: string) => (await status(st)).devices[0]?.device?.cpus;
        const packCpus = await cpusOf(store);
        const unpinned = packCpus ? await second('unpinned', ['--gpu-cpus', 'off']) : undefined;
        // Session threads that sleep as soon as they answer (gpuSpinMs 0): what polling for the next run saves.
        const noSpin = await second('nospin', ['--gpu-spin-ms', '0']);
        const paths: SpeedPath[] = [
          { key: 'private', what: 'private in-process CUDA session, default options (the target)', args: plain(share) },
          {
            key: 'privateSameOptions',
            what: "private session with the executor's settings (intra/inter-op threads 1, no spinning; its glibc malloc settings)",
            args: { ...plain(share), executorThreads: true },
          },
          {
            key: 'privateDeviceAllocator',
            what: "private session with the executor's settings and its weights out of the arena (`use_device_allocator_for_initializers`, as the executor's sessions)",
            args: {
              ...plain(share),
              executorThreads: true,
              sessionConfig: { use_device_allocator_for_initializers: '1' },
            },
          },
          {
            key: 'executor',
            what: 'executor (pack, gpuSpinMs 2: its threads and the client stay awake for answers), outputs copied',
            args: ts(share, d),
          },
          {
            key: 'executorClientAsleep',
            what: 'executor (pack), the client sleeps while it waits (awakeMs 0), copied',
            args: { ...ts(share, d), awakeMs: 0 },
          },
          {
            key: 'executorViews',
            what: 'executor (pack), outputs as views',
            args: { ...ts(share, d), outputs: 'view' },
          },
          {
            key: 'executorInline',
            what: 'executor (fifo: sessions on its thread), copied',
            args: ts(share, fifo.daemon),
          },
          {
            key: 'executorInlineViews',
            what: 'executor (fifo), outputs as views',
            args: { ...ts(share, fifo.daemon), outputs: 'view' },
          },
          {
            key: 'executorNoSpin',
            what: 'executor (pack), gpuSpinMs 0: nothing stays awake, copied',
            args: ts(share, noSpin.daemon),
          },
          ...(unpinned
            ? [
                {
                  key: 'executorUnpinned',
                  what: 'executor (pack), gpuCpus off, copied',
                  args: ts(share, unpinned.daemon),
                },
              ]
            : []),
        ];
        const m = await measureSpeed(paths, {
          batches: [1, 8],
          rounds: o.speedRounds ?? 12,
          runs: 25,
          sameOptions: 'privateSameOptions',
          log: o.log,
        });
        const p50 = (k: string, b: string) => m.paths[k]?.ms[b]?.p50 ?? Number.NaN;
        const legacy: Record<string, unknown> = {};
        for (const [k, name] of [
          ['executor', ''],
          ['executorViews', 'Views'],
          ['executorInline', 'Inline'],
          ['executorInlineViews', 'InlineViews'],
        ] as const) {
          legacy[k] = m.paths[k]?.ms;
          legacy[`ratio${name}Batch1`] = p50(k, '1') / p50('private', '1');
          legacy[`ratio${name}Batch8`] = p50(k, '8') / p50('private', '8');
          legacy[`addedMs${name}Batch1`] = p50(k, '1') - p50('private', '1');
        }
        result.speed = {
          model: share.name,
          ...m,
          cpus: { pack: packCpus, fifo: await cpusOf(fifo.store) },
          private: m.paths.private?.ms,
          privateSameOptions: m.paths.privateSameOptions?.ms,
          stages: Object.fromEntries(Object.entries(m.paths).flatMap(([k, v]) => (v.stages ? [[k, v.stages]] : []))),
          ...legacy,
        };
      } catch (e) {
        errors.push(`speed: ${(e as Error).message}`);
      } finally {
        for (const x of others) await x.stop().catch(() => {});
      }
    }

    // ---- Throughput: N concurrent clients vs one at a time ----
    if (want('throughput'))
      try {
        o.log('throughput');
        const loop = async (n: number) => {
          const startAt = Date.now() + 4000 + n * 250;
          const ws = Array.from({ length: n }, () =>
            worker({ ...ts(share, d), after: 'loop', startAt, durationMs: o.loopMs ?? 5000 }),
          );
          const runs = await Promise.all(ws.map(async (w) => (await w.wait('loop', 120_000)).runs as number));
          await Promise.all(
            ws.map((w) => new Promise((r) => (w.proc.exitCode === null ? w.proc.once('exit', r) : r(0)))),
          );
          return runs.reduce((a, b) => a + b, 0) / ((o.loopMs ?? 5000) / 1000);
        };
        const before = (await status(store)).devices[0]?.batchSizes ?? {};
        const one = await loop(1);
        const many = await loop(N);
        const after = (await status(store)).devices[0]?.batchSizes ?? {};
        const batches: Record<string, number> = {};
        for (const [k, v] of Object.entries(after)) batches[k] = v - (before[k] ?? 0);
        result.throughput = {
          model: share.name,
          clients: N,
          oneAtATimePerS: one,
          concurrentPerS: many,
          ratio: many / one,
          batchSizes: batches,
        };
      } catch (e) {
        errors.push(`throughput: ${(e as Error).message}`);
      }

    // ---- Sharing: N instances of one model, device memory ----
    if (want('sharing'))
      try {
        o.log('sharing');
        await d.stop();
        const base = await used();
        const p1 = worker({ ...plain(share), after: 'hold' });
        await p1.wait('holding');
        const onePlain = (await used()) - base;
        await p1.exit();
        // The same plain session created and run in a worker thread, as the executor holds its sessions.
        const pw = worker({ ...plain(share), thread: 'worker', after: 'hold' });
        await pw.wait('holding');
        const onePlainWorkerThread = (await used()) - base;
        await pw.exit();
        // One plain session after a run at batch 8 (as the executor's load measures it), without and with the
        // executor's session option that keeps weights out of the arena.
        const holdBytes = async (args: GpuWorkerArgs) => {
          const w = worker(args);
          await w.wait('holding');
          const bytes = (await used()) - base;
          await w.exit();
          return bytes;
        };
        const onePlainAfterBatch8 = await holdBytes({ ...plain(share), after: 'hold', probeBatch: 8 });
        const onePlainDeviceAllocatorAfterBatch8 = await holdBytes({
          ...plain(share),
          after: 'hold',
          probeBatch: 8,
          sessionConfig: { use_device_allocator_for_initializers: '1' },
        });
        const plains = Array.from({ length: N }, () => worker({ ...plain(share), after: 'hold' }));
        await Promise.all(plains.map((w) => w.wait('holding', 300_000)));
        const nPlain = (await used()) - base;
        await Promise.all(plains.map((w) => w.exit()));
        // N clients of one fresh executor: the first alone, then the others at once; again with device batching off.
        const clients = async (maxBatch: number) => {
          d = await startDaemon(repository, store, maxBatch, gpusArg);
          const idle = (await used()) - base;
          const first = worker({ ...ts(share, d), after: 'hold' });
          await first.wait('holding', 300_000);
          const oneClient = (await used()) - base;
          const resident = (await statusWith(store, `${share.name}:1`)).devices[0]?.models.find(
            (m) => m.model === `${share.name}:1`,
          );
          const rest = Array.from({ length: N - 1 }, () => worker({ ...ts(share, d), after: 'hold' }));
          await Promise.all(rest.map((w) => w.wait('holding', 300_000)));
          const all = (await used()) - base;
          const st = await status(store);
          const clientPids = new Set([first, ...rest].map((w) => w.proc.pid));
          const processes = nvml
            ?.processes(0)
            ?.map((p) => ({ ...p, role: clientPids.has(p.pid) ? 'client' : 'executor or other' }));
          await Promise.all([first, ...rest].map((w) => w.exit()));
          await d.stop();
          return {
            idle,
            oneClient,
            all,
            processes,
            loads: st.devices[0]?.loads,
            batchSizes: st.devices[0]?.batchSizes,
            persistentBytes: resident?.persistentBytes,
            ephemeralBytes: resident?.ephemeralBytes,
          };
        };
        const batched = await clients(8);
        const unbatched = await clients(1);
        // Batching on again, after it was off: whether the order of the runs or the batch decides the bytes.
        const batchedAgain = await clients(8);
        d = await daemon();
        result.sharing = {
          model: share.name,
          instances: N,
          onePlainSessionBytes: onePlain,
          onePlainSessionWorkerThreadBytes: onePlainWorkerThread,
          onePlainSessionAfterBatch8Bytes: onePlainAfterBatch8,
          onePlainSessionDeviceAllocatorAfterBatch8Bytes: onePlainDeviceAllocatorAfterBatch8,
          plainProcessesBytes: nPlain,
          tensorshareBytes: batched.all,
          tensorshareOneClientBytes: batched.oneClient,
          tensorshareExecutorIdleBytes: batched.idle,
          ratioToOnePlain: sharingRatio({
            tensorshareBytes: batched.all,
            onePlainSessionBytes: onePlain,
            plainProcessesBytes: nPlain,
            instances: N,
          }),
          plainToTensorshare: nPlain / batched.all,
          loads: batched.loads,
          batched,
          unbatched,
          batchedAgain,
        };
      } catch (e) {
        errors.push(`sharing: ${(e as Error).message}`);
      }

    // ---- GPU -> CPU fallback of besteffort work (its own serve processes, after this daemon's runs) ----
    if (want('fallback'))
      try {
        o.log('fallback');
        await d.stop();
        result.fallback = await benchGpuFallback({
          ...fallbackModels(models, (f) => path.resolve(o.models, f)),
          standIn: o.standIn,
          log: o.log,
        });
        d = await daemon();
      } catch (e) {
        errors.push(`fallback: ${(e as Error).message}`);
        d = await daemon().catch(() => d);
      }

    // ---- Swap-in and eviction ----
    if (want('swap'))
      try {
        o.log('swap');
        await restart();
        const before = await used();
        const t = performance.now();
        const w = worker({ ...ts(share, d), after: 'hold' });
        const first = await w.wait('holding');
        const openWall = performance.now() - t;
        const loaded = await used();
        const st = await statusWith(store, `${share.name}:1`);
        const m = st.devices[0]?.models.find((x) => x.model === `${share.name}:1`);
        await w.exit();
        const te = performance.now();
        const ev = await deviceControl('evict', share.name, { daemonSocket: d.socket });
        const evictMs = performance.now() - te;
        await new Promise((r) => setTimeout(r, 500));
        const afterEvict = await used();
        result.swap = {
          model: share.name,
          loadMs: m?.loadMs,
          clientOpenMs: first.openMs,
          spawnToLoadedMs: openWall,
          deviceBytesLoaded: loaded - before,
          evictMs,
          freedBytesReported: ev.freedBytes,
          deviceBytesAfterEvict: afterEvict - before,
          persistentBytes: m?.persistentBytes,
          ephemeralBytes: m?.ephemeralBytes,
        };
      } catch (e) {
        errors.push(`swap: ${(e as Error).message}`);
      }
  } finally {
    await d.stop().catch(() => {});
    await fs.rm(work, { recursive: true, force: true });
    await fs.rm(store, { recursive: true, force: true });
  }
  const report = {
    format: 'tensorshare.bench-gpu/v1',
    date: started,
    device: nvml
      ? { name: nvml.name(0), driver: nvml.driver(), memoryBytes: nvml.memory(0).total }
      : { name: 'stand-in: fake device, CPU provider (not a GPU measurement)', driver: '-', memoryBytes: 16 * 2 ** 30 },
    onnxruntimeNode: ortVersion,
    provider: o.standIn ? 'CPU provider (stand-in)' : providerLine(),
    host: { cpus: os.cpus().length, node: process.version },
    ...result,
    errors,
    targets: verdicts(result),
  };
  await writeGpuReport(o.out, report);
  return report;
}

/** The installed CUDA provider as `gpu provision` recorded it. */
function providerLine(): string {
  const p = readProvisionRecord();
  if (!p) return 'ONNX Runtime CUDA execution provider (installed without a provision record)';
  return `ONNX Runtime CUDA execution provider ${p.onnxruntime ?? '(version unknown)'}${p.package ? ` from ${p.package}` : ''} (installed by \`tensorshare gpu provision --from ${p.source}\`)`;
}

export type GpuReport = Record<string, unknown> & { targets: Verdict[]; errors: string[] };

/** Writes the run's JSON (<out>/bench/gpu-results.json) and its section of <out>/benchmarks.md; every other section stays. */
export async function writeGpuReport(out: string, report: GpuReport): Promise<{ results: string; doc: string }> {
  const results = path.join(out, 'bench', 'gpu-results.json');
  const doc = path.join(out, 'benchmarks.md');
  await fs.mkdir(path.dirname(results), { recursive: true });
  await fs.writeFile(results, `${JSON.stringify(report, null, 2)}\n`);
  writeSectionMarkdown(doc, GPU_SECTION_ID, fenceSection(GPU_SECTION_ID, markdown(report)));
  return { results, doc };
}

/** A saved run (gpu-results.json) rendered again, measuring nothing. */
export async function readGpuReport(file: string): Promise<GpuReport> {
  const r = JSON.parse(await fs.readFile(file, 'utf8')) as GpuReport;
  if (r.format !== 'tensorshare.bench-gpu/v1')
    throw new Error(`${file} is not a saved GPU benchmark run (format ${String(r.format)})`);
  return { ...r, targets: verdicts(r) };
}

type Verdict = { id: string; target: string; measured: string; verdict: 'met' | 'missed' | 'not measured' };

function verdicts(r: Record<string, unknown>): Verdict[] {
  const out: Verdict[] = [];
  const trims = (r.trims ?? []) as {
    model: string;
    bytes: number;
    ratioPlainToGpuResident: number;
    ratioPlainToGpuResidentFirstResultInProcess: number;
  }[];
  const bert = trims.find((t) => t.model === 'bert_base');
  const large = trims.filter((t) => t.bytes > 1e9)[0];
  const v = (ok: boolean | undefined) => (ok === undefined ? 'not measured' : ok ? 'met' : 'missed');
  for (const [id, t, want, what] of [
    ['trims-bert-base-20x', bert, 20, 'BERT-base'],
    ['trims-1gb-100x', large, 100, `the model above 1 GB${large ? ` (${large.model})` : ''}`],
  ] as const) {
    out.push({
      id: `${id}-process`,
      target: `(d) GPU-resident at least ${want}x faster than (a) plain CUDA, ${what}: whole fresh process, spawn to first result`,
      measured: t ? `${t.ratioPlainToGpuResident.toFixed(1)}x` : '-',
      verdict: v(t && t.ratioPlainToGpuResident >= want),
    });
    out.push({
      id: `${id}-model`,
      target: `(d) at least ${want}x faster than (a), ${what}: from opening the model to its first result, in the process`,
      measured: t ? `${t.ratioPlainToGpuResidentFirstResultInProcess.toFixed(1)}x` : '-',
      verdict: v(t && t.ratioPlainToGpuResidentFirstResultInProcess >= want),
    });
  }
  const inst = (r.instances ?? []) as GpuInstancePath[];
  for (const [id, t, want, what] of [
    ['trims-bert-base-20x-instance', inst.find((x) => x.model === 'bert_base'), 20, 'BERT-base'],
    ['trims-1gb-100x-instance', inst.filter((x) => x.bytes > 1e9)[0], 100, 'the model above 1 GB'],
  ] as const)
    out.push({
      id,
      target: `(d) at least ${want}x faster than (a), ${what}: serve's instance path, a GPU function at zero instances, request to first answer from a pre-started process`,
      measured: t ? `${t.ratioPrestarted.toFixed(1)}x (${t.model}; forked: ${t.ratioForked.toFixed(1)}x)` : '-',
      verdict: v(t && t.ratioPrestarted >= want),
    });
  const sp = r.speed as
    | {
        ratioBatch1: number;
        ratioBatch8: number;
        addedMsBatch1: number;
        ratioViewsBatch1?: number;
        ratioViewsBatch8?: number;
        addedMsViewsBatch1?: number;
      }
    | undefined;
  out.push({
    id: 'steady-added-1ms',
    target: '(d) adds at most 1 ms to one steady-state inference',
    measured: sp ? `${sp.addedMsBatch1.toFixed(2)} ms` : '-',
    verdict: v(sp && sp.addedMsBatch1 <= 1),
  });
  out.push({
    id: 'latency-1.10x',
    target: 'executor latency at batch 1 and 8 at most 1.10x a private in-process CUDA session',
    measured: sp ? `batch 1 ${sp.ratioBatch1.toFixed(2)}x, batch 8 ${sp.ratioBatch8.toFixed(2)}x` : '-',
    verdict: v(sp && sp.ratioBatch1 <= 1.1 && sp.ratioBatch8 <= 1.1),
  });
  if (sp?.ratioViewsBatch1 !== undefined) {
    out.push({
      id: 'steady-added-1ms-views',
      target:
        "(d) adds at most 1 ms to one steady-state inference, outputs as views (`deviceOutputs: 'view'`, disposed after use)",
      measured: `${sp.addedMsViewsBatch1!.toFixed(2)} ms`,
      verdict: v(sp.addedMsViewsBatch1! <= 1),
    });
    out.push({
      id: 'latency-1.10x-views',
      target:
        "executor latency at batch 1 and 8 at most 1.10x a private session, outputs as views (`deviceOutputs: 'view'`)",
      measured: `batch 1 ${sp.ratioViewsBatch1.toFixed(2)}x, batch 8 ${sp.ratioViewsBatch8!.toFixed(2)}x`,
      verdict: v(sp.ratioViewsBatch1 <= 1.1 && sp.ratioViewsBatch8! <= 1.1),
    });
  }
  const spi = r.speed as Record<string, number> | undefined;
  for (const [suffix, what, key] of [
    ['fifo', 'copy', 'Inline'],
    ['fifo-views', "outputs as views (`deviceOutputs: 'view'`)", 'InlineViews'],
  ] as const) {
    if (spi?.[`ratio${key}Batch1`] === undefined) continue;
    out.push({
      id: `steady-added-1ms-${suffix}`,
      target: `(d) adds at most 1 ms to one steady-state inference: executor under \`gpuPolicy: fifo\` (sessions on its own thread), ${what}`,
      measured: `${spi[`addedMs${key}Batch1`]!.toFixed(2)} ms`,
      verdict: v(spi[`addedMs${key}Batch1`]! <= 1),
    });
    out.push({
      id: `latency-1.10x-${suffix}`,
      target: `executor latency at batch 1 and 8 at most 1.10x a private session: \`gpuPolicy: fifo\`, ${what}`,
      measured: `batch 1 ${spi[`ratio${key}Batch1`]!.toFixed(2)}x, batch 8 ${spi[`ratio${key}Batch8`]!.toFixed(2)}x`,
      verdict: v(spi[`ratio${key}Batch1`]! <= 1.1 && spi[`ratio${key}Batch8`]! <= 1.1),
    });
  }
  const sh = r.sharing as SharingBytes | undefined;
  const shRatio = sh && sharingRatio(sh);
  out.push({
    id: 'sharing-1.25x',
    target: '16 instances: device memory at most 1.25x one plain session',
    measured: sh
      ? `${shRatio!.toFixed(2)}x (${(sh.tensorshareBytes / MIB).toFixed(0)} MiB vs ${(sharingBaseline(sh) / MIB).toFixed(0)} MiB for one plain session, ${(sh.plainProcessesBytes / MIB).toFixed(0)} MiB for ${sh.instances} plain)`
      : '-',
    verdict: v(shRatio === undefined ? undefined : shRatio <= 1.25),
  });
  const th = r.throughput as { ratio: number } | undefined;
  out.push({
    id: 'throughput-3x',
    target: 'throughput at 16 concurrent clients at least 3x one request at a time',
    measured: th ? `${th.ratio.toFixed(2)}x` : '-',
    verdict: v(th && th.ratio >= 3),
  });
  const sw = r.swap as { loadMs: number; deviceBytesAfterEvict: number; deviceBytesLoaded: number } | undefined;
  out.push({
    id: 'swap-in-evict',
    target: 'host store -> GPU load of BERT-base timed; eviction frees its memory (NVML)',
    measured: sw
      ? `load ${sw.loadMs} ms, +${(sw.deviceBytesLoaded / MIB).toFixed(0)} MiB, after evict +${(sw.deviceBytesAfterEvict / MIB).toFixed(0)} MiB`
      : '-',
    verdict: v(sw && sw.deviceBytesAfterEvict < sw.deviceBytesLoaded / 4),
  });
  const fb = r.fallback as FallbackReport | undefined;
  out.push({
    id: 'fallback-be-more',
    target:
      'with the GPU -> CPU fallback on, besteffort completes more requests than without it (realtime saturating the GPU)',
    measured: fb
      ? `${fb.on.mixed.beCompleted} vs ${fb.off.mixed.beCompleted} (${fb.beRatio.toFixed(2)}x); realtime p99 vs alone ${fb.on.rtP99VsAlone.toFixed(2)}x on, ${fb.off.rtP99VsAlone.toFixed(2)}x off`
      : '-',
    verdict: fb ? fb.verdict : 'not measured',
  });
  return out;
}

export function markdown(r: GpuReport): string {
  const dev = r.device as { name: string; driver: string; memoryBytes: number };
  const f = (x: number | undefined, d = 0) => (x === undefined ? '-' : x.toFixed(d));
  const lines = [
    '## GPU tier (issue 13)',
    '',
    `Measured ${String(r.date).slice(0, 10)} on ${dev.name} (driver ${dev.driver}, ${(dev.memoryBytes / 2 ** 30).toFixed(0)} GiB), onnxruntime-node ${String(r.onnxruntimeNode)}, ${String(r.provider)}; \`tensorshare bench gpu\`. Models exported with PyTorch (random init). Every instance is a fresh Node process; the table's times are from spawning it to its first result (median of 2 for (a) and (d)); "open to first result" is the same inside the process (session create or open(), plus the first run; tensorshare's processes load the device client at their start, before that window, as a GPU function's instances do, so its import counts in the whole process only). JSON: \`docs/bench/gpu-results.json\`.`,
    '',
    '| model | file | (a) plain CUDA, fresh process | (b) repository only | (c) host-store resident | (d) GPU-resident | (d): spawn + Node start + imports + open + first run | (a)/(d) process | (a)/(d) open to first result | device bytes (persistent + ephemeral) | GPU load |',
    '| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |',
  ];
  // (d) split, each part its median over the runs: spawn to the process's start, Node's bootstrap, imports, open, first run.
  type RunParts = {
    openMs: number;
    firstRunMs: number;
    process?: { beforeStartMs: number; bootMs: number; importsMs: number };
  };
  const parts = (runs: RunParts[] | undefined) => {
    const withParts = (runs ?? []).filter((x) => x.process);
    if (!withParts.length) return '-';
    const m = (g: (x: RunParts) => number) => median(withParts.map(g));
    return [
      m((x) => x.process!.beforeStartMs),
      m((x) => x.process!.bootMs),
      m((x) => x.process!.importsMs),
      m((x) => x.openMs),
      m((x) => x.firstRunMs),
    ]
      .map((v) => f(v))
      .join(' + ');
  };
  for (const t of (r.trims ?? []) as Record<string, any>[])
    lines.push(
      `| ${t.model} | ${(t.bytes / MIB).toFixed(0)} MiB | ${f(t.plainCuda.wallMs)} ms | ${f(t.repositoryOnly.wallMs)} ms | ${f(t.hostStoreResident.wallMs)} ms | ${f(t.gpuResident.wallMs)} ms | ${parts(t.gpuResident.runs)} ms | ${f(t.ratioPlainToGpuResident, 1)}x | ${f(t.ratioPlainToGpuResidentFirstResultInProcess, 1)}x | ${t.deviceBytes ? `${f(t.deviceBytes.persistent / MIB)} + ${f(t.deviceBytes.ephemeral / MIB)} MiB` : '-'} | ${t.deviceBytes ? `${t.deviceBytes.loadMs} ms` : '-'} |`,
    );
  lines.push(...gpuInstancesMarkdown((r.instances ?? []) as GpuInstancePath[]));
  lines.push('', '| target | measured | verdict |', '| --- | --- | --- |');
  for (const v of r.targets) lines.push(`| ${v.target} | ${v.measured} | ${v.verdict} |`);
  const sp = r.speed as Record<string, any> | undefined;
  const th = r.throughput as Record<string, any> | undefined;
  const sh = r.sharing as Record<string, any> | undefined;
  const sw = r.swap as Record<string, any> | undefined;
  const ms = (x: number | undefined) => (x === undefined ? '-' : `${x.toFixed(2)} ms`);
  lines.push(
    '',
    `Other measurements (${String(sp?.model ?? sh?.model ?? '-')}; JSON: \`docs/bench/gpu-results.json\`):`,
    '',
    '| measurement | tensorshare | baseline | ratio |',
    '| --- | ---: | ---: | ---: |',
  );
  if (sp)
    for (const b of ['1', '8'])
      lines.push(
        `| steady latency, batch ${b} (p50 of ${sp.rounds ? sp.rounds * sp.runsPerRound : 200}) | ${ms(sp.executor?.[b]?.p50)} through the executor${sp.executorViews ? `; ${ms(sp.executorViews[b]?.p50)} with outputs as views` : ''} | ${ms(sp.private?.[b]?.p50)} private in-process CUDA session | ${f(sp[`ratioBatch${b}`], 2)}x${sp.executorViews ? `; views ${f(sp[`ratioViewsBatch${b}`], 2)}x` : ''} (outputs differ by ${sp.outputMaxAbsDiff?.[b] ?? '-'}) |`,
        ...(sp.executorInline
          ? [
              `| steady latency, batch ${b}, executor under \`gpuPolicy: fifo\` (sessions on its thread) | ${ms(sp.executorInline[b]?.p50)}; ${ms(sp.executorInlineViews?.[b]?.p50)} with outputs as views | ${ms(sp.private?.[b]?.p50)} | ${f(sp[`ratioInlineBatch${b}`], 2)}x; views ${f(sp[`ratioInlineViewsBatch${b}`], 2)}x |`,
            ]
          : []),
      );
  if (th)
    lines.push(
      `| throughput, ${th.clients} client processes vs 1 (batch-1 requests) | ${f(th.concurrentPerS, 1)} req/s | ${f(th.oneAtATimePerS, 1)} req/s one at a time | ${f(th.ratio, 2)}x (device batches by size: ${Object.entries(
        th.batchSizes ?? {},
      )
        .map(([k, v]) => `${k}: ${v}`)
        .join(', ')}) |`,
    );
  if (sh)
    lines.push(
      `| device memory, ${sh.instances} instances | ${f(sh.tensorshareBytes / MIB)} MiB (one executor, one copy; NVML) | ${f(sh.onePlainSessionBytes / MIB)} MiB one plain session alone, ${f(sh.plainProcessesBytes / sh.instances / MIB)} MiB per process of ${f(sh.plainProcessesBytes / MIB)} MiB for ${sh.instances} plain processes | ${f(sharingRatio(sh as SharingBytes), 2)}x one plain session (the smaller of the two); ${f(sh.plainToTensorshare, 1)}x less than ${sh.instances} plain |`,
      ...(sh.batched
        ? [
            `| device memory, where it goes | 1 client ${f(sh.tensorshareOneClientBytes / MIB)} MiB, ${sh.instances} clients ${f(sh.batched.all / MIB)} MiB; device batching off: ${f(sh.unbatched.oneClient / MIB)} / ${f(sh.unbatched.all / MIB)} MiB; executor's load: ${f(sh.batched.persistentBytes / MIB)} persistent + ${f(sh.batched.ephemeralBytes / MIB)} ephemeral MiB (batching off: ${f(sh.unbatched.persistentBytes / MIB)} + ${f(sh.unbatched.ephemeralBytes / MIB)}${sh.batchedAgain ? `; on again: ${f(sh.batchedAgain.persistentBytes / MIB)} + ${f(sh.batchedAgain.ephemeralBytes / MIB)}, ${f(sh.batchedAgain.all / MIB)} MiB for ${sh.instances} clients` : ''}) | one plain session in a worker thread ${f(sh.onePlainSessionWorkerThreadBytes / MIB)} MiB${sh.onePlainSessionAfterBatch8Bytes !== undefined ? `; after a batch-8 run ${f(sh.onePlainSessionAfterBatch8Bytes / MIB)} MiB, with weights out of the arena (\`use_device_allocator_for_initializers\`) ${f(sh.onePlainSessionDeviceAllocatorAfterBatch8Bytes / MIB)} MiB` : ''} | |`,
          ]
        : []),
    );
  if (sw)
    lines.push(
      `| swap-in host store -> GPU | ${f(sw.loadMs)} ms (executor load), +${f(sw.deviceBytesLoaded / MIB)} MiB | | |`,
      `| eviction from the GPU | ${f(sw.evictMs)} ms; device memory back to +${f(sw.deviceBytesAfterEvict / MIB)} MiB over the idle executor | | |`,
    );
  const stages = sp?.stages as Record<string, Record<string, Record<string, number>>> | undefined;
  if (stages?.executor && Object.keys(stages.executor).length) {
    const cols: [string, string][] = [
      ['totalMs', 'run() in all'],
      ['writeMs', 'inputs in (client)'],
      ['transportMs', 'socket round trip'],
      ['readMs', 'inputs read (executor)'],
      ['queuedMs', 'lane wait'],
      ['ortMs', 'in ORT'],
      ['handoffMs', 'to/from the session thread'],
      ['bookkeepingMs', 'executor other'],
      ['outMs', 'outputs out (client)'],
    ];
    lines.push(
      '',
      `Where a steady run's time goes through the executor (medians of the same ${sp?.rounds ? sp.rounds * sp.runsPerRound : 200} runs, ms; the private session's p50 beside it):`,
      '',
      `| path, batch | private p50 | ${cols.map((c) => c[1]).join(' | ')} |`,
      `| --- | ---: | ${cols.map(() => '---:').join(' | ')} |`,
    );
    const labels: Record<string, string> = {
      executor: 'copy',
      executorViews: 'views',
      executorInline: 'fifo, copy',
      executorInlineViews: 'fifo, views',
      executorUnpinned: 'copy, gpuCpus off',
      executorNoSpin: 'copy, gpuSpinMs 0',
      executorClientAsleep: 'copy, client asleep',
    };
    for (const [path_, by] of Object.entries(stages).map(([k, v]) => [labels[k] ?? k, v] as const))
      for (const [b, t] of Object.entries(by ?? {}))
        lines.push(
          `| ${path_}, ${b} | ${f(sp?.private?.[b]?.p50, 2)} | ${cols.map(([k]) => f(t[k], 2)).join(' | ')} |`,
        );
  }
  const paths = sp?.paths as Record<string, SpeedPathResult> | undefined;
  if (paths) {
    const sx = (x: Spread | undefined) =>
      x ? `${x.median.toFixed(2)}x (${x.min.toFixed(2)}-${x.max.toFixed(2)})` : '-';
    lines.push(
      '',
      `The same runs side by side: every path a long-lived process, ${sp!.rounds} rounds of ${sp!.runsPerRound} runs per path and batch, the order rotated each round; "paired" is the median over rounds of a round's median against the baseline's median in that round (min-max over rounds); "own ORT call" is the run against the executor's own ORT call for it (the same session in the executor process, timed there).${sp!.cpus?.pack ? ` The pack executor's threads were pinned to CPUs ${(sp!.cpus.pack as number[]).join(',')}.` : ' No executor was pinned (gpuCpus auto found nothing to narrow, or could not).'}`,
      '',
      '| path | batch | p50 | vs private, p50s | paired vs private | paired vs same options | run vs own ORT call |',
      '| --- | ---: | ---: | ---: | ---: | ---: | ---: |',
    );
    for (const [k, v] of Object.entries(paths))
      for (const b of Object.keys(v.ms))
        lines.push(
          `| ${k === 'private' ? `**${v.what}**` : v.what} | ${b} | ${ms(v.ms[b]?.p50)} | ${f((v.ms[b]?.p50 ?? Number.NaN) / (paths.private?.ms[b]?.p50 ?? Number.NaN), 2)}x | ${sx(v.vsPrivate[b])} | ${sx(v.vsSameOptions?.[b])} | ${sx(v.vsOwnOrt?.[b])} |`,
        );
  }
  lines.push('');
  if (r.fallback) lines.push(fallbackMarkdown(r.fallback as FallbackReport));
  if ((r.errors as string[]).length) lines.push('Errors:', '', ...(r.errors as string[]).map((e) => `- ${e}`), '');
  return `${lines.join('\n')}\n`;
}
