// Pooled read buffers: a buffer given back is reused by the next read of its
// size class, never lent twice at once; foreign buffers and second gives are
// ignored, and the pool holds at most maxFreeBytes.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createBufferPool } from './buffer-pool.js';

test('a buffer given back is reused by the next take of its size class, and only then', () => {
  const pool = createBufferPool({ minBytes: 16 });
  const a = pool.take(5_000);
  assert.equal(a.length, 5_000);
  assert.equal(a.byteOffset, 0);
  assert.equal(a.buffer.byteLength, 8192, 'a power-of-two class');
  const b = pool.take(5_000);
  assert.notEqual(b.buffer, a.buffer, 'a lent buffer is not lent again');
  pool.give(a.subarray(10, 20));
  assert.equal(pool.freeBytes(), 8192);
  pool.give(a);
  assert.equal(pool.freeBytes(), 8192, 'a second give is ignored');
  assert.equal(pool.take(6_000).buffer, a.buffer, 'same class: reused');
  assert.equal(pool.freeBytes(), 0);
  assert.notEqual(pool.take(6_000).buffer, a.buffer);
  pool.give(new Uint8Array(8192));
  assert.equal(pool.freeBytes(), 0, 'a buffer the pool did not lend is ignored');
});

test('the pool keeps at most maxFreeBytes; the rest is left to the garbage collector', () => {
  const pool = createBufferPool({ minBytes: 16, maxFreeBytes: 3 * 1024 });
  const lent = [pool.take(1024), pool.take(1024), pool.take(1024), pool.take(1024)];
  for (const b of lent) pool.give(b);
  assert.equal(pool.freeBytes(), 3 * 1024);
  assert.equal(pool.minBytes, 16);
});
