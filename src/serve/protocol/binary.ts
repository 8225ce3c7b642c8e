// Tensor data as raw bytes, the layout shared by Triton's HTTP binary tensor
// extension and gRPC raw_input_contents/raw_output_contents: numeric tensors
// flat, row-major, little-endian without padding; BYTES elements each
// prefixed by a 4-byte little-endian length. The copies below assume a
// little-endian host (x86-64, arm64), as Node's supported servers are.
import { arrayFor, bytesElements, type Datatype, type NumericData, type TensorData } from '../../tensor/index.js';

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
 * not exactly a sequence of whole elements (the caller names the tensor), or
 * as soon as it holds more than `maxCount` (zero-length elements are 4 bytes
 * each: 64 MiB of them would be 16 million views).
 * Elements are views into `buf`.
 */
export function deserializeBytes(buf: Uint8Array, maxCount = Infinity): Uint8Array[] | undefined {
  const out: Uint8Array[] = [];
  const view = new DataView(buf.buffer, buf.byteOffset, buf.byteLength);
  let off = 0;
  while (off < buf.length) {
    if (out.length >= maxCount) return undefined;
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
export function typedFromBytes(dt: Exclude<Datatype, 'BYTES'>, bytes: Uint8Array): NumericData {
  const Ctor = arrayFor(dt);
  const copy = new Uint8Array(bytes.length);
  copy.set(bytes);
  return new Ctor(copy.buffer, 0, bytes.length / Ctor.BYTES_PER_ELEMENT);
}

/** Raw little-endian bytes of a numeric tensor, or the serialised BYTES elements. */
export function tensorBytes(dt: Datatype, data: TensorData): Buffer {
  if (dt === 'BYTES') return serializeBytes(data as Uint8Array[] | string[]);
  const d = data as NumericData;
  return Buffer.from(d.buffer, d.byteOffset, d.byteLength);
}
