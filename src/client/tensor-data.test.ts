import { test } from 'node:test';
import assert from 'node:assert/strict';
import { isTensorshareError } from '../errors.js';
import { makeTensorData } from './tensor-data.js';

test('makeTensorData builds ORT feeds in the storage of src/tensor', () => {
  assert.deepEqual(makeTensorData('int64', [2], [3, -4.7]), {
    dtype: 'int64',
    shape: [2],
    data: new BigInt64Array([3n, -4n]),
  });
  assert.deepEqual(makeTensorData('bool', [3], 'ones').data, new Uint8Array([1, 1, 1]));
  assert.deepEqual(
    makeTensorData('float16', [2], [1, -2]).data,
    new Uint16Array([0x3c00, 0xc000]),
    'FP16 as IEEE half bits',
  );
  const r = makeTensorData('float32', [4], 'random').data as Float32Array;
  assert.deepEqual(r, makeTensorData('float32', [4], 'random').data, 'random is deterministic');
  assert.ok(r.every((v) => v >= 0 && v < 1));
  assert.ok(
    (makeTensorData('int32', [8], 'random').data as Int32Array).every((v) => Number.isInteger(v) && v >= 0 && v < 100),
  );
});

test('makeTensorData names what it cannot build', () => {
  for (const dtype of ['string', 'bfloat16', 'complex64']) {
    assert.throws(
      () => makeTensorData(dtype, [1], 'zeros'),
      (e: unknown) =>
        isTensorshareError(e, 'ERR_UNSUPPORTED_DTYPE') && e.message === `cannot build input of type ${dtype}`,
    );
  }
  assert.throws(
    () => makeTensorData('float32', [2, 2], [1, 2, 3]),
    (e: unknown) =>
      isTensorshareError(e, 'ERR_INVALID_ARGUMENT') && /shape \[2,2\] needs 4 values, got 3/.test(e.message),
  );
});
