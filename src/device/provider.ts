// Where ONNX Runtime's CUDA execution provider must be for onnxruntime-node to
// use it: ORT loads providers from the folder of its own libonnxruntime.so.1,
// inside onnxruntime-node's package (bin/napi-v6/<platform>/<arch>). The npm
// package bundles only the CPU and WebGPU providers; provision.ts copies a
// CUDA provider there.
import fs from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';

export const CUDA_PROVIDER_FILES = ['libonnxruntime_providers_cuda.so', 'libonnxruntime_providers_shared.so'] as const;

/** onnxruntime-node's native folder (the one holding libonnxruntime.so.1). */
export function bindingFolder(): string {
  const pkg = createRequire(import.meta.url).resolve('onnxruntime-node/package.json');
  return path.join(path.dirname(pkg), 'bin', 'napi-v6', process.platform, process.arch);
}

/** The CUDA provider files missing beside the binding (empty: installed). */
export function missingCudaProviderFiles(folder = bindingFolder()): string[] {
  return CUDA_PROVIDER_FILES.filter((f) => !fs.existsSync(path.join(folder, f)));
}
