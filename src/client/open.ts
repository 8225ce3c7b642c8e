// open(): a model as an onnxruntime-node session, through the daemon. The
// daemon makes the model resident and leases it; the session maps the store
// files directly. release() (or the end of the process) ends the lease.
// With `executionProviders: ['cuda']` the session runs on the device's
// executor instead, over the one copy resident on that GPU (device-open.ts).
import type { InferenceSession } from 'onnxruntime-node';
import type { Manifest, OpenMode, VariantManifest } from '../store/manifest.js';
import type { SessionOptions } from '../store/ort-options.js';
import path from 'node:path';
import type { ClientLease, DaemonClient, DaemonClientOptions } from './daemon-client.js';
import type { DeviceRunOptions } from './device-open.js';
import { clientSettings } from './settings.js';
import { executorFor } from '../device/wants-device.js';
import type { ExecutorTier } from '../device/protocol.js';

// The host path's modules (the daemon client, the session's creation, the store's layout and originals) load with
// its first open: a process that opens only on an executor never needs them.

/** For serve's pre-started instances when they open through the daemon (serve/instances/opener.ts `warmUp`). */
export async function warmUp(): Promise<number> {
  return (await import('./create-session.js')).warmUp();
}

export interface OpenOptions extends DaemonClientOptions, DeviceRunOptions {
  mode?: OpenMode;
  /** Passed to ORT; tensorshare overrides only what sharing needs (store/ort-options.ts). */
  sessionOptions?: SessionOptions;
  /** A client to use; default: this process's shared client for the socket and token. */
  client?: DaemonClient;
  /** The device path (`executionProviders: ['cuda']`): how long one request may wait for the executor (default 60 s). */
  deviceRequestTimeoutMs?: number;
}

export interface OpenedModel {
  session: InferenceSession;
  manifest: Manifest;
  variant?: VariantManifest;
  mode: OpenMode;
  lease: ClientLease;
  /** Time the daemon took to answer (materializing or building if needed). */
  openMs: number;
  createMs: number;
  release(): Promise<void>;
}

export async function open(ref: string, options: OpenOptions = {}): Promise<OpenedModel> {
  const onExecutor = executorFor(options.sessionOptions, options.executor);
  if (onExecutor) return openDeviceModel(ref, onExecutor, options);
  // The daemon client (gRPC) only here: the device path never needs it.
  const client = options.client ?? (await import('./shared-client.js')).sharedClient(options);
  const t0 = performance.now();
  const lease = await client.open(ref, { mode: options.mode, ownWindow: true });
  const t1 = performance.now();
  let session: InferenceSession;
  try {
    session = await client.tracer.span(
      'create-session',
      `create-${lease.leaseId}`,
      () =>
        inCreationWindow(client, lease, () =>
          import('./create-session.js').then(({ createStoreSession }) =>
            createStoreSession(lease.graphPath, lease.mode, lease.tensorsDir, options.sessionOptions),
          ),
        ),
      { model: lease.model },
    );
  } catch (e) {
    await client.close(lease.leaseId).catch(() => {});
    throw e;
  }
  const t2 = performance.now();
  let released = false;
  return {
    session,
    manifest: lease.manifest,
    variant: lease.variant,
    mode: lease.mode,
    lease,
    openMs: t1 - t0,
    createMs: t2 - t1,
    async release() {
      if (released) return;
      released = true;
      await session.release();
      await client.close(lease.leaseId);
    },
  };
}

/**
 * A fast-run creation inside a creation window (store/originals.ts): the
 * originals ONNX Runtime re-packs at every creation are whole for it, and the
 * daemon owning the store cuts them again after its linger. This process
 * opens the window itself where it may write the store's tmp; cut originals
 * (or no window of its own: another user) are restored by the daemon for a
 * second lease, whose window the daemon holds until the creation ends.
 */
async function inCreationWindow<T>(client: DaemonClient, lease: ClientLease, create: () => Promise<T>): Promise<T> {
  const v = lease.variant;
  if (lease.mode !== 'fast-run' || !v) return create();
  const [{ cannotWrite, cutBytesOf, cutsDone, cuttableTensors, openWindow }, { layout }] = await Promise.all([
    import('../store/originals.js'),
    import('../store/layout.js'),
  ]);
  if (!cuttableTensors(v).length) return create();
  const store = layout(path.dirname(lease.tensorsDir));
  const daemonWindow = async () => {
    const w = await client.open(lease.model, { mode: 'fast-run' });
    try {
      return await create();
    } finally {
      await client.close(w.leaseId).catch(() => {});
    }
  };
  let close: () => Promise<void>;
  try {
    close = await openWindow(store);
  } catch (e) {
    if (!cannotWrite(e)) throw e;
    return daemonWindow();
  }
  try {
    await cutsDone(store);
    // Cut before this window opened: the daemon restores them (it owns the files); the window keeps them.
    if ((await cutBytesOf(store, v)) > 0) return await daemonWindow();
    return await create();
  } finally {
    await close();
  }
}

/**
 * The device path: the executor's connection is the lease (the daemon holds
 * the model in the host store and on the device while a client has it open),
 * so no daemon round trip precedes it.
 */
async function openDeviceModel(
  ref: string,
  { tier, device }: { tier: ExecutorTier; device: number | undefined },
  options: OpenOptions,
): Promise<OpenedModel> {
  const s = clientSettings(options, options.env);
  const t0 = performance.now();
  const { openOnDevice } = await import('./device-open.js'); // only for the device path
  const session = await openOnDevice(ref, {
    daemonSocket: s.socket,
    token: s.token,
    device,
    tier,
    requestTimeoutMs: options.deviceRequestTimeoutMs,
    priority: options.devicePriority,
    tenant: options.deviceTenant,
    policy: options.devicePolicy,
    outputs: options.deviceOutputs,
    awakeMs: options.deviceAwakeMs,
  });
  const t1 = performance.now();
  const io = session.device.model;
  return {
    session,
    manifest: io.manifest,
    mode: 'fast-open',
    lease: {
      leaseId: `device-${session.device.device}:${io.key}`,
      model: io.model,
      mode: 'fast-open',
      graphPath: '',
      tensorsDir: '',
      manifest: io.manifest,
      wasResident: io.wasResident,
      waitMs: t1 - t0,
    },
    openMs: t1 - t0,
    createMs: 0,
    release: () => session.release(),
  };
}
