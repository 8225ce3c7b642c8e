import { test } from 'node:test';
import assert from 'node:assert/strict';
import { seededFloats, seededRandom, Xoshiro128 } from './prng.js';

test('one seeded generator: same seed, same sequence; values in range; string and number seeds', () => {
  const a = seededRandom(42);
  const b = seededRandom(42);
  const xs = Array.from({ length: 1000 }, () => a());
  assert.deepEqual(
    Array.from({ length: 1000 }, () => b()),
    xs,
  );
  assert.notDeepEqual(Array.from({ length: 1000 }, seededRandom(43)), xs);
  assert.ok(xs.every((x) => x >= 0 && x < 1));
  const mean = xs.reduce((s, x) => s + x, 0) / xs.length;
  assert.ok(Math.abs(mean - 0.5) < 0.05, `mean ${mean}`);
  const f = seededFloats(1000, 'w', 0.5);
  assert.deepEqual(f, seededFloats(1000, 'w', 0.5));
  assert.ok(f.every((x) => x >= -0.5 && x < 0.5) && f.some((x) => x < 0) && f.some((x) => x > 0));
  // fillUniform (the fast loop) and nextInt32 walk the same sequence.
  const r = new Xoshiro128('w');
  assert.ok(Array.from(f.subarray(0, 8)).every((x) => x === Math.fround(r.nextInt32() * 0.5 * 2 ** -31)));
});
