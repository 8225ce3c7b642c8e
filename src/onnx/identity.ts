// The smallest real ONNX model: a weightless `Y = Identity(X)`, X: [N, dim]
// float32, encoded in memory. The benchmarks' runtime baseline writes it to a
// file; serve's pre-started processes create and run a session of it to pay
// ONNX Runtime's first-session cost before a function arrives.
import { TensorshareError } from '../errors.js';
import { onnxTypes } from './schema.js';

const FLOAT = 1; // TensorProto.DataType.FLOAT

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

export const IDENTITY_INPUT = 'X';
export const IDENTITY_OUTPUT = 'Y';

export function identityModelBytes(name = 'identity', dim = 4): Uint8Array {
  const ModelProto = onnxTypes().Model;
  const model = {
    irVersion: 8,
    producerName: 'tensorshare-identity',
    opsetImport: [{ domain: '', version: 17 }],
    graph: {
      name: `${name}-identity`,
      node: [{ name: 'id', opType: 'Identity', input: [IDENTITY_INPUT], output: [IDENTITY_OUTPUT] }],
      input: [tensorValueInfo(IDENTITY_INPUT, ['N', dim])],
      output: [tensorValueInfo(IDENTITY_OUTPUT, ['N', dim])],
    },
  };
  const err = ModelProto.verify(model);
  if (err) throw new TensorshareError('ERR_INTERNAL', `identity model does not fit onnx.ModelProto: ${err}`);
  return ModelProto.encode(ModelProto.fromObject(model)).finish();
}
