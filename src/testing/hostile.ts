// What the gateway's hostile-input, fuzz and soak tests share: a small
// in-process backend (a recognizer shaped like ppocr-rec whose output grows
// with the image width, a BYTES echo, an FP32 echo), the hostile bodies of
// issue 11 (from ../bench/hostile/bodies.ts, which the hostile benchmark
// sends too), raw gRPC calls, and a health prober.

import v8 from 'node:v8';
import vm from 'node:vm';
import { TensorshareError } from '../errors.js';
import type { InferenceBackend, ModelIndexEntry, ValidatedInferRequest } from '../serve/protocol/backend.js';
import type { InferResponse, ModelMetadata } from '../tensor/index.js';

const MODELS: ModelMetadata[] = [
  {
    name: 'rec',
    versions: ['1'],
    platform: 'test',
    inputs: [{ name: 'x', datatype: 'FP32', shape: [-1, 3, 48, -1] }],
    outputs: [{ name: 'y', datatype: 'FP32', shape: [-1, -1, 6625] }],
  },
  {
    name: 'text',
    versions: ['1'],
    platform: 'test',
    inputs: [{ name: 'TEXT', datatype: 'BYTES', shape: [-1] }],
    outputs: [{ name: 'OUT', datatype: 'BYTES', shape: [-1] }],
  },
  {
    name: 'simple',
    versions: ['1'],
    platform: 'test',
    inputs: [{ name: 'INPUT0', datatype: 'FP32', shape: [-1, 4] }],
    outputs: [{ name: 'OUTPUT0', datatype: 'FP32', shape: [-1, 4] }],
  },
];

/** The test backend; `calls` counts what reached `infer` (validated requests only). */
export interface HostileBackend extends InferenceBackend {
  calls: number;
}

export function hostileBackend(): HostileBackend {
  const byName = new Map(MODELS.map((m) => [m.name, m]));
  const backend: HostileBackend = {
    calls: 0,
    serverReady: () => true,
    listModels: (): ModelIndexEntry[] => MODELS.map((m) => ({ name: m.name, version: '1', state: 'READY' })),
    modelMetadata: (name, version) => {
      const m = byName.get(name);
      return m && (version === undefined || m.versions.includes(version)) ? m : undefined;
    },
    modelReady: (name) => byName.has(name),
    async infer(req: ValidatedInferRequest): Promise<InferResponse> {
      backend.calls++;
      const x = req.inputs[0]!;
      if (req.model === 'rec') {
        // ppocr-rec: [N, 3, 48, W] -> [N, W/8, 6625] character probabilities.
        const [n, , , w] = x.shape as [number, number, number, number];
        const steps = Math.ceil(w / 8);
        return {
          outputs: [
            {
              name: 'y',
              datatype: 'FP32',
              shape: [n, steps, 6625],
              data: new Float32Array(n * steps * 6625).fill(0.123456789),
            },
          ],
        };
      }
      const name = req.model === 'text' ? 'OUT' : 'OUTPUT0';
      return { outputs: [{ ...x, name }] };
    },
    async load(name) {
      if (!byName.has(name)) throw new TensorshareError('ERR_MODEL_NOT_FOUND', `no model '${name}'`);
    },
    async unload(name) {
      if (!byName.has(name)) throw new TensorshareError('ERR_MODEL_NOT_FOUND', `no model '${name}'`);
    },
  };
  return backend;
}

export * from '../bench/hostile/bodies.js';

v8.setFlagsFromString('--expose-gc');
const gc = vm.runInNewContext('gc') as () => void;

/** JS heap in use in MiB after full collections: what decoded objects hold (buffers are outside it). */
export function heapMb(): number {
  gc();
  gc();
  return process.memoryUsage().heapUsed / (1024 * 1024);
}

/** RSS of this process in MiB, after full collections (what the process holds, not garbage waiting for one). */
export function rssMb(): number {
  gc();
  gc();
  return process.memoryUsage().rss / (1024 * 1024);
}
