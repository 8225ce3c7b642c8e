import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createFakeClock } from './clock.js';
import {
  FALLBACK_DEFAULTS,
  checkFallbackConfig,
  deviceFor,
  fallbackStep,
  initialFallback,
  spillDevice,
  type FallbackState,
  type GpuLoad,
} from './fallback.js';
import { isTensorshareError } from '../errors.js';

const c = {
  enterQueueDepth: 4,
  enterWaitMs: 20,
  enterBesteffortWaitMs: 100,
  exitQueueDepth: 0,
  exitWaitMs: 5,
  holdMs: 500,
};
// Besteffort requests starve on the GPU unless a test says otherwise.
const load = (realtimeQueued: number, realtimeOldestWaitMs = 0, besteffortOldestWaitMs = 100): GpuLoad => ({
  realtimeQueued,
  realtimeOldestWaitMs,
  besteffortOldestWaitMs,
});
const be = { priority: 'besteffort' as const, device: 'auto' as const };

test('fallback: besteffort of device:auto moves to CPU when realtime saturates the GPU by depth or by wait', () => {
  const clock = createFakeClock();
  let s = initialFallback(clock.now());
  s = fallbackStep(s, load(3, 19), clock.now(), c);
  assert.equal(deviceFor(s, be), 'gpu', 'below both marks: stays');
  clock.advance(10);
  s = fallbackStep(s, load(4), clock.now(), c);
  assert.equal(s.onCpu, true);
  assert.equal(s.changedAt, 10);
  assert.equal(deviceFor(s, be), 'cpu');
  assert.equal(deviceFor(s, { priority: 'realtime', device: 'auto' }), 'gpu', 'realtime never leaves the GPU');
  assert.equal(deviceFor(s, { priority: 'besteffort', device: 'gpu' }), 'gpu', 'device: gpu never falls back');
  const byWait = fallbackStep(initialFallback(), load(1, 20), 0, c);
  assert.equal(byWait.onCpu, true, 'one realtime request waiting 20 ms saturates too');
});

test('fallback: realtime saturation alone is not enough: besteffort work still served on the GPU stays there', () => {
  let s = fallbackStep(initialFallback(), load(9, 50, 99), 0, c);
  assert.equal(s.onCpu, false, 'besteffort waited 99 ms of 100: the GPU still serves it');
  s = fallbackStep(s, load(9, 50, 0), 1, c);
  assert.equal(s.onCpu, false, 'no besteffort request queued on the GPU');
  s = fallbackStep(s, load(9, 50, 100), 2, c);
  assert.equal(s.onCpu, true, 'starved for 100 ms: to CPU');
  s = fallbackStep(s, load(0, 0, 0), 3, c);
  assert.equal(s.onCpu, true, 'the way back is decided by the realtime calm alone (besteffort has left the GPU)');
  assert.equal(
    fallbackStep(initialFallback(), load(1, 0, 5000), 0, c).onCpu,
    false,
    'starved, but realtime does not fill the GPU',
  );
  assert.throws(
    () => checkFallbackConfig({ ...c, enterBesteffortWaitMs: -1 }),
    /enterBesteffortWaitMs must be a number >= 0/,
  );
});

test('fallback: moves back only after holdMs below the low marks without a break', () => {
  const clock = createFakeClock();
  let s: FallbackState = fallbackStep(initialFallback(), load(8), clock.now(), c);
  const sample = (l: GpuLoad, after: number) => {
    clock.advance(after);
    s = fallbackStep(s, l, clock.now(), c);
  };
  sample(load(2, 3), 100);
  assert.equal(s.onCpu, true, 'between the marks: stays on CPU (hysteresis)');
  assert.equal(s.calmSince, null);
  sample(load(0), 100);
  assert.equal(s.calmSince, 200);
  sample(load(0, 4), 400);
  assert.equal(s.onCpu, true, '400 ms calm of 500');
  sample(load(1), 50);
  assert.equal(s.calmSince, null, 'a busy sample breaks the calm');
  sample(load(0), 50);
  sample(load(0), 499);
  assert.equal(s.onCpu, true);
  sample(load(0), 1);
  assert.equal(s.onCpu, false);
  assert.equal(s.changedAt, clock.now());
  assert.equal(deviceFor(s, be), 'gpu', 'back on the GPU');
});

test('fallback: a sample that changes nothing returns the same state object', () => {
  const s = initialFallback();
  assert.equal(fallbackStep(s, load(0), 5, c), s);
  const on = fallbackStep(s, load(9), 5, c);
  assert.equal(fallbackStep(on, load(9), 6, c), on);
});

test('fallback: configs whose exit marks are not below the enter marks, or negative ones, are refused', () => {
  checkFallbackConfig(FALLBACK_DEFAULTS);
  assert.throws(
    () => checkFallbackConfig({ ...c, exitQueueDepth: 4 }),
    (e) => isTensorshareError(e, 'ERR_INVALID_ARGUMENT') && /exit marks must be below the enter marks/.test(e.message),
  );
  assert.throws(
    () => checkFallbackConfig({ ...c, holdMs: -1 }),
    (e) =>
      isTensorshareError(e, 'ERR_INVALID_ARGUMENT') && /fallback holdMs must be a number >= 0, got -1/.test(e.message),
  );
  assert.throws(() => checkFallbackConfig({ ...c, enterQueueDepth: 1.5 }), /enterQueueDepth must be an integer >= 0/);
});

test('fallback spill: past what the GPU path takes, a request sent for CPU stays on the GPU', () => {
  const v = { cpuRunning: 0, cpuRunMs: 130, gpuMs: 570, gpuOldestMs: 0 };
  assert.equal(spillDevice({ ...v, cpuRunMs: undefined }), 'cpu', 'no CPU time yet: the CPU');
  assert.equal(spillDevice({ ...v, gpuMs: undefined }), 'cpu', 'no GPU time yet, the CPU free: the CPU');
  assert.equal(spillDevice({ ...v, gpuMs: undefined, cpuRunning: 1 }), 'gpu', 'no GPU time yet: one tries the GPU');
  assert.equal(spillDevice({ ...v, gpuMs: undefined, cpuRunning: 1, gpuOldestMs: 300 }), 'cpu', '260 ms <= its age');
  assert.equal(spillDevice(v), 'cpu');
  assert.equal(spillDevice({ ...v, cpuRunning: 3 }), 'cpu', '4 x 130 ms <= 570 ms');
  assert.equal(spillDevice({ ...v, cpuRunning: 4 }), 'gpu', '5 x 130 ms > 570 ms');
  assert.equal(spillDevice({ ...v, cpuRunning: 4, gpuOldestMs: 2000 }), 'cpu', 'a GPU without gaps: the CPU');
});
