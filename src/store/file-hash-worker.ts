// Worker thread body for file-hash-pool.ts: SHA-256 of each file it is sent, read in 4 MiB chunks.
import { parentPort } from 'node:worker_threads';
import { createHash } from 'node:crypto';
import fs from 'node:fs';

const buf = Buffer.allocUnsafeSlow(4 << 20);
parentPort!.on('message', ({ id, file }: { id: number; file: string }) => {
  try {
    const h = createHash('sha256');
    const fd = fs.openSync(file, 'r');
    try {
      for (let n = fs.readSync(fd, buf, 0, buf.length, null); n > 0; n = fs.readSync(fd, buf, 0, buf.length, null))
        h.update(buf.subarray(0, n));
    } finally {
      fs.closeSync(fd);
    }
    parentPort!.postMessage({ id, hex: h.digest('hex') });
  } catch (e) {
    parentPort!.postMessage({ id, error: (e as Error).message });
  }
});
