// The daemon's side of one device executor process (executor-child.ts):
// starts it, sends it work over IPC and routes what it says back. The caller
// (src/daemon/device-tier.ts) supervises: on exit, every load or unload in
// flight fails with UNAVAILABLE and the caller decides to restart.
import { fork } from 'node:child_process';
import { TensorshareError, fromWireError } from '../errors.js';
import type {
  ControlAction,
  DaemonToExecutor,
  DeviceInfo,
  ExecutorInit,
  ExecutorStats,
  ExecutorToDaemon,
  LoadRequest,
  Measured,
  ModelIo,
  WireError,
} from './protocol.js';

const CHILD = new URL('./executor-child.js', import.meta.url);

/**
 * glibc settings of a GPU executor: blocks up to 32 MiB come from the heap, and up to 256 MiB of freed heap stay
 * mapped. Every run allocates and frees buffers of its outputs' size (onnxruntime-node copies each output into a
 * new buffer, preallocated ones too); by default glibc maps each such block afresh and unmaps it when freed, so
 * every run faults its pages in again (a 3 MB output: 2.3-6 ms per run by default, 0.5 ms so, measured on this
 * machine's CPU provider). A variable the daemon's own environment sets wins.
 */
export const EXECUTOR_MALLOC_ENV: Readonly<Record<string, string>> = Object.freeze({
  MALLOC_MMAP_THRESHOLD_: String(32 * 2 ** 20),
  MALLOC_TRIM_THRESHOLD_: String(256 * 2 ** 20),
});
const READY_TIMEOUT_MS = 60_000;

export interface ExecutorEvents {
  admit(id: number, model: string, token: string | undefined): void;
  control(id: number, action: ControlAction, model: string, token: string | undefined, to?: number): void;
  release(key: string): void;
  used(key: string): void;
  stats(s: ExecutorStats): void;
  exit(how: string): void;
}

export interface ExecutorHandle {
  readonly pid: number | undefined;
  /** Settles when the executor listens on its socket (with its device), or fails if it ends first. */
  readonly ready: Promise<DeviceInfo>;
  load(req: Omit<LoadRequest, 'kind' | 'id'>): Promise<Measured>;
  unload(key: string): Promise<number>;
  answerAdmit(
    id: number,
    r: { ok: true; key: string; wasResident: boolean; io?: ModelIo } | { ok: false; error: WireError },
  ): void;
  answerControl(
    id: number,
    r: { ok: true; freedBytes?: number; device?: number; unloaded?: boolean } | { ok: false; error: WireError },
  ): void;
  kill(signal?: NodeJS.Signals): void;
  /** Resolves once the process has exited. */
  exited(): Promise<void>;
}

export function startExecutor(init: Omit<ExecutorInit, 'kind'>, events: ExecutorEvents): ExecutorHandle {
  const child = fork(CHILD, [], {
    execArgv: [],
    env: init.provider === 'cuda' ? { ...EXECUTOR_MALLOC_ENV, ...process.env } : process.env,
    serialization: 'advanced',
    stdio: ['ignore', 'inherit', 'pipe', 'ipc'],
  });
  let stderr = '';
  child.stderr?.on('data', (b: Buffer) => {
    process.stderr.write(b);
    stderr = (stderr + b.toString()).slice(-2000);
  });
  const pending = new Map<number, { resolve(v: unknown): void; reject(e: Error): void }>();
  let seq = 0;
  let gone = false;
  let readyResolve!: (d: DeviceInfo) => void;
  let readyReject!: (e: Error) => void;
  const ready = new Promise<DeviceInfo>((res, rej) => {
    readyResolve = res;
    readyReject = rej;
  });
  ready.catch(() => {});
  const readyTimer = setTimeout(() => {
    readyReject(
      new TensorshareError('ERR_UNAVAILABLE', `device executor ${init.device.index} did not start within 60 s`),
    );
    child.kill('SIGKILL');
  }, READY_TIMEOUT_MS);
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));

  const send = (m: DaemonToExecutor) => {
    if (!gone && child.connected) child.send(m);
  };
  const request = <T>(m: DaemonToExecutor & { id: number }): Promise<T> =>
    new Promise<T>((resolve, reject) => {
      if (gone) {
        reject(new TensorshareError('ERR_UNAVAILABLE', `device executor ${init.device.index} is not running`));
        return;
      }
      pending.set(m.id, { resolve: resolve as (v: unknown) => void, reject });
      send(m);
    });

  child.on('message', (m: ExecutorToDaemon) => {
    switch (m.kind) {
      case 'ready':
        clearTimeout(readyTimer);
        readyResolve(m.device);
        return;
      case 'admit':
        events.admit(m.id, m.model, m.token);
        return;
      case 'control':
        events.control(m.id, m.action, m.model, m.token, m.to);
        return;
      case 'release':
        events.release(m.key);
        return;
      case 'used':
        events.used(m.key);
        return;
      case 'stats':
        events.stats(m.stats);
        return;
      case 'loaded':
      case 'unloaded': {
        const p = pending.get(m.id);
        pending.delete(m.id);
        if (!p) return;
        if (!m.ok) p.reject(fromWireError(m.error));
        else p.resolve(m.kind === 'loaded' ? m.measured : m.freedBytes);
      }
    }
  });
  child.once('error', (e) => readyReject(e));
  child.once('exit', (code, signal) => {
    gone = true;
    clearTimeout(readyTimer);
    const tail = stderr.trim() ? `: ${stderr.trim().split('\n').slice(-2).join(' ')}` : '';
    const how = `${signal ?? `exit code ${code}`}${tail}`;
    const err = new TensorshareError('ERR_UNAVAILABLE', `device executor ${init.device.index} ended (${how})`, {
      device: init.device.index,
    });
    readyReject(err);
    for (const p of pending.values()) p.reject(err);
    pending.clear();
    events.exit(how);
  });
  child.send({ kind: 'init', ...init } satisfies ExecutorInit);

  return {
    pid: child.pid,
    ready,
    load: (req) => request<Measured>({ kind: 'load', id: ++seq, ...req }),
    unload: (key) => request<number>({ kind: 'unload', id: ++seq, key }),
    answerAdmit: (id, r) => send({ kind: 'admitted', id, ...r } as DaemonToExecutor),
    answerControl: (id, r) => send({ kind: 'controlled', id, ...r } as DaemonToExecutor),
    kill: (signal = 'SIGTERM') => {
      if (!gone) child.kill(signal);
    },
    exited: () => exited,
  };
}
