import { test, describe } from 'node:test';
import assert from 'node:assert/strict';
import { decide, initialKpaState, recordSample, windowAverage, type KpaConfig, type KpaState } from './kpa.js';
import { createAutoscalerDriver, type ScaleTarget } from './driver.js';
import { createFakeClock } from './clock.js';
import { createConcurrencyMeter } from './meter.js';

const CFG: KpaConfig = {
  targetConcurrency: 1,
  minInstances: 0,
  maxInstances: 10,
  stableWindowMs: 60_000,
  panicWindowMs: 6_000,
  panicThreshold: 2,
  keepAliveMs: 30_000,
  maxScaleDownRate: 2,
};

/** Feeds one sample per second of the given concurrency and decides after each, like the driver's tick. */
function simulate(
  s: KpaState,
  from: number,
  seconds: number,
  concurrency: number,
  counts: { ready: number; current: number },
  cfg = CFG,
) {
  let r = { state: s, decision: decide(s, { now: from, ...counts, instant: concurrency }, cfg).decision };
  for (let i = 1; i <= seconds; i++) {
    const now = from + i * 1000;
    const st = recordSample(r.state, { t: now, dt: 1000, concurrency }, cfg);
    r = decide(st, { now, ...counts, instant: concurrency }, cfg);
  }
  return r;
}

describe('KPA decisions', () => {
  test('window averages are time-weighted over the part of the window samples cover', () => {
    const samples = [
      { t: 1000, dt: 1000, concurrency: 4 },
      { t: 4000, dt: 3000, concurrency: 0 },
    ];
    assert.equal(windowAverage(samples, 4000, 60_000), 1);
    assert.equal(windowAverage(samples, 4000, 3000), 0);
    assert.equal(windowAverage(samples, 4000, 3500), (4 * 500) / 3500);
    assert.equal(windowAverage([], 4000, 6000), 0);
  });

  test('no traffic and no instances: stays at zero', () => {
    const r = decide(initialKpaState(), { now: 0, ready: 0, current: 0, instant: 0 }, CFG);
    assert.equal(r.decision.desired, 0);
  });

  test('a request with no instance starts one at once (cold start)', () => {
    const r = decide(initialKpaState(), { now: 0, ready: 0, current: 0, instant: 1 }, CFG);
    assert.equal(r.decision.desired, 1);
    const burst = decide(initialKpaState(), { now: 0, ready: 0, current: 0, instant: 3 }, CFG);
    assert.equal(burst.decision.desired, 3);
  });

  test('steady load: desired = ceil(stable concurrency / target)', () => {
    const r = simulate(initialKpaState(), 0, 60, 3, { ready: 3, current: 3 });
    assert.equal(r.decision.desired, 3);
    assert.equal(r.decision.panicking, false);
    assert.equal(r.decision.reason, 'stable');
    const t2 = simulate(initialKpaState(), 0, 60, 3, { ready: 2, current: 2 }, { ...CFG, targetConcurrency: 2 });
    assert.equal(t2.decision.desired, 2);
  });

  test('a surge below the panic threshold follows the slow stable window', () => {
    let r = simulate(initialKpaState(), 0, 60, 2, { ready: 2, current: 2 });
    // Concurrency 3 on 2 instances: 1.5x capacity, under the 2x threshold.
    r = simulate(r.state, 60_000, 6, 3, { ready: 2, current: 2 });
    assert.equal(r.decision.panicking, false);
    assert.equal(r.decision.desired, Math.ceil((54 * 2 + 6 * 3) / 60)); // 3 only once the stable average passes 2
    assert.equal(r.decision.desired, 3);
    const early = simulate(simulate(initialKpaState(), 0, 60, 2, { ready: 2, current: 2 }).state, 60_000, 1, 2.5, {
      ready: 2,
      current: 2,
    });
    assert.equal(early.decision.desired, 3, 'ceil(2.008) = 3');
  });

  test('panic: concurrency >= 2x capacity in the panic window scales up at once', () => {
    let r = simulate(initialKpaState(), 0, 60, 1, { ready: 1, current: 1 });
    assert.equal(r.decision.desired, 1);
    // Burst to 8 concurrent on one instance. After 2 s the panic window (6 s) average is (4*1 + 2*8)/6 = 3.33 >= 2.
    r = simulate(r.state, 60_000, 2, 8, { ready: 1, current: 1 });
    assert.equal(r.decision.panicking, true);
    assert.equal(r.decision.reason, 'panic');
    assert.equal(
      r.decision.desired,
      4,
      'ceil(3.33) from the panic window; the stable window alone says ceil(1.23) = 2',
    );
    assert.ok(r.decision.stableConcurrency < 1.5);
    // Still bursting: follows the panic window up.
    r = simulate(r.state, 62_000, 4, 8, { ready: 4, current: 4 });
    assert.equal(r.decision.desired, 8);
  });

  test('never scales down while panicking; panic ends a stable window after the last surge', () => {
    let r = simulate(initialKpaState(), 0, 60, 1, { ready: 1, current: 1 });
    r = simulate(r.state, 60_000, 6, 8, { ready: 1, current: 1 });
    assert.equal(r.decision.panicking, true);
    const peak = r.decision.desired;
    assert.equal(peak, 8);
    // The surge stops; concurrency drops to 1 on 8 instances.
    r = simulate(r.state, 66_000, 30, 1, { ready: 8, current: 8 });
    assert.equal(r.decision.panicking, true);
    assert.equal(r.decision.desired, peak, 'holds the panic count');
    r = simulate(r.state, 96_000, 31, 1, { ready: 8, current: 8 });
    assert.equal(r.decision.panicking, false);
    // Back on the stable window: ceil(stable avg) with scale-down limited to halving.
    assert.ok(r.decision.desired >= 4 && r.decision.desired < 8, `desired ${r.decision.desired}`);
  });

  test('scale-down is limited to halving per decision', () => {
    let r = simulate(initialKpaState(), 0, 60, 8, { ready: 8, current: 8 });
    r = simulate(r.state, 60_000, 61, 1, { ready: 8, current: 8 });
    assert.equal(r.decision.desired, 4);
    r = simulate(r.state, 121_000, 1, 1, { ready: 4, current: 4 });
    assert.equal(r.decision.desired, 2);
    r = simulate(r.state, 122_000, 1, 1, { ready: 2, current: 2 });
    assert.equal(r.decision.desired, 1);
  });

  test('keep-alive holds one instance; no traffic for keepAlive scales to zero (or to minInstances)', () => {
    let r = simulate(initialKpaState(), 0, 10, 1, { ready: 1, current: 1 });
    r = simulate(r.state, 10_000, 29, 0, { ready: 1, current: 1 });
    assert.equal(r.decision.desired, 1, 'the stable window still remembers the traffic');
    r = simulate(r.state, 39_000, 1, 0, { ready: 1, current: 1 });
    assert.equal(r.decision.desired, 0);
    assert.equal(r.decision.reason, 'scale-to-zero');
    // A stable window shorter than keep-alive: the window forgets, keep-alive still holds one.
    const short = { ...CFG, stableWindowMs: 5000, panicWindowMs: 1000 };
    const k = simulate(
      simulate(initialKpaState(), 0, 5, 1, { ready: 1, current: 1 }, short).state,
      5000,
      10,
      0,
      { ready: 1, current: 1 },
      short,
    );
    assert.equal(k.decision.desired, 1);
    assert.equal(k.decision.reason, 'keep-alive');
    const min = simulate(
      simulate(initialKpaState(), 0, 10, 1, { ready: 2, current: 2 }, { ...CFG, minInstances: 2 }).state,
      10_000,
      40,
      0,
      { ready: 2, current: 2 },
      { ...CFG, minInstances: 2 },
    );
    assert.equal(min.decision.desired, 2);
  });

  test('clamped to maxInstances and minInstances', () => {
    const cfg = { ...CFG, maxInstances: 3, minInstances: 1 };
    assert.equal(decide(initialKpaState(), { now: 0, ready: 0, current: 0, instant: 50 }, cfg).decision.desired, 3);
    assert.equal(decide(initialKpaState(), { now: 0, ready: 0, current: 0, instant: 0 }, cfg).decision.desired, 1);
    const r = simulate(initialKpaState(), 0, 10, 40, { ready: 1, current: 1 }, cfg);
    assert.equal(r.decision.desired, 3);
  });
});

describe('autoscaler driver with a fake clock', () => {
  test('ticks sample the meter, decide, and apply', () => {
    const clock = createFakeClock();
    const meter = createConcurrencyMeter(0);
    let instances = 0;
    const applied: number[] = [];
    const target: ScaleTarget = {
      name: 'f',
      config: () => ({ ...CFG, keepAliveMs: 5000 }),
      sample: (now) => meter.take(now),
      instant: () => meter.value,
      counts: () => ({ ready: instances, current: instances }),
      apply: (n) => {
        applied.push(n);
        instances = n;
      },
    };
    const d = createAutoscalerDriver({ clock, tickMs: 1000 });
    d.add(target);
    d.start();
    clock.advance(3000);
    assert.deepEqual(applied, [0, 0, 0]);
    // A request arrives with nothing running: a poke starts an instance now.
    meter.set(1, clock.now());
    assert.equal(d.poke('f')?.desired, 1);
    assert.equal(instances, 1);
    clock.advance(2500);
    meter.set(0, clock.now());
    clock.advance(4000);
    assert.equal(instances, 1, 'within keep-alive');
    clock.advance(2000);
    assert.equal(instances, 0, 'scaled to zero after 5 s without traffic');
    d.stop();
    const n = applied.length;
    clock.advance(10_000);
    assert.equal(applied.length, n, 'stopped');
  });

  test('the meter averages concurrency exactly between samples', () => {
    const m = createConcurrencyMeter(0);
    m.set(2, 0);
    m.set(4, 500);
    m.set(0, 750);
    assert.deepEqual(m.take(1000), { dt: 1000, concurrency: (2 * 500 + 4 * 250) / 1000 });
    assert.deepEqual(m.take(2000), { dt: 1000, concurrency: 0 });
  });
});
