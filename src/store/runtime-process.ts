// Work that needs ONNX Runtime, run in a child process: building a fast-run
// variant (fast-run.ts) and checking that ORT loads a staged import
// (runtime-check.ts). The process asking never loads ONNX Runtime (the gateway
// and the daemon must not), and a native crash on a hostile model ends only
// the child. The child does one job and answers once over IPC.
import { fork } from 'node:child_process';
import { TensorshareError, type ErrorCode } from '../errors.js';
import type { Layout } from './layout.js';
import type { IoSpec, Manifest, VariantManifest } from './manifest.js';
import type { RuntimeVerdict } from './runtime-check.js';

export type RuntimeJob =
  | { kind: 'build-fast-run'; repository: string; store: string; manifest: Manifest }
  | {
      kind: 'check-runnable';
      graph: string;
      tensorsDir: string;
      io: { inputs: IoSpec[]; outputs: IoSpec[] };
      what: string;
    };

export type RuntimeAnswer =
  | { ok: true; value: unknown }
  | { ok: false; error: { code?: ErrorCode; message: string; details?: Record<string, unknown> } };

const CHILD = new URL('./runtime-child.js', import.meta.url);

function runIsolated<T>(job: RuntimeJob, what: string): Promise<T> {
  // None of the parent's exec flags (`--input-type`, `-e`, `--test`): the child loads as a plain module.
  const child = fork(CHILD, [], {
    execArgv: [],
    serialization: 'advanced',
    stdio: ['ignore', 'inherit', 'pipe', 'ipc'],
  });
  // What a native crash prints (e.g. "terminate called after throwing ..."), kept short for the error message.
  let stderr = '';
  child.stderr?.on('data', (b: Buffer) => {
    stderr = (stderr + b.toString()).slice(-2000);
  });
  return new Promise((resolve, reject) => {
    let answered = false;
    child.once('message', (a: RuntimeAnswer) => {
      answered = true;
      if (a.ok) resolve(a.value as T);
      else if (a.error.code) reject(new TensorshareError(a.error.code, a.error.message, a.error.details));
      else reject(new TensorshareError('ERR_INTERNAL', `${what}: ${a.error.message}`));
      child.disconnect();
    });
    child.once('error', (e) =>
      reject(
        new TensorshareError(
          'ERR_INTERNAL',
          `${what}: cannot start the ONNX Runtime process: ${e.message}`,
          {},
          { cause: e },
        ),
      ),
    );
    child.once('exit', (code, signal) => {
      if (answered) return;
      const how = `${signal ?? `exit code ${code}`}${stderr.trim() ? `: ${stderr.trim().split('\n').slice(-2).join(' ')}` : ''}`;
      // A crash while loading a model is ONNX Runtime refusing that model, not a fault of ours.
      if (job.kind === 'check-runnable' && signal)
        reject(
          new TensorshareError(
            'ERR_RUNTIME_REJECTED',
            `${job.what}: ONNX Runtime crashed loading this model as it would be stored (${how})`,
            { model: job.what, signal },
          ),
        );
      else
        reject(
          new TensorshareError('ERR_INTERNAL', `${what}: the ONNX Runtime process ended without an answer (${how})`),
        );
    });
    child.send(job);
  });
}

export function buildFastRunIsolated(
  repo: Layout,
  store: Layout,
  m: Manifest,
): Promise<{ variant: VariantManifest; built: boolean }> {
  return runIsolated(
    { kind: 'build-fast-run', repository: repo.root, store: store.root, manifest: m },
    `building the fast-run variant of ${m.name}:${m.version}`,
  );
}

/** Whether ONNX Runtime loads `graph` over the tensors in `tensorsDir` the way fast-open does (runtime-check.ts). */
export function checkRunnableIsolated(
  graph: string,
  tensorsDir: string,
  io: { inputs: IoSpec[]; outputs: IoSpec[] },
  what: string,
): Promise<RuntimeVerdict> {
  return runIsolated(
    { kind: 'check-runnable', graph, tensorsDir, io, what },
    `checking that ONNX Runtime loads ${what}`,
  );
}
