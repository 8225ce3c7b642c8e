// Body of import-thread.ts's worker: one importModel() per message, answered with its result or error.
import { parentPort } from 'node:worker_threads';
import { callInPlace } from '../file-calls.js';
import { importModel } from './import.js';
import type { ImportAnswer, ImportJob } from './import-thread.js';

// This thread only imports: its file-system calls wait in place (src/file-calls.ts).
callInPlace();

parentPort!.on('message', (job: ImportJob) => {
  void importModel(job.repository, job.file, job.options).then(
    (result) => parentPort!.postMessage({ id: job.id, result } satisfies ImportAnswer),
    (e: unknown) => {
      const err = e as { name?: unknown; code?: unknown; message?: unknown; details?: unknown };
      const typed = err?.name === 'TensorshareError' && typeof err.code === 'string';
      parentPort!.postMessage({
        id: job.id,
        error: {
          code: typed ? (err.code as string) : 'ERR_INTERNAL',
          message: typeof err?.message === 'string' ? err.message : String(e),
          details:
            typed && typeof err.details === 'object' && err.details
              ? (err.details as Record<string, unknown>)
              : undefined,
        },
      } satisfies ImportAnswer);
    },
  );
});
