// Worker thread body for background-hash.ts: SHA-256 of the chunks it is sent.
import { parentPort } from 'node:worker_threads';
import { createHash } from 'node:crypto';

const hash = createHash('sha256');
parentPort!.on('message', (m: ArrayBuffer | 'end') => {
  if (m === 'end') parentPort!.postMessage(hash.digest('hex'));
  else hash.update(new Uint8Array(m));
});
