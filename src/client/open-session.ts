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
import { switchingSession } from './auto-session.js';

export interface OpenSessionOptions extends Partial<Paths> {
  /**
   * Default: the model's defaultMode. 'auto' opens in fast-open and switches
   * to fast-run after the first run, behind the same session object.
   */
  mode?: OpenMode | 'auto';
  /** Passed to ORT; tensorshare overrides only what sharing needs (see ort-options.ts). */
  sessionOptions?: SessionOptions;
}

export interface SharedSession {
  session: InferenceSession;
  manifest: Manifest;
  /** The mode serving now ('auto' starts as fast-open). */
  mode: OpenMode;
  /** With mode 'auto': settles when fast-run serves. */
  switched?: Promise<{ switchMs: number } | { error: Error }>;
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
  const asked = options.mode ?? manifest.defaultMode;
  if (asked === 'auto') return openAuto(ref, options);
  let mode: OpenMode = asked;
  const t0 = performance.now();
  if (!(await isResident(store, manifest))) await materialize(repo, store, manifest);
  let graph = manifest.graph.sha256;
  let variant: VariantManifest | undefined;
  if (mode === 'fast-run') {
    variant = (await buildFastRun(repo, store, manifest)).variant;
    if (variant.status === 'ok') {
      await materializeVariant(repo, store, variant, fastRunKey(variant.ortVersion, variant.target));
      graph = variant.graph.sha256;
    } else {
      mode = 'fast-open'; // ORT could not build a loadable variant for this model (reason in the variant manifest)
    }
  }
  const t1 = performance.now();
  const session = await createStoreSession(graphPath(store, graph), mode, store.tensors, { logSeverityLevel: 3, ...options.sessionOptions });
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

async function openAuto(ref: string, options: OpenSessionOptions): Promise<SharedSession> {
  let first: SharedSession;
  try {
    first = await openSession(ref, { ...options, mode: 'fast-open' });
  } catch (e) {
    // fast-open cannot load this model at any level: serve with whatever mode works.
    const other = await openSession(ref, { ...options, mode: 'fast-run' }).catch(() => { throw e; });
    if (other.mode === 'fast-run') return other;
    await other.release();
    throw e;
  }
  const result: SharedSession = { ...first, mode: 'fast-open' };
  const sw = switchingSession(first.session, async () => {
    const second = await openSession(`${first.manifest.name}:${first.manifest.version}`, { ...options, mode: 'fast-run' });
    if (second.mode !== 'fast-run') {
      await second.release();
      throw new Error('no fast-run variant can be loaded for this model; staying in fast-open');
    }
    result.mode = 'fast-run';
    return second.session;
  });
  result.session = sw.session;
  result.switched = sw.switched;
  result.release = sw.release;
  return result;
}
