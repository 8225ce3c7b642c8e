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

/**
 * Creates, runs once and releases a session of a weightless Identity model.
 * A process's first session creation pays for ONNX Runtime's environment and
 * for faulting in the library's code (measured: 27-39 ms and ~2,200 minor
 * faults before a PaddleOCR model's own creation); a process that will be
 * handed a model later (serve's pre-started instances) pays it here instead.
 * Returns the time it took.
 */
export async function warmUp(): Promise<number> {
  const t0 = performance.now();
  const ort = (await import('onnxruntime-node')).default;
  // The ONNX schema (protobufjs) only here: an open never needs it.
  const { IDENTITY_INPUT, identityModelBytes } = await import('../onnx/identity.js');
  const create = unhookedCreate(ort.InferenceSession) as unknown as (
    bytes: Uint8Array,
    options?: SessionOptions,
  ) => Promise<InferenceSession>;
  const session = await create(identityModelBytes('warm-up'), {
    logSeverityLevel: 3,
    intraOpNumThreads: 1,
    interOpNumThreads: 1,
  });
  try {
    await session.run({ [IDENTITY_INPUT]: new ort.Tensor('float32', new Float32Array(4), [1, 4]) });
  } finally {
    await session.release();
  }
  return performance.now() - t0;
}
