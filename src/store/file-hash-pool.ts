// SHA-256 of staged files on worker threads: import writes each tensor to its
// staging file on the main thread and hands the file to the pool, which reads
// it back (from the page cache) and hashes it while the main thread reads and
// writes the next tensors. With two workers, tensors hash on both cores at
// once (SHA-256 runs at ~1.4 GB/s per core here; the split itself is I/O).
import { Worker } from 'node:worker_threads';
import os from 'node:os';

export interface FileHashPool {
  /** SHA-256 (hex) of the file as it is now. */
  hash(file: string): Promise<string>;
  /** Ends the workers (pending hashes are rejected). */
  close(): Promise<void>;
}

interface Lane {
  worker: Worker;
  pending: Map<number, { resolve(hex: string): void; reject(e: Error): void }>;
}

export function fileHashPool(size = Math.max(1, Math.min(2, os.availableParallelism()))): FileHashPool {
  let seq = 0;
  let closed = false;
  const lanes: Lane[] = Array.from({ length: size }, () => {
    // A module file, and none of the parent's exec flags (see background-hash.ts).
    const worker = new Worker(new URL('./file-hash-worker.js', import.meta.url), { execArgv: [] });
    worker.unref();
    const lane: Lane = { worker, pending: new Map() };
    worker.on('message', (m: { id: number; hex?: string; error?: string }) => {
      const p = lane.pending.get(m.id);
      lane.pending.delete(m.id);
      if (m.hex !== undefined) p?.resolve(m.hex);
      else p?.reject(new Error(m.error ?? 'hash failed'));
    });
    const fail = (e: Error) => {
      for (const p of lane.pending.values()) p.reject(e);
      lane.pending.clear();
    };
    worker.on('error', fail);
    worker.on('exit', () => fail(new Error('hash worker exited')));
    return lane;
  });
  return {
    hash(file) {
      if (closed) return Promise.reject(new Error('hash pool is closed'));
      // The lane with the fewest files queued.
      const lane = lanes.reduce((a, b) => (b.pending.size < a.pending.size ? b : a));
      const id = ++seq;
      return new Promise((resolve, reject) => {
        lane.pending.set(id, { resolve, reject });
        lane.worker.postMessage({ id, file });
      });
    },
    async close() {
      closed = true;
      await Promise.all(lanes.map((l) => l.worker.terminate()));
    },
  };
}
