import { createRequire } from 'node:module';

// onnxruntime-node's Tensor class without its native binding. The class is
// onnxruntime-common's, which onnxruntime-node re-exports from its CommonJS
// build; it is required here from onnxruntime-node's own folder, so it is that
// very class (an ESM import of onnxruntime-common would load its ESM build: a
// second class, unequal to the sessions'). Processes whose sessions run
// elsewhere (a device or CPU executor's clients, an instance of such a
// function) thus skip loading the binding, 7-10 ms of a fresh process here.
export type OrtTensorClass = typeof import('onnxruntime-node').Tensor;

let cached: OrtTensorClass | undefined;
export function ortTensorClass(): OrtTensorClass {
  if (cached) return cached;
  const require = createRequire(import.meta.url);
  const fromOrt = createRequire(require.resolve('onnxruntime-node'));
  cached = (fromOrt('onnxruntime-common') as { Tensor: OrtTensorClass }).Tensor;
  return cached;
}
