// The speed rows' bookkeeping (gpu-speed.ts): the order of paths per round
// and the stages derived from a run's timing.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { roundOrder, stageMedians } from './gpu-speed.js';

test('every round runs every path once; over rounds each path takes every place', () => {
  const n = 5;
  const places = Array.from({ length: n }, () => new Set<number>());
  for (let r = 0; r < 2 * n; r++) {
    const o = roundOrder(n, r);
    assert.deepEqual([...o].sort(), [0, 1, 2, 3, 4]);
    for (const [place, path] of o.entries()) places[path]!.add(place);
  }
  for (const p of places) assert.equal(p.size, n);
});

test('stages: medians per stage, and transport, hand-off and bookkeeping derived per run', () => {
  const run = (totalMs: number, ortMs: number) => ({
    totalMs,
    executorMs: 4,
    writeMs: 0.1,
    outMs: 0.2,
    readMs: 0.05,
    queuedMs: 0.05,
    runMs: 3.5,
    ortMs,
  });
  const m = stageMedians({ '1': [run(5, 3), run(6, 3.2), run(5.5, 3.1)], '8': [] })['1']!;
  assert.equal(m.totalMs, 5.5);
  assert.ok(Math.abs(m.transportMs! - 1.2) < 1e-9, 'total - executor - client copies');
  assert.ok(Math.abs(m.handoffMs! - 0.4) < 1e-9, 'device run - ORT call');
  assert.ok(Math.abs(m.bookkeepingMs! - 0.4) < 1e-9);
  assert.equal(stageMedians({ '8': [] })['8'], undefined);
});
