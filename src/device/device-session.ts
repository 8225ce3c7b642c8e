// A client's session on a model resident on a device: the object `open()`
// returns for `executionProviders: ['cuda']`. Its run() sends the inputs
// through shared memory to the device's executor, which runs them (batched
// with other clients' requests) and answers with the outputs' place in its
// own region. Each connection carries one request at a time; concurrent runs
// of one session use more connections. A connection that breaks (the
// executor crashed) fails only the requests on it, with UNAVAILABLE; the
// next run connects again, once the daemon has restarted the executor.
import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import type { Tensor } from 'onnxruntime-node';
import { TensorshareError, fromWireError } from '../errors.js';
import type { DevicePolicy } from '../sched/device-policy.js';
import type { PriorityClass } from '../sched/dispatcher.js';
import type { RunPlacement } from './device-lanes.js';
import { onFrames, sendFrame } from './framing.js';
import {
  executorDevices,
  type ExecutorTier,
  executorSocket,
  type ClientMessage,
  type ControlAction,
  type ExecutorReply,
  type ExecutorTiming,
  type ModelIo,
} from './protocol.js';
import { createAwake } from './awake.js';
import { bindMappings } from './mapping.js';
import { ortTensorClass, type OrtTensorClass } from '../ort-tensor.js';
import { hostTensor, typedView } from './tensors.js';
import {
  createRegion,
  openOutputRegion,
  regionFolder,
  type HostTensor,
  type OutputReader,
  type Region,
} from './transfer.js';

export interface DeviceSessionOptions {
  /** The daemon's socket; the executor of device N listens beside it. */
  daemonSocket: string;
  /** The device to open on; none: the daemon places the model (a replica it has, else best fit over its devices). */
  device?: number;
  /** 'cpu': the daemon's CPU executor (`cpuExecutor` setting) instead of a GPU's; `device` is then 0. */
  tier?: ExecutorTier;
  token?: string;
  /** How long to keep trying to reach an executor that is (re)starting. Default 20 s. */
  connectTimeoutMs?: number;
  /**
   * How long one request (open, run, close, control) may wait for the executor's answer; past it the request fails
   * with ERR_TIMEOUT and its connection closes (a hung or stopped executor never hangs its clients). Default 60 s,
   * enough for an open that loads a model of several GB.
   */
  requestTimeoutMs?: number;
  /** The class of this session's runs on the device: realtime (default) goes ahead of besteffort. */
  priority?: PriorityClass;
  /** Charged for this session's device time under the fair policy (default: the model). */
  tenant?: string;
  /** The function's own device policy for this session's runs (src/sched/lanes-scheduler.ts; default: the executor's). */
  policy?: DevicePolicy;
  /**
   * How run() hands out outputs: 'copy' (default) copies each into a buffer of its own; 'view' hands out views of
   * the executor's mapped segment, no copy: the connection they came from carries no run until every output of
   * that run is disposed (`tensor.dispose()`) or collected, and past 8 such connections outputs are copied.
   * Garbage collection comes late in a busy loop, so 'view' pays when outputs are disposed after use. With 'copy', a
   * disposed output's buffer is reused for a later run's output of the same size (see `SPARE_BYTES`).
   */
  outputs?: 'view' | 'copy';
  /**
   * How long run() keeps this process's event loop awake for the executor's answer (ms), so that the answer is read
   * as it arrives instead of after a wake-up (awake.ts; one busy core meanwhile). Default: 20 ms where the executor
   * stays awake between runs itself (a GPU executor with `gpuSpinMs` above 0) and this machine has at least 4 CPUs,
   * else 0: with the executor's two busy threads, a third on 2 CPUs took the core its session thread needed (a run
   * of 0.5 ms took 4.5 ms there). A run waits asleep anyway when the executor had other runs in flight as the
   * session's last run arrived (busy clients need the cores more than a wake-up).
   */
  awakeMs?: number;
}

/** Connections whose outputs are out as views, per session: past this, outputs are copied (bounded segments). */
const MAX_LENT = 8;

/**
 * Bytes of disposed outputs' buffers a session keeps for its next runs' copies (copy mode). Copying into fresh
 * memory costs a page fault per 4 KiB: BERT-base's batch-8 output (3 MB) took 0.6-1 ms into fresh buffers and 0.1 ms
 * into a reused one (measured here, mapping.ts's copyOut).
 */
const SPARE_BYTES = 64 * 2 ** 20;

const DEFAULT_REQUEST_TIMEOUT_MS = 60_000;

/** awakeMs's default where the executor stays awake itself: a GPU run of a few ms is read without a wake-up. */
const DEFAULT_AWAKE_MS = 20;
/** Fewer CPUs than this: no client stays awake by default (see awakeMs). */
const AWAKE_MIN_CPUS = 4;

// This thread's event loop, kept awake while answers are due (every session of the process shares it).
const awake = createAwake();

let mappingsDue = false;
/**
 * Copies cross with pread and pwrite until the mapping FFI is loaded (transfer.ts): loaded here, in the event loop's
 * next turn after this process's first answer, so a fresh process's first answer does not wait for it (10-15 ms)
 * and its later copies go through mappings. A process that cannot load it goes on with pread and pwrite.
 */
function bindMappingsSoon(): void {
  if (mappingsDue) return;
  mappingsDue = true;
  setImmediate(() => {
    try {
      bindMappings();
    } catch {
      // Copies keep to pread and pwrite; views report it with their code (mapFile).
    }
  });
}

export interface DeviceSession {
  readonly model: ModelIo;
  readonly device: number;
  readonly inputNames: readonly string[];
  readonly outputNames: readonly string[];
  /** How many requests the device run that served the last run() held. */
  readonly lastBatch: number;
  /**
   * Where the last run's time went (ms): the executor's stages (ExecutorTiming), this process's `writeMs` (inputs
   * into the segment) and `outMs` (outputs out of it, or viewed), and `totalMs` in all; `totalMs - executorMs -
   * writeMs - outMs` is the socket round trip.
   */
  readonly lastTiming: (ExecutorTiming & { writeMs: number; outMs: number; totalMs: number }) | undefined;
  /** Where the open's time went: reaching the executor (0 for a connection this process kept) and the admit. */
  readonly openMs: { connect: number; admit: number };
  /** The lane and timing of the device run that served the last run(). */
  readonly lastPlacement: RunPlacement | undefined;
  /** How long each run keeps this process's event loop awake for its answer (ms; DeviceSessionOptions.awakeMs). */
  readonly awakeMs: number;
  /** How many other runs the executor had in flight when the last run arrived; above 0, the next run waits asleep. */
  readonly lastOthers: number;
  /** Runs whose outputs were handed out as views of the mapped segment, and runs whose outputs were copied. */
  readonly outputStats: { views: number; copies: number };
  run(feeds: Record<string, Tensor>, fetches?: readonly string[]): Promise<Record<string, Tensor>>;
  release(): Promise<void>;
}

interface Connection {
  request(m: DistributiveOmit<ClientMessage, 'id'>): Promise<ExecutorReply & { ok: true }>;
  region: Region;
  /** The executor's output segment, mapped once its answer to hello arrives. */
  out: Promise<OutputReader>;
  /** How long the executor stays awake after an answer (its hello's awakeMs), once hello is answered. */
  executorAwakeMs(): number;
  /**
   * Views of the output segment are out: until the returned function is called, the connection must carry no run
   * (the executor would write those ranges again), and closing it leaves the segment mapped.
   */
  lend(): () => void;
  alive(): boolean;
  /** Whether an idle connection may let the process exit. */
  hold(held: boolean): void;
  close(): void;
}

// Idle connections of this process to each executor (by socket and token): a later session, of any model, takes
// one and only sends its open (one round trip) instead of connecting and setting up segments again.
const pooled = new Map<string, Connection[]>();
const MAX_POOLED = 8;

type DistributiveOmit<T, K extends PropertyKey> = T extends unknown ? Omit<T, K> : never;

function connectOnce(socketPath: string): Promise<net.Socket> {
  return new Promise((resolve, reject) => {
    const s = net.connect(socketPath);
    s.once('connect', () => {
      s.removeAllListeners('error');
      resolve(s);
    });
    s.once('error', reject);
  });
}

async function connect(o: DeviceSessionOptions, device: number): Promise<Connection> {
  const socketPath = executorSocket(o.daemonSocket, device, o.tier);
  const deadline = Date.now() + (o.connectTimeoutMs ?? 20_000);
  const graceEnd = Date.now() + 2000;
  let wait = 25;
  let socket: net.Socket;
  for (;;) {
    try {
      socket = await connectOnce(socketPath);
      break;
    } catch (e) {
      const code = (e as NodeJS.ErrnoException).code;
      // Refused: the executor is restarting (its socket file stays). Missing: it may be binding right now, or this
      // daemon has no such device; that is decided within a short grace.
      const retriable = code === 'ECONNREFUSED' || (code === 'ENOENT' && Date.now() < graceEnd);
      if (!retriable || Date.now() >= deadline)
        throw new TensorshareError(
          'ERR_UNAVAILABLE',
          o.tier === 'cpu'
            ? `no CPU executor at ${socketPath} (${code}): is the daemon running with one (cpuExecutor setting, --cpu-executor <budget>)?`
            : `no device executor for device ${device} at ${socketPath} (${code}): is the daemon running with this device (gpus setting)?`,
          { device, socket: socketPath },
          { cause: e },
        );
      await new Promise((r) => setTimeout(r, wait));
      wait = Math.min(1000, wait * 2);
    }
  }
  const pending = new Map<
    number,
    { resolve(r: ExecutorReply & { ok: true }): void; reject(e: Error): void; timer: NodeJS.Timeout }
  >();
  const requestTimeoutMs = o.requestTimeoutMs ?? DEFAULT_REQUEST_TIMEOUT_MS;
  let seq = 0;
  let closed = false;
  const gone = () => {
    if (closed) return;
    closed = true;
    const err = new TensorshareError(
      'ERR_UNAVAILABLE',
      `the executor of device ${device} closed the connection while a request was in flight (it is restarted; run again)`,
      { device },
    );
    for (const p of pending.values()) {
      clearTimeout(p.timer);
      p.reject(err);
    }
    pending.clear();
  };
  onFrames<ExecutorReply>(
    socket,
    (r) => {
      const p = pending.get(r.id);
      pending.delete(r.id);
      if (!p) return;
      clearTimeout(p.timer);
      if (r.ok) p.resolve(r);
      else p.reject(fromWireError(r.error));
    },
    () => socket.destroy(),
  );
  socket.on('error', () => {});
  socket.on('close', gone);
  const send: Connection['request'] = (m) =>
    new Promise((resolve, reject) => {
      if (closed) {
        reject(new TensorshareError('ERR_UNAVAILABLE', `the connection to device ${device}'s executor is closed`));
        return;
      }
      const id = ++seq;
      const timer = setTimeout(() => {
        pending.delete(id);
        reject(
          new TensorshareError(
            'ERR_TIMEOUT',
            `the executor of device ${device} did not answer ${m.op} within ${requestTimeoutMs} ms (hung or stopped); the connection is closed, the next request opens a new one`,
            { device, op: m.op, timeoutMs: requestTimeoutMs },
          ),
        );
        // Its answer may still come, on a connection whose state nobody knows any more.
        close();
      }, requestTimeoutMs);
      pending.set(id, { resolve, reject, timer });
      sendFrame(socket, { ...m, id });
    });
  // A folder of its own for the segment's name, gone with the name once the executor holds the segment open:
  // a client killed afterwards (SIGKILL included) leaves nothing in /dev/shm.
  const dir = regionFolder('tensorshare-client');
  const region = createRegion(dir, 'in');
  let out: OutputReader | undefined;
  let executorAwakeMs = 0;
  let lent = false;
  let unmapWhenReturned = false;
  const forgetName = () => {
    region.unlink();
    fs.rmSync(dir, { recursive: true, force: true });
  };
  const close = () => {
    socket.destroy();
    gone();
    forgetName();
    region.close();
    // Views of the segment may still be read: it is unmapped once they are gone.
    if (lent) unmapWhenReturned = true;
    else out?.close();
  };
  // Not awaited: the open that follows goes in the same flight, the executor reads them in order.
  const mapped = send({ op: 'hello', region: region.path, token: o.token }).then((hello) => {
    out = openOutputRegion(hello.region!);
    executorAwakeMs = hello.awakeMs ?? 0;
    forgetName();
    return out;
  });
  mapped.catch(() => close());
  // Any message after the open tells the executor this process has mapped its segment (it unlinks the name then).
  const request: Connection['request'] = async (m) => {
    if (m.op !== 'open') await mapped;
    return send(m);
  };
  return {
    request,
    region,
    out: mapped,
    executorAwakeMs: () => executorAwakeMs,
    lend() {
      lent = true;
      return () => {
        lent = false;
        if (unmapWhenReturned) out?.close();
      };
    },
    alive: () => !closed,
    hold: (held) => (held ? socket.ref() : socket.unref()),
    close,
  };
}

// Outputs lent as views of a connection's segment: once each is collected by V8 or disposed, the connection may
// carry runs again. The held value must not reach the tensor or its buffer, or it would keep them alive.
const collected = new FinalizationRegistry<() => void>((drop) => drop());

function dropper(count: { left: number; end(): void }): () => void {
  let dropped = false;
  return () => {
    if (dropped) return;
    dropped = true;
    if (--count.left === 0) count.end();
  };
}

/** onnxruntime-node tensors over host bytes. */
function toTensors(TensorClass: OrtTensorClass, hosts: readonly HostTensor[]): Record<string, Tensor> {
  const result: Record<string, Tensor> = {};
  for (const t of hosts)
    result[t.name] = new TensorClass(t.type as 'float32', typedView(t.type, t.bytes) as Float32Array, t.dims);
  return result;
}

/**
 * Tensors over views of a mapped segment; `end` runs once every one of them is gone: collected, or given back
 * with `dispose()` (onnxruntime's way of saying a tensor's data is done with).
 */
function lentTensors(
  TensorClass: OrtTensorClass,
  hosts: readonly HostTensor[],
  end: () => void,
): Record<string, Tensor> {
  const result = toTensors(TensorClass, hosts);
  const count = { left: hosts.filter((t) => t.bytes.byteLength > 0).length, end };
  for (const t of hosts) {
    if (!t.bytes.byteLength) continue;
    const drop = dropper(count);
    const token = {};
    collected.register(t.bytes.buffer, drop, token);
    const tensor = result[t.name]!;
    const dispose = tensor.dispose.bind(tensor);
    tensor.dispose = () => {
      dispose();
      collected.unregister(token);
      drop();
    };
  }
  return result;
}

/** Buffers of disposed outputs by size, reused for the next copies of that size; at most `SPARE_BYTES` kept. */
function createSpares() {
  const bySize = new Map<number, Uint8Array[]>();
  let kept = 0;
  return {
    take(bytes: number): Uint8Array {
      const b = bySize.get(bytes)?.pop();
      if (!b) return new Uint8Array(Buffer.allocUnsafeSlow(bytes).buffer, 0, bytes);
      kept -= bytes;
      return b;
    },
    give(b: Uint8Array): void {
      if (kept + b.byteLength > SPARE_BYTES) return;
      kept += b.byteLength;
      const list = bySize.get(b.byteLength) ?? [];
      list.push(b);
      bySize.set(b.byteLength, list);
    },
    clear(): void {
      bySize.clear();
      kept = 0;
    },
  };
}

/** Tensors over copied outputs whose buffers go back to `spares` when disposed (`tensor.dispose()`). */
function recycledTensors(
  TensorClass: OrtTensorClass,
  hosts: readonly HostTensor[],
  spares: ReturnType<typeof createSpares>,
): Record<string, Tensor> {
  const result = toTensors(TensorClass, hosts);
  for (const t of hosts) {
    if (!t.bytes.byteLength) continue;
    const tensor = result[t.name]!;
    const dispose = tensor.dispose.bind(tensor);
    let given = false;
    tensor.dispose = () => {
      dispose();
      if (given) return;
      given = true;
      spares.give(t.bytes);
    };
  }
  return result;
}

const poolKeyOf = (o: DeviceSessionOptions, device: number) =>
  `${executorSocket(o.daemonSocket, device, o.tier)}\0${o.token ?? ''}`;

/** A kept connection of this process to the device's executor, or a new one. */
async function takeConnection(o: DeviceSessionOptions, device: number): Promise<Connection> {
  const spare = pooled.get(poolKeyOf(o, device)) ?? [];
  let c = spare.pop();
  while (c && !c.alive()) {
    c.close();
    c = spare.pop();
  }
  return c ?? connect(o, device);
}

/** A connection done with goes back to the process's pool (idle, not holding the process alive), or closes. */
function poolConnection(o: DeviceSessionOptions, device: number, c: Connection): void {
  const key = poolKeyOf(o, device);
  const spare = pooled.get(key) ?? [];
  if (!c.alive() || spare.length >= MAX_POOLED) {
    c.close();
    return;
  }
  c.hold(false);
  spare.push(c);
  pooled.set(key, spare);
}

/**
 * Where to open a model when the caller named no device: with one executor, its device; with several, the daemon
 * decides (asked through any executor, on a kept connection: one round trip): a device that holds the model already
 * (the least busy replica), else the best fit of its bytes beside what each device holds.
 */
export async function placeModel(ref: string, o: DeviceSessionOptions): Promise<number> {
  const found = executorDevices(o.daemonSocket);
  if (found.length === 0)
    throw new TensorshareError(
      'ERR_UNAVAILABLE',
      `no device executor beside ${o.daemonSocket}: is the daemon running with devices (gpus setting)?`,
      { socket: o.daemonSocket },
    );
  if (found.length === 1) return found[0]!;
  let last: unknown;
  for (const via of found) {
    let c: Connection | undefined;
    try {
      c = await takeConnection({ ...o, connectTimeoutMs: Math.min(o.connectTimeoutMs ?? 2000, 2000) }, via);
      c.hold(true);
      const r = await c.request({ op: 'control', action: 'place', model: ref });
      poolConnection(o, via, c);
      if (typeof r.device !== 'number') throw new TensorshareError('ERR_INTERNAL', 'the daemon placed no device');
      return r.device;
    } catch (e) {
      c?.close();
      // Another executor may answer when this one is restarting; the daemon's own refusals are final.
      if ((e as { code?: string }).code !== 'ERR_UNAVAILABLE') throw e;
      last = e;
    }
  }
  throw last;
}

/** Opens `ref` on the device's executor: the daemon makes it resident there (once for every client). */
export async function openDeviceSession(ref: string, o: DeviceSessionOptions): Promise<DeviceSession> {
  if (o.awakeMs !== undefined && !(Number.isFinite(o.awakeMs) && o.awakeMs >= 0))
    throw new TensorshareError(
      'ERR_INVALID_ARGUMENT',
      `awakeMs must be a number of milliseconds, 0 or more, got ${JSON.stringify(o.awakeMs)}`,
    );
  // Only the Tensor class: the sessions are the executor's, so this process never loads onnxruntime-node's binding.
  const TensorClass = ortTensorClass();
  // Outputs as views map the executor's segment: koffi loads now, not in the first run (copies need no mapping).
  if (o.outputs === 'view') bindMappings();
  const device = o.tier === 'cpu' ? 0 : (o.device ?? (await placeModel(ref, o)));
  const idle: Connection[] = [];
  const all = new Set<Connection>();
  let released = false;
  let lastBatch = 0;
  let lastTiming: DeviceSession['lastTiming'];

  const openMs = { connect: 0, admit: 0 };
  let lastPlacement: RunPlacement | undefined;
  const outputStats = { views: 0, copies: 0 };
  let lentNow = 0;
  const spares = createSpares();

  async function openConnection(): Promise<{ c: Connection; model: ModelIo }> {
    const t0 = performance.now();
    const c = await takeConnection(o, device);
    c.hold(true);
    const t1 = performance.now();
    try {
      const [hello, r] = await Promise.allSettled([c.out, c.request({ op: 'open', model: ref })]);
      // A failed hello explains a failed open better than the open's own error.
      if (hello.status === 'rejected') throw hello.reason;
      if (r.status === 'rejected') throw r.reason;
      all.add(c);
      openMs.connect = t1 - t0;
      openMs.admit = performance.now() - t1;
      return { c, model: r.value.model! };
    } catch (e) {
      c.close();
      throw e;
    }
  }

  const first = await openConnection();
  const model = first.model;
  idle.push(first.c);
  // The executor had other runs in flight when the last run arrived: the next one sleeps while it waits (others).
  let lastOthers = 0;
  const awakeMs =
    o.awakeMs ?? (first.c.executorAwakeMs() > 0 && os.availableParallelism() >= AWAKE_MIN_CPUS ? DEFAULT_AWAKE_MS : 0);

  /** A connection this session is done with goes back to the process's pool, or closes. */
  function giveBack(c: Connection): void {
    all.delete(c);
    poolConnection(o, device, c);
  }

  async function take(): Promise<Connection> {
    for (let c = idle.pop(); c; c = idle.pop()) {
      if (c.alive()) return c;
      all.delete(c);
      c.close();
    }
    return (await openConnection()).c;
  }

  const session: DeviceSession = {
    model,
    device,
    inputNames: model.inputs.map((s) => s.name),
    outputNames: model.outputs.map((s) => s.name),
    get lastBatch() {
      return lastBatch;
    },
    get lastTiming() {
      return lastTiming;
    },
    openMs,
    get lastPlacement() {
      return lastPlacement;
    },
    awakeMs,
    get lastOthers() {
      return lastOthers;
    },
    outputStats,
    async run(feeds, fetches) {
      if (released) throw new TensorshareError('ERR_PRECONDITION', `session of ${model.model} was released`);
      const host: HostTensor[] = Object.entries(feeds).map(([name, t]) => hostTensor(name, t));
      const t0 = performance.now();
      const c = await take();
      let result: Record<string, Tensor>;
      let lent = false;
      try {
        const inputs = c.region.write(host);
        const t1 = performance.now();
        const endHold = awake.hold(lastOthers > 0 ? 0 : awakeMs);
        const r = await c
          .request({
            op: 'run',
            key: model.key,
            inputs,
            outputs: fetches ? [...fetches] : undefined,
            priority: o.priority,
            tenant: o.tenant,
            ...(o.policy ? { policy: o.policy } : {}),
          })
          .finally(endHold);
        const wire = r.outputs ?? [];
        const reader = await c.out;
        const t2 = performance.now();
        if (o.outputs === 'view' && lentNow < MAX_LENT && wire.some((t) => t.length > 0)) {
          // No copy: the caller reads the executor's bytes where ORT wrote them, and this connection waits.
          // Nothing the callback below reaches may hold the views (it is held until they are collected).
          const { tensors: views, done } = reader.view(wire);
          const giveBackConnection = c.lend();
          lentNow++;
          lent = true;
          outputStats.views++;
          result = lentTensors(TensorClass, views, () => {
            done();
            lentNow--;
            giveBackConnection();
            if (c.alive() && !released) idle.push(c);
            else if (released && c.alive()) giveBack(c);
            else {
              all.delete(c);
              c.close();
            }
          });
        } else {
          outputStats.copies++;
          result = recycledTensors(TensorClass, reader.read(wire, spares.take), spares);
          bindMappingsSoon();
        }
        lastBatch = r.batch ?? 1;
        lastOthers = r.others ?? 0;
        const t3 = performance.now();
        lastTiming = r.timing && { ...r.timing, writeMs: t1 - t0, outMs: t3 - t2, totalMs: t3 - t0 };
        lastPlacement = r.placement;
      } finally {
        if (lent) {
          // Back to idle when the outputs are gone (lentTensors).
        } else if (c.alive() && !released) idle.push(c);
        else {
          all.delete(c);
          c.close();
        }
      }
      return result;
    },
    async release() {
      if (released) return;
      released = true;
      spares.clear();
      // The executor tells the daemon before it answers, so the next open anywhere sees this client gone.
      // Connections in the middle of a run close when it ends (run's finally); idle ones go back to the pool.
      const idleNow = new Set(idle);
      await Promise.all(
        [...all].map((c) =>
          (c.alive() ? c.request({ op: 'close', key: model.key }) : Promise.reject(new Error('closed'))).then(
            () => (idleNow.has(c) ? giveBack(c) : undefined),
            () => {
              all.delete(c);
              c.close();
            },
          ),
        ),
      );
      all.clear();
      idle.length = 0;
    },
  };
  return session;
}

/** Model control on a device's executor (pin, unpin, evict); evict answers the device bytes it freed. */
export async function deviceControl(
  action: ControlAction,
  ref: string,
  o: DeviceSessionOptions & { to?: number },
): Promise<{ freedBytes?: number; device?: number; unloaded?: boolean }> {
  const c = await connect(o, o.device ?? 0);
  try {
    const r = await c.request({ op: 'control', action, model: ref, to: o.to });
    return { freedBytes: r.freedBytes, device: r.device, unloaded: r.unloaded };
  } finally {
    c.close();
  }
}

export { wantsDevice } from './wants-device.js';
