import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createFakeClock, createScheduler } from '../../sched/index.js';
import { isTensorshareError } from '../../errors.js';
import { simulate } from './engine.js';
import { batchLatency, compareBatching, convergence, offlineOptimum } from './compare.js';
import { parseTrace, poissonArrivals } from './trace.js';
import { compareWithAutoscaler } from './autoscale-compare.js';
import { DEFAULT_KPA } from './autoscaler.js';

const flush = () => new Promise<void>((r) => setImmediate(r));
const service = (items: number) => 3 + 1.25 * items;

test('sim batch: the simulator and the live scheduler form the same batches under AIMD on the same trace', async () => {
  const arrivals = poissonArrivals(
    [
      { ratePerS: 300, durationMs: 1500 },
      { ratePerS: 900, durationMs: 1500 },
    ],
    'same',
  );
  const config = { maxBatchSize: 32, aimd: { sloMs: 20 } };
  const sim = simulate({ serviceMs: service, arrivals, ...config });

  const clock = createFakeClock();
  const live: Array<{ at: number; items: number; cap: number }> = [];
  const s = createScheduler<number, number>({
    policy: 'fifo',
    slots: Infinity,
    clock,
    functions: [
      {
        name: 'f',
        batching: { maxBatchSize: 32, maxQueueDelayMs: 0 },
        aimd: config.aimd,
        maxQueueLength: 1000,
        maxConcurrency: 1,
      },
    ],
    execute: async (_fn, requests) => {
      const items = requests.reduce((a, r) => a + r.items, 0);
      live.push({ at: clock.now(), items, cap: s.cap('f') });
      await new Promise<void>((r) => clock.setTimeout(r, service(items)));
      return requests.map((r) => r.payload);
    },
  });
  const answers: Promise<number>[] = [];
  for (let i = 0; i <= arrivals.length; ) {
    const arrival = arrivals[i] ?? Infinity;
    const timer = clock.nextAt() ?? Infinity;
    if (arrival === Infinity && timer === Infinity) break;
    if (timer <= arrival) {
      clock.advance(timer - clock.now());
      await flush();
    } else {
      clock.advance(arrival - clock.now());
      answers.push(s.submit({ fn: 'f', payload: i }));
      i++;
    }
  }
  await Promise.all(answers);
  assert.equal(live.length, sim.batches.length);
  assert.deepEqual(
    live.map((b) => [b.items, b.cap]),
    sim.batches.map((b) => [b.items, b.cap]),
  );
  assert.ok(Math.max(...live.map((b) => b.cap)) > 4, 'the cap moved: AIMD was exercised');
});

test('sim batch: offline optimum, best static cap and AIMD on a trace with an overload phase', () => {
  const profile = { model: 'syn', points: [1, 2, 4, 8, 16].map((b) => ({ batch: b, latencyMs: service(b) })) };
  assert.equal(batchLatency(profile, 6), (service(4) + service(8)) / 2);
  // 3 + 1.25 b <= 20 -> b <= 13.6; throughput b / (3 + 1.25 b) grows with b: b* = 13.
  const opt = offlineOptimum((b) => batchLatency(profile, b), 20, 16);
  assert.equal(opt.batch, 13);
  const capacity = opt.throughputPerS!;
  const phases = [
    { ratePerS: capacity * 0.5, durationMs: 2000 },
    { ratePerS: capacity * 1.3, durationMs: 3000 },
  ];
  const run = () =>
    compareBatching({
      profile,
      arrivals: poissonArrivals(phases, 7),
      sloMs: 20,
      maxBatchSize: 16,
      jitter: 0.03,
      seed: 7,
      phaseStartsMs: [0, 2000],
    });
  const r = run();
  assert.deepEqual(r, run(), 'the same seed gives the same result');
  assert.equal(r.offline.batch, 13);
  assert.ok(r.bestStatic.metTarget);
  // Caps whose full batch is over the SLO fail it once the overload fills them.
  for (const s of r.staticSweep) if (service(s.batch) > 20 * 1.1) assert.ok(s.sloAttainment < 0.99, `cap ${s.batch}`);
  assert.ok(r.bestStatic.batch <= 13);
  const overload = r.aimd.phases[1]!;
  assert.ok(overload.convergenceMs !== null && overload.convergenceMs < 3000, JSON.stringify(overload));
  assert.ok(overload.finalCap >= 10 && overload.finalCap <= 14, `AIMD settles near b*: ${overload.finalCap}`);
  // Static cap 1 cannot keep up with the overload: it refuses requests, the best cap does far better.
  assert.ok(r.staticSweep[0]!.rejected > 0 && r.staticSweep[0]!.throughputPerS < r.bestStatic.throughputPerS);
});

test('sim batch: convergence of a cap trajectory', () => {
  const caps = [1, 2, 3, 4, 5, 10, 11, 10, 9, 10, 11, 10, 10, 10, 10].map((cap, i) => ({ t: i * 100, cap }));
  assert.deepEqual(convergence(caps), { finalCap: 10, convergenceMs: 500 });
  assert.deepEqual(convergence(caps, 300), { finalCap: 10, convergenceMs: 200 });
  assert.deepEqual(convergence([...caps, { t: 2000, cap: 30 }]).convergenceMs, null);
});

test('sim batch: trace files are parsed, bad lines named by number', () => {
  assert.deepEqual(parseTrace('# ms\n5\n\n1.5\n', 't.txt'), [1.5, 5]);
  assert.deepEqual(parseTrace('[3, 1]', 't.json'), [1, 3]);
  assert.throws(
    () => parseTrace('1\n2\nx\n', 'trace.txt'),
    (e) => isTensorshareError(e, 'ERR_INVALID_ARGUMENT') && /trace.txt:3: expected an arrival time/.test(e.message),
  );
  assert.throws(() => parseTrace('[1, -2]', 't.json'), /element 1/);
});

test('sim batch: planned instances against the default autoscaler on the same trace', () => {
  const MB = 1 << 20;
  const arrivals = poissonArrivals(
    [
      { ratePerS: 40, durationMs: 20_000 },
      { ratePerS: 300, durationMs: 20_000 },
    ],
    3,
  );
  const run = () =>
    compareWithAutoscaler({
      arrivals,
      sloMs: 60,
      cores: 4,
      sharedBytes: 100 * MB,
      planned: {
        instances: 2,
        threads: 2,
        maxBatchSize: 8,
        serviceMs: (b) => (3 + 1.2 * b) / 1.7,
        memoryBytes: 40 * MB,
      },
      unplanned: { threads: 1, maxBatchSize: 1, serviceMs: (b) => 3 + 1.2 * b, memoryBytes: 30 * MB },
      kpa: DEFAULT_KPA,
      coldStartMs: 400,
      seed: 3,
    });
  const r = run();
  assert.deepEqual(r, run());
  assert.equal(r.planned.meanMemoryBytes, 180 * MB);
  assert.equal(r.planned.coldStarts, 0);
  assert.ok(r.autoscaler.coldStarts >= 1 && r.autoscaler.peakInstances <= 4);
  assert.ok(r.planned.sloAttainment > 0.95, `planned ${r.planned.sloAttainment}`);
  assert.ok(r.planned.sloAttainment > r.autoscaler.sloAttainment);
});
