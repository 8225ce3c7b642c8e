// Creating an onnxruntime-node session over store files, shared by the
// daemonless openSession(), the daemon client's open() and the register hook.
// When the hook has patched InferenceSession.create, tensorshare's own
// sessions must bypass it: the patched function keeps the original under
// ORIGINAL_CREATE.
import type { InferenceSession } from 'onnxruntime-node';
import type { OpenMode } from '../store/manifest.js';
import { storeSessionOptions, type SessionOptions } from '../store/ort-options.js';
import { createAtLevels } from '../store/runtime-check.js';

export const ORIGINAL_CREATE = Symbol.for('tensorshare.originalCreate');

type SessionClass = typeof InferenceSession;
type CreateFn = (path: string, options?: SessionOptions) => Promise<InferenceSession>;

export function unhookedCreate(cls: SessionClass): CreateFn {
  const current = cls.create as unknown as CreateFn & { [ORIGINAL_CREATE]?: CreateFn };
  return (current[ORIGINAL_CREATE] ?? current).bind(cls);
}

export async function sessionClass(): Promise<SessionClass> {
  return (await import('onnxruntime-node')).default.InferenceSession;
}

export async function createStoreSession(
  graphFile: string,
  mode: OpenMode,
  tensorsDir: string,
  user?: SessionOptions,
  create?: CreateFn,
): Promise<InferenceSession> {
  const fn = create ?? unhookedCreate(await sessionClass());
  // fast-open falls back to 'basic' for graphs that do not load at 'disabled'.
  return (await createAtLevels(mode, (level) => fn(graphFile, storeSessionOptions(mode, tensorsDir, user, level))))
    .session;
}
