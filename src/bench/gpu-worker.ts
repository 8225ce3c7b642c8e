// One process of the GPU benchmark (gpu.ts): a fresh function instance that
// reaches its first result either with plain onnxruntime-node on the CUDA
// provider from the model file (`plain`), or through tensorshare's device
// executor (`ts`: open() with executionProviders ['cuda']). Reports JSON
// lines on stdout: `first` (times since the process started), then per mode
// `steady` latencies, `loop` counts, or it `hold`s until stdin says exit.
import { performance } from 'node:perf_hooks';
import readline from 'node:readline';
import type { Tensor as OrtTensor } from 'onnxruntime-node';
import type { DeviceBackedSession } from '../client/device-open.js';
import { open } from '../client/open.js';
import { preloadDeviceClient } from '../client/device-preload.js';
import { bytesOf } from '../device/tensors.js';
import { ortTensorClass } from '../ort-tensor.js';

export interface GpuWorkerArgs {
  kind: 'plain' | 'ts';
  /** Model file (plain) or model reference (ts). */
  model: string;
  socket?: string;
  inputs: { name: string; dtype: string; shape: number[] }[];
  /** plain: the execution provider ('cpu' for a dry run without a GPU). */
  provider?: 'cuda' | 'cpu';
  /** plain: create and run the session in a worker thread, as the device executor does (sharing's diagnosis). */
  thread?: 'worker';
  /** plain: session config entries (`extra.session`), e.g. the executor's `use_device_allocator_for_initializers`. */
  sessionConfig?: Record<string, string>;
  /** hold: one run at this batch before holding (the executor measures its ephemeral bytes so). */
  probeBatch?: number;
  /**
   * plain: the executor's thread settings (intra/inter-op threads 1, no spinning), and the process is started with
   * its glibc settings (EXECUTOR_MALLOC_ENV): the same session options and allocator as the executor's sessions.
   */
  executorThreads?: boolean;
  /**
   * rounds: after the first result, each stdin line `{"batch":B,"runs":N}` times N runs at batch B (after 3 untimed)
   * and answers a `round` line; `exit` ends. The benchmark interleaves several such processes round by round.
   */
  after: 'exit' | 'hold' | 'steady' | 'loop' | 'rounds';
  /** steady: batch sizes and runs of each. */
  batches?: number[];
  /** ts: how the device session hands out outputs (DeviceSessionOptions.outputs). */
  outputs?: 'copy' | 'view';
  /** ts: how long a run keeps the process awake for its answer (DeviceSessionOptions.awakeMs; default its own). */
  awakeMs?: number;
  runs?: number;
  /** loop: start at this epoch ms, run for durationMs. */
  startAt?: number;
  durationMs?: number;
}

const args = JSON.parse(process.argv[2] ?? '{}') as GpuWorkerArgs;
const say = (o: Record<string, unknown>) => process.stdout.write(`${JSON.stringify({ pid: process.pid, ...o })}\n`);
const sinceStart = () => performance.now();
// The Tensor class only: a `ts` process, like any executor client, never loads onnxruntime-node's binding.
const Tensor = ortTensorClass();

function feeds(batch: number): Record<string, OrtTensor> {
  const f: Record<string, OrtTensor> = {};
  for (const i of args.inputs) {
    const shape = [batch, ...i.shape.slice(1)];
    const n = shape.reduce((a, b) => a * b, 1);
    if (i.dtype === 'int64')
      f[i.name] = new Tensor(
        'int64',
        BigInt64Array.from({ length: n }, (_, k) => BigInt(i.name.includes('mask') ? 1 : (k * 7) % 1000)),
        shape,
      );
    else
      f[i.name] = new Tensor(
        'float32',
        Float32Array.from({ length: n }, (_, k) => Math.sin(k) * 0.5),
        shape,
      );
  }
  return f;
}

// As an instance of a GPU function does (serve/instances/child.ts), before its opens: the device client's import
// is in the whole process's time (spawn to first result), not in the open's.
if (args.kind === 'ts') await preloadDeviceClient();
const t0 = sinceStart();
let run: (f: Record<string, OrtTensor>) => Promise<Record<string, OrtTensor>>;
let release: () => Promise<void>;
/** ts: where the last run's time went (DeviceSession.lastTiming). */
let stagesOf: () => Record<string, number> | undefined = () => undefined;
let openPartsOf: () => Record<string, number> | undefined = () => undefined;
if (args.kind === 'plain' && args.thread === 'worker') {
  const { workerSessions } = await import('../device/ort-session.js');
  const s = await workerSessions()(args.model, { executionProviders: [args.provider ?? 'cuda'], logSeverityLevel: 3 });
  run = async (f) => {
    const feeds = Object.entries(f).map(([name, t]) => ({
      name,
      type: t.type,
      dims: [...t.dims],
      bytes: new Uint8Array(bytesOf(t.data as ArrayBufferView)),
    }));
    const { outputs: out } = await s.run(feeds, undefined, {});
    return Object.fromEntries(out.map((t) => [t.name, new Tensor('uint8', t.bytes, [t.bytes.byteLength])]));
  };
  release = () => s.release();
} else if (args.kind === 'plain') {
  const session = {
    ...args.sessionConfig,
    ...(args.executorThreads ? { 'intra_op.allow_spinning': '0', 'inter_op.allow_spinning': '0' } : {}),
  };
  const ort = (await import('onnxruntime-node')).default;
  const s = await ort.InferenceSession.create(args.model, {
    executionProviders: [args.provider ?? 'cuda'],
    logSeverityLevel: 3,
    ...(args.executorThreads ? { intraOpNumThreads: 1, interOpNumThreads: 1 } : {}),
    ...(Object.keys(session).length ? { extra: { session } } : {}),
  });
  run = (f) => s.run(f);
  release = () => s.release();
} else {
  // No daemon client: an open on the executor needs only its socket (and loads no gRPC).
  const m = await open(args.model, {
    socket: args.socket,
    env: {},
    sessionOptions: { executionProviders: ['cuda'] },
    deviceOutputs: args.outputs,
    deviceAwakeMs: args.awakeMs,
  });
  run = (f) => m.session.run(f);
  release = () => m.release();
  openPartsOf = () => ({ ...(m.session as DeviceBackedSession).device.openMs });
  stagesOf = () => {
    const t = (m.session as DeviceBackedSession).device.lastTiming;
    return t && { ...t };
  };
}
const t1 = sinceStart();
const one = feeds(1);
await run(one);
const t2 = sinceStart();
// ts: the open's parts (reaching the executor, the admit) and the first run's stages.
const parts = args.kind === 'ts' ? { openParts: openPartsOf(), firstRunStages: stagesOf() } : {};
// Where a fresh process's time went before the open: Node's own start, then the imports (and, ts, the device client).
const bootMs = performance.nodeTiming.bootstrapComplete;
say({
  event: 'first',
  openMs: t1 - t0,
  firstRunMs: t2 - t1,
  sinceStartMs: t2,
  bootMs,
  importsMs: t0 - bootMs,
  ...parts,
});

/** The first output's values at every 997th element (and their count): the benchmark compares the paths' results. */
function sampleOf(r: Record<string, OrtTensor>): number[] {
  const data = Object.values(r)[0]?.data as Float32Array | undefined;
  return data ? [data.length, ...Array.from({ length: Math.ceil(data.length / 997) }, (_, k) => data[k * 997]!)] : [];
}

if (args.after === 'rounds') {
  const inputsBy = new Map<number, Record<string, OrtTensor>>();
  const lines = readline.createInterface({ input: process.stdin });
  say({ event: 'ready' });
  for await (const line of lines) {
    if (line.trim() === 'exit') break;
    const { batch, runs } = JSON.parse(line) as { batch: number; runs: number };
    const f = inputsBy.get(batch) ?? feeds(batch);
    inputsBy.set(batch, f);
    // Outputs are disposed once done with, as in 'steady' (views give their shared memory back, copies their buffer).
    for (let i = 0; i < 3; i++) for (const t of Object.values(await run(f))) t.dispose();
    const ms: number[] = [];
    const st: Record<string, number>[] = [];
    let last: Record<string, OrtTensor> = {};
    for (let i = 0; i < runs; i++) {
      for (const t of Object.values(last)) t.dispose();
      const a = performance.now();
      last = await run(f);
      ms.push(performance.now() - a);
      const t = stagesOf();
      if (t) st.push(t);
    }
    say({ event: 'round', batch, ms, stages: st, sample: sampleOf(last) });
    for (const t of Object.values(last)) t.dispose();
  }
  lines.close();
} else if (args.after === 'steady') {
  const out: Record<string, number[]> = {};
  // The first output's values at every 997th element (and their count): the benchmark compares the two paths' results.
  const samples: Record<string, number[]> = {};
  // ts: each timed run's stages (executor, transport, client copies), by batch.
  const stages: Record<string, Record<string, number>[]> = {};
  for (const b of args.batches ?? [1]) {
    const f = feeds(b);
    // Every path disposes a run's outputs once it is done with them (onnxruntime's Tensor.dispose): on the
    // executor's 'view' outputs that gives their shared memory back for the next run; elsewhere it costs nothing.
    const done = (r: Record<string, OrtTensor>) => {
      for (const t of Object.values(r)) t.dispose();
    };
    for (let i = 0; i < 20; i++) done(await run(f));
    const ms: number[] = [];
    const st: Record<string, number>[] = [];
    let last: Record<string, OrtTensor> = {};
    for (let i = 0; i < (args.runs ?? 200); i++) {
      done(last);
      const a = performance.now();
      last = await run(f);
      ms.push(performance.now() - a);
      const s = stagesOf();
      if (s) st.push(s);
    }
    out[b] = ms;
    if (st.length) stages[b] = st;
    const data = Object.values(last)[0]?.data as Float32Array | undefined;
    samples[b] = data
      ? [data.length, ...Array.from({ length: Math.ceil(data.length / 997) }, (_, k) => data[k * 997]!)]
      : [];
  }
  say({ event: 'steady', ms: out, samples, stages });
} else if (args.after === 'loop') {
  for (let i = 0; i < 10; i++) await run(one);
  say({ event: 'warm' });
  await new Promise((r) => setTimeout(r, Math.max(0, (args.startAt ?? Date.now()) - Date.now())));
  const end = Date.now() + (args.durationMs ?? 5000);
  let n = 0;
  while (Date.now() < end) {
    await run(one);
    n++;
  }
  say({ event: 'loop', runs: n });
} else if (args.after === 'hold') {
  if (args.probeBatch) await run(feeds(args.probeBatch));
  say({ event: 'holding' });
  await new Promise<void>((resolve) =>
    readline.createInterface({ input: process.stdin }).on('line', (l) => l.trim() === 'exit' && resolve()),
  );
}
await release();
process.exit(0);
