import { TensorshareError } from '../errors.js';
import { seededRandom } from '../prng.js';

// Plain tensor data as onnxruntime-node's Tensor constructor takes it.
export interface TensorData {
  dtype: string;
  shape: number[];
  data: Float32Array | Float64Array | Int32Array | BigInt64Array | Uint8Array | Int8Array | Uint16Array | Int16Array | Uint32Array | BigUint64Array;
}

const ARRAYS = {
  float32: Float32Array, float64: Float64Array, int32: Int32Array, int64: BigInt64Array, uint8: Uint8Array, int8: Int8Array,
  uint16: Uint16Array, int16: Int16Array, uint32: Uint32Array, uint64: BigUint64Array, bool: Uint8Array,
} as const;

/** Builds tensor data from values, or fills it: 'zeros', 'ones', 'random' (deterministic, in [0,1) or small ints). */
export function makeTensorData(dtype: string, shape: number[], values: number[] | 'zeros' | 'ones' | 'random'): TensorData {
  const Ctor = (ARRAYS as Record<string, (new (n: number) => TensorData['data'])>)[dtype];
  if (!Ctor) throw new TensorshareError('ERR_UNSUPPORTED_DTYPE', `cannot build input of type ${dtype}`);
  const count = shape.reduce((a, b) => a * b, 1);
  if (Array.isArray(values) && values.length !== count) {
    throw new TensorshareError('ERR_INVALID_ARGUMENT', `shape [${shape.join(',')}] needs ${count} values, got ${values.length}`);
  }
  const data = new Ctor(count);
  const big = data instanceof BigInt64Array || data instanceof BigUint64Array;
  const rnd = seededRandom(0x9e3779b9);
  for (let i = 0; i < count; i++) {
    const v = Array.isArray(values) ? values[i]! : values === 'zeros' ? 0 : values === 'ones' ? 1 : dtype.startsWith('float') ? rnd() : Math.floor(rnd() * 100);
    (data as unknown as (number | bigint)[])[i] = big ? BigInt(Math.trunc(v)) : v;
  }
  return { dtype, shape, data };
}
