// The sim sched engine on small traces whose outcome can be worked out by
// hand: fifo's one job at a time, pack's lanes, processor sharing under
// contention, realtime first, several GPUs, jobs that can never fit; and
// that the shortened queues of `submit: queue` jobs decide exactly as the
// full queues do.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { DEVICE_POLICIES } from '../../sched/device-policy.js';
import { salusTrace } from './salus-trace.js';
import { simulateSched } from './simulate.js';
import type { SchedJob } from './trace.js';

const job = (o: Partial<SchedJob> & { id: string }): SchedJob => ({
  arrivalMs: 0,
  iterations: 1,
  iterationMs: 10,
  persistentBytes: 100,
  ephemeralBytes: 100,
  utilization: 1,
  priority: 'besteffort',
  submit: 'queue',
  ...o,
});

const times = (r: ReturnType<typeof simulateSched>) =>
  Object.fromEntries(r.jobs.map((j) => [j.id, [j.startedMs, j.finishedMs]]));

test('fifo: one job at a time, whole, in arrival order; Salus columns by hand', () => {
  const trace = [job({ id: 'a', iterations: 3 }), job({ id: 'b', arrivalMs: 5, iterations: 2 })];
  const r = simulateSched(trace, { policy: 'fifo', devices: [1000] });
  assert.deepEqual(times(r), { a: [0, 30], b: [30, 50] });
  assert.equal(r.makespanMs, 50);
  assert.equal(r.avgQueuingMs, (0 + 25) / 2);
  assert.equal(r.avgCompletionMs, (30 + 45) / 2);
  assert.equal(r.peakConcurrent, 1);
  assert.equal(r.runs, 5);
  assert.equal(r.events, 2 + 5 + 5);
});

test('pack: both in lanes at once; no slowdown while their utilizations fit the device', () => {
  const trace = [
    job({ id: 'a', iterations: 3, utilization: 0.5 }),
    job({ id: 'b', arrivalMs: 5, iterations: 2, utilization: 0.5 }),
  ];
  const r = simulateSched(trace, { policy: 'pack', devices: [1000] });
  assert.deepEqual(times(r), { a: [0, 30], b: [5, 25] });
  assert.equal(r.peakConcurrent, 2);
});

test('pack under contention: two full-utilization runs share the device at half speed each', () => {
  const trace = [job({ id: 'a', iterationMs: 30 }), job({ id: 'b', arrivalMs: 10, iterationMs: 20 })];
  const r = simulateSched(trace, { policy: 'pack', devices: [1000] });
  // a alone for 10 ms (20 left), then both at half speed: 40 ms each.
  assert.deepEqual(times(r), { a: [0, 50], b: [10, 50] });
});

test('pack without room for a second lane: the second job waits for the first one s lane', () => {
  // P 100 + 100, E 500 each: one lane of 500 fits (700 of 800), a second would not.
  const trace = [
    job({ id: 'a', ephemeralBytes: 500, iterations: 2 }),
    job({ id: 'b', arrivalMs: 1, ephemeralBytes: 500 }),
  ];
  const r = simulateSched(trace, { policy: 'pack', devices: [800] });
  assert.equal(r.peakConcurrent, 1);
  assert.deepEqual(times(r), { a: [0, 20], b: [20, 30] });
});

test('realtime jobs go first: a later realtime job passes a queued besteffort one', () => {
  const trace = [
    job({ id: 'long', iterationMs: 50 }),
    job({ id: 'be', arrivalMs: 1 }),
    job({ id: 'rt', arrivalMs: 2, priority: 'realtime' }),
  ];
  const r = simulateSched(trace, { policy: 'fifo', devices: [1000] });
  assert.deepEqual(times(r), { long: [0, 50], rt: [50, 60], be: [60, 70] });
});

test('several GPUs: jobs go where compute is free (packing.ts placeOne), each GPU its own lanes', () => {
  const trace = [
    job({ id: 'a', iterationMs: 40 }),
    job({ id: 'b', iterationMs: 40 }),
    job({ id: 'c', iterationMs: 40 }),
  ];
  const r = simulateSched(trace, { policy: 'fifo', devices: [1000, 1000] });
  const dev = Object.fromEntries(r.jobs.map((j) => [j.id, j.device]));
  assert.notEqual(dev.a, dev.b);
  assert.deepEqual(times(r), { a: [0, 40], b: [0, 40], c: [40, 80] });
  assert.equal(r.makespanMs, 80);
});

test('a job larger than every GPU fails with a reason; the rest run', () => {
  const trace = [job({ id: 'huge', persistentBytes: 5000 }), job({ id: 'ok', arrivalMs: 1 })];
  const r = simulateSched(trace, { policy: 'pack', devices: [1000] });
  const huge = r.jobs.find((j) => j.id === 'huge')!;
  assert.match(huge.failed ?? '', /no GPU has that many/);
  assert.equal(r.finished, 1);
  assert.equal(r.failed, 1);
});

test('queue jobs decide exactly as if every iteration sat in the scheduler', () => {
  const trace = salusTrace({ seed: 3, jobs: 12, meanInterarrivalMs: 2000 }).map((j) => ({
    ...j,
    iterations: Math.min(j.iterations, 25),
  }));
  for (const policy of DEVICE_POLICIES) {
    const short = simulateSched(trace, { policy, devices: [14 * 2 ** 30], recordStarts: true });
    const full = simulateSched(trace, { policy, devices: [14 * 2 ** 30], recordStarts: true, fullQueues: true });
    assert.ok(short.runs > 100, `${policy}: ${short.runs} runs`);
    assert.deepEqual(short.starts, full.starts, policy);
    assert.deepEqual(short.jobs, full.jobs, policy);
  }
});

test('the same seed gives the same result, another seed another', () => {
  const run = (seed: number) => {
    const r = simulateSched(
      salusTrace({ seed, jobs: 15 }).map((j) => ({ ...j, iterations: Math.min(j.iterations, 40) })),
      {
        policy: 'fair',
        devices: [14 * 2 ** 30],
      },
    );
    const { wallMs, eventsPerSecond, ...rest } = r;
    return rest;
  };
  assert.deepEqual(run(7), run(7));
  assert.notDeepEqual(run(7).jobs, run(8).jobs);
});
