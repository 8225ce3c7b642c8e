import { test } from 'node:test';
import assert from 'node:assert/strict';
import { isTensorshareError } from '../errors.js';
import { planFeeds } from './feeds.js';

test('planFeeds resolves symbolic dims and fills deterministically by type', () => {
  const inputs = [
    { name: 'input_ids', isTensor: true as const, type: 'int64', shape: ['batch', 'seq'] },
    { name: 'attention_mask', isTensor: true as const, type: 'int64', shape: ['batch', 'seq'] },
    { name: 'x', isTensor: true as const, type: 'float32', shape: ['batch', 4] },
  ];
  const spec = {
    dims: { batch: 2, seq: 3 },
    inputs: { attention_mask: { fill: { kind: 'constant' as const, value: 1 } } },
  };
  const [ids, mask, x] = planFeeds(inputs, spec);
  assert.deepEqual(ids!.dims, [2, 3]);
  assert.deepEqual([...(ids!.data as BigInt64Array)], [0n, 1n, 2n, 3n, 4n, 5n]);
  assert.deepEqual([...(mask!.data as BigInt64Array)], [1n, 1n, 1n, 1n, 1n, 1n]);
  assert.deepEqual(x!.dims, [2, 4]);
  assert.ok(x!.data instanceof Float32Array && [...x!.data].every((v) => v >= -1 && v < 1));
  assert.deepEqual(planFeeds(inputs, spec)[2]!.data, x!.data); // same seed, same values
  const explicit = planFeeds(inputs, {
    inputs: { x: { shape: [5, 4], fill: { kind: 'uniform', min: 0, max: 1, seed: 7 } } },
  })[2]!;
  assert.deepEqual(explicit.dims, [5, 4]);
  assert.ok([...explicit.data].every((v) => Number(v) >= 0 && Number(v) < 1));
  assert.deepEqual(planFeeds(inputs)[0]!.dims, [1, 1]); // unknown symbolic dims are 1
});

test('planFeeds rejects unknown inputs, non-tensors and unsupported types', () => {
  const inputs = [{ name: 'x', isTensor: true as const, type: 'float32', shape: [1] }];
  assert.throws(
    () => planFeeds(inputs, { inputs: { y: {} } }),
    (e) => isTensorshareError(e, 'ERR_INVALID_ARGUMENT'),
  );
  assert.throws(
    () => planFeeds([{ name: 's', isTensor: false }]),
    (e) => isTensorshareError(e, 'ERR_INVALID_MODEL'),
  );
  assert.throws(
    () => planFeeds([{ name: 's', isTensor: true, type: 'string', shape: [1] }]),
    (e) => isTensorshareError(e, 'ERR_UNSUPPORTED_DTYPE'),
  );
});
