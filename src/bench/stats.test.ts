import { test } from 'node:test';
import assert from 'node:assert/strict';
import { isTensorshareError } from '../errors.js';
import {
  geomean,
  iqr,
  mad,
  max,
  mean,
  median,
  min,
  percentile,
  ratio,
  ratios,
  relativeChange,
  stddev,
  summarize,
} from './stats.js';

const invalid = (e: unknown) => isTensorshareError(e, 'ERR_INVALID_ARGUMENT');
const close = (a: number, b: number, eps = 1e-9) => assert.ok(Math.abs(a - b) <= eps, `${a} != ${b}`);

test('median and percentiles interpolate (type 7)', () => {
  assert.equal(median([3, 1, 2]), 2);
  assert.equal(median([4, 1, 3, 2]), 2.5);
  const xs = Array.from({ length: 101 }, (_, i) => i); // 0..100
  assert.equal(percentile(xs, 95), 95);
  assert.equal(percentile(xs, 99), 99);
  assert.equal(percentile([10, 20], 25), 12.5);
  assert.equal(percentile([7], 99), 7);
  assert.equal(percentile([1, 2, 3], 0), 1);
  assert.equal(percentile([1, 2, 3], 100), 3);
  assert.throws(() => percentile([1], 101), invalid);
});

test('mean, min, max, stddev, spread', () => {
  const xs = [2, 4, 4, 4, 5, 5, 7, 9];
  assert.equal(mean(xs), 5);
  assert.equal(min(xs), 2);
  assert.equal(max(xs), 9);
  close(stddev(xs), Math.sqrt(32 / 7));
  assert.equal(stddev([5]), 0);
  assert.equal(iqr([1, 2, 3, 4, 5]), 2);
  assert.equal(mad([1, 1, 2, 2, 4, 6, 9]), 1);
});

test('inputs are not mutated; empty and non-finite samples are typed errors', () => {
  const xs = [3, 1, 2];
  median(xs);
  summarize(xs);
  assert.deepEqual(xs, [3, 1, 2]);
  for (const f of [median, mean, min, max, stddev, iqr, mad, summarize, geomean]) {
    assert.throws(() => f([]), invalid);
  }
  assert.throws(() => mean([1, Number.NaN]), invalid);
  assert.throws(() => median([Infinity]), invalid);
});

test('summarize agrees with the single functions', () => {
  const xs = [12, 15, 11, 30, 14, 13, 12, 100];
  const s = summarize(xs);
  assert.equal(s.n, 8);
  assert.equal(s.min, 11);
  assert.equal(s.max, 100);
  assert.equal(s.median, median(xs));
  assert.equal(s.p50, s.median);
  assert.equal(s.p95, percentile(xs, 95));
  assert.equal(s.p99, percentile(xs, 99));
  assert.equal(s.mean, mean(xs));
  assert.equal(s.iqr, iqr(xs));
  assert.equal(s.mad, mad(xs));
  close(s.stddev, stddev(xs));
});

test('ratio helpers', () => {
  assert.equal(ratio(6, 3), 2);
  assert.throws(() => ratio(1, 0), invalid);
  assert.deepEqual(ratios([2, 9], [1, 3]), [2, 3]);
  assert.throws(() => ratios([1], [1, 2]), invalid);
  close(geomean([2, 8]), 4);
  assert.throws(() => geomean([1, 0]), invalid);
  assert.equal(relativeChange(200, 50), -0.75);
});
