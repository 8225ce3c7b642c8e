// Builds a fast-run variant (fast-run.ts) in a child process, so the process
// asking never loads ONNX Runtime: the gateway must not, and a native crash
// during a build ends only the child. The child answers once over IPC.
import { fork } from 'node:child_process';
import { TensorshareError, type ErrorCode } from '../errors.js';
import type { Layout } from './layout.js';
import type { Manifest, VariantManifest } from './manifest.js';

export interface BuildRequest {
  repository: string;
  store: string;
  manifest: Manifest;
}

export type BuildAnswer =
  | { ok: true; variant: VariantManifest; built: boolean }
  | { ok: false; error: { code?: ErrorCode; message: string; details?: Record<string, unknown> } };

const CHILD = new URL('./fast-run-child.js', import.meta.url);

export function buildFastRunIsolated(repo: Layout, store: Layout, m: Manifest): Promise<{ variant: VariantManifest; built: boolean }> {
  const what = `building the fast-run variant of ${m.name}:${m.version}`;
  // None of the parent's exec flags (`--input-type`, `-e`, `--test`): the child loads as a plain module.
  const child = fork(CHILD, [], { execArgv: [], serialization: 'advanced', stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
  return new Promise((resolve, reject) => {
    let answered = false;
    child.once('message', (a: BuildAnswer) => {
      answered = true;
      if (a.ok) resolve({ variant: a.variant, built: a.built });
      else if (a.error.code) reject(new TensorshareError(a.error.code, a.error.message, a.error.details));
      else reject(new TensorshareError('ERR_INTERNAL', `${what}: ${a.error.message}`));
      child.disconnect();
    });
    child.once('error', (e) => reject(new TensorshareError('ERR_INTERNAL', `${what}: cannot start the build process: ${e.message}`, {}, { cause: e })));
    child.once('exit', (code, signal) => {
      if (!answered) reject(new TensorshareError('ERR_INTERNAL', `${what}: the build process ended without an answer (${signal ?? `exit code ${code}`})`));
    });
    const req: BuildRequest = { repository: repo.root, store: store.root, manifest: m };
    child.send(req);
  });
}
