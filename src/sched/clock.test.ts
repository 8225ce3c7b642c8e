import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createFakeClock } from './clock.js';

test('fake clock: timers fire in time order as time advances, and can be cleared', () => {
  const c = createFakeClock(100);
  const fired: string[] = [];
  c.setTimeout(() => fired.push(`b@${c.now()}`), 20);
  c.setTimeout(() => {
    fired.push(`a@${c.now()}`);
    c.setTimeout(() => fired.push(`c@${c.now()}`), 5); // scheduled from a timer, due within the same advance
  }, 10);
  const gone = c.setTimeout(() => fired.push('never'), 15);
  c.clearTimeout(gone);
  assert.equal(c.nextAt(), 110);
  c.advance(19);
  assert.deepEqual(fired, ['a@110', 'c@115']);
  assert.equal(c.now(), 119);
  c.advance(1);
  assert.deepEqual(fired, ['a@110', 'c@115', 'b@120']);
  assert.equal(c.pending(), 0);
  assert.equal(c.nextAt(), null);
});
