// importModel() on worker threads: serve's background imports (a first start
// over a thousand functions) ran every import's JavaScript (parsing, hashing,
// a dozen file-system calls) on the gateway's main thread, which then had one
// core for everything while the other idled. Imports queue on a thread's
// event loop as they would on the main thread. Errors come back with their
// code and details.
import { Worker } from 'node:worker_threads';
import { TensorshareError, fromWireError, type WireError } from '../errors.js';
import type { ImportOptions, ImportResult } from './import.js';

/** What crosses to the thread: ImportOptions without its callback. */
export type ThreadImportOptions = Omit<ImportOptions, 'onProgress'>;

export interface ImportJob {
  id: number;
  repository: string;
  file: string;
  options: ThreadImportOptions;
}

export type ImportAnswer = { id: number; result: ImportResult } | { id: number; error: WireError };

export interface ImportThread {
  importModel(repository: string, file: string, options: ThreadImportOptions): Promise<ImportResult>;
  /** Takes no more imports; the thread ends once those under way have finished (one killed mid-commit would leave the root's commit lock behind). */
  close(): Promise<void>;
}

const WORKER = new URL('./import-thread-worker.js', import.meta.url);

/** A thread with nothing to do for this long ends (its heap is the gateway's memory while it lives). */
export const IMPORT_THREAD_IDLE_MS = 2000;

interface Lane {
  worker: Worker;
  pending: Map<number, { resolve(r: ImportResult): void; reject(e: Error): void }>;
  idle?: ReturnType<typeof setTimeout>;
}

/**
 * `size` threads (default one), each started at its first import and ended after
 * IMPORT_THREAD_IDLE_MS without one; an import goes to the thread with the fewest pending. One
 * thread beside the gateway's: on two cores a second one made a thousand functions' first start
 * slower (5.5-5.8 s against 4.8-5.2 s), compiling and collecting an isolate of its own and taking
 * turns with the first at the repository's commit lock through the lock file's retry sleeps.
 */
export function importThread(size = 1): ImportThread {
  const lanes: (Lane | undefined)[] = Array.from({ length: size }, () => undefined);
  let seq = 0;
  let closed = false;
  let drained = () => {};
  const pendingAll = () => lanes.reduce((n, l) => n + (l?.pending.size ?? 0), 0);
  const end = (lane: Lane) => {
    const i = lanes.indexOf(lane);
    if (i >= 0) lanes[i] = undefined;
    clearTimeout(lane.idle);
    void lane.worker.terminate();
  };
  const start = (slot: number): Lane => {
    // None of the parent's exec flags (a --cpu-prof or --inspect of the gateway is not the thread's).
    const lane: Lane = { worker: new Worker(WORKER, { execArgv: [] }), pending: new Map() };
    const fail = (e: Error) => {
      if (lanes[slot] === lane) lanes[slot] = undefined;
      for (const p of lane.pending.values()) p.reject(e);
      lane.pending.clear();
      if (closed && pendingAll() === 0) drained();
    };
    lane.worker.on('message', (a: ImportAnswer) => {
      const p = lane.pending.get(a.id);
      lane.pending.delete(a.id);
      if (lane.pending.size === 0) {
        lane.worker.unref(); // idle: it keeps nothing alive
        if (closed) {
          end(lane);
          if (pendingAll() === 0) drained();
        } else {
          lane.idle = setTimeout(() => end(lane), IMPORT_THREAD_IDLE_MS);
          lane.idle.unref();
        }
      }
      if (!p) return;
      if ('result' in a) p.resolve(a.result);
      else p.reject(fromWireError(a.error));
    });
    lane.worker.on('error', fail);
    lane.worker.on('exit', (code) =>
      fail(new TensorshareError('ERR_INTERNAL', `an import thread exited (code ${code})`)),
    );
    return lane;
  };
  return {
    importModel(repository, file, options) {
      if (closed) return Promise.reject(new TensorshareError('ERR_UNAVAILABLE', 'the import thread is closed'));
      let slot = 0;
      for (let i = 1; i < size; i++) if ((lanes[i]?.pending.size ?? 0) < (lanes[slot]?.pending.size ?? 0)) slot = i;
      const lane = lanes[slot] ?? start(slot);
      lanes[slot] = lane;
      clearTimeout(lane.idle);
      const id = ++seq;
      lane.worker.ref(); // an import under way keeps the process alive, as it would on the main thread
      return new Promise((resolve, reject) => {
        lane.pending.set(id, { resolve, reject });
        lane.worker.postMessage({ id, repository, file, options } satisfies ImportJob);
      });
    },
    async close() {
      closed = true;
      if (pendingAll() > 0) await new Promise<void>((r) => (drained = r));
      for (const l of lanes) if (l) end(l);
    },
  };
}
