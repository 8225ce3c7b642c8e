// Whether an open asks for the device path: a file of its own so that every
// CPU open can ask without loading the device client (device-session.ts and
// its shared-memory transfer, koffi among them).
import type { InferenceSession } from 'onnxruntime-node';
import { TensorshareError } from '../errors.js';

/**
 * Whether session options ask for a GPU execution provider (the device path): `deviceId` pins a device; without
 * one the daemon places the model (placeModel).
 */
export function wantsDevice(
  options: InferenceSession.SessionOptions | undefined,
): { device: number | undefined } | undefined {
  for (const ep of options?.executionProviders ?? []) {
    const name = typeof ep === 'string' ? ep : ep.name;
    if (name === 'cuda') {
      const id = typeof ep === 'object' ? (ep as { deviceId?: number }).deviceId : undefined;
      if (id !== undefined && !(Number.isSafeInteger(id) && id >= 0))
        throw new TensorshareError('ERR_INVALID_ARGUMENT', `cuda deviceId must be an integer >= 0, got ${String(id)}`);
      return { device: id };
    }
  }
  return undefined;
}

/**
 * Which executor an open goes to, if any: a GPU's (a GPU provider in the session options) or, with `executor: 'cpu'`,
 * the daemon's CPU executor; undefined: a session of this process.
 */
export function executorFor(
  options: InferenceSession.SessionOptions | undefined,
  executor: 'cpu' | undefined,
): { tier: 'gpu'; device: number | undefined } | { tier: 'cpu'; device: 0 } | undefined {
  const gpu = wantsDevice(options);
  if (executor === undefined) return gpu && { tier: 'gpu', device: gpu.device };
  if (executor !== 'cpu')
    throw new TensorshareError('ERR_INVALID_ARGUMENT', `executor must be 'cpu' or unset, got ${String(executor)}`);
  if (gpu)
    throw new TensorshareError(
      'ERR_INVALID_ARGUMENT',
      "executor 'cpu' runs on the CPU executor: the session options must not ask for the cuda provider too",
    );
  return { tier: 'cpu', device: 0 };
}
