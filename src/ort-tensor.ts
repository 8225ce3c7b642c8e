import fs from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';

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
  // onnxruntime-common's index loads its sessions, backends and training API too (19 files, 5-7 ms here); its
  // tensor module alone is 6 (2.5-3.3 ms). It is the module the index re-exports, by the same path, so a later
  // `require('onnxruntime-common')` (onnxruntime-node's own) finds it cached: the class is the same object.
  const commonIndex = fromOrt.resolve('onnxruntime-common');
  const tensorModule = path.join(path.dirname(commonIndex), 'tensor.js');
  cached = (fromOrt(fs.existsSync(tensorModule) ? tensorModule : commonIndex) as { Tensor: OrtTensorClass }).Tensor;
  return cached;
}
