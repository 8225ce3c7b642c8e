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
import type { InferenceSession, Tensor } from 'onnxruntime-node';
import { TensorshareError, isErrorCode } from '../errors.js';
import type { PriorityClass } from '../sched/dispatcher.js';
import type { RunPlacement } from './device-lanes.js';
import { onFrames, sendFrame } from './framing.js';
import {
  executorSocket,
  type ClientMessage,
  type ControlAction,
  type ExecutorReply,
  type ModelIo,
} from './protocol.js';
import { hostTensor, typedView } from './tensors.js';
import { createRegion, openRegion, regionFolder, type HostTensor, type Region, type RegionReader } from './transfer.js';

type Ort = typeof import('onnxruntime-node');

export interface DeviceSessionOptions {
  /** The daemon's socket; the executor of device N listens beside it. */
  daemonSocket: string;
  device?: number;
  token?: string;
  /** How long to keep trying to reach an executor that is (re)starting. Default 20 s. */
  connectTimeoutMs?: number;
  /** The class of this session's runs on the device: realtime (default) goes ahead of besteffort. */
  priority?: PriorityClass;
  /** Charged for this session's device time under the fair policy (default: the model). */
  tenant?: string;
}

export interface DeviceSession {
  readonly model: ModelIo;
  readonly device: number;
  readonly inputNames: readonly string[];
  readonly outputNames: readonly string[];
  /** How many requests the device run that served the last run() held. */
  readonly lastBatch: number;
  /** The lane and timing of the device run that served the last run(). */
  readonly lastPlacement: RunPlacement | undefined;
  run(feeds: Record<string, Tensor>, fetches?: readonly string[]): Promise<Record<string, Tensor>>;
  release(): Promise<void>;
}

interface Connection {
  request(m: DistributiveOmit<ClientMessage, 'id'>): Promise<ExecutorReply & { ok: true }>;
  region: Region;
  out: RegionReader;
  alive(): boolean;
  close(): void;
}

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
  const socketPath = executorSocket(o.daemonSocket, device);
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
          `no device executor for device ${device} at ${socketPath} (${code}): is the daemon running with this device (gpus setting)?`,
          { device, socket: socketPath },
          { cause: e },
        );
      await new Promise((r) => setTimeout(r, wait));
      wait = Math.min(1000, wait * 2);
    }
  }
  const pending = new Map<number, { resolve(r: ExecutorReply & { ok: true }): void; reject(e: Error): void }>();
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
    for (const p of pending.values()) p.reject(err);
    pending.clear();
  };
  onFrames<ExecutorReply>(
    socket,
    (r) => {
      const p = pending.get(r.id);
      pending.delete(r.id);
      if (!p) return;
      if (r.ok) p.resolve(r);
      else
        p.reject(
          new TensorshareError(
            isErrorCode(r.error.code) ? r.error.code : 'ERR_INTERNAL',
            r.error.message,
            r.error.details,
          ),
        );
    },
    () => socket.destroy(),
  );
  socket.on('error', () => {});
  socket.on('close', gone);
  const request: Connection['request'] = (m) =>
    new Promise((resolve, reject) => {
      if (closed) {
        reject(new TensorshareError('ERR_UNAVAILABLE', `the connection to device ${device}'s executor is closed`));
        return;
      }
      const id = ++seq;
      pending.set(id, { resolve, reject });
      sendFrame(socket, { ...m, id });
    });
  // A folder of its own for the segment's name, gone with the name once the executor holds the segment open:
  // a client killed afterwards (SIGKILL included) leaves nothing in /dev/shm.
  const dir = regionFolder('tensorshare-client');
  const region = createRegion(dir, 'in');
  let out: RegionReader | undefined;
  const forgetName = () => {
    region.unlink();
    fs.rmSync(dir, { recursive: true, force: true });
  };
  const close = () => {
    socket.destroy();
    gone();
    forgetName();
    region.close();
    out?.close();
  };
  try {
    const hello = await request({ op: 'hello', region: region.path, token: o.token });
    out = openRegion(hello.region!);
    forgetName();
  } catch (e) {
    close();
    throw e;
  }
  return { request, region, out, alive: () => !closed, close };
}

/** Opens `ref` on the device's executor: the daemon makes it resident there (once for every client). */
export async function openDeviceSession(ref: string, o: DeviceSessionOptions): Promise<DeviceSession> {
  const ort = (await import('onnxruntime-node')).default as unknown as Ort;
  const device = o.device ?? 0;
  const idle: Connection[] = [];
  const all = new Set<Connection>();
  let released = false;
  let lastBatch = 0;
  let lastPlacement: RunPlacement | undefined;

  async function openConnection(): Promise<{ c: Connection; model: ModelIo }> {
    const c = await connect(o, device);
    try {
      const r = await c.request({ op: 'open', model: ref });
      all.add(c);
      return { c, model: r.model! };
    } catch (e) {
      c.close();
      throw e;
    }
  }

  const first = await openConnection();
  const model = first.model;
  idle.push(first.c);

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
    get lastPlacement() {
      return lastPlacement;
    },
    async run(feeds, fetches) {
      if (released) throw new TensorshareError('ERR_PRECONDITION', `session of ${model.model} was released`);
      const host: HostTensor[] = Object.entries(feeds).map(([name, t]) => hostTensor(name, t));
      const c = await take();
      let outputs: HostTensor[];
      try {
        const r = await c.request({
          op: 'run',
          key: model.key,
          inputs: c.region.write(host),
          outputs: fetches ? [...fetches] : undefined,
          priority: o.priority,
          tenant: o.tenant,
        });
        outputs = c.out.read(r.outputs ?? []);
        lastBatch = r.batch ?? 1;
        lastPlacement = r.placement;
      } finally {
        if (c.alive() && !released) idle.push(c);
        else {
          all.delete(c);
          c.close();
        }
      }
      const result: Record<string, Tensor> = {};
      for (const t of outputs)
        result[t.name] = new ort.Tensor(t.type as 'float32', typedView(t.type, t.bytes) as Float32Array, t.dims);
      return result;
    },
    async release() {
      if (released) return;
      released = true;
      // The executor tells the daemon before it answers, so the next open anywhere sees this client gone.
      await Promise.all(
        [...all].map((c) =>
          (c.alive() ? c.request({ op: 'close', key: model.key }).catch(() => {}) : Promise.resolve()).then(() =>
            c.close(),
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
  o: DeviceSessionOptions,
): Promise<{ freedBytes?: number }> {
  const c = await connect(o, o.device ?? 0);
  try {
    const r = await c.request({ op: 'control', action, model: ref });
    return { freedBytes: r.freedBytes };
  } finally {
    c.close();
  }
}

/** Whether session options ask for a GPU execution provider (the device path). */
export function wantsDevice(options: InferenceSession.SessionOptions | undefined): { device: number } | undefined {
  for (const ep of options?.executionProviders ?? []) {
    const name = typeof ep === 'string' ? ep : ep.name;
    if (name === 'cuda') {
      const id = typeof ep === 'object' ? (ep as { deviceId?: number }).deviceId : undefined;
      return { device: id ?? 0 };
    }
  }
  return undefined;
}
