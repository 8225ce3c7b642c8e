// Tiny deterministic ONNX models for tests and for the runtime-baseline
// measurement: a MatMul chain (weights embedded or as ONNX external data) and
// a weightless Identity model. Encoded with the ONNX schema of src/onnx.
// The full synthetic-model generator lives in src/gen; this file only exists
// so the measurement kit does not depend on it.
import { mkdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { TensorshareError } from '../errors.js';
import { onnxTypes } from '../onnx/schema.js';
import { seededFloats } from '../prng.js';

const FLOAT = 1; // TensorProto.DataType.FLOAT
const EXTERNAL = 1; // TensorProto.DataLocation.EXTERNAL
const DATA_ALIGN = 4096; // page-aligned offsets so ORT can map each tensor in place

export interface MatMulModelOptions {
  /** Folder to write into (created if missing). */
  dir: string;
  /** File stem: `<name>.onnx` and, for external weights, `<name>.data`. */
  name?: string;
  /** Width of every layer: input [batch, dim], weights [dim, dim]. */
  dim: number;
  /** Number of MatMul layers. */
  layers: number;
  /** `embedded`: raw_data inside the .onnx file; `external`: one `<name>.data` file. */
  weights: 'embedded' | 'external';
  /** Seed of the deterministic weight values. */
  seed?: number;
}

export interface WrittenModel {
  modelPath: string;
  /** The external data file, when weights are external. */
  dataPath?: string;
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

/** Writes `Y = X · W0 · W1 · … · W(layers-1)`, X: [N, dim] float32. */
export function writeMatMulModel(opts: MatMulModelOptions): WrittenModel {
  const { dir, dim, layers, weights } = opts;
  const name = opts.name ?? 'model';
  const seed = opts.seed ?? 1;
  if (!Number.isInteger(dim) || dim < 1 || !Number.isInteger(layers) || layers < 1) {
    throw new TensorshareError('ERR_INVALID_ARGUMENT', `tiny model needs integer dim >= 1 and layers >= 1, got dim=${dim} layers=${layers}`);
  }
  mkdirSync(dir, { recursive: true });
  const modelPath = path.join(dir, `${name}.onnx`);
  const dataFile = `${name}.data`;
  const tensorBytes = dim * dim * 4;
  const stride = Math.ceil(tensorBytes / DATA_ALIGN) * DATA_ALIGN;
  const data = weights === 'external' ? Buffer.alloc(stride * (layers - 1) + tensorBytes) : undefined;
  // Scale keeps activations near unit size through the chain.
  const scale = Math.sqrt(3 / dim);

  const initializer: Record<string, unknown>[] = [];
  const node: Record<string, unknown>[] = [];
  for (let i = 0; i < layers; i++) {
    const values = seededFloats(dim * dim, seed * 1000 + i, scale);
    const bytes = Buffer.from(values.buffer, values.byteOffset, values.byteLength);
    const t: Record<string, unknown> = { name: `W${i}`, dims: [dim, dim], dataType: FLOAT };
    if (data) {
      bytes.copy(data, i * stride);
      t.dataLocation = EXTERNAL;
      t.externalData = [
        { key: 'location', value: dataFile },
        { key: 'offset', value: String(i * stride) },
        { key: 'length', value: String(tensorBytes) },
      ];
    } else {
      t.rawData = bytes;
    }
    initializer.push(t);
    const input = i === 0 ? 'X' : `H${i}`;
    const output = i === layers - 1 ? 'Y' : `H${i + 1}`;
    node.push({ name: `matmul${i}`, opType: 'MatMul', input: [input, `W${i}`], output: [output] });
  }
  const graph = {
    name: `${name}-matmul-${layers}x${dim}`,
    node,
    initializer,
    input: [tensorValueInfo('X', ['N', dim])],
    output: [tensorValueInfo('Y', ['N', dim])],
  };
  writeFileSync(modelPath, encodeModel(graph));
  let dataPath: string | undefined;
  if (data) {
    dataPath = path.join(dir, dataFile);
    writeFileSync(dataPath, data);
  }
  return { modelPath, dataPath, weightBytes: tensorBytes * layers, inputName: 'X', outputName: 'Y' };
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
