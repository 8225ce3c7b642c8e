// The bounded hash digest: no false negatives, a bounded size however many
// hashes, a false-positive rate near the one it states, malformed digests refused.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { MAX_BITS, digestHashes, falsePositiveRate, hashSetLookup } from './hash-set.js';

const h = (i: number) => createHash('sha256').update(`tensor-${i}`).digest('hex');

test('every hash put in is found; absent ones rarely, at about the stated rate', () => {
  const inside = Array.from({ length: 3000 }, (_, i) => h(i));
  const d = digestHashes(inside);
  const has = hashSetLookup(d);
  assert.ok(inside.every(has));
  const outside = Array.from({ length: 20000 }, (_, i) => h(1e6 + i));
  const fp = outside.filter(has).length / outside.length;
  const stated = falsePositiveRate(d);
  assert.ok(stated < 0.02, `stated ${stated}`);
  assert.ok(fp < stated * 2 + 0.002, `measured ${fp} against stated ${stated}`);
  assert.equal(has('not-a-hash'), false);
});

test('the digest stays bounded for many thousands of hashes', () => {
  const d = digestHashes(Array.from({ length: 50000 }, (_, i) => h(i)));
  assert.equal(d.bits, MAX_BITS);
  assert.ok(Buffer.from(d.filter, 'base64').length <= MAX_BITS / 8);
  assert.ok(hashSetLookup(d)(h(49999)));
  assert.equal(digestHashes([]).count, 0);
  assert.equal(hashSetLookup(digestHashes([]))(h(1)), false);
});

test('a malformed digest or hash is refused with a clear error', () => {
  assert.throws(() => hashSetLookup({ bits: 1000, k: 7, count: 0, filter: '' }), { code: 'ERR_INVALID_ARGUMENT' });
  assert.throws(
    () => hashSetLookup({ bits: 1024, k: 3, count: 0, filter: Buffer.alloc(128).toString('base64') }),
    /malformed/,
  );
  assert.throws(() => digestHashes(['abc']), /not a SHA-256/);
});
