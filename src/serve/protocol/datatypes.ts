// Open Inference Protocol (KServe v2) tensor datatypes and their in-memory
// representation. Tensor data is always flat, row-major. The typed-array
// choice per datatype matches onnxruntime's (BOOL as 0/1 bytes, FP16 as raw
// IEEE half bits in a Uint16Array), so a backend can hand data to ORT as is.
//
// Binary layouts (HTTP binary extension, gRPC raw contents) are little-endian;
// the copies below assume a little-endian host (x86-64, arm64), as Node's
// supported servers are.

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

export type DataType = (typeof DATATYPES)[number];

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

type TypedArrayCtor = {
  new (length: number): NumericData;
  new (buffer: ArrayBufferLike, byteOffset?: number, length?: number): NumericData;
  readonly BYTES_PER_ELEMENT: number;
};

const ARRAY: Record<Exclude<DataType, 'BYTES'>, TypedArrayCtor> = {
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

export function isDataType(s: unknown): s is DataType {
  return typeof s === 'string' && (DATATYPES as readonly string[]).includes(s);
}

/** Bytes per element; 0 for BYTES (variable length). */
export function elementSize(dt: DataType): number {
  return dt === 'BYTES' ? 0 : ARRAY[dt].BYTES_PER_ELEMENT;
}

export function arrayFor(dt: Exclude<DataType, 'BYTES'>): TypedArrayCtor {
  return ARRAY[dt];
}

/** Integer ranges for the integer datatypes whose values fit a JS number. */
export const INT_RANGE: Partial<Record<DataType, readonly [number, number]>> = {
  UINT8: [0, 0xff],
  UINT16: [0, 0xffff],
  UINT32: [0, 0xffffffff],
  INT8: [-0x80, 0x7f],
  INT16: [-0x8000, 0x7fff],
  INT32: [-0x80000000, 0x7fffffff],
};

/** Whether `data` is the right storage for `dt` (and not, say, a Float64Array for FP32). */
export function dataMatches(dt: DataType, data: TensorData): boolean {
  if (dt === 'BYTES') return Array.isArray(data) && (data as unknown[]).every((e) => typeof e === 'string' || e instanceof Uint8Array);
  return data instanceof ARRAY[dt];
}

/** Number of elements of a shape; shapes are validated non-negative integers. */
export function elementCount(shape: readonly number[]): number {
  let n = 1;
  for (const d of shape) n *= d;
  return n;
}

// --- FP16 -------------------------------------------------------------------

/** Converts numbers to IEEE 754 half-precision bits (round to nearest even, via float32). */
export function numbersToHalf(values: ArrayLike<number>): Uint16Array {
  const f32 = Float32Array.from(values);
  const bits = new Uint32Array(f32.buffer);
  const out = new Uint16Array(f32.length);
  for (let i = 0; i < bits.length; i++) out[i] = float32BitsToHalf(bits[i]!);
  return out;
}

function float32BitsToHalf(x: number): number {
  const sign = (x >>> 16) & 0x8000;
  const exp = (x >>> 23) & 0xff;
  let mant = x & 0x7fffff;
  if (exp === 0xff) return sign | 0x7c00 | (mant !== 0 ? 0x200 : 0); // Inf / NaN
  const e = exp - 127 + 15;
  if (e >= 0x1f) return sign | 0x7c00; // overflow to Inf
  if (e <= 0) {
    if (e < -10) return sign; // below the smallest subnormal: signed zero
    mant |= 0x800000;
    const shift = 14 - e;
    let half = mant >>> shift;
    const rem = mant & ((1 << shift) - 1);
    const halfway = 1 << (shift - 1);
    if (rem > halfway || (rem === halfway && (half & 1) === 1)) half++;
    return sign | half;
  }
  let half = (e << 10) | (mant >>> 13);
  const rem = mant & 0x1fff;
  if (rem > 0x1000 || (rem === 0x1000 && (half & 1) === 1)) half++; // a carry rolls into the exponent, as it should
  return sign | half;
}

export function halfToNumber(h: number): number {
  const sign = h & 0x8000 ? -1 : 1;
  const e = (h >>> 10) & 0x1f;
  const m = h & 0x3ff;
  if (e === 0) return sign * m * 2 ** -24;
  if (e === 0x1f) return m !== 0 ? NaN : sign * Infinity;
  return sign * (1 + m / 1024) * 2 ** (e - 15);
}

// --- BYTES ------------------------------------------------------------------

const utf8 = new TextEncoder();
const utf8Decoder = new TextDecoder('utf-8');

export function bytesElements(data: readonly (Uint8Array | string)[]): Uint8Array[] {
  return data.map((e) => (typeof e === 'string' ? utf8.encode(e) : e));
}

/** Decodes BYTES elements as UTF-8 text (invalid sequences become U+FFFD). */
export function bytesToStrings(data: readonly (Uint8Array | string)[]): string[] {
  return data.map((e) => (typeof e === 'string' ? e : utf8Decoder.decode(e)));
}

export function encodeUtf8(s: string): Uint8Array {
  return utf8.encode(s);
}

/** Serialises BYTES elements as Triton does: each a 4-byte little-endian length, then the bytes. */
export function serializeBytes(data: readonly (Uint8Array | string)[]): Buffer {
  const elems = bytesElements(data);
  let total = 0;
  for (const e of elems) total += 4 + e.length;
  const out = Buffer.allocUnsafe(total);
  let off = 0;
  for (const e of elems) {
    out.writeUInt32LE(e.length, off);
    out.set(e, off + 4);
    off += 4 + e.length;
  }
  return out;
}

/**
 * Parses length-prefixed BYTES elements. Returns undefined when the buffer is
 * not exactly a sequence of whole elements (the caller names the tensor).
 * Elements are views into `buf`.
 */
export function deserializeBytes(buf: Uint8Array): Uint8Array[] | undefined {
  const out: Uint8Array[] = [];
  const view = new DataView(buf.buffer, buf.byteOffset, buf.byteLength);
  let off = 0;
  while (off < buf.length) {
    if (off + 4 > buf.length) return undefined;
    const len = view.getUint32(off, true);
    off += 4;
    if (off + len > buf.length) return undefined;
    out.push(buf.subarray(off, off + len));
    off += len;
  }
  return out;
}

/** Copies raw little-endian bytes into a fresh, aligned typed array of `dt`. */
export function typedFromBytes(dt: Exclude<DataType, 'BYTES'>, bytes: Uint8Array): NumericData {
  const Ctor = ARRAY[dt];
  const copy = new Uint8Array(bytes.length);
  copy.set(bytes);
  return new Ctor(copy.buffer, 0, bytes.length / Ctor.BYTES_PER_ELEMENT);
}

/** Raw little-endian bytes of a numeric tensor, or the serialised BYTES elements. */
export function tensorBytes(dt: DataType, data: TensorData): Buffer {
  if (dt === 'BYTES') return serializeBytes(data as Uint8Array[] | string[]);
  const d = data as NumericData;
  return Buffer.from(d.buffer, d.byteOffset, d.byteLength);
}
