import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createFakeClock } from '../sched/clock.js';
import { TensorshareError } from '../errors.js';
import { errorKey, latencyStats, poissonSchedule, runLoad } from './loadgen.js';

const flush = () => new Promise<void>((r) => setImmediate(r));

test('loadgen schedule: deterministic per seed, Poisson rate per step, bounded by count and time', () => {
  const steps = [
    { ratePerSec: 1000, durationMs: 2000 },
    { ratePerSec: 0, durationMs: 500 },
    { ratePerSec: 200, durationMs: 1000 },
  ];
  const a = poissonSchedule({ steps, seed: 42, maxRequests: 1e6 });
  assert.deepEqual(poissonSchedule({ steps, seed: 42, maxRequests: 1e6 }), a);
  assert.notDeepEqual(
    poissonSchedule({ steps, seed: 43, maxRequests: 1e6 }).map((x) => x.at),
    a.map((x) => x.at),
  );
  const inStep = (k: number) => a.filter((x) => x.step === k).length;
  // Poisson counts: mean 2000 (sd ~45) and 200 (sd ~14); allow 5 sd.
  assert.ok(Math.abs(inStep(0) - 2000) < 225, `step 0: ${inStep(0)}`);
  assert.equal(inStep(1), 0);
  assert.ok(Math.abs(inStep(2) - 200) < 71, `step 2: ${inStep(2)}`);
  const ats = a.map((x) => x.at);
  assert.deepEqual(
    ats,
    [...ats].sort((p, q) => p - q),
    'ascending',
  );
  assert.ok(a.filter((x) => x.step === 2).every((x) => x.at >= 2500 && x.at < 3500));
  assert.equal(poissonSchedule({ steps, seed: 42, maxRequests: 10 }).length, 10);
  assert.ok(poissonSchedule({ steps, seed: 42, maxRequests: 1e6, maxDurationMs: 100 }).every((x) => x.at < 100));
  const mix = poissonSchedule({
    steps: [{ ratePerSec: 1000, durationMs: 3000 }],
    seed: 1,
    maxRequests: 1e6,
    classes: [
      { name: 'rt', weight: 1 },
      { name: 'be', weight: 3 },
    ],
  });
  const rt = mix.filter((x) => x.cls.name === 'rt').length / mix.length;
  assert.ok(Math.abs(rt - 0.25) < 0.03, `rt share ${rt}`);
});

test('loadgen run (fake clock): latency from scheduled time, SLO attainment, rejections by code/status, unfinished', async () => {
  const clock = createFakeClock();
  const classes = [
    { name: 'fast', tenant: 'a' },
    { name: 'slow', tenant: 'b' },
    { name: 'shed' },
    { name: 'http' },
    { name: 'lost' },
  ];
  const run = runLoad({
    steps: [{ ratePerSec: 500, durationMs: 1000 }],
    seed: 7,
    maxRequests: 400,
    sloMs: 20,
    drainMs: 100,
    classes,
    clock,
    send: (a) => {
      switch (a.cls.name) {
        case 'fast':
          return new Promise((r) => clock.setTimeout(() => r('ok'), 10));
        case 'slow':
          return new Promise((r) => clock.setTimeout(() => r('ok'), 30));
        case 'shed':
          return Promise.reject(new TensorshareError('ERR_OVERLOADED', 'queue full'));
        case 'http':
          return Promise.reject(Object.assign(new Error('unavailable'), { status: 503 }));
        default:
          return new Promise(() => {});
      }
    },
  });
  // Step from timer to timer so promise continuations read the exact time.
  for (let at = clock.nextAt(); at !== null; at = clock.nextAt()) {
    clock.advance(at - clock.now());
    await flush();
  }
  const r = await run;
  const sched = poissonSchedule({ steps: [{ ratePerSec: 500, durationMs: 1000 }], seed: 7, maxRequests: 400, classes });
  const count = (n: string) => sched.filter((x) => x.cls.name === n).length;
  assert.equal(r.sent, 400);
  const { fast, slow, shed, http, lost } = r.byClass;
  assert.ok(fast && slow && shed && http && lost, 'every class has a report');
  assert.equal(fast.ok, count('fast'));
  const near = (x: number, want: number) => assert.ok(Math.abs(x - want) < 1e-6, `${x} != ${want}`);
  near(fast.latency.p99, 10);
  near(fast.latency.p50, 10);
  assert.equal(fast.sloAttainment, 1);
  near(slow.latency.p50, 30);
  assert.equal(slow.sloAttainment, 0);
  assert.deepEqual(shed.rejections, { ERR_OVERLOADED: count('shed') });
  assert.deepEqual(http.rejections, { 'HTTP 503': count('http') });
  assert.equal(lost.unfinished, count('lost'));
  assert.equal(r.unfinished, count('lost'));
  assert.ok(Math.abs(r.sloAttainment - count('fast') / 400) < 1e-9);
  assert.equal(r.bySteps[0]?.sent, 400);
});

test('loadgen run (real clock, short): open loop sends on schedule and every request completes', async () => {
  let inFlight = 0;
  let maxInFlight = 0;
  const r = await runLoad({
    steps: [{ ratePerSec: 400, durationMs: 250 }],
    seed: 3,
    maxRequests: 1000,
    maxDurationMs: 250,
    sloMs: 1000,
    send: async () => {
      maxInFlight = Math.max(maxInFlight, ++inFlight);
      await new Promise((res) => setTimeout(res, 20));
      inFlight--;
    },
  });
  assert.equal(r.ok, r.sent);
  assert.ok(r.sent > 30);
  assert.ok(maxInFlight > 1, 'open loop: arrivals do not wait for completions');
  assert.ok(r.latency.p50 >= 19, `p50 ${r.latency.p50}`);
});

test('loadgen helpers: latency percentiles (stats.ts, interpolated) and error keys', () => {
  const xs = Array.from({ length: 100 }, (_, i) => i + 1);
  const s = latencyStats(xs);
  assert.equal(s.p50, 50.5);
  assert.ok(Math.abs(s.p99 - 99.01) < 1e-9, `p99 ${s.p99}`);
  assert.equal(s.max, 100);
  assert.equal(latencyStats([5]).p99, 5);
  assert.ok(Number.isNaN(latencyStats([]).p50));
  assert.equal(errorKey({ code: 'ERR_TIMEOUT', status: 504 }), 'ERR_TIMEOUT');
  assert.equal(errorKey({ statusCode: 429 }), 'HTTP 429');
  assert.equal(errorKey(new TypeError('x')), 'TypeError');
});
