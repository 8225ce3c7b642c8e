import { test } from 'node:test';
import assert from 'node:assert/strict';
import { halfToNumber, numbersToHalf } from './fp16.js';

test('fp16 conversion matches IEEE half for known values', () => {
  const h = numbersToHalf([1, -2, 0.1, 65504, 70000, 1e-8, Infinity, 2 ** -24, 0.5]);
  assert.deepEqual(Array.from(h), [0x3c00, 0xc000, 0x2e66, 0x7bff, 0x7c00, 0x0000, 0x7c00, 0x0001, 0x3800]);
  assert.equal(halfToNumber(0x3c00), 1);
  assert.equal(halfToNumber(0xc000), -2);
  assert.equal(halfToNumber(0x7bff), 65504);
  assert.equal(halfToNumber(0x0001), 2 ** -24);
  assert.ok(Number.isNaN(halfToNumber(0x7e00)));
  assert.ok(Math.abs(halfToNumber(0x2e66) - 0.1) < 1e-4);
});

test('fp16 conversion: values the benchmark feeds pinned (ex bench/feeds.ts toFloat16Bits)', () => {
  assert.deepEqual(
    Array.from(numbersToHalf([1, -2, 0.5, 65504, 1e6, 2 ** -24])),
    [0x3c00, 0xc000, 0x3800, 0x7bff, 0x7c00, 0x0001],
  );
});
