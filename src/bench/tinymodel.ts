// The tiny ONNX model of the runtime-baseline measurement: a weightless
// Identity model. Written with protobufjs from proto/onnx.proto.
// The full synthetic-model generator lives in src/gen; this file only exists
// so the measurement kit does not depend on it.
import { mkdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import protobuf from 'protobufjs';
import { TensorshareError } from '../errors.js';
import { protoDir } from '../paths.js';

const FLOAT = 1; // TensorProto.DataType.FLOAT

export interface WrittenModel {
  modelPath: string;
  /** Bytes of weights (sum of initializer sizes). */
  weightBytes: number;
  inputName: string;
  outputName: string;
}

function onnxRoot(): protobuf.Root {
  // Parsing the 120-line schema takes about a millisecond: no cache needed.
  return protobuf.loadSync(path.join(protoDir, 'onnx.proto'));
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
  const ModelProto = onnxRoot().lookupType('onnx.ModelProto');
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
