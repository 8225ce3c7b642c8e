// ONNX TensorProto.DataType values, their onnxruntime-node names and sizes.
// Bits rather than bytes because INT4/UINT4/FLOAT4 pack two values a byte.

export interface DtypeInfo {
  readonly onnx: number;
  readonly name: string; // onnxruntime-node Tensor type name where one exists
  readonly bits: number;
}

const TABLE: readonly DtypeInfo[] = [
  { onnx: 1, name: 'float32', bits: 32 },
  { onnx: 2, name: 'uint8', bits: 8 },
  { onnx: 3, name: 'int8', bits: 8 },
  { onnx: 4, name: 'uint16', bits: 16 },
  { onnx: 5, name: 'int16', bits: 16 },
  { onnx: 6, name: 'int32', bits: 32 },
  { onnx: 7, name: 'int64', bits: 64 },
  { onnx: 8, name: 'string', bits: 0 },
  { onnx: 9, name: 'bool', bits: 8 },
  { onnx: 10, name: 'float16', bits: 16 },
  { onnx: 11, name: 'float64', bits: 64 },
  { onnx: 12, name: 'uint32', bits: 32 },
  { onnx: 13, name: 'uint64', bits: 64 },
  { onnx: 14, name: 'complex64', bits: 64 },
  { onnx: 15, name: 'complex128', bits: 128 },
  { onnx: 16, name: 'bfloat16', bits: 16 },
  { onnx: 17, name: 'float8e4m3fn', bits: 8 },
  { onnx: 18, name: 'float8e4m3fnuz', bits: 8 },
  { onnx: 19, name: 'float8e5m2', bits: 8 },
  { onnx: 20, name: 'float8e5m2fnuz', bits: 8 },
  { onnx: 21, name: 'uint4', bits: 4 },
  { onnx: 22, name: 'int4', bits: 4 },
  { onnx: 23, name: 'float4e2m1', bits: 4 },
];

const BY_CODE = new Map(TABLE.map((d) => [d.onnx, d]));

export function dtypeInfo(code: number): DtypeInfo | undefined {
  return BY_CODE.get(code);
}

export const STRING_DTYPE = 8;

/** Bytes a dense tensor of `count` elements occupies in raw_data. */
export function rawByteLength(info: DtypeInfo, count: number): number {
  return Math.ceil((count * info.bits) / 8);
}

export function elementCount(dims: readonly number[]): number {
  return dims.reduce((a, b) => a * b, 1);
}
