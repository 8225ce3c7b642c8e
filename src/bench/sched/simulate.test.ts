import { test } from 'node:test';
import assert from 'node:assert/strict';
import { simulateOneSlot } from './simulate.js';

test("the one-slot simulation: srtf lowers the mean and the short requests' latency against fifo", () => {
  const svc = { short: 3, long: 17 };
  const fifo = simulateOneSlot('fifo', 68, svc);
  const srtf = simulateOneSlot('srtf', 68, svc);
  assert.ok(srtf.all < fifo.all, `srtf ${srtf.all} vs fifo ${fifo.all}`);
  assert.ok(srtf.short < fifo.short);
  assert.deepEqual(simulateOneSlot('fifo', 68, svc), fifo, 'deterministic');
});
