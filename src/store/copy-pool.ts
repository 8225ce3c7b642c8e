// Tensor bytes copied and hashed on worker threads: the split hands each
// large tensor over as a byte range of the source file (an open descriptor,
// shared by the process's threads), and a worker reads it, hashes it and
// writes it to its staging file in one pass over each chunk. The main thread
// only parses the model's structure; the bytes are read once, hashed once and
// written once, on both cores at once (SHA-256 runs at ~1.4-1.7 GB/s per
// core here; a kernel copy of the same bytes takes about as long).
import { Worker } from 'node:worker_threads';
import { createHash } from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import { promisify } from 'node:util';

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

/** Chunk size of a copy: small enough to stay in a core's L2 cache between the read, the hash and the write. */
export const COPY_CHUNK = 1 << 20;

/** Jobs a lane holds at once: one running, one ready, so a worker never waits for a message between two. */
const PER_LANE = 2;

interface Pending {
  job: CopyJob;
  resolve(hex: string): void;
  reject(e: Error): void;
}

interface Lane {
  held: Map<number, Pending>;
  send(p: Pending): void;
  stop(): Promise<unknown>;
}

const readAt = promisify(fs.read);

/**
 * A job on this thread, between the split's own work: reads and writes on
 * libuv's threads, the hash here, a chunk at a time (~0.7 ms of hashing per
 * await). One lane of a pool runs this way: a worker thread costs ~25-50 ms
 * of CPU to start, about a tenth of an import's CPU time, and this thread
 * has little else to do while the bytes are copied.
 */
async function copyHere(job: CopyJob, buf: Buffer): Promise<string> {
  const h = createHash('sha256');
  const out = job.dest === undefined ? undefined : await fs.promises.open(job.dest, 'w', 0o644);
  try {
    for (let done = 0; done < job.length; ) {
      const { bytesRead: n } = await readAt(job.fd, buf, 0, Math.min(buf.length, job.length - done), job.offset + done);
      if (n === 0) throw Object.assign(new Error('the source file ended early'), { code: 'ERR_SOURCE_SHORT' });
      const chunk = buf.subarray(0, n);
      h.update(chunk);
      if (out !== undefined) for (let w = 0; w < n; ) w += (await out.write(chunk, w, n - w)).bytesWritten;
      done += n;
    }
  } finally {
    await out?.close();
  }
  return h.digest('hex');
}

/**
 * `workers` worker threads, plus this thread as one more lane when `here`
 * (default: one lane per core, at most two, this thread one of them).
 */
export function copyPool(o: { workers?: number; here?: boolean } = {}): CopyPool {
  const lanesWanted = Math.max(1, Math.min(2, os.availableParallelism()));
  const here = o.here ?? true;
  const workers = o.workers ?? lanesWanted - (here ? 1 : 0);
  let seq = 0;
  let closed = false;
  const queue: Pending[] = [];
  const lanes: Lane[] = [];
  const settle = (lane: Lane, id: number, a: { hex: string } | { error: Error }) => {
    const p = lane.held.get(id);
    lane.held.delete(id);
    if ('hex' in a) p?.resolve(a.hex);
    else p?.reject(a.error);
    pump();
  };
  for (let i = 0; i < workers; i++) {
    // A module file, and none of the parent's exec flags (`--input-type`, `-e`): it loads the same way however the parent started.
    const worker = new Worker(new URL('./copy-worker.js', import.meta.url), { execArgv: [] });
    worker.unref();
    const lane: Lane = {
      held: new Map(),
      send: (p) => worker.postMessage(p.job),
      stop: () => worker.terminate(),
    };
    worker.on('message', (a: CopyAnswer) =>
      settle(lane, a.id, 'hex' in a ? a : { error: Object.assign(new Error(a.error), { code: a.code }) }),
    );
    const fail = (e: Error) => {
      for (const p of lane.held.values()) p.reject(e);
      lane.held.clear();
      if (lanes.includes(lane)) lanes.splice(lanes.indexOf(lane), 1);
      if (lanes.length === 0) for (const p of queue.splice(0)) p.reject(e);
      else pump();
    };
    worker.on('error', fail);
    worker.on('exit', () => fail(new Error('copy worker exited')));
    lanes.push(lane);
  }
  if (here || workers === 0) {
    const buf = Buffer.allocUnsafeSlow(COPY_CHUNK);
    let chain: Promise<unknown> = Promise.resolve();
    const lane: Lane = {
      held: new Map(),
      send: (p) => {
        // One at a time on its one buffer, in the order sent.
        const run = chain.then(() => copyHere(p.job, buf));
        chain = run.catch(() => {});
        run.then(
          (hex) => settle(lane, p.job.id, { hex }),
          (e: Error) => settle(lane, p.job.id, { error: e }),
        );
      },
      stop: () => chain,
    };
    lanes.push(lane);
  }
  // Jobs go out in the order they came (file order), each to the lane holding the fewest.
  const pump = () => {
    while (queue.length > 0 && lanes.length > 0) {
      const lane = lanes.reduce((a, b) => (b.held.size < a.held.size ? b : a));
      if (lane.held.size >= PER_LANE) return;
      const p = queue.shift()!;
      lane.held.set(p.job.id, p);
      lane.send(p);
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
      await Promise.all(lanes.map((l) => l.stop()));
    },
  };
}
