import { TensorshareError, isTensorshareError } from '../errors.js';
import { seededRandom } from '../prng.js';
import { arrayFor, datatypeOf, numbersToHalf, type Datatype, type OrtDtype, type OrtFeed } from '../tensor/index.js';

function numericDatatype(dtype: string): Exclude<Datatype, 'BYTES'> {
  let d: Datatype | undefined;
  try {
    d = datatypeOf(dtype);
  } catch (e) {
    if (!isTensorshareError(e, 'ERR_UNSUPPORTED_DTYPE')) throw e;
  }
  if (d === undefined || d === 'BYTES')
    throw new TensorshareError('ERR_UNSUPPORTED_DTYPE', `cannot build input of type ${dtype}`);
  return d;
}

/** Builds an ORT feed from values, or fills it: 'zeros', 'ones', 'random' (deterministic, in [0,1) or small ints). */
export function makeTensorData(
  dtype: string,
  shape: number[],
  values: number[] | 'zeros' | 'ones' | 'random',
): OrtFeed {
  const datatype = numericDatatype(dtype);
  const count = shape.reduce((a, b) => a * b, 1);
  if (Array.isArray(values) && values.length !== count) {
    throw new TensorshareError(
      'ERR_INVALID_ARGUMENT',
      `shape [${shape.join(',')}] needs ${count} values, got ${values.length}`,
    );
  }
  const rnd = seededRandom(0x9e3779b9);
  const nums = Array.from({ length: count }, (_, i) =>
    Array.isArray(values)
      ? values[i]!
      : values === 'zeros'
        ? 0
        : values === 'ones'
          ? 1
          : dtype.startsWith('float')
            ? rnd()
            : Math.floor(rnd() * 100),
  );
  // FP16 is stored as half bits: convert rather than truncate the numbers into a Uint16Array.
  if (datatype === 'FP16') return { dtype: dtype as OrtDtype, shape, data: numbersToHalf(nums) };
  const data = new (arrayFor(datatype))(count);
  const big = data instanceof BigInt64Array || data instanceof BigUint64Array;
  for (let i = 0; i < count; i++)
    (data as unknown as (number | bigint)[])[i] = big ? BigInt(Math.trunc(nums[i]!)) : nums[i]!;
  return { dtype: dtype as OrtDtype, shape, data };
}
