// Worker thread body for copy-pool.ts: copies a byte range of a file the
// parent has open (worker threads share the process's descriptors) to a new
// file, or only reads it, and returns the range's SHA-256. Synchronous reads
// and writes: this thread has nothing else to do, and each chunk is hashed
// between its read and its write while it is still in the CPU's cache.
import { parentPort } from 'node:worker_threads';
import { createHash } from 'node:crypto';
import fs from 'node:fs';
import { COPY_CHUNK as CHUNK, type CopyJob, type CopyAnswer } from './copy-pool.js';

const buf = Buffer.allocUnsafeSlow(CHUNK);

function run(job: CopyJob): string {
  const h = createHash('sha256');
  const out = job.dest === undefined ? undefined : fs.openSync(job.dest, 'w', 0o644);
  try {
    for (let done = 0; done < job.length; ) {
      const n = fs.readSync(job.fd, buf, 0, Math.min(CHUNK, job.length - done), job.offset + done);
      if (n === 0) throw Object.assign(new Error('the source file ended early'), { code: 'ERR_SOURCE_SHORT' });
      const chunk = buf.subarray(0, n);
      h.update(chunk);
      if (out !== undefined) for (let w = 0; w < n; ) w += fs.writeSync(out, chunk, w, n - w);
      done += n;
    }
  } finally {
    if (out !== undefined) fs.closeSync(out);
  }
  return h.digest('hex');
}

parentPort!.on('message', (job: CopyJob) => {
  let answer: CopyAnswer;
  try {
    answer = { id: job.id, hex: run(job) };
  } catch (e) {
    answer = { id: job.id, error: (e as Error).message, code: (e as NodeJS.ErrnoException).code };
  }
  parentPort!.postMessage(answer);
});
