// Body of a device executor process (started by the daemon through
// executor-process.ts): one per device. It holds an ONNX Runtime session per
// model resident on its device and runs inference for every client that
// connects to its socket; tensors arrive and leave through shared memory
// (transfer.ts). The daemon decides what is resident: it sends load and
// unload, and answers the executor's admit when a client opens a model.
import fs from 'node:fs';
import net from 'node:net';
import { TensorshareError, fromWireError, toWireError } from '../errors.js';
import { onFrames, sendFrame, sendJsonLine } from './framing.js';
import { placeThreads } from './cpu-affinity.js';
import { loadNvml, openDevice, type DeviceMemory } from './memory.js';
import type {
  ClientMessage,
  DaemonToExecutor,
  DeviceInfo,
  ExecutorInit,
  ExecutorReply,
  ExecutorToDaemon,
  LoadRequest,
  ModelIo,
} from './protocol.js';
import { parseDevicePolicy } from '../sched/device-policy.js';
import { createAwake } from './awake.js';
import { createDeviceLanes } from './device-lanes.js';
import { inThreadSessions, workerSessions } from './ort-session.js';
import { loadResident, type ResidentModel } from './resident-model.js';
import { createRegion, openRegion, type Region, type RegionReader } from './transfer.js';
import { quietOrtTelemetry } from '../ort-telemetry.js';

type Ort = typeof import('onnxruntime-node');

const STATS_INTERVAL_MS = 1000;
/** gpuSpinMs's default on a GPU: a session thread polls this long for its next run after an answer (session-worker.ts). */
const DEFAULT_SPIN_MS = 2;
/**
 * With spinning on, the executor's event loop stays awake while a run is in flight, for at most this long (awake.ts):
 * the session thread's answer is then read without a wake-up. A longer run pays one wake-up, a small part of it.
 */
const RUN_AWAKE_MS = 50;

const toDaemon = (m: ExecutorToDaemon) => process.send?.(m);

interface Admitted {
  io: ModelIo;
  json: string;
  wasResident: boolean;
}

interface Connection {
  socket: net.Socket;
  reader?: RegionReader;
  out?: Region;
  token?: string;
  /** Models this connection opened, with how many times. */
  keys: Map<string, number>;
  running: boolean;
  /** The client left while a run was writing into its region: the region closes when the run ends. */
  gone: boolean;
  /** The model the request being answered used, told to the daemon after the answer is sent. */
  used?: string;
}

/** Closes a connection's segments; a run still writing outputs into the mapped region keeps it until it ends. */
function closeRegions(c: Connection): void {
  if (c.running) return;
  c.reader?.close();
  c.out?.close();
}

async function main(init: ExecutorInit): Promise<void> {
  const ort = (await import('onnxruntime-node')).default as unknown as Ort;
  const device: DeviceMemory = openDevice(init.device);
  // Before any session worker, ORT or CUDA thread exists: they inherit the mask. A fake device or the host has no PCI address.
  const cpus =
    init.device.kind !== 'nvml' && (init.cpus ?? 'auto') === 'auto'
      ? []
      : placeThreads(
          init.cpus ?? 'auto',
          init.device.kind !== 'nvml' ? undefined : loadNvml().pciBusId(init.device.index),
          (line) => process.stderr.write(`tensorshare device executor ${init.device.index}: ${line}\n`),
        );
  const models = new Map<string, ResidentModel>();
  const loading = new Map<string, Promise<ResidentModel>>();
  const admits = new Map<number, { resolve(m: Admitted): void; reject(e: Error): void }>();
  // Each model's inputs, outputs and manifest as the daemon sent them once, serialized once for every open's answer.
  const ios = new Map<string, { io: ModelIo; json: string }>();
  const controls = new Map<
    number,
    { resolve(r: { freedBytes?: number; device?: number; unloaded?: boolean }): void; reject(e: Error): void }
  >();
  const batchSizes: Record<string, number> = {};
  let admitSeq = 0;
  let loads = 0;
  let runsInFlight = 0;

  const info = (): DeviceInfo => ({
    index: device.index,
    kind: device.kind,
    name: device.name,
    driver: device.driver,
    totalBytes: device.total(),
    usedBytes: device.used(),
    utilization: device.utilization(),
    provider: init.provider,
    ...(cpus.length ? { cpus } : {}),
    ...(intraOpThreads > 1 ? { intraOpThreads } : {}),
  });
  const intraOpThreads = init.intraOpThreads ?? 1;
  const spinMs = init.spinMs ?? (init.provider === 'cuda' ? DEFAULT_SPIN_MS : 0);
  // The event loop stays awake while runs are in flight and spinMs after each answer: a client's next request and a
  // session thread's answer are then read as they arrive, not after this thread has been woken.
  const awake = createAwake();
  const budget = init.laneBudget;
  const policy = init.policy ?? 'pack';
  const lanes = createDeviceLanes({
    capacity: !budget
      ? device.total()
      : 'bytes' in budget
        ? budget.bytes
        : Math.floor(device.total() * budget.fraction),
    policy,
    maxBatchRows: init.maxBatchSize,
    weights: init.weights,
  });
  const ctx = {
    ort,
    device,
    provider: init.provider,
    maxBatchSize: init.maxBatchSize,
    intraOpThreads,
    lanes,
    // A worker thread per session: runs of models in different lanes are on the device at once. Under fifo the
    // device runs one at a time anyway, so sessions run on this thread: no hand-off to and from a worker per run,
    // at the price of this thread being busy while a session loads or runs (requests wait in the socket meanwhile).
    openSession: policy === 'fifo' ? inThreadSessions(ort) : workerSessions(spinMs),
    onBatch: (n: number) => {
      batchSizes[n] = (batchSizes[n] ?? 0) + 1;
    },
  };

  const residentNames = () => [...models.values()].map((r) => r.model);

  function load(req: LoadRequest): Promise<ResidentModel> {
    const have = models.get(req.key);
    if (have) return Promise.resolve(have);
    let p = loading.get(req.key);
    if (!p) {
      p = loadResident(ctx, req).then((m) => {
        models.set(req.key, m);
        loads++;
        return m;
      });
      p.finally(() => loading.delete(req.key)).catch(() => {});
      loading.set(req.key, p);
    }
    return p;
  }

  process.on('message', (m: DaemonToExecutor) => {
    if (m.kind === 'load')
      load(m).then(
        (r) => toDaemon({ kind: 'loaded', id: m.id, ok: true, measured: r.measured }),
        (e) => toDaemon({ kind: 'loaded', id: m.id, ok: false, error: toWireError(e) }),
      );
    else if (m.kind === 'unload') {
      const r = models.get(m.key);
      models.delete(m.key);
      const before = device.used();
      (r ? r.release() : Promise.resolve()).then(
        () => toDaemon({ kind: 'unloaded', id: m.id, ok: true, freedBytes: Math.max(0, before - device.used()) }),
        (e) => toDaemon({ kind: 'unloaded', id: m.id, ok: false, error: toWireError(e) }),
      );
    } else if (m.kind === 'controlled') {
      const w = controls.get(m.id);
      controls.delete(m.id);
      if (m.ok) w?.resolve({ freedBytes: m.freedBytes, device: m.device, unloaded: m.unloaded });
      else w?.reject(fromWireError(m.error));
    } else if (m.kind === 'admitted') {
      const w = admits.get(m.id);
      admits.delete(m.id);
      if (!m.ok) w?.reject(fromWireError(m.error));
      else {
        if (m.io) ios.set(m.key, { io: m.io, json: JSON.stringify({ ...m.io, wasResident: undefined }) });
        const known = ios.get(m.key);
        if (known) w?.resolve({ ...known, wasResident: m.wasResident });
        else
          w?.reject(
            new TensorshareError('ERR_INTERNAL', `the daemon admitted ${m.key} without its inputs and outputs`),
          );
      }
    }
  });
  // The daemon owns this process: when it goes, so does the executor (and the device memory it holds).
  process.on('disconnect', () => process.exit(0));

  function admit(model: string, token: string | undefined): Promise<Admitted> {
    const id = ++admitSeq;
    return new Promise((resolve, reject) => {
      admits.set(id, { resolve, reject });
      toDaemon({ kind: 'admit', id, model, token });
    });
  }

  /** Answers a message: a reply object, or a line already serialized. */
  async function handle(c: Connection, m: ClientMessage): Promise<ExecutorReply | string> {
    if (m.op === 'hello') {
      if (c.reader) throw new TensorshareError('ERR_PRECONDITION', 'hello was already sent on this connection');
      c.reader = openRegion(m.region);
      c.out = createRegion(init.regionDir, 'out');
      c.token = m.token;
      return { id: m.id, ok: true, region: c.out.path, awakeMs: spinMs };
    }
    if (m.op === 'load')
      return { id: m.id, ok: true, load: { ...lanes.realtimeLoad(), device: device.index, models: residentNames() } };
    if (!c.reader || !c.out) throw new TensorshareError('ERR_PRECONDITION', 'send hello first');
    // A client sends its first open with hello, in one flight, and anything else only once it has mapped the
    // output segment: then its name can go.
    if (m.op !== 'open') c.out.unlink();
    if (m.op === 'open') {
      const a = await admit(m.model, c.token);
      const key = a.io.key;
      if (c.socket.destroyed) {
        toDaemon({ kind: 'release', key });
        throw new TensorshareError('ERR_UNAVAILABLE', 'the client left');
      }
      c.keys.set(key, (c.keys.get(key) ?? 0) + 1);
      // {"id":..,"ok":true,"model":{...io, "wasResident":..}} without serializing the manifest again.
      return `{"id":${m.id},"ok":true,"model":${a.json.slice(0, -1)},"wasResident":${a.wasResident}}}`;
    }
    if (m.op === 'control') {
      const id = ++admitSeq;
      const r = await new Promise<{ freedBytes?: number; device?: number; unloaded?: boolean }>((resolve, reject) => {
        controls.set(id, { resolve, reject });
        toDaemon({ kind: 'control', id, action: m.action, model: m.model, token: c.token, to: m.to });
      });
      return { id: m.id, ok: true, ...r };
    }
    if (m.op === 'close') {
      const n = c.keys.get(m.key) ?? 0;
      if (n > 0) {
        if (n === 1) c.keys.delete(m.key);
        else c.keys.set(m.key, n - 1);
        toDaemon({ kind: 'release', key: m.key });
      }
      return { id: m.id, ok: true };
    }
    if (!c.keys.has(m.key))
      throw new TensorshareError('ERR_PRECONDITION', `model '${m.key}' is not open on this connection`);
    // A model the daemon is reloading (after a restart of this executor) is waited for.
    const model = models.get(m.key) ?? (await loading.get(m.key));
    if (!model)
      throw new TensorshareError('ERR_UNAVAILABLE', `model '${m.key}' is not resident on this device; open it again`);
    if (c.running) throw new TensorshareError('ERR_PRECONDITION', 'one request at a time per connection');
    if (m.priority !== undefined && m.priority !== 'realtime' && m.priority !== 'besteffort')
      throw new TensorshareError(
        'ERR_INVALID_ARGUMENT',
        `priority must be 'realtime' or 'besteffort', got ${JSON.stringify(m.priority)}`,
      );
    if (m.tenant !== undefined && (typeof m.tenant !== 'string' || m.tenant === ''))
      throw new TensorshareError('ERR_INVALID_ARGUMENT', 'tenant must be a non-empty string');
    const policy = m.policy === undefined ? undefined : parseDevicePolicy(m.policy, "a run's device policy");
    c.running = true;
    const others = runsInFlight++;
    const received = performance.now();
    const endHold = spinMs > 0 ? awake.hold(RUN_AWAKE_MS) : undefined;
    try {
      const out = c.out;
      // The client read the previous answer before it sent this request: its ranges are free again.
      out.reset();
      const inputs = c.reader.read(m.inputs);
      const readMs = performance.now() - received;
      // Told to the daemon (recency for eviction) once the answer is on its way, not before the run.
      c.used = m.key;
      const r = await model.run(inputs, m.outputs, {
        priority: m.priority,
        tenant: m.tenant,
        policy,
        // Outputs in place: ranges of this connection's region, seen by the session's thread at their address.
        place: (bytes) => {
          const view = out.alloc(bytes);
          return { bytes: view, address: bytes ? out.addressOf(view) : 0 };
        },
      });
      const runMs = r.placement ? r.placement.endedAt - r.placement.startedAt : 0;
      const outputs = out.place(r.outputs);
      return {
        id: m.id,
        ok: true,
        outputs,
        batch: r.batch,
        others,
        placement: r.placement,
        timing: {
          executorMs: performance.now() - received,
          readMs,
          queuedMs: r.placement?.queuedMs ?? 0,
          runMs,
          ortMs: r.ortMs,
        },
      };
    } finally {
      runsInFlight--;
      c.running = false;
      if (c.gone) closeRegions(c);
      if (endHold) {
        endHold();
        awake.linger(spinMs);
      }
    }
  }

  fs.rmSync(init.socket, { force: true });
  const server = net.createServer((socket) => {
    const c: Connection = { socket, keys: new Map(), running: false, gone: false };
    onFrames<ClientMessage>(
      socket,
      (m) => {
        handle(c, m)
          .then(
            (reply) => (typeof reply === 'string' ? sendJsonLine(socket, reply) : sendFrame(socket, reply)),
            (e) => sendFrame(socket, { id: m.id, ok: false, error: toWireError(e) } satisfies ExecutorReply),
          )
          .finally(() => {
            if (c.used === undefined) return;
            toDaemon({ kind: 'used', key: c.used });
            c.used = undefined;
          });
      },
      () => socket.destroy(),
    );
    socket.on('error', () => {});
    socket.on('close', () => {
      for (const [key, n] of c.keys) for (let i = 0; i < n; i++) toDaemon({ kind: 'release', key });
      c.keys.clear();
      c.gone = true;
      closeRegions(c);
    });
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(init.socket, () => resolve());
  });
  fs.chmodSync(init.socket, init.socketMode);
  if (init.socketGroup !== undefined) fs.chownSync(init.socket, -1, init.socketGroup);
  setInterval(() => {
    const queueDepth: Record<string, number> = {};
    for (const [k, m] of models) queueDepth[k] = m.depth();
    toDaemon({
      kind: 'stats',
      stats: { device: info(), queueDepth, batchSizes: { ...batchSizes }, loads, lanes: lanes.snapshot() },
    });
  }, STATS_INTERVAL_MS).unref();
  toDaemon({ kind: 'ready', device: info() });
}

quietOrtTelemetry();
process.once('message', (m: DaemonToExecutor) => {
  if (m.kind !== 'init') return;
  main(m).catch((e) => {
    process.stderr.write(`tensorshare device executor: ${(e as Error)?.stack ?? e}\n`);
    process.exit(1);
  });
});
