// Tensor bytes copied and hashed on worker threads: the split hands each
// large tensor over as a byte range of the source file (an open descriptor,
// shared by the process's threads), and a worker reads it, hashes it and
// writes it to its staging file in one pass over each chunk. The main thread
// only parses the model's structure; the bytes are read once, hashed once and
// written once, on both cores at once (SHA-256 runs at ~1.4-1.7 GB/s per
// core here; a kernel copy of the same bytes takes about as long).
import { Worker } from 'node:worker_threads';
import os from 'node:os';

/** One job: `length` bytes of descriptor `fd` at `offset`, written to `dest` (or only hashed). */
export interface CopyJob {
  id: number;
  fd: number;
  offset: number;
  length: number;
  dest?: string;
}

export type CopyAnswer = { id: number; hex: string } | { id: number; error: string; code?: string };

export interface CopyPool {
  /**
   * SHA-256 (hex) of the range, once it is copied to `dest` (a new file) or,
   * without `dest`, read. `fd` must stay open until the promise settles.
   * Rejects with the worker's error (its `code` kept: ENOSPC, ERR_SOURCE_SHORT).
   */
  copy(fd: number, offset: number, length: number, dest?: string): Promise<string>;
  /** Ends the workers; jobs not finished are rejected. */
  close(): Promise<void>;
}

/** Jobs a worker holds at once: one running, one ready, so it never waits for a message between two. */
const PER_WORKER = 2;

interface Pending {
  job: CopyJob;
  resolve(hex: string): void;
  reject(e: Error): void;
}

export function copyPool(size = Math.max(1, Math.min(2, os.availableParallelism()))): CopyPool {
  let seq = 0;
  let closed = false;
  const queue: Pending[] = [];
  const lanes = Array.from({ length: size }, () => {
    // A module file, and none of the parent's exec flags (`--input-type`, `-e`): it loads the same way however the parent started.
    const worker = new Worker(new URL('./copy-worker.js', import.meta.url), { execArgv: [] });
    worker.unref();
    const lane = { worker, held: new Map<number, Pending>() };
    worker.on('message', (a: CopyAnswer) => {
      const p = lane.held.get(a.id);
      lane.held.delete(a.id);
      if ('hex' in a) p?.resolve(a.hex);
      else p?.reject(Object.assign(new Error(a.error), { code: a.code }));
      pump();
    });
    const fail = (e: Error) => {
      for (const p of lane.held.values()) p.reject(e);
      lane.held.clear();
      lanes.splice(lanes.indexOf(lane), 1);
      if (lanes.length === 0) for (const p of queue.splice(0)) p.reject(e);
      else pump();
    };
    worker.on('error', fail);
    worker.on('exit', () => fail(new Error('copy worker exited')));
    return lane;
  });
  // Jobs go out in the order they came (file order), each to the lane holding the fewest.
  const pump = () => {
    while (queue.length > 0) {
      const lane = lanes.reduce((a, b) => (b.held.size < a.held.size ? b : a), lanes[0]!);
      if (!lane || lane.held.size >= PER_WORKER) return;
      const p = queue.shift()!;
      lane.held.set(p.job.id, p);
      lane.worker.postMessage(p.job);
    }
  };
  return {
    copy(fd, offset, length, dest) {
      if (closed) return Promise.reject(new Error('copy pool is closed'));
      if (lanes.length === 0) return Promise.reject(new Error('copy workers exited'));
      return new Promise((resolve, reject) => {
        queue.push({ job: { id: ++seq, fd, offset, length, dest }, resolve, reject });
        pump();
      });
    },
    async close() {
      closed = true;
      for (const p of queue.splice(0)) p.reject(new Error('copy pool is closed'));
      await Promise.all(lanes.map((l) => l.worker.terminate()));
    },
  };
}
