// The tiny ONNX model of the runtime-baseline measurement: a weightless
// Identity model. Encoded with the ONNX schema of src/onnx.
// The full synthetic-model generator lives in src/gen; this file only exists
// so the measurement kit does not depend on it.
import { mkdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { TensorshareError } from '../errors.js';
import { onnxTypes } from '../onnx/schema.js';

const FLOAT = 1; // TensorProto.DataType.FLOAT

export interface WrittenModel {
  modelPath: string;
  /** Bytes of weights (sum of initializer sizes). */
  weightBytes: number;
  inputName: string;
  outputName: string;
}

function tensorValueInfo(name: string, dims: Array<number | string>): Record<string, unknown> {
  return {
    name,
    type: {
      tensorType: {
        elemType: FLOAT,
        shape: { dim: dims.map((d) => (typeof d === 'number' ? { dimValue: d } : { dimParam: d })) },
      },
    },
  };
}

function encodeModel(graph: Record<string, unknown>): Uint8Array {
  const ModelProto = onnxTypes().Model;
  const model = {
    irVersion: 8,
    producerName: 'tensorshare-bench-tinymodel',
    opsetImport: [{ domain: '', version: 17 }],
    graph,
  };
  const err = ModelProto.verify(model);
  if (err) throw new TensorshareError('ERR_INTERNAL', `tiny model does not fit onnx.ModelProto: ${err}`);
  return ModelProto.encode(ModelProto.fromObject(model)).finish();
}

/** Writes a weightless `Y = Identity(X)`, X: [N, dim] float32: the smallest real session. */
export function writeIdentityModel(dir: string, name = 'identity', dim = 4): WrittenModel {
  mkdirSync(dir, { recursive: true });
  const modelPath = path.join(dir, `${name}.onnx`);
  const graph = {
    name: `${name}-identity`,
    node: [{ name: 'id', opType: 'Identity', input: ['X'], output: ['Y'] }],
    input: [tensorValueInfo('X', ['N', dim])],
    output: [tensorValueInfo('Y', ['N', dim])],
  };
  writeFileSync(modelPath, encodeModel(graph));
  return { modelPath, weightBytes: 0, inputName: 'X', outputName: 'Y' };
}
