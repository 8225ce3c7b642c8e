// Body of import-thread.ts's worker: one importModel() per message, answered with its result or error.
import { parentPort } from 'node:worker_threads';
import { toWireError } from '../errors.js';
import { callInPlace } from '../file-calls.js';
import { importModel } from './import.js';
import type { ImportAnswer, ImportJob } from './import-thread.js';

// This thread only imports: its file-system calls wait in place (src/file-calls.ts).
callInPlace();

parentPort!.on('message', (job: ImportJob) => {
  void importModel(job.repository, job.file, job.options).then(
    (result) => parentPort!.postMessage({ id: job.id, result } satisfies ImportAnswer),
    (e: unknown) => parentPort!.postMessage({ id: job.id, error: toWireError(e) } satisfies ImportAnswer),
  );
});
