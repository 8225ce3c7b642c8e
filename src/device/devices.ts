// Which devices get an executor, from the daemon's `gpus` setting: `auto`
// (every NVIDIA GPU when the CUDA provider is installed, else none, saying
// why), `none`, explicit indices (an error naming what is missing when the
// driver or the provider is not there), or fake devices with the CPU provider
// standing in (tests, CI).
import path from 'node:path';
import { TensorshareError } from '../errors.js';
import { gpuCount, loadNvml, type DeviceSpec } from './memory.js';
import { bindingFolder, missingCudaProviderFiles } from './provider.js';

export type GpuChoice =
  | { kind: 'auto' }
  | { kind: 'none' }
  | { kind: 'indices'; indices: number[] }
  | { kind: 'fake'; bytes: number[] };

export interface ResolvedDevices {
  devices: DeviceSpec[];
  provider: 'cuda' | 'cpu';
  /** Why `auto` found no device (for the log). */
  reason?: string;
}

/** Throws ERR_UNAVAILABLE naming the missing piece when CUDA devices cannot run. */
export function checkCudaReady(indices: readonly number[]): void {
  const n = loadNvml().count();
  const absent = indices.filter((i) => i >= n);
  if (absent.length)
    throw new TensorshareError(
      'ERR_UNAVAILABLE',
      `no GPU ${absent.join(', ')}: the NVIDIA driver reports ${n} device${n === 1 ? '' : 's'}`,
      { devices: n },
    );
  const missing = missingCudaProviderFiles();
  if (missing.length)
    throw new TensorshareError(
      'ERR_UNAVAILABLE',
      `the CUDA execution provider of ONNX Runtime is not installed: ${missing.join(', ')} missing in ${bindingFolder()} (run \`tensorshare gpu provision --from <folder or tarball>\`)`,
      { missing, folder: bindingFolder() },
    );
}

export function resolveDevices(choice: GpuChoice): ResolvedDevices {
  switch (choice.kind) {
    case 'none':
      return { devices: [], provider: 'cpu' };
    case 'fake':
      return {
        devices: choice.bytes.map((totalBytes, index) => ({ kind: 'fake', index, totalBytes })),
        provider: 'cpu',
      };
    case 'indices':
      checkCudaReady(choice.indices);
      return { devices: choice.indices.map((index) => ({ kind: 'nvml', index })), provider: 'cuda' };
    case 'auto': {
      const n = gpuCount();
      if (n === 0)
        return { devices: [], provider: 'cpu', reason: 'no NVIDIA GPU (libnvidia-ml.so.1 not loadable or 0 devices)' };
      const missing = missingCudaProviderFiles();
      if (missing.length)
        return {
          devices: [],
          provider: 'cpu',
          reason: `${n} GPU(s) but no CUDA provider: ${missing.join(', ')} missing in ${path.relative(process.cwd(), bindingFolder())}`,
        };
      return { devices: Array.from({ length: n }, (_, index) => ({ kind: 'nvml', index })), provider: 'cuda' };
    }
  }
}
