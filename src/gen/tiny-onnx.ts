// In-memory ONNX builder for tiny models (the compatibility corpus, tests):
// any data type, any IR version and opset, subgraphs (If/Loop/Scan bodies),
// initializers optionally repeated among the graph inputs (IR 3 style).
// writer.ts streams large models; this one encodes a whole ModelProto at
// once, which is right for models of a few kilobytes.

import { TensorshareError } from '../errors.js';
import { onnxTypes } from '../onnx/schema.js';
import { valueInfo } from './writer.js';
import { numbersToHalf } from '../tensor/index.js';

/** ONNX TensorProto.DataType codes used by the corpus. */
export const Onnx = {
  FLOAT: 1,
  UINT8: 2,
  INT8: 3,
  INT32: 6,
  INT64: 7,
  BOOL: 9,
  FLOAT16: 10,
  DOUBLE: 11,
  BFLOAT16: 16,
} as const;

export interface TinyTensor {
  name: string;
  dataType: number;
  dims: readonly number[];
  values: readonly number[];
}

export interface TinyValue {
  name: string;
  dataType: number;
  dims: ReadonlyArray<number | string>;
}

export type TinyAttr =
  | { i: number }
  | { f: number }
  | { s: string }
  | { ints: readonly number[] }
  | { floats: readonly number[] }
  | { t: TinyTensor }
  | { g: TinyGraph };

export interface TinyNode {
  op: string;
  inputs: readonly string[];
  outputs: readonly string[];
  attrs?: Record<string, TinyAttr>;
  domain?: string;
}

export interface TinyGraph {
  name: string;
  nodes: TinyNode[];
  inputs: TinyValue[];
  outputs: TinyValue[];
  initializers?: TinyTensor[];
}

export interface TinyModelOptions {
  irVersion?: number;
  opset?: number;
  /** IR 3 style: every initializer is also listed among the graph inputs (older exporters did this). */
  initializersAsInputs?: boolean;
}

/** Little-endian bytes of `values` in the ONNX data type. */
function tensorRaw(dataType: number, values: readonly number[]): Buffer {
  const n = values.length;
  switch (dataType) {
    case Onnx.FLOAT:
      return Buffer.from(new Float32Array(values).buffer);
    case Onnx.DOUBLE:
      return Buffer.from(new Float64Array(values).buffer);
    case Onnx.INT32:
      return Buffer.from(new Int32Array(values).buffer);
    case Onnx.INT64:
      return Buffer.from(new BigInt64Array(values.map((v) => BigInt(v))).buffer);
    case Onnx.INT8:
      return Buffer.from(new Int8Array(values).buffer);
    case Onnx.UINT8:
    case Onnx.BOOL:
      return Buffer.from(new Uint8Array(values).buffer);
    case Onnx.FLOAT16: {
      const half = numbersToHalf(values);
      return Buffer.from(half.buffer, half.byteOffset, half.byteLength);
    }
    case Onnx.BFLOAT16: {
      const b = Buffer.alloc(n * 2);
      const f = new Float32Array(values);
      const u = new Uint32Array(f.buffer);
      u.forEach((v, i) => {
        b.writeUInt16LE(v >>> 16, i * 2);
      });
      return b;
    }
    default:
      throw new TensorshareError('ERR_INTERNAL', `tiny-onnx: data type ${dataType} not supported`);
  }
}

function tensorObject(t: TinyTensor): Record<string, unknown> {
  const count = t.dims.reduce((a, d) => a * d, 1);
  if (count !== t.values.length)
    throw new TensorshareError(
      'ERR_INTERNAL',
      `tiny-onnx: tensor ${t.name} has ${t.values.length} values for dims [${t.dims.join(',')}]`,
    );
  return { name: t.name, dims: t.dims, dataType: t.dataType, rawData: tensorRaw(t.dataType, t.values) };
}

function attrObject(name: string, a: TinyAttr, o: TinyModelOptions): Record<string, unknown> {
  if ('i' in a) return { name, type: 2, i: a.i };
  if ('f' in a) return { name, type: 1, f: a.f };
  if ('s' in a) return { name, type: 3, s: Buffer.from(a.s) };
  if ('ints' in a) return { name, type: 7, ints: a.ints };
  if ('floats' in a) return { name, type: 6, floats: a.floats };
  if ('t' in a) return { name, type: 4, t: tensorObject(a.t) };
  return { name, type: 5, g: graphObject(a.g, { ...o, initializersAsInputs: false }) };
}

function graphObject(g: TinyGraph, o: TinyModelOptions): Record<string, unknown> {
  const inits = g.initializers ?? [];
  const asInputs = o.initializersAsInputs
    ? inits.map((t) => valueInfo({ name: t.name, dataType: t.dataType, dims: t.dims }))
    : [];
  return {
    name: g.name,
    node: g.nodes.map((n, i) => ({
      input: n.inputs,
      output: n.outputs,
      name: `${n.op}_${i}`,
      opType: n.op,
      ...(n.domain ? { domain: n.domain } : {}),
      attribute: Object.entries(n.attrs ?? {}).map(([k, v]) => attrObject(k, v, o)),
    })),
    initializer: inits.map(tensorObject),
    input: [...g.inputs.map(valueInfo), ...asInputs],
    output: g.outputs.map(valueInfo),
  };
}

/** Encodes a whole model (ir_version 8, opset 18 unless told). */
export function encodeTinyModel(g: TinyGraph, o: TinyModelOptions = {}): Buffer {
  const Model = onnxTypes().Model;
  const msg = Model.fromObject({
    irVersion: o.irVersion ?? 8,
    producerName: 'tensorshare-gen',
    opsetImport: [{ domain: '', version: o.opset ?? 18 }],
    graph: graphObject(g, o),
  });
  return Buffer.from(Model.encode(msg).finish());
}
