// Opens a stored model as an onnxruntime-node InferenceSession over the
// shared tmpfs weights, without a daemon: local residency (residency.ts)
// makes the model resident in the mode, then the session maps its files.
import type { InferenceSession } from 'onnxruntime-node';
import type { Paths } from '../config.js';
import type { Manifest, OpenMode, VariantManifest } from '../store/manifest.js';
import type { SessionOptions } from '../store/ort-options.js';
import { defaultSocket, resolvePaths } from '../config.js';
import { executorFor } from '../device/wants-device.js';
import type { ExecutorTier } from '../device/protocol.js';
import type { DeviceRunOptions } from './device-open.js';

/**
 * The in-process path's modules: the store's residency (manifests, staging, hashing) and ORT's session creation.
 * Imported at the first in-process open, so an instance whose models run on an executor never loads them (about
 * 12 ms of a fresh process's imports here).
 */
const inProcess = () =>
  Promise.all([import('./residency.js'), import('./create-session.js'), import('./auto-session.js')]).then(
    ([residency, create, auto]) => ({ ...residency, ...create, ...auto }),
  );

/**
 * For serve's pre-started instances (serve/instances/opener.ts `warmUp`): ORT's first-session cost, and the
 * in-process path's imports, paid before the process is handed a function.
 */
export async function warmUp(): Promise<number> {
  return (await inProcess()).warmUp();
}

export interface OpenSessionOptions extends Partial<Paths>, DeviceRunOptions {
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
  const onExecutor = executorFor(options.sessionOptions, options.executor);
  if (onExecutor) return openOnDeviceOfStore(ref, onExecutor, options);
  if (options.mode === 'auto') return openAuto(ref, options);
  const { localResidency, createStoreSession } = await inProcess();
  const r = await localResidency(options).ensureResident(ref, options.mode);
  const t1 = performance.now();
  const create = () =>
    createStoreSession(r.graphPath, r.mode, r.tensorsDir, { logSeverityLevel: 3, ...options.sessionOptions });
  const session = await (r.creating ? r.creating(create) : create());
  const t2 = performance.now();
  let released = false;
  return {
    session,
    manifest: r.manifest,
    mode: r.mode,
    variant: r.variant,
    materializeMs: r.waitMs,
    createMs: t2 - t1,
    async release() {
      if (released) return;
      released = true;
      await session.release();
      await r.release();
    },
  };
}

async function openAuto(ref: string, options: OpenSessionOptions): Promise<SharedSession> {
  let first: SharedSession;
  try {
    first = await openSession(ref, { ...options, mode: 'fast-open' });
  } catch (e) {
    // fast-open cannot load this model at any level: serve with whatever mode works.
    const other = await openSession(ref, { ...options, mode: 'fast-run' }).catch(() => {
      throw e;
    });
    if (other.mode === 'fast-run') return other;
    await other.release();
    throw e;
  }
  const result: SharedSession = { ...first, mode: 'fast-open' };
  const { switchingSession } = await inProcess();
  const sw = switchingSession(first.session, async () => {
    const second = await openSession(`${first.manifest.name}:${first.manifest.version}`, {
      ...options,
      mode: 'fast-run',
    });
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

/**
 * A GPU provider asked for: the model runs on the device executor of the
 * daemon that owns this store (a GPU is shared through its executor, never by
 * a session of this process), which makes it resident in the store and on
 * the device.
 */
async function openOnDeviceOfStore(
  ref: string,
  { tier, device }: { tier: ExecutorTier; device: number | undefined },
  options: OpenSessionOptions,
): Promise<SharedSession> {
  const { store } = resolvePaths(options);
  const t0 = performance.now();
  // Loaded only for the device path: a CPU open never needs the device client.
  const { openOnDevice } = await import('./device-open.js');
  const session = await openOnDevice(ref, {
    daemonSocket: defaultSocket({}, store),
    device,
    tier,
    priority: options.devicePriority,
    tenant: options.deviceTenant,
    policy: options.devicePolicy,
    outputs: options.deviceOutputs,
    awakeMs: options.deviceAwakeMs,
  });
  return {
    session,
    manifest: session.device.model.manifest,
    mode: 'fast-open',
    materializeMs: 0,
    createMs: performance.now() - t0,
    release: () => session.release(),
  };
}
