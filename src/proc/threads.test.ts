import { test } from 'node:test';
import assert from 'node:assert/strict';
import { parseThreadStat, threadPriorities, SCHED_POLICY } from './threads.js';

test('parseThreadStat reads nice and policy past a command name with spaces and parentheses', () => {
  // A SCHED_IDLE thread's line in the kernel's format, its name holding ') ('.
  const line =
    '4242 (a) (b c) S 1 4242 4242 0 -1 4194560 100 0 0 0 5 1 0 0 39 19 8 0 1234 1000000 200 18446744073709551615 1 1 0 0 0 0 0 16781312 134235650 0 0 0 17 1 0 5 0 0 0 0 0 0 0 0 0 0 0';
  assert.deepEqual(parseThreadStat(4242, line), {
    tid: 4242,
    name: 'a) (b c',
    nice: 19,
    policy: SCHED_POLICY.SCHED_IDLE,
  });
});

test('threadPriorities lists this process, every thread at its own class; a gone process has none', () => {
  const mine = threadPriorities(process.pid);
  assert.ok(mine.some((t) => t.tid === process.pid));
  for (const t of mine) assert.ok(Number.isInteger(t.policy) && Number.isInteger(t.nice), JSON.stringify(t));
  assert.deepEqual(threadPriorities(2 ** 22 + 12345), []);
});
