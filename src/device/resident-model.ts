// One model resident on a device inside the executor: its ONNX Runtime
// session, created once from the host store's files, and its place in the
// device's lanes (device-lanes.ts), where every client's requests for it
// wait. Requests that arrive while a run is on the device are batched
// together for the next run (dynamic batching at the device, after
// src/sched's batcher: decideBatch with no added delay, the cap is the
// largest batch). Its persistent bytes are measured at load, its ephemeral
// peak at a run at the largest batch (and again when a larger batch runs
// alone on the device). A request served alone, of a shape seen before, has
// its outputs written by ONNX Runtime straight into the client's mapped
// region (preallocated outputs, through the session's worker thread).
import type { InferenceSession } from 'onnxruntime-node';
import { TensorshareError, isTensorshareError } from '../errors.js';
import type { DevicePolicy } from '../sched/device-policy.js';
import type { PriorityClass } from '../sched/dispatcher.js';
import type { IoSpec } from '../store/manifest.js';
import { createDeviceLanes, type DeviceLanes, type LaneJob, type RunPlacement } from './device-lanes.js';
import type { DeviceMemory } from './memory.js';
import { deviceError } from './oom.js';
import { type OpenSession, type OrtRun, type OrtSession, type PlacedOutput, inThreadSessions } from './ort-session.js';
import type { LoadRequest, Measured } from './protocol.js';
import { batchable, checkInputs, elementBytes, elements, joinRows, rowsOf, splitRows } from './tensors.js';
import type { HostTensor } from './transfer.js';

type Ort = typeof import('onnxruntime-node');

/** Request shapes remembered per model for outputs in place (a model served at many shapes stops adding). */
const MAX_OUTPUT_SHAPES = 64;

/** A range of `bytes` in the requesting client's region, where ORT may write an output in place. */
export type OutputPlace = (bytes: number) => { bytes: Uint8Array; address: number };

export interface RunResult {
  outputs: HostTensor[];
  /** Requests in the device run that served this one. */
  batch: number;
  /** Its lane and timing; absent only for a run that failed. */
  placement?: RunPlacement;
  /** Time inside ONNX Runtime's run call(s) for the device run that served it, on the session's thread (ms). */
  ortMs: number;
}

interface Job extends LaneJob<RunResult> {
  inputs: HostTensor[];
  outputs?: string[];
  place?: OutputPlace;
}

export interface RunOptions {
  priority?: PriorityClass;
  tenant?: string;
  /** The function's own device policy (lanes-scheduler.ts: per-function policies). */
  policy?: DevicePolicy;
  /** Where this request's outputs may be written in place (used when it runs alone, at a shape seen before). */
  place?: OutputPlace;
}

export interface ResidentModel {
  readonly key: string;
  readonly model: string;
  readonly inputs: IoSpec[];
  readonly outputs: IoSpec[];
  readonly measured: Measured;
  run(inputs: HostTensor[], outputs?: string[], options?: RunOptions): Promise<RunResult>;
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
  /** ORT intra-op threads of each session (default 1). */
  intraOpThreads?: number;
  /** Called per device run with the number of requests it served. */
  onBatch(size: number): void;
  /** The device's lanes, shared by its resident models. Default: lanes of this model alone (tests). */
  lanes?: DeviceLanes;
  /** Where sessions live (the executor: a worker thread each). Default: on the calling thread, with `ort`. */
  openSession?: OpenSession;
}

function sessionOptions(
  provider: 'cuda' | 'cpu',
  tensorsDir: string,
  intraOpThreads: number,
): InferenceSession.SessionOptions {
  return {
    executionProviders: [provider],
    graphOptimizationLevel: 'all',
    logSeverityLevel: 3,
    // No spinning, and one thread unless told (the CPU executor: its `cpuExecutorThreads`). On a fake device the
    // CPU provider stands in for a device's one stream. On a GPU, ORT's intra-op pool has nothing to do (the nodes
    // run on the device), yet each session's pool (one thread per core) spins during and after every run: BERT-base
    // at batch 1 is bound by how fast one thread launches kernels, and spinning threads on its core's siblings slow
    // that thread down. The CPU executor runs the nodes itself, so its sessions take the cores it may use: BERT-base
    // on 2 cores ran a batch of 4 in 662 ms with 2 threads against 1296 ms with 1 (docs/benchmarks.md, 3b).
    intraOpNumThreads: intraOpThreads,
    interOpNumThreads: 1,
    extra: {
      session: {
        'intra_op.allow_spinning': '0',
        'inter_op.allow_spinning': '0',
        // Weights come from the store's tensor files (external data by hash), never from the original model.
        model_external_initializers_file_folder_path: tensorsDir,
        // Weights in buffers of their own size, not in the arena: the arena's default growth doubles each new region,
        // so weights in it round its regions up, and the first run's activations then take a region as large as
        // everything before it. The arena keeps only activations.
        use_device_allocator_for_initializers: '1',
      },
    },
  };
}

/** Zero inputs at the largest batch (free dimensions after the first are 1): the run that measures ephemeral memory. */
function probeFeeds(inputs: IoSpec[], rows: number): HostTensor[] {
  return inputs.map((s) => {
    const dims = (s.shape ?? []).map((d, i) => (typeof d === 'number' && d >= 0 ? d : i === 0 ? rows : 1));
    return { name: s.name, type: s.dtype, dims, bytes: new Uint8Array(elements(dims) * elementBytes(s.dtype)) };
  });
}

export async function loadResident(ctx: LoadContext, req: LoadRequest): Promise<ResidentModel> {
  const { device } = ctx;
  const open = ctx.openSession ?? inThreadSessions(ctx.ort);
  const t0 = performance.now();
  const before = device.used();
  let session: OrtSession;
  try {
    device.reserve(req.key, req.weightBytes);
    session = await open(req.graph, sessionOptions(ctx.provider, req.tensorsDir, ctx.intraOpThreads ?? 1));
  } catch (e) {
    device.release(req.key);
    throw deviceError(e, `loading ${req.model} onto ${device.name} ${device.index}`, device);
  }
  const afterLoad = device.used();
  const canBatch = batchable(req);
  const probeRows = canBatch ? ctx.maxBatchSize : 1;
  let measuredRows = 0;
  device.takePeak();
  try {
    const feeds = probeFeeds(req.inputs, probeRows);
    device.beginRun(req.key, feedBytes(feeds));
    try {
      await session.run(feeds, undefined, {});
    } finally {
      device.endRun(req.key);
    }
    measuredRows = probeRows;
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
    ephemeralBytes: Math.max(0, device.takePeak() - afterLoad),
    loadMs: performance.now() - t0,
  };
  try {
    return residentModel(ctx, req, session, canBatch, measured, measuredRows);
  } catch (e) {
    // Its persistent bytes do not fit beside the lanes in use (RESOURCE_EXHAUSTED): the load is undone.
    await session.release().catch(() => {});
    device.release(req.key);
    throw e;
  }
}

const feedBytes = (feeds: readonly HostTensor[]): number => feeds.reduce((a, t) => a + t.bytes.byteLength, 0);

/** Requests run together only with the same input types, trailing dimensions and outputs. */
function groupOf(inputs: readonly HostTensor[], outputs: readonly string[] | undefined): string {
  const ins = [...inputs]
    .sort((a, b) => (a.name < b.name ? -1 : 1))
    .map((t) => `${t.name}:${t.type}:${t.dims.slice(1).join('x')}/${t.dims.length}`);
  return `${ins.join(',')}|${(outputs ?? []).join(',')}`;
}

function residentModel(
  ctx: LoadContext,
  req: LoadRequest,
  session: OrtSession,
  canBatch: boolean,
  measured: Measured,
  measuredRows: number,
): ResidentModel {
  const { device } = ctx;
  const lanes =
    ctx.lanes ??
    createDeviceLanes({ capacity: Number.MAX_SAFE_INTEGER, policy: 'pack', maxBatchRows: ctx.maxBatchSize });
  let released = false;
  let largestRows = measuredRows;
  // The outputs' names, types and dimensions seen for each request shape (input dimensions and fetches): a request
  // of a known shape gets its outputs preallocated where the client reads them, so ORT writes them there once.
  const outputShapes = new Map<string, Omit<HostTensor, 'bytes'>[]>();
  const shapeKey = (feeds: readonly HostTensor[], fetches?: readonly string[]) =>
    `${feeds.map((t) => `${t.name}:${t.type}:${t.dims.join('x')}`).join('|')}>${fetches?.join('|') ?? ''}`;

  async function runOnDevice(feeds: HostTensor[], fetches: string[] | undefined, place?: OutputPlace): Promise<OrtRun> {
    // No run options: onnxruntime-node passes only logSeverityLevel and tag to ORT (its RunOptions `extra`, where
    // arena shrinkage would be asked for, is for the WebAssembly backend), so a session's arena keeps its peak.
    const options: InferenceSession.RunOptions = {};
    const key = place ? shapeKey(feeds, fetches) : undefined;
    const known = key === undefined ? undefined : outputShapes.get(key);
    try {
      device.beginRun(req.key, feedBytes(feeds));
      if (known && place) {
        const into: PlacedOutput[] = known.map((o) => ({ ...o, ...place(elements(o.dims) * elementBytes(o.type)) }));
        try {
          return await session.run(feeds, fetches, options, into);
        } catch {
          // The outputs' shapes depend on more than the inputs' (or the run failed): the plain run below decides.
          outputShapes.delete(key!);
        }
      }
      const out = await session.run(feeds, fetches, options);
      if (key !== undefined && outputShapes.size < MAX_OUTPUT_SHAPES)
        outputShapes.set(
          key,
          out.outputs.map(({ name, type, dims }) => ({ name, type, dims })),
        );
      return out;
    } catch (e) {
      throw deviceError(e, `running ${req.model}`, device);
    } finally {
      device.endRun(req.key);
    }
  }

  /** Runs one batch of this model; one result per job, in order. */
  async function runJobs(jobs: LaneJob<RunResult>[], run: { rows: number }): Promise<RunResult[]> {
    const batch = jobs as Job[];
    ctx.onBatch(batch.length);
    // A batch larger than any measured that runs alone on the device measures the ephemeral peak again.
    const alone = run.rows > largestRows && lanes.snapshot().running === 1;
    const before = alone ? device.takePeak() : 0;
    const results = await runBatch(batch);
    if (alone && lanes.snapshot().running === 1) {
      largestRows = run.rows;
      const peak = device.takePeak() - Math.min(before, device.used());
      if (peak > measured.ephemeralBytes) {
        measured.ephemeralBytes = peak;
        lanes.updateEphemeral(req.key, peak);
      }
    }
    return results;
  }

  async function runBatch(jobs: Job[]): Promise<RunResult[]> {
    if (jobs.length === 1) {
      const j = jobs[0]!;
      return [{ ...(await runOnDevice(j.inputs, j.outputs, j.place)), batch: 1 }];
    }
    const rows = jobs.map((j) => j.rows);
    const outs = await runOnDevice(joinRows(jobs.map((j) => j.inputs)), jobs[0]!.outputs);
    const split = outs.outputs.map((t) => splitRows(t, rows));
    if (split.some((s) => s === undefined)) {
      // An output not batched along axis 0: serve these one by one.
      const one: RunResult[] = [];
      for (const j of jobs) one.push({ ...(await runOnDevice(j.inputs, j.outputs)), batch: 1 });
      return one;
    }
    return jobs.map((_, i) => ({ outputs: split.map((s) => s![i]!), batch: jobs.length, ortMs: outs.ortMs }));
  }

  lanes.add(
    req.key,
    { persistentBytes: measured.persistentBytes, ephemeralBytes: measured.ephemeralBytes, batchable: canBatch },
    runJobs,
  );

  return {
    key: req.key,
    model: req.model,
    inputs: req.inputs,
    outputs: req.outputs,
    measured,
    run(inputs, outputs, options = {}) {
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
        const job: Job = {
          inputs,
          outputs,
          rows: rowsOf(inputs),
          group: groupOf(inputs, outputs),
          priority: options.priority ?? 'realtime',
          tenant: options.tenant,
          ...(options.policy ? { policy: options.policy } : {}),
          place: options.place,
          resolve: (r, placement) => resolve({ ...r, placement }),
          reject,
        };
        lanes.submit(req.key, job);
      });
    },
    depth: () => lanes.depth(req.key),
    async release() {
      released = true;
      lanes.remove(req.key, new TensorshareError('ERR_UNAVAILABLE', `model ${req.model} was unloaded from the device`));
      await session.release().catch(() => {});
      device.release(req.key);
    },
  };
}
