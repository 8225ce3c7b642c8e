// Body of the ONNX Runtime process started by runtime-process.ts: one answer per job.
import { isTensorshareError } from '../errors.js';
import { buildFastRun } from './fast-run.js';
import { layout } from './layout.js';
import { storeSessionOptions } from './ort-options.js';
import type { RuntimeAnswer, RuntimeJob } from './runtime-process.js';
import { checkRunnable, type FastOpenLevel } from './runtime-check.js';
import { quietOrtTelemetry } from '../ort-telemetry.js';

quietOrtTelemetry();

// Loading starts with the process: a checker started ahead of its first job (prestartRuntimeChecks) is ready for it.
const loading = import('onnxruntime-node');
loading.catch(() => {}); // reported by the job that needs it

async function run(job: RuntimeJob): Promise<unknown> {
  if (job.kind === 'build-fast-run') return buildFastRun(layout(job.repository), layout(job.store), job.manifest);
  const ort = (await loading).default as unknown as typeof import('onnxruntime-node');
  const create = (level: FastOpenLevel) =>
    ort.InferenceSession.create(
      job.graph,
      storeSessionOptions('fast-open', job.tensorsDir, { logSeverityLevel: 4 }, level),
    );
  return checkRunnable(create, job.io, job.what);
}

// One answer per job; the parent disconnects when it has no more (then this process exits).
process.on('message', (job: RuntimeJob) => {
  run(job)
    .then(
      (value): RuntimeAnswer => ({ ok: true, value }),
      (e: unknown): RuntimeAnswer => ({
        ok: false,
        error: isTensorshareError(e)
          ? { code: e.code, message: e.message, details: e.details }
          : { message: (e as Error)?.message ?? String(e) },
      }),
    )
    .then((a) => process.send!(a));
});
