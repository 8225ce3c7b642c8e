import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createProfile, observe, predict } from './profile.js';

test('profile: EWMA per (function, batch size)', () => {
  const p = createProfile({ alpha: 0.5 });
  observe(p, 'm', 1, 10);
  assert.equal(predict(p, 'm', 1), 10, 'first sample taken as is');
  observe(p, 'm', 1, 20);
  assert.equal(predict(p, 'm', 1), 15);
});

test('profile: unseen sizes interpolate between neighbours, scale beyond them', () => {
  const p = createProfile();
  observe(p, 'm', 2, 10);
  observe(p, 'm', 8, 40);
  assert.equal(predict(p, 'm', 4), 20);
  assert.equal(predict(p, 'm', 16), 80);
  assert.equal(predict(p, 'm', 1), 5);
});

test('profile: unknown functions use their hint, else the mean of what was measured, else the prior', () => {
  const p = createProfile({ priorMs: 7 });
  assert.equal(predict(p, 'new', 1), 7);
  assert.equal(predict(p, 'new', 2, 3), 6, 'hint is per request');
  observe(p, 'a', 1, 10);
  observe(p, 'b', 1, 30);
  assert.equal(predict(p, 'new', 1), 20);
});
