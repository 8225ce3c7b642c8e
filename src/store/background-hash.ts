// SHA-256 of a byte stream computed on a worker thread, so that hashing the
// whole source file overlaps with hashing and writing each tensor on the
// main thread (import is hash-bound: ~1.6 GB/s per core for SHA-256).
import { Worker } from 'node:worker_threads';

export interface BackgroundHash {
  update(chunk: Buffer): void;
  digest(): Promise<string>;
  /** Stops the worker without a result (on errors). */
  destroy(): Promise<void>;
}

export function backgroundHash(): BackgroundHash {
  // A module file, and none of the parent's exec flags (`--input-type`, `-e`):
  // the worker must load the same way however the parent was started.
  const worker = new Worker(new URL('./hash-worker.js', import.meta.url), { execArgv: [] });
  worker.unref();
  let failure: Error | undefined;
  const failed = new Promise<never>((_, reject) => {
    worker.on('error', (e) => {
      failure = e;
      reject(e);
    });
  });
  failed.catch(() => {}); // observed through digest()
  return {
    update(chunk) {
      if (failure) return;
      // Copy into a fresh ArrayBuffer and transfer it: the caller keeps using its chunk.
      const copy = new Uint8Array(chunk.length);
      copy.set(chunk);
      worker.postMessage(copy.buffer, [copy.buffer]);
    },
    async digest() {
      const hex = new Promise<string>((resolve) => worker.once('message', resolve));
      worker.postMessage('end');
      try {
        return await Promise.race([hex, failed]);
      } finally {
        void worker.terminate();
      }
    },
    async destroy() {
      await worker.terminate();
    },
  };
}
