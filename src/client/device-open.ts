// A device session behind onnxruntime-node's InferenceSession interface, so
// code written for `InferenceSession.create(file, { executionProviders:
// ['cuda'] })` runs unchanged on the copy resident on the GPU: run() goes to
// the device's executor (src/device/device-session.ts).
import type { InferenceSession, Tensor } from 'onnxruntime-node';
import { openDeviceSession, type DeviceSession, type DeviceSessionOptions } from '../device/device-session.js';

export interface DeviceBackedSession extends InferenceSession {
  /** The executor session underneath (device, model key, batch of the last run). */
  readonly device: DeviceSession;
}

/** How a session's runs are ordered on the device's executor (see src/device/README.md, lanes and policies). */
export interface DeviceRunOptions {
  /**
   * 'cpu': run on the daemon's CPU executor (`cpuExecutor` setting): one session per model there, created once and
   * shared by every client, so an open of a resident model is one round trip; runs cross shared memory.
   */
  executor?: 'cpu';
  /** The class of this session's runs: realtime (the default) goes ahead of besteffort. */
  devicePriority?: DeviceSessionOptions['priority'];
  /** Who is charged for this session's device time under the executor's fair policy (default: the model). */
  deviceTenant?: string;
  /** The function's own device policy (orders its runs among the model's runs under the same policy; default the executor's). */
  devicePolicy?: DeviceSessionOptions['policy'];
  /** 'copy' (default): outputs are copied out of shared memory; 'view': views of it until disposed (DeviceSessionOptions.outputs). */
  deviceOutputs?: DeviceSessionOptions['outputs'];
  /** How long a run keeps this process's event loop awake for the executor's answer (DeviceSessionOptions.awakeMs). */
  deviceAwakeMs?: number;
}

export async function openOnDevice(ref: string, o: DeviceSessionOptions): Promise<DeviceBackedSession> {
  const ds = await openDeviceSession(ref, o);
  const meta = (specs: DeviceSession['model']['inputs']) =>
    specs.map((s) => ({ name: s.name, isTensor: true, type: s.dtype, shape: s.shape ?? [] }));
  const session = {
    device: ds,
    inputNames: ds.inputNames,
    outputNames: ds.outputNames,
    inputMetadata: meta(ds.model.inputs),
    outputMetadata: meta(ds.model.outputs),
    async run(feeds: Record<string, Tensor>, fetches?: unknown): Promise<Record<string, Tensor>> {
      const names = Array.isArray(fetches)
        ? (fetches as string[])
        : fetches && typeof fetches === 'object' && !Object.keys(fetches).some((k) => !ds.outputNames.includes(k))
          ? Object.keys(fetches)
          : undefined;
      return ds.run(feeds, names?.length ? names : undefined);
    },
    release: () => ds.release(),
    startProfiling() {},
    endProfiling() {},
  };
  return session as unknown as DeviceBackedSession;
}
