// Opens a stored model as an onnxruntime-node InferenceSession over the
// shared tmpfs weights, without a daemon: resolve the manifest, make the
// model resident if needed, create the session with store options.
import type { InferenceSession } from 'onnxruntime-node';
import { resolvePaths, type Paths } from '../config.js';
import { graphPath, layout } from '../store/layout.js';
import type { Manifest, OpenMode, VariantManifest } from '../store/manifest.js';
import { isResident, materialize, materializeVariant } from '../store/materialize.js';
import { buildFastRun, fastRunKey } from '../store/fast-run.js';
import type { SessionOptions } from '../store/ort-options.js';
import { createStoreSession } from './create-session.js';
import { resolveModel } from '../store/repository.js';

export interface OpenSessionOptions extends Partial<Paths> {
  /** Default: the model's defaultMode. */
  mode?: OpenMode;
  /** Passed to ORT; tensorshare overrides only what sharing needs (see ort-options.ts). */
  sessionOptions?: SessionOptions;
}

export interface SharedSession {
  session: InferenceSession;
  manifest: Manifest;
  mode: OpenMode;
  variant?: VariantManifest;
  /** Time spent making the model resident (0 when it already was). */
  materializeMs: number;
  createMs: number;
  release(): Promise<void>;
}

export async function openSession(ref: string, options: OpenSessionOptions = {}): Promise<SharedSession> {
  const paths = resolvePaths(options);
  const repo = layout(paths.repository);
  const store = layout(paths.store);
  const manifest = await resolveModel(repo, ref);
  const mode = options.mode ?? manifest.defaultMode;
  const t0 = performance.now();
  if (!(await isResident(store, manifest))) await materialize(repo, store, manifest);
  let graph = manifest.graph.sha256;
  let variant: VariantManifest | undefined;
  if (mode === 'fast-run') {
    variant = (await buildFastRun(repo, store, manifest)).variant;
    await materializeVariant(repo, store, variant, fastRunKey(variant.ortVersion, variant.target));
    graph = variant.graph.sha256;
  }
  const t1 = performance.now();
  const session = await createStoreSession(graphPath(store, graph), mode, store.tensors, options.sessionOptions);
  const t2 = performance.now();
  let released = false;
  return {
    session,
    manifest,
    mode,
    variant,
    materializeMs: t1 - t0,
    createMs: t2 - t1,
    async release() {
      if (released) return;
      released = true;
      await session.release();
    },
  };
}
