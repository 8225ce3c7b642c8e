// ONNX Runtime errors from a device, as tensorshare errors: an allocation the
// device cannot satisfy (CUDA's "out of memory" / "Failed to allocate", the
// fake device's refusal) is RESOURCE_EXHAUSTED, an admission failure rather
// than a crash; invalid inputs ORT catches are INVALID_ARGUMENT, as on the CPU
// path; the rest is INTERNAL with ORT's message.
import { formatBytes } from '../bytes.js';
import { TensorshareError, isTensorshareError } from '../errors.js';
import type { DeviceMemory } from './memory.js';

const OOM = /out of memory|failed to allocate|CUDA_ERROR_OUT_OF_MEMORY|cudaErrorMemoryAllocation/i;
const BAD_INPUT = /invalid (rank|dimensions|input|argument)|unexpected input data type|input .* not found|got invalid/i;

export function deviceError(e: unknown, what: string, device: DeviceMemory): TensorshareError {
  if (isTensorshareError(e)) return e;
  const msg = (e as Error)?.message ?? String(e);
  if (OOM.test(msg)) {
    const total = device.total();
    const used = device.used();
    return new TensorshareError(
      'ERR_RESOURCE_EXHAUSTED',
      `${what}: the device ran out of memory (${formatBytes(total - used)} free of ${formatBytes(total)}): ${msg.split('\n')[0]}`,
      { free: total - used, total, device: device.index },
    );
  }
  if (BAD_INPUT.test(msg)) return new TensorshareError('ERR_INVALID_ARGUMENT', `${what}: ${msg.split('\n')[0]}`);
  return new TensorshareError('ERR_INTERNAL', `${what}: ${msg.split('\n')[0]}`);
}
