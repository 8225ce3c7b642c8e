// The runtime's request/response format: protocol-neutral, but shaped like
// KServe v2 (Open Inference Protocol) tensors so the gateway passes its
// decoded requests through as they are. Data is flat, row-major: a typed
// array per datatype (as onnxruntime-node takes it), `string[]` or
// `Uint8Array[]` for BYTES.
import { TensorshareError } from '../../errors.js';
import type { Dim, IoSpec } from '../../store/manifest.js';

/** KServe v2 datatypes onnxruntime-node can carry (the gateway's DataType). */
export type Datatype =
  | 'BOOL' | 'UINT8' | 'UINT16' | 'UINT32' | 'UINT64' | 'INT8' | 'INT16' | 'INT32' | 'INT64'
  | 'FP16' | 'FP32' | 'FP64' | 'BYTES';

export const DATATYPES: readonly Datatype[] = [
  'BOOL', 'UINT8', 'UINT16', 'UINT32', 'UINT64', 'INT8', 'INT16', 'INT32', 'INT64', 'FP16', 'FP32', 'FP64', 'BYTES',
];

export const isDatatype = (s: unknown): s is Datatype => typeof s === 'string' && (DATATYPES as readonly string[]).includes(s);

export type NumericData =
  | Uint8Array | Int8Array | Uint16Array | Int16Array | Uint32Array | Int32Array
  | BigUint64Array | BigInt64Array | Float32Array | Float64Array;

export type TensorData = NumericData | string[] | Uint8Array[];

export interface Tensor {
  name: string;
  datatype: Datatype;
  shape: number[];
  data: TensorData;
  parameters?: Record<string, string | number | boolean>;
}

export interface InferRequest {
  id?: string;
  inputs: Tensor[];
  /** Outputs to return (all when absent or empty). */
  outputs?: { name: string; parameters?: Record<string, string | number | boolean> }[];
  parameters?: Record<string, string | number | boolean>;
}

export interface InferTiming {
  /** Waiting in the function's queue, cold start included. */
  queueMs: number;
  /** Time inside the instance (handler + model runs). */
  runMs: number;
  /** Set when this request waited for an instance to start. */
  coldStartMs?: number;
}

export interface InferResponse {
  id?: string;
  outputs: Tensor[];
  parameters?: Record<string, string | number | boolean>;
  timing?: InferTiming;
}

export interface TensorMetadata {
  name: string;
  datatype: Datatype;
  /** -1: dynamic dimension. */
  shape: number[];
  optional?: boolean;
}

export interface FunctionMetadata {
  name: string;
  versions: string[];
  /** 'onnxruntime_onnx' for a raw model function, 'tensorshare_handler' when a handler shapes the I/O. */
  platform: string;
  inputs: TensorMetadata[];
  outputs: TensorMetadata[];
}

const ORT_TO_KSERVE: Record<string, Datatype> = {
  bool: 'BOOL', uint8: 'UINT8', uint16: 'UINT16', uint32: 'UINT32', uint64: 'UINT64', int8: 'INT8', int16: 'INT16',
  int32: 'INT32', int64: 'INT64', float16: 'FP16', float32: 'FP32', float64: 'FP64', string: 'BYTES',
};
const KSERVE_TO_ORT: Record<string, string> = Object.fromEntries(Object.entries(ORT_TO_KSERVE).map(([k, v]) => [v, k]));

/** onnxruntime dtype name ('float32') -> KServe datatype ('FP32'). */
export function datatypeOf(ortDtype: string): Datatype {
  const d = ORT_TO_KSERVE[ortDtype];
  if (!d) throw new TensorshareError('ERR_UNSUPPORTED_DTYPE', `tensor type ${ortDtype} has no KServe v2 datatype`, { dtype: ortDtype });
  return d;
}

/** KServe datatype ('FP32') -> onnxruntime dtype name ('float32'). */
export function ortDtypeOf(datatype: string): string {
  const d = KSERVE_TO_ORT[datatype];
  if (!d) throw new TensorshareError('ERR_UNSUPPORTED_DTYPE', `datatype ${datatype} is not supported`, { datatype });
  return d;
}

export const dimOf = (d: Dim): number => (typeof d === 'number' && d >= 0 ? d : -1);

/** Model I/O as protocol metadata: symbolic or unknown dimensions become -1. */
export function ioMetadata(io: IoSpec): TensorMetadata {
  return { name: io.name, datatype: datatypeOf(io.dtype), shape: io.shape ? io.shape.map(dimOf) : [-1] };
}

/**
 * A copy of the tensor whose typed array owns exactly its bytes. Structured
 * clone (IPC with serialization 'advanced') copies a view's whole backing
 * buffer, so a view into a large request body would otherwise travel whole.
 */
export function compactTensor<T extends { data: unknown }>(t: T): T {
  const d = t.data;
  if (ArrayBuffer.isView(d) && (d.byteOffset !== 0 || d.byteLength !== d.buffer.byteLength)) {
    return { ...t, data: (d as Uint8Array).slice() };
  }
  if (Array.isArray(d) && d.some((x) => ArrayBuffer.isView(x) && (x.byteOffset !== 0 || x.byteLength !== x.buffer.byteLength))) {
    return { ...t, data: (d as Uint8Array[]).map((x) => (ArrayBuffer.isView(x) && x.byteLength !== x.buffer.byteLength ? x.slice() : x)) };
  }
  return t;
}

/** BYTES element as bytes (strings are UTF-8 encoded). */
export function bytesOf(v: string | Uint8Array): Uint8Array {
  return typeof v === 'string' ? new TextEncoder().encode(v) : v;
}

/** BYTES element as text (bytes are UTF-8 decoded). */
export function textOf(v: string | Uint8Array): string {
  return typeof v === 'string' ? v : new TextDecoder().decode(v);
}
