// Entry point of an instance process. Opens the function's models through the
// injected open function (shared weights), loads the handler, then serves
// requests arriving over IPC until told to exit or the parent goes away.
// Also answers 'describe' (a handler's metadata) as a throwaway process.
import { pathToFileURL } from 'node:url';
import type { InferenceSession, Tensor as OrtTensor } from 'onnxruntime-node';
import { TensorshareError, toWireError } from '../../errors.js';
import { defaultSocket } from '../../config.js';
import { executorDevices } from '../../device/protocol.js';
import { preloadDeviceClient } from '../../client/device-preload.js';
import { spillDevice } from '../../sched/fallback.js';
import { ewma } from '../../sched/profile.js';
import type { FunctionConfig, FunctionMode, PriorityClass } from '../functions/config.js';
import type {
  Feed,
  HandlerContext,
  HandlerModule,
  HandlerResult,
  ModelHandle,
  ModelOutput,
} from '../functions/handler.js';
import {
  compactTensor,
  datatypeOf,
  isDatatype,
  ortDtypeOf,
  textOf,
  type InferRequest,
  type Tensor,
} from '../../tensor/index.js';
import {
  putBytes,
  putTensors,
  segmentReader,
  segmentWriter,
  takeTensors,
  type SegmentReader,
  type SegmentWriter,
  type SlotBytes,
} from '../../shm/index.js';
import { createJsonFormatter } from './json-formatter.js';
import { loadOpener, loadWarmUp, type OpenedModel, type OpenModelOptions } from './opener.js';
import type { OrtSession } from '../../device/ort-session.js';
import { quietOrtTelemetry } from '../../ort-telemetry.js';
import { ortTensorClass, type OrtTensorClass } from '../../ort-tensor.js';
import type {
  DescribeMessage,
  FromInstance,
  InferMessage,
  InitMessage,
  PreloadMessage,
  ToInstance,
} from './protocol.js';

quietOrtTelemetry();

const send = (m: FromInstance) => process.send?.(m);

const opened: OpenedModel[] = [];
let handler: HandlerModule | undefined;
let ctx: HandlerContext | undefined;
let init: InitMessage | undefined;
/** The function's models run on a GPU executor. */
let gpuModels = false;
const cancels = new Map<number, AbortController>();
/** The segments the runtime handed over as fds 4 and 5 (see instance.ts). */
let shm: { requests: SegmentReader; results: SegmentWriter } | undefined;
const jsonFormatter = createJsonFormatter();

/**
 * The GPU -> CPU fallback (a `device: auto` function on a GPU): CPU sessions of the same models over the shared
 * host store, in the CPU mode `device: cpu` would use, opened on the first request sent here for CPU and closed once
 * none has come for CPU_IDLE_CLOSE_MS (they map the store's shared weights, so what they hold is their arena). Each
 * runs in a worker thread of its own: onnxruntime-node runs a session on the calling thread, and on this one a CPU
 * run held up the instance's GPU requests (their sends and answers) for as long as it ran.
 */
const CPU_IDLE_CLOSE_MS = 30_000;
/** On an executor: the function's models opened in the other priority class, for requests of that class. */
let otherClass: { of: PriorityClass; models(): Promise<Record<string, ModelHandle>> } | undefined;
let cpuFallback:
  | {
      open(): Promise<Record<string, ModelHandle>>;
      running: number;
      /** Recent CPU service time per request, ms (its runs are one at a time: from its start or the last one's end). */
      cpuRunMs?: number;
      lastCpuDone: number;
      /**
       * Recent time of a request marked for CPU that ran on the GPU path, ms (since the marking began: see
       * MARKED_GAP_MS), and when the ones on it now started (by request id); when the last marked request came.
       */
      gpuMs?: number;
      onGpu: Map<number, number>;
      lastMarked: number;
      opening?: Promise<{ models: Record<string, ModelHandle>; opened: { release(): Promise<void> }[] }>;
      idle?: NodeJS.Timeout;
    }
  | undefined;

async function cpuModels(): Promise<Record<string, ModelHandle>> {
  const f = cpuFallback!;
  clearTimeout(f.idle);
  f.idle = undefined;
  return f.open();
}

function cpuDone(): void {
  const f = cpuFallback;
  if (!f) return;
  f.running--;
  if (f.running > 0) return;
  clearTimeout(f.idle);
  f.idle = setTimeout(() => {
    const opening = f.opening;
    if (!opening || f.running > 0) return;
    f.opening = undefined;
    void opening.then(
      (o) => Promise.all(o.opened.map((x) => x.release().catch(() => {}))),
      () => {},
    );
  }, CPU_IDLE_CLOSE_MS);
  f.idle.unref();
}

process.on('disconnect', () => process.exit(0));
process.on('message', (m: ToInstance) => {
  switch (m.type) {
    case 'preload':
      void preload(m);
      break;
    case 'init':
      void start(m);
      break;
    case 'describe':
      void describe(m);
      break;
    case 'infer':
      void serve(m.id, m.request, m.device, m.priority);
      break;
    case 'cancel':
      cancels.get(m.id)?.abort(new TensorshareError('ERR_TIMEOUT', `request ${m.id} was cancelled`));
      break;
    case 'release':
      for (const s of m.slots) shm?.results.release(s);
      break;
    case 'exit':
      void exit();
      break;
  }
});

/**
 * A pre-started process loads what every instance needs before it knows its function (the imports are cached for
 * 'init') and runs the opener's warm-up (ONNX Runtime's first-session cost, not the handed-over open's) and the
 * handler kit's (the first call of its image and OCR code).
 */
async function preload(m: PreloadMessage): Promise<void> {
  const t0 = performance.now();
  try {
    // The binding, for the in-process opens of whatever function this process is handed.
    await import('onnxruntime-node');
    await Promise.all([loadOpener(m.opener), m.device ? preloadDeviceClient() : undefined]);
    const warm = await loadWarmUp(m.opener);
    const w0 = performance.now();
    if (warm) await warm();
    const w1 = performance.now();
    // Imported here only: a forked instance does not need the kit's warm-up (nor, without a handler, the kit).
    const { warmUpHandlers } = await import('../../handlers/warm-up.js');
    // Idle time: two rounds (the second finds more of the code optimized).
    await warmUpHandlers(2);
    send({
      type: 'preloaded',
      ms: performance.now() - t0,
      warmUpMs: warm ? w1 - w0 : 0,
      handlersWarmUpMs: performance.now() - w1,
    });
  } catch (e) {
    send({ type: 'fatal', error: toWireError(e) });
  }
}

async function start(m: InitMessage): Promise<void> {
  init = m;
  if (m.shm) shm = { requests: segmentReader(4), results: segmentWriter(5) };
  try {
    const t0 = performance.now();
    const gpu = gpuOf(m.config.device, m.store);
    const onGpu = gpu !== false;
    gpuModels = onGpu && m.models.length > 0;
    const onCpuExecutor = m.config.device === 'cpu-executor';
    // An executor's client (GPU or CPU executor) is loaded beside the opener's import, before the first open.
    const onExecutor = (gpuModels || onCpuExecutor) && m.models.length > 0;
    const [open] = await Promise.all([loadOpener(m.opener), onExecutor ? preloadDeviceClient() : undefined]);
    const cpuOptions: InferenceSession.SessionOptions = {
      intraOpNumThreads: m.intraOpThreads,
      interOpNumThreads: 1,
      executionMode: 'sequential',
    };
    const sessionOptions: InferenceSession.SessionOptions = {
      ...cpuOptions,
      // On a GPU the models run on the daemon's executor of that device (src/device), shared by every instance.
      // No deviceId ('gpu', 'auto'): the daemon places the model on one of its devices (best fit, or a replica).
      ...(onGpu ? { executionProviders: [gpu === undefined ? 'cuda' : { name: 'cuda', deviceId: gpu }] } : {}),
    };
    // The handler's import needs no model: started first, its file reads overlap the opens' (ORT's
    // creations are synchronous on this thread, so nothing else can). Its failure is reported below.
    const handlerImport = m.handlerFile
      ? (import(pathToFileURL(m.handlerFile).href) as Promise<HandlerModule>)
      : undefined;
    handlerImport?.catch(() => {});
    const models: Record<string, ModelHandle> = {};
    const timings: { alias: string; ref: string; mode?: FunctionMode; openMs: number }[] = [];
    const openModel = (mm: InitMessage['models'][number], devicePriority: PriorityClass) =>
      open(mm.ref, {
        repository: m.repository,
        store: m.store,
        mode: mm.mode,
        sessionOptions,
        // On a device the class and the function's tenant order its runs on the executor (realtime first, fair share).
        ...(onGpu || onCpuExecutor
          ? {
              devicePriority,
              deviceTenant: m.config.tenant,
              ...(m.config.gpuPolicy ? { devicePolicy: m.config.gpuPolicy } : {}),
              ...(onCpuExecutor ? { executor: 'cpu' as const } : {}),
            }
          : {}),
      });
    const opening = Promise.all(
      m.models.map(async (mm) => {
        const ts = performance.now();
        const o = await openModel(mm, m.config.priority);
        opened.push(o);
        timings.push({ alias: mm.alias, ref: mm.ref, mode: o.mode ?? mm.mode, openMs: performance.now() - ts });
        models[mm.alias] = {
          ref: mm.ref,
          manifest: o.manifest,
          inputs: o.manifest.inputs,
          outputs: o.manifest.outputs,
          run: runner(o.session),
        };
      }),
    );
    // No handler kit warm-up here (a pre-started process makes it at preload): on an executor the opens are short
    // round trips, and the warm-up, itself run cold, held this thread past their answers. Forked ocr instances on the
    // CPU executor answered first in 160 ms without it against 202 ms with it (the first call is slower, the ready
    // far sooner).
    await opening;
    if (onExecutor) {
      // Requests of the other class (their `priority` parameter) run in that class on the executor: a realtime
      // request of a besteffort function would otherwise wait behind every realtime run there. Its sessions open at
      // the first such request (one round trip each; the executor's resident model is the same).
      const of: PriorityClass = m.config.priority === 'realtime' ? 'besteffort' : 'realtime';
      let pending: Promise<Record<string, ModelHandle>> | undefined;
      const openAll = async () => {
        const out: Record<string, ModelHandle> = {};
        await Promise.all(
          m.models.map(async (mm) => {
            const o = await openModel(mm, of);
            opened.push(o);
            out[mm.alias] = { ...models[mm.alias]!, run: runner(o.session) };
          }),
        );
        return out;
      };
      otherClass = {
        of,
        models: () =>
          (pending ??= openAll().catch((e: unknown) => {
            pending = undefined;
            throw e;
          })),
      };
    }
    if (onGpu && m.config.device === 'auto' && m.models.length) {
      const f: NonNullable<typeof cpuFallback> = {
        running: 0,
        lastCpuDone: 0,
        onGpu: new Map(),
        lastMarked: -Infinity,
        async open() {
          f.opening ??= (async () => {
            const cpu: Record<string, ModelHandle> = {};
            const list: { release(): Promise<void> }[] = [];
            const [{ openedInWorker }, tensors] = await Promise.all([
              import('../../device/ort-session.js'),
              import('../../device/tensors.js'),
            ]);
            try {
              await Promise.all(
                m.models.map(async (mm) => {
                  const options: OpenModelOptions = {
                    repository: m.repository,
                    store: m.store,
                    mode: mm.mode,
                    sessionOptions: cpuOptions,
                  };
                  const s = await openedInWorker(
                    { module: m.opener.module, export: m.opener.export ?? 'default', args: [mm.ref, options] },
                    `${mm.ref} (CPU fallback)`,
                  );
                  list.push(s);
                  cpu[mm.alias] = { ...models[mm.alias]!, run: threadRunner(s, tensors) };
                }),
              );
            } catch (e) {
              f.opening = undefined;
              for (const o of list) await o.release().catch(() => {});
              throw e;
            }
            return { models: cpu, opened: list };
          })();
          return (await f.opening).models;
        },
      };
      cpuFallback = f;
    }
    const t1 = performance.now();
    const aliases = Object.keys(models);
    ctx = {
      function: m.function,
      version: m.version,
      dir: m.dir,
      config: m.config,
      metadata: m.metadata,
      models,
      state: {},
      run(feeds, model) {
        const alias = model ?? (aliases.length === 1 ? aliases[0] : undefined);
        const h = alias === undefined ? undefined : models[alias];
        if (!h) {
          throw new TensorshareError(
            'ERR_INVALID_ARGUMENT',
            `function '${m.function}' has ${model === undefined ? `${aliases.length} models (${aliases.join(', ')}): name one in ctx.run(feeds, alias)` : `no model '${model}' (models: ${aliases.join(', ') || 'none'})`}`,
          );
        }
        return h.run(feeds);
      },
    };
    if (m.handlerFile) {
      handler = await handlerImport!;
      if (typeof handler.handle !== 'function')
        throw new TensorshareError(
          'ERR_INVALID_ARGUMENT',
          `${m.handlerFile}: handler exports no handle(request, ctx) function`,
        );
      await handler.setup?.(ctx);
    }
    send({
      type: 'ready',
      openMs: t1 - t0,
      handlerMs: performance.now() - t1,
      uptimeMs: performance.now(),
      models: timings,
    });
  } catch (e) {
    // The parent kills us once it has read this: exiting here could beat the message to it.
    send({ type: 'fatal', error: toWireError(e) });
  }
}

function runner(session: InferenceSession) {
  return async (feeds: Record<string, Feed>, outputNames?: readonly string[]): Promise<Record<string, ModelOutput>> => {
    // The Tensor class only: on an executor the sessions are its own, and this process never loads the binding.
    const TensorClass = ortTensorClass();
    const t: Record<string, OrtTensor> = {};
    for (const [k, v] of Object.entries(feeds)) t[k] = toOrt(TensorClass, k, v);
    const out = outputNames?.length ? await session.run(t, outputNames) : await session.run(t);
    return out as unknown as Record<string, ModelOutput>;
  };
}

/** A model handle's run on a session in a worker thread (the CPU fallback's): tensors cross as bytes, copied. */
function threadRunner(session: OrtSession, { hostTensor, typedView }: typeof import('../../device/tensors.js')) {
  return async (feeds: Record<string, Feed>, outputNames?: readonly string[]): Promise<Record<string, ModelOutput>> => {
    const TensorClass = ortTensorClass();
    // Copies: the run moves its inputs' buffers to the thread, and the handler may still read its feeds.
    const host = Object.entries(feeds).map(([name, v]) => {
      const t = hostTensor(name, toOrt(TensorClass, name, v));
      return { ...t, bytes: new Uint8Array(t.bytes) };
    });
    const { outputs } = await session.run(host, outputNames?.length ? [...outputNames] : undefined, {});
    const out: Record<string, ModelOutput> = {};
    for (const o of outputs)
      out[o.name] = new TensorClass(o.type as 'float32', typedView(o.type, o.bytes) as Float32Array, o.dims);
    return out;
  };
}

function toOrt(TensorClass: OrtTensorClass, name: string, v: Feed): OrtTensor {
  if (v instanceof TensorClass) return v;
  const dtype =
    v.dtype ?? (v as { type?: string }).type ?? (v.datatype !== undefined ? ortDtypeOf(v.datatype) : undefined);
  const shape = v.shape ?? v.dims;
  if (!dtype || !shape)
    throw new TensorshareError('ERR_INVALID_ARGUMENT', `feed '${name}' needs a dtype (or datatype) and a shape`, {
      input: name,
    });
  let data = v.data;
  if (dtype === 'string' && Array.isArray(data)) data = data.map((x) => textOf(x as string | Uint8Array));
  return new TensorClass(dtype as 'float32', data as Float32Array, shape as number[]);
}

/** A handler context whose models (and ctx.run) are the given ones. */
function contextWith(base: HandlerContext, models: Record<string, ModelHandle>): HandlerContext {
  const aliases = Object.keys(models);
  return {
    ...base,
    models,
    run(feeds, model) {
      const alias = model ?? (aliases.length === 1 ? aliases[0] : undefined);
      const h = alias === undefined ? undefined : models[alias];
      if (!h) return base.run(feeds, model); // the same error as the device path
      return h.run(feeds);
    },
  };
}

async function serve(
  id: number,
  wire: InferMessage['request'],
  device?: 'cpu',
  priority?: PriorityClass,
): Promise<void> {
  let t0 = performance.now();
  const ac = new AbortController();
  cancels.set(id, ac);
  // Only an instance whose models are on a GPU and that can open them on CPU (device: auto) moves a request, and
  // only while its CPU path would answer sooner than the GPU path has been (sched/fallback.ts spillDevice).
  const f = device === 'cpu' ? cpuFallback : undefined;
  if (f) {
    // A new spell of the fallback: the GPU's times from before it are a calm GPU's.
    if (t0 - f.lastMarked > MARKED_GAP_MS) f.gpuMs = undefined;
    f.lastMarked = t0;
  }
  const onCpu = f !== undefined && spillDevice(spillView(f, t0)) === 'cpu';
  if (onCpu) f!.running++;
  else f?.onGpu.set(id, t0);
  try {
    if (!ctx || !init) throw new TensorshareError('ERR_UNAVAILABLE', 'instance is not ready');
    const other = !onCpu && priority !== undefined && otherClass?.of === priority ? otherClass : undefined;
    const here = onCpu ? contextWith(ctx, await cpuModels()) : other ? contextWith(ctx, await other.models()) : ctx;
    const { jsonText: ask, ...rest } = wire;
    const request: InferRequest = {
      ...rest,
      inputs: shm ? takeTensors(shm.requests, wire.inputs) : (wire.inputs as Tensor[]),
    };
    // runMs is the handler and the model; reading and writing the segments is transfer.
    t0 = performance.now();
    const wanted = (request.outputs ?? []).map((o) => o.name);
    let outputs: Tensor[];
    let parameters: Record<string, string | number | boolean> | undefined;
    if (handler) {
      const r = await handler.handle(request, { ...here, signal: ac.signal });
      ({ outputs, parameters } = normalizeResult(r, init.function));
      if (wanted.length) {
        const byName = new Map(outputs.map((t) => [t.name, t]));
        outputs = wanted.map((n) => {
          const t = byName.get(n);
          if (!t)
            throw new TensorshareError(
              'ERR_INTERNAL',
              `handler of function '${init!.function}' returned no output '${n}'`,
              { output: n },
            );
          return t;
        });
      }
    } else {
      const feeds: Record<string, Feed> = {};
      for (const t of request.inputs) feeds[t.name] = { datatype: t.datatype, shape: t.shape, data: t.data };
      const h = Object.values(here.models)[0]!;
      const out = await h.run(feeds, wanted.length ? wanted : undefined);
      outputs = Object.entries(out).map(([name, t]) => fromModelOutput(name, t));
    }
    const runMs = performance.now() - t0;
    if (f) observeRun(f, onCpu, t0, runMs);
    const compact = outputs.map(compactTensor);
    // This process writes the JSON text of its large outputs: instances format in parallel, the gateway splices.
    const texts = await Promise.all(
      compact.map((t) => (ask?.outputs.includes(t.name) ? jsonFormatter.parts(t, ask.rows, ask.maxBytes) : undefined)),
    );
    const formatMs = performance.now() - t0 - runMs;
    const sent = shm ? putTensors(shm.results, compact).tensors : compact;
    const withText = sent.map((t, i) => {
      const parts = texts[i];
      if (!parts) return t;
      const jsonText: SlotBytes[] = parts.map((p) => (shm ? putBytes(shm.results, p).sent : Buffer.concat(p)));
      return { ...t, jsonText };
    });
    const ranOn = onCpu || !gpuModels ? 'cpu' : 'gpu';
    send({ type: 'result', id, outputs: withText, parameters, runMs, device: ranOn, ...(ask ? { formatMs } : {}) });
  } catch (e) {
    send({ type: 'error', id, error: toWireError(e), runMs: performance.now() - t0 });
  } finally {
    cancels.delete(id);
    f?.onGpu.delete(id);
    if (onCpu) cpuDone();
  }
}

/** Requests marked for CPU further apart than this belong to different spells of the fallback. */
const MARKED_GAP_MS = 1000;
/** Recent times weigh this much in the fallback's estimates (an exponential average). */
const RECENT = 0.25;
const recent = (was: number | undefined, ms: number) => ewma(was, ms, RECENT);

function spillView(f: NonNullable<typeof cpuFallback>, now: number) {
  let oldest = now;
  for (const t of f.onGpu.values()) oldest = Math.min(oldest, t);
  return { cpuRunning: f.running, cpuRunMs: f.cpuRunMs, gpuMs: f.gpuMs, gpuOldestMs: now - oldest };
}

function observeRun(f: NonNullable<typeof cpuFallback>, onCpu: boolean, t0: number, runMs: number): void {
  if (!onCpu) {
    f.gpuMs = recent(f.gpuMs, runMs);
    return;
  }
  // CPU runs take turns on this thread: a run's own time starts when it started or when the one before it ended.
  const end = t0 + runMs;
  f.cpuRunMs = recent(f.cpuRunMs, end - Math.max(t0, f.lastCpuDone));
  f.lastCpuDone = end;
}

function fromModelOutput(name: string, t: ModelOutput): Tensor {
  return { name, datatype: datatypeOf(t.type), shape: [...t.dims], data: t.data as Tensor['data'] };
}

function normalizeResult(
  r: HandlerResult,
  fn: string,
): { outputs: Tensor[]; parameters?: Record<string, string | number | boolean> } {
  const bad = () =>
    new TensorshareError(
      'ERR_INTERNAL',
      `handler of function '${fn}' must return {outputs: [...]}, a list of tensors, or a record of named tensors`,
    );
  if (r === null || typeof r !== 'object') throw bad();
  const one = (name: string, t: unknown): Tensor => {
    const x = t as Partial<Tensor> & Partial<ModelOutput> & { dtype?: string };
    if (!x || typeof x !== 'object' || x.data === undefined) throw bad();
    const datatype = x.datatype ?? datatypeOf(x.type ?? x.dtype ?? '');
    if (!isDatatype(datatype))
      throw new TensorshareError(
        'ERR_INTERNAL',
        `handler of function '${fn}' returned output '${name}' with unknown datatype ${JSON.stringify(datatype)}`,
      );
    const shape = x.shape ?? (x.dims ? [...x.dims] : undefined);
    if (!shape)
      throw new TensorshareError(
        'ERR_INTERNAL',
        `handler of function '${fn}' returned output '${name}' without a shape`,
      );
    return {
      name,
      datatype,
      shape,
      data: x.data as Tensor['data'],
      ...(x.parameters ? { parameters: x.parameters } : {}),
    };
  };
  if (Array.isArray(r)) return { outputs: r.map((t) => one(t.name, t)) };
  if (Array.isArray((r as { outputs?: unknown }).outputs)) {
    const rr = r as { outputs: Tensor[]; parameters?: Record<string, string | number | boolean> };
    return { outputs: rr.outputs.map((t) => one(t.name, t)), parameters: rr.parameters };
  }
  return { outputs: Object.entries(r).map(([name, t]) => one(name, t)) };
}

async function describe(m: DescribeMessage): Promise<void> {
  try {
    const mod = (await import(pathToFileURL(m.handlerFile).href)) as Partial<HandlerModule>;
    const md =
      typeof mod.metadata === 'function'
        ? await mod.metadata({ function: m.function, config: m.config, models: m.models })
        : mod.metadata;
    send({ type: 'described', metadata: md, hasHandle: typeof mod.handle === 'function' });
  } catch (e) {
    send({ type: 'fatal', error: toWireError(e) });
  }
  // No exit of our own: the parent kills this process after reading the answer
  // (an exit could reach it before the message does).
}

async function exit(): Promise<void> {
  try {
    if (ctx) await handler?.teardown?.(ctx);
    for (const o of opened) await o.release();
    const cpu = await cpuFallback?.opening?.catch(() => undefined);
    for (const o of cpu?.opened ?? []) await o.release().catch(() => {});
  } finally {
    process.exit(0);
  }
}

/**
 * The GPU a function's `device` names (undefined: one the daemon places it on), or false for CPU sessions; `auto`
 * is a GPU when the store's daemon runs an executor for any.
 */
function gpuOf(device: FunctionConfig['device'], store: string): number | undefined | false {
  if (device === 'auto') return executorDevices(defaultSocket({}, store)).length > 0 ? undefined : false;
  return typeof device === 'object' ? device.gpu : false;
}
