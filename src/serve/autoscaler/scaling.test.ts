// The autoscaler driving real instance processes: scale from zero on the
// first request, back to zero after keep-alive, up at once under a burst.
// Both runtimes decide on fake clocks (the autoscaler's ticks happen when the
// test moves them), so a busy machine cannot turn "within keep-alive" into
// "past it", nor decide a burst before it has arrived; the processes and the
// scheduler run in real time.
import { test, describe, before, after } from 'node:test';
import assert from 'node:assert/strict';
import path from 'node:path';
import { createRuntime, type Runtime, type RuntimeEvent } from '../runtime.js';
import { createScheduling, type Scheduling } from '../scheduling.js';
import { createFakeClock, type FakeClock } from './clock.js';
import { tempRoots, type TempRoots } from '../../testing/tmp.js';
import { testEnv } from '../../testing/env.js';
import { isAlive, pidOf, request, testHandler, writeFunction } from '../../testing/functions.js';
import { until } from '../../testing/until.js';

describe('autoscaling real instances', () => {
  let roots: TempRoots;
  let clock: FakeClock;
  let burstClock: FakeClock;
  let zeroRt: Runtime;
  let burstRt: Runtime;
  let zero: Scheduling;
  let burst: Scheduling;
  let events: RuntimeEvent[];
  const pids = new Set<number>();

  before(async () => {
    roots = await tempRoots('ts-serve-scale');
    const windows = { stableWindowSeconds: 2, panicWindowSeconds: 0.5 };
    const zeroDir = path.join(roots.dir, 'functions-zero');
    const burstDir = path.join(roots.dir, 'functions-burst');
    await writeFunction(zeroDir, 'zero', { ...windows, keepAliveSeconds: 0.6, maxInstances: 2 }, testHandler());
    await writeFunction(
      burstDir,
      'burst',
      { ...windows, keepAliveSeconds: 30, minInstances: 1, maxInstances: 3 },
      testHandler(),
    );
    clock = createFakeClock();
    burstClock = createFakeClock();
    events = [];
    const record = (e: RuntimeEvent) => {
      events.push(e);
      if (e.type === 'instance-starting' && e.pid) pids.add(e.pid);
    };
    zeroRt = await createRuntime({
      env: testEnv(),
      functionsDir: zeroDir,
      repository: roots.repository,
      store: roots.store,
      pollIntervalMs: 0,
      autoscaleTickMs: 100,
      clock,
      onEvent: record,
    });
    burstRt = await createRuntime({
      env: testEnv(),
      functionsDir: burstDir,
      repository: roots.repository,
      store: roots.store,
      pollIntervalMs: 0,
      autoscaleTickMs: 100,
      clock: burstClock,
      onEvent: record,
    });
    zero = createScheduling({ runtime: zeroRt });
    burst = createScheduling({ runtime: burstRt });
  });

  after(async () => {
    await Promise.all([zero?.close(), burst?.close()]);
    await Promise.all([zeroRt?.close({ timeoutMs: 5000 }), burstRt?.close({ timeoutMs: 5000 })]);
    for (const pid of pids) assert.equal(isAlive(pid), false);
    await roots?.cleanup();
  });

  test('scale from zero: the first request waits for the cold start and succeeds; back to zero after keep-alive', async () => {
    assert.equal(zeroRt.list().find((f) => f.name === 'zero')!.instances.ready, 0);
    const r = await zero.infer('zero', request([1, 2]));
    assert.deepEqual([...(r.outputs[0]!.data as Float32Array)], [2, 4]);
    assert.ok(r.timing!.coldStartMs! > 0, 'reports the cold start it waited for');
    assert.ok(r.timing!.queueMs >= r.timing!.coldStartMs! * 0.5);
    const scale = events.find((e) => e.type === 'scale' && e.function === 'zero');
    assert.ok(scale?.type === 'scale' && scale.from === 0 && scale.to === 1 && scale.reason === 'cold-start');
    const pid = pidOf(r);
    // Warm while traffic continues within keep-alive: 300 of its 600 ms pass (three autoscaler ticks).
    clock.advance(300);
    assert.equal(zeroRt.list().find((f) => f.name === 'zero')!.instances.ready, 1);
    assert.equal(pidOf(await zero.infer('zero', request([1]))), pid);
    // Past keep-alive with no traffic: to zero.
    clock.advance(400);
    await until(
      () => zeroRt.list().find((f) => f.name === 'zero')!.instances.ready === 0 && !isAlive(pid),
      10_000,
      'scale to zero',
    );
    const down = events.find((e) => e.type === 'instance-exit' && e.function === 'zero');
    assert.ok(down?.type === 'instance-exit' && down.reason === 'scale-down');
    assert.ok(
      events.some((e) => e.type === 'scale' && e.function === 'zero' && e.to === 0 && e.reason === 'scale-to-zero'),
    );
    // And up again.
    const again = await zero.infer('zero', request([3]));
    assert.notEqual(pidOf(again), pid);
    assert.ok(again.timing!.coldStartMs! > 0);
  });

  test('a burst panics the autoscaler into scaling up at once; all requests succeed', async () => {
    await until(() => burstRt.list().find((f) => f.name === 'burst')!.instances.ready === 1, 10_000, 'minInstances');
    // Idle ticks fill the stable window (2 s) with zero concurrency.
    for (let i = 0; i < 20; i++) burstClock.advance(100);
    const all = Array.from({ length: 6 }, (_, i) => burst.infer('burst', request([i], { sleepMs: 800 })));
    // All six have arrived: one running on the instance, the others waiting for a slot.
    await until(
      () => {
        const f = burstRt.stats().functions.find((x) => x.name === 'burst');
        return f !== undefined && f.inflight + f.backlog >= 6;
      },
      10_000,
      'the burst to arrive',
    );
    // Three ticks while they run: the panic window (0.5 s) sees 6 against one instance's capacity of 1 long before
    // the stable window (2 s) does.
    for (let i = 0; i < 3; i++) burstClock.advance(100);
    const results = await Promise.all(all);
    assert.equal(results.length, 6);
    const panic = events.find((e) => e.type === 'scale' && e.function === 'burst' && e.panicking);
    assert.ok(panic?.type === 'scale' && panic.to > 1, 'panic scale-up');
    assert.ok(new Set(results.map(pidOf)).size > 1, 'served by more than one instance');
    assert.ok(burstRt.list().find((f) => f.name === 'burst')!.instances.ready <= 3);
  });
});
