// SHA-256 of a byte stream computed on a worker thread, so that hashing the
// whole source file overlaps with hashing and writing each tensor on the
// main thread (import is hash-bound: ~1.6 GB/s per core for SHA-256).
import { Worker } from 'node:worker_threads';

const WORKER_SOURCE = `
const { parentPort } = require('node:worker_threads');
const hash = require('node:crypto').createHash('sha256');
parentPort.on('message', (m) => {
  if (m === 'end') { parentPort.postMessage(hash.digest('hex')); return; }
  hash.update(new Uint8Array(m));
});
`;

export interface BackgroundHash {
  update(chunk: Buffer): void;
  digest(): Promise<string>;
  /** Stops the worker without a result (on errors). */
  destroy(): Promise<void>;
}

export function backgroundHash(): BackgroundHash {
  const worker = new Worker(WORKER_SOURCE, { eval: true });
  worker.unref();
  return {
    update(chunk) {
      // Copy into a fresh ArrayBuffer and transfer it: the caller keeps using its chunk.
      const copy = new Uint8Array(chunk.length);
      copy.set(chunk);
      worker.postMessage(copy.buffer, [copy.buffer]);
    },
    digest() {
      return new Promise((resolve, reject) => {
        worker.once('message', (hex: string) => {
          resolve(hex);
          void worker.terminate();
        });
        worker.once('error', reject);
        worker.postMessage('end');
      });
    },
    async destroy() {
      await worker.terminate();
    },
  };
}
