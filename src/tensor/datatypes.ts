// KServe v2 (Open Inference Protocol) tensor datatypes and their in-memory
// storage. Data is always flat, row-major. The typed array per datatype is
// onnxruntime-node's (BOOL as 0/1 bytes, FP16 as raw IEEE half bits in a
// Uint16Array), so a tensor goes to ORT as it is.

export const DATATYPES = [
  'BOOL',
  'UINT8',
  'UINT16',
  'UINT32',
  'UINT64',
  'INT8',
  'INT16',
  'INT32',
  'INT64',
  'FP16',
  'FP32',
  'FP64',
  'BYTES',
] as const;

export type Datatype = (typeof DATATYPES)[number];

/** Numeric tensor storage, one typed array per datatype (see `arrayFor`). */
export type NumericData =
  | Uint8Array
  | Int8Array
  | Uint16Array
  | Int16Array
  | Uint32Array
  | Int32Array
  | BigUint64Array
  | BigInt64Array
  | Float32Array
  | Float64Array;

/**
 * Tensor data. BYTES inputs arrive as `Uint8Array[]` (exact bytes, one per
 * element); BYTES outputs may be given as `Uint8Array[]` or `string[]`
 * (UTF-8 encoded on the wire).
 */
export type TensorData = NumericData | Uint8Array[] | string[];

export type TypedArrayCtor = {
  new (length: number): NumericData;
  new (buffer: ArrayBufferLike, byteOffset?: number, length?: number): NumericData;
  readonly BYTES_PER_ELEMENT: number;
};

const ARRAY: Record<Exclude<Datatype, 'BYTES'>, TypedArrayCtor> = {
  BOOL: Uint8Array,
  UINT8: Uint8Array,
  UINT16: Uint16Array,
  UINT32: Uint32Array,
  UINT64: BigUint64Array,
  INT8: Int8Array,
  INT16: Int16Array,
  INT32: Int32Array,
  INT64: BigInt64Array,
  FP16: Uint16Array,
  FP32: Float32Array,
  FP64: Float64Array,
};

export function isDatatype(s: unknown): s is Datatype {
  return typeof s === 'string' && (DATATYPES as readonly string[]).includes(s);
}

/** Bytes per element; 0 for BYTES (variable length). */
export function elementSize(dt: Datatype): number {
  return dt === 'BYTES' ? 0 : ARRAY[dt].BYTES_PER_ELEMENT;
}

export function arrayFor(dt: Exclude<Datatype, 'BYTES'>): TypedArrayCtor {
  return ARRAY[dt];
}

/** Integer ranges for the integer datatypes whose values fit a JS number. */
export const INT_RANGE: Partial<Record<Datatype, readonly [number, number]>> = {
  UINT8: [0, 0xff],
  UINT16: [0, 0xffff],
  UINT32: [0, 0xffffffff],
  INT8: [-0x80, 0x7f],
  INT16: [-0x8000, 0x7fff],
  INT32: [-0x80000000, 0x7fffffff],
};

/** Whether `data` is the right storage for `dt` (and not, say, a Float64Array for FP32). */
export function dataMatches(dt: Datatype, data: TensorData): boolean {
  if (dt === 'BYTES')
    return Array.isArray(data) && (data as unknown[]).every((e) => typeof e === 'string' || e instanceof Uint8Array);
  return data instanceof ARRAY[dt];
}
