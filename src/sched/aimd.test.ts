import { test } from 'node:test';
import assert from 'node:assert/strict';
import { aimdInit, aimdUpdate } from './aimd.js';

test('AIMD: additive increase while batch latency stays under the SLO, up to maxBatchSize', () => {
  const c = { sloMs: 50, step: 2 };
  let s = aimdInit(8, c);
  assert.equal(s.cap, 1);
  const caps: number[] = [];
  for (let i = 0; i < 6; i++) {
    s = aimdUpdate(s, c, 20);
    caps.push(s.cap);
  }
  assert.deepEqual(caps, [3, 5, 7, 8, 8, 8]);
});

test('AIMD: multiplicative decrease by ~10% above the SLO, never below 1', () => {
  const c = { sloMs: 50 };
  let s = aimdInit(128, { ...c, initial: 100 });
  assert.equal(s.cap, 100);
  s = aimdUpdate(s, c, 51);
  assert.equal(s.cap, 90);
  s = aimdUpdate(s, c, 80);
  assert.equal(s.cap, 81);
  for (let i = 0; i < 100; i++) s = aimdUpdate(s, c, 1000);
  assert.equal(s.cap, 1);
  s = aimdUpdate(s, c, 50);
  assert.equal(s.cap, 2, 'latency equal to the SLO counts as meeting it');
});

test('AIMD: converges to oscillate around the largest batch that meets the SLO', () => {
  // Batch latency 5 ms + 2 ms per item; SLO 45 ms -> 20 items is the largest that meets it.
  const c = { sloMs: 45 };
  let s = aimdInit(64, c);
  const seen: number[] = [];
  for (let i = 0; i < 200; i++) {
    s = aimdUpdate(s, c, 5 + 2 * s.cap);
    if (i >= 100) seen.push(s.cap);
  }
  assert.ok(Math.max(...seen) <= 21 && Math.min(...seen) >= 18, `caps ${Math.min(...seen)}..${Math.max(...seen)}`);
});

test('AIMD: a batch that did not reach the cap does not raise it, but can lower it', () => {
  const c = { sloMs: 50 };
  let s = aimdInit(32, { ...c, initial: 10 });
  s = aimdUpdate(s, c, 5, false);
  assert.equal(s.cap, 10);
  s = aimdUpdate(s, c, 60, false);
  assert.equal(s.cap, 9);
});

test('AIMD: invalid settings are refused', () => {
  assert.throws(() => aimdInit(8, { sloMs: 0 }), /sloMs/);
  assert.throws(() => aimdInit(8, { sloMs: 10, backoff: 1 }), /backoff/);
  assert.equal(aimdInit(8, { sloMs: 10, initial: 99 }).cap, 8);
});
