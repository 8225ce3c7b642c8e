// importModel() on a worker thread: serve's background imports (a first start
// over a thousand functions) ran every import's JavaScript (parsing, hashing,
// a dozen file-system calls) on the gateway's main thread, which then had one
// core for everything while the other idled. One thread per caller, started
// at the first import and ended once nothing is pending; imports queue on its
// event loop as they would on the main thread. Errors come back with their
// code and details.
import { Worker } from 'node:worker_threads';
import { TensorshareError, isErrorCode } from '../errors.js';
import type { ImportOptions, ImportResult } from './import.js';

/** What crosses to the thread: ImportOptions without its callback. */
export type ThreadImportOptions = Omit<ImportOptions, 'onProgress'>;

export interface ImportJob {
  id: number;
  repository: string;
  file: string;
  options: ThreadImportOptions;
}

export type ImportAnswer =
  | { id: number; result: ImportResult }
  | { id: number; error: { code: string; message: string; details?: Record<string, unknown> } };

export interface ImportThread {
  importModel(repository: string, file: string, options: ThreadImportOptions): Promise<ImportResult>;
  /** Takes no more imports; the thread ends once those under way have finished (one killed mid-commit would leave the root's commit lock behind). */
  close(): Promise<void>;
}

const WORKER = new URL('./import-thread-worker.js', import.meta.url);

export function importThread(): ImportThread {
  let worker: Worker | undefined;
  let seq = 0;
  let closed = false;
  let drained = () => {};
  const pending = new Map<number, { resolve(r: ImportResult): void; reject(e: Error): void }>();
  const failAll = (e: Error) => {
    for (const p of pending.values()) p.reject(e);
    pending.clear();
  };
  const start = (): Worker => {
    // None of the parent's exec flags (a --cpu-prof or --inspect of the gateway is not the thread's).
    const w = new Worker(WORKER, { execArgv: [] });
    w.on('message', (a: ImportAnswer) => {
      const p = pending.get(a.id);
      pending.delete(a.id);
      if (pending.size === 0) {
        w.unref(); // idle: it keeps nothing alive
        if (closed) drained();
      }
      if (!p) return;
      if ('result' in a) p.resolve(a.result);
      else
        p.reject(
          isErrorCode(a.error.code)
            ? new TensorshareError(a.error.code, a.error.message, a.error.details)
            : new Error(a.error.message),
        );
    });
    w.on('error', (e) => {
      worker = undefined;
      failAll(e);
    });
    w.on('exit', (code) => {
      if (worker === w) worker = undefined;
      failAll(new TensorshareError('ERR_INTERNAL', `the import thread exited (code ${code})`));
    });
    return w;
  };
  return {
    importModel(repository, file, options) {
      if (closed) return Promise.reject(new TensorshareError('ERR_UNAVAILABLE', 'the import thread is closed'));
      worker ??= start();
      const w = worker;
      const id = ++seq;
      w.ref(); // an import under way keeps the process alive, as it would on the main thread
      return new Promise((resolve, reject) => {
        pending.set(id, { resolve, reject });
        w.postMessage({ id, repository, file, options } satisfies ImportJob);
      });
    },
    async close() {
      closed = true;
      if (pending.size > 0) await new Promise<void>((r) => (drained = r));
      const w = worker;
      worker = undefined;
      await w?.terminate();
    },
  };
}
