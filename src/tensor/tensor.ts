// The tensor every layer passes around: KServe-v2-shaped (datatype, shape,
// flat row-major data), named inside requests and responses.
import type { Datatype, TensorData } from './datatypes.js';

/** Request/tensor parameters as the protocol carries them (passed through untouched). */
export type ParamValue = string | number | boolean;
export type Parameters = Record<string, ParamValue>;

/** A tensor's contents. */
export interface TensorValue {
  datatype: Datatype;
  shape: number[];
  /** Flat, row-major; storage per datatype as in datatypes.ts. */
  data: TensorData;
}

/** A named tensor, as requests and responses carry it. */
export interface Tensor extends TensorValue {
  name: string;
  parameters?: Parameters;
}

/** A dimension as a model declares it: a size, a symbolic name, or unknown (null). */
export type Dim = number | string | null;

/** Number of elements of a shape (1 for a scalar). */
export function elementCount(shape: readonly number[]): number {
  let n = 1;
  for (const d of shape) n *= d;
  return n;
}

const isPartialView = (x: unknown): x is Uint8Array =>
  ArrayBuffer.isView(x) && (x.byteOffset !== 0 || x.byteLength !== x.buffer.byteLength);

/**
 * A copy of the tensor whose typed arrays own exactly their bytes. Structured
 * clone (IPC with serialization 'advanced') copies a view's whole backing
 * buffer, so a view into a large request body would otherwise travel whole.
 */
export function compactTensor<T extends { data: unknown }>(t: T): T {
  const d = t.data;
  if (isPartialView(d)) return { ...t, data: d.slice() };
  if (Array.isArray(d) && d.some(isPartialView))
    return { ...t, data: d.map((x) => (isPartialView(x) ? x.slice() : x)) };
  return t;
}
