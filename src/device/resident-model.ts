// One model resident on a device inside the executor: its ONNX Runtime
// session, created once from the host store's files, and the device queue
// every client's requests for it wait in. Requests that arrive while a run is
// on the device are batched together for the next run (dynamic batching at
// the device, after src/sched's batcher: decideBatch with no added delay, the
// cap is the largest batch).
import type { InferenceSession, Tensor } from 'onnxruntime-node';
import { TensorshareError, isTensorshareError } from '../errors.js';
import { decideBatch } from '../sched/batcher.js';
import type { IoSpec } from '../store/manifest.js';
import type { DeviceMemory } from './memory.js';
import { deviceError } from './oom.js';
import type { LoadRequest, Measured } from './protocol.js';
import {
  batchable,
  checkInputs,
  elementBytes,
  elements,
  hostTensor,
  joinRows,
  rowsOf,
  sameTrailing,
  splitRows,
  typedView,
} from './tensors.js';
import type { HostTensor } from './transfer.js';

type Ort = typeof import('onnxruntime-node');

/** Request shapes remembered per model for preallocated outputs (a model served at many shapes stops adding). */
const MAX_OUTPUT_SHAPES = 64;

/** A view of `bytes` in the requesting client's region, where ORT may write an output in place. */
export type OutputPlace = (bytes: number) => Uint8Array;

export interface RunResult {
  outputs: HostTensor[];
  /** Requests in the device run that served this one. */
  batch: number;
  /** Time in ORT's session.run for the device run that served it. */
  runMs?: number;
}

interface Job {
  inputs: HostTensor[];
  rows: number;
  outputs?: string[];
  place?: OutputPlace;
  enqueuedAt: number;
  resolve(r: RunResult): void;
  reject(e: unknown): void;
}

export interface ResidentModel {
  readonly key: string;
  readonly model: string;
  readonly inputs: IoSpec[];
  readonly outputs: IoSpec[];
  readonly measured: Measured;
  /** `place`: where this request's outputs may be written in place (a request served alone, of a shape seen before). */
  run(inputs: HostTensor[], outputs?: string[], place?: OutputPlace): Promise<RunResult>;
  /** Requests waiting or on the device. */
  depth(): number;
  /** Fails queued requests (the model is being unloaded) and releases the session. */
  release(): Promise<void>;
}

export interface LoadContext {
  ort: Ort;
  device: DeviceMemory;
  provider: 'cuda' | 'cpu';
  maxBatchSize: number;
  /** Called per device run with the number of requests it served. */
  onBatch(size: number): void;
}

function sessionOptions(provider: 'cuda' | 'cpu', tensorsDir: string): InferenceSession.SessionOptions {
  return {
    executionProviders: [provider],
    graphOptimizationLevel: 'all',
    // The CPU provider only stands in for a device (fake devices, CI): one thread, like a device's one stream,
    // and no pool of spinning threads competing with the clients for the cores.
    ...(provider === 'cpu' ? { intraOpNumThreads: 1, interOpNumThreads: 1 } : {}),
    logSeverityLevel: 3,
    // Weights come from the store's tensor files (external data by hash), never from the original model.
    extra: { session: { model_external_initializers_file_folder_path: tensorsDir } },
  };
}

/** Zero inputs at the largest batch (free dimensions after the first are 1): the run that measures ephemeral memory. */
function probeFeeds(ort: Ort, inputs: IoSpec[], rows: number): Record<string, Tensor> {
  const feeds: Record<string, Tensor> = {};
  for (const s of inputs) {
    const dims = (s.shape ?? []).map((d, i) => (typeof d === 'number' && d >= 0 ? d : i === 0 ? rows : 1));
    const bytes = new Uint8Array(new ArrayBuffer(elements(dims) * elementBytes(s.dtype)));
    feeds[s.name] = new ort.Tensor(s.dtype as 'float32', typedView(s.dtype, bytes) as Float32Array, dims);
  }
  return feeds;
}

export async function loadResident(ctx: LoadContext, req: LoadRequest): Promise<ResidentModel> {
  const { ort, device } = ctx;
  const t0 = performance.now();
  const before = device.used();
  let session: InferenceSession;
  try {
    device.reserve(req.key, req.weightBytes);
    session = await ort.InferenceSession.create(req.graph, sessionOptions(ctx.provider, req.tensorsDir));
  } catch (e) {
    device.release(req.key);
    throw deviceError(e, `loading ${req.model} onto ${device.name} ${device.index}`, device);
  }
  const afterLoad = device.used();
  const canBatch = batchable(req);
  try {
    await session.run(probeFeeds(ort, req.inputs, canBatch ? ctx.maxBatchSize : 1));
  } catch (e) {
    const err = deviceError(e, `the first run of ${req.model} at batch ${ctx.maxBatchSize}`, device);
    if (isTensorshareError(err, 'ERR_RESOURCE_EXHAUSTED')) {
      await session.release().catch(() => {});
      device.release(req.key);
      throw err;
    }
    // A model whose zero inputs are not valid (e.g. index ranges) still serves; it is measured without the probe.
  }
  const measured: Measured = {
    persistentBytes: Math.max(0, afterLoad - before),
    ephemeralBytes: Math.max(0, device.used() - afterLoad),
    loadMs: performance.now() - t0,
  };
  return residentModel(ctx, req, session, canBatch, measured);
}

function residentModel(
  ctx: LoadContext,
  req: LoadRequest,
  session: InferenceSession,
  canBatch: boolean,
  measured: Measured,
): ResidentModel {
  const { ort } = ctx;
  const queue: Job[] = [];
  let running = 0;
  let released = false;
  // The outputs' names, types and dimensions seen for each request shape (input dimensions and fetches): a request
  // of a known shape gets its outputs preallocated where the client reads them, so ORT writes them there once.
  const outputShapes = new Map<string, Omit<HostTensor, 'bytes'>[]>();
  const shapeKey = (feeds: readonly HostTensor[], fetches?: readonly string[]) =>
    `${feeds.map((t) => `${t.name}:${t.type}:${t.dims.join('x')}`).join('|')}>${fetches?.join('|') ?? ''}`;

  const ortTensor = (t: HostTensor) =>
    new ort.Tensor(t.type as 'float32', typedView(t.type, t.bytes) as Float32Array, t.dims);

  async function runOnDevice(feedsIn: HostTensor[], fetches?: string[], place?: OutputPlace): Promise<HostTensor[]> {
    const feeds: Record<string, Tensor> = {};
    for (const t of feedsIn) feeds[t.name] = ortTensor(t);
    const key = place ? shapeKey(feedsIn, fetches) : undefined;
    const known = key === undefined ? undefined : outputShapes.get(key);
    if (known && place) {
      const placed = known.map((o) => ({ ...o, bytes: place(elements(o.dims) * elementBytes(o.type)) }));
      try {
        await session.run(feeds, Object.fromEntries(placed.map((t) => [t.name, ortTensor(t)])));
        return placed;
      } catch {
        // The outputs' shapes depend on more than the inputs' (or the run failed): the plain run below decides.
        outputShapes.delete(key!);
      }
    }
    let out: InferenceSession.OnnxValueMapType;
    try {
      out = fetches?.length ? await session.run(feeds, fetches) : await session.run(feeds);
    } catch (e) {
      throw deviceError(e, `running ${req.model}`, ctx.device);
    }
    const hosts = Object.entries(out).map(([name, t]) => hostTensor(name, t as Tensor));
    if (key !== undefined && outputShapes.size < MAX_OUTPUT_SHAPES)
      outputShapes.set(
        key,
        hosts.map(({ name, type, dims }) => ({ name, type, dims })),
      );
    return hosts;
  }

  /** The requests of the next device run: the oldest one and those that can join it (decideBatch's cap). */
  function nextBatch(): Job[] {
    const head = queue[0]!;
    if (!canBatch) return queue.splice(0, 1);
    const fits: Job[] = [];
    for (const j of queue) {
      if (!sameTrailing(head.inputs, j.inputs) || (j.outputs ?? []).join() !== (head.outputs ?? []).join()) break;
      fits.push(j);
    }
    const d = decideBatch(
      fits.map((j) => ({ items: j.rows, enqueuedAt: j.enqueuedAt })),
      { maxBatchSize: ctx.maxBatchSize, maxQueueDelayMs: 0 },
      ctx.maxBatchSize,
      performance.now(),
    );
    const take = 'take' in d ? Math.max(1, d.take) : 1;
    return queue.splice(0, take);
  }

  async function runBatch(jobs: Job[]): Promise<void> {
    ctx.onBatch(jobs.length);
    if (jobs.length === 1) {
      const j = jobs[0]!;
      const t0 = performance.now();
      const outputs = await runOnDevice(j.inputs, j.outputs, j.place);
      j.resolve({ outputs, batch: 1, runMs: performance.now() - t0 });
      return;
    }
    const rows = jobs.map((j) => j.rows);
    const outs = await runOnDevice(joinRows(jobs.map((j) => j.inputs)), jobs[0]!.outputs);
    const split = outs.map((t) => splitRows(t, rows));
    if (split.some((s) => s === undefined)) {
      // An output not batched along axis 0: serve these one by one.
      for (const j of jobs) j.resolve({ outputs: await runOnDevice(j.inputs, j.outputs), batch: 1 });
      return;
    }
    for (const [i, j] of jobs.entries()) j.resolve({ outputs: split.map((s) => s![i]!), batch: jobs.length });
  }

  async function drain(): Promise<void> {
    if (running) return;
    running++;
    try {
      while (queue.length && !released) {
        const jobs = nextBatch();
        await runBatch(jobs).catch((e) => {
          for (const j of jobs) j.reject(e);
        });
      }
    } finally {
      running--;
    }
  }

  return {
    key: req.key,
    model: req.model,
    inputs: req.inputs,
    outputs: req.outputs,
    measured,
    run(inputs, outputs, place) {
      if (released)
        return Promise.reject(
          new TensorshareError('ERR_UNAVAILABLE', `model ${req.model} was unloaded from the device; open it again`),
        );
      checkInputs(req.model, req.inputs, inputs);
      if (outputs)
        for (const o of outputs)
          if (!req.outputs.some((s) => s.name === o))
            throw new TensorshareError('ERR_INVALID_ARGUMENT', `model ${req.model} has no output '${o}'`, {
              model: req.model,
              output: o,
            });
      return new Promise<RunResult>((resolve, reject) => {
        queue.push({ inputs, rows: rowsOf(inputs), outputs, place, enqueuedAt: performance.now(), resolve, reject });
        void drain();
      });
    },
    depth: () => queue.length + running,
    async release() {
      released = true;
      const err = new TensorshareError('ERR_UNAVAILABLE', `model ${req.model} was unloaded from the device`);
      for (const j of queue.splice(0)) j.reject(err);
      await session.release().catch(() => {});
      ctx.device.release(req.key);
    },
  };
}
