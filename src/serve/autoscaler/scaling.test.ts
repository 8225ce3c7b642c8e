// The autoscaler driving real instance processes: scale from zero on the
// first request, back to zero after keep-alive, up at once under a burst.
import { test, describe, before, after } from 'node:test';
import assert from 'node:assert/strict';
import path from 'node:path';
import { createRuntime, type Runtime, type RuntimeEvent } from '../runtime.js';
import { tempRoots, type TempRoots } from '../../testing/tmp.js';
import { testEnv } from '../../testing/env.js';
import { isAlive, pidOf, recordEvents, request, testHandler, writeFunction } from '../../testing/functions.js';
import { until } from '../../testing/until.js';

describe('autoscaling real instances', () => {
  let roots: TempRoots;
  let rt: Runtime;
  let events: RuntimeEvent[];
  const pids = new Set<number>();

  before(async () => {
    roots = await tempRoots('ts-serve-scale');
    const functions = path.join(roots.dir, 'functions');
    const windows = { stableWindowSeconds: 2, panicWindowSeconds: 0.5 };
    await writeFunction(functions, 'zero', { ...windows, keepAliveSeconds: 0.6, maxInstances: 2 }, testHandler());
    await writeFunction(functions, 'burst', { ...windows, keepAliveSeconds: 30, minInstances: 1, maxInstances: 3 }, testHandler());
    rt = await createRuntime({ env: testEnv(), functionsDir: functions, repository: roots.repository, store: roots.store, pollIntervalMs: 0, autoscaleTickMs: 100 });
    events = recordEvents(rt);
    rt.subscribe((e) => { if (e.type === 'instance-starting' && e.pid) pids.add(e.pid); });
  });

  after(async () => {
    await rt?.close({ timeoutMs: 5000 });
    for (const pid of pids) assert.equal(isAlive(pid), false);
    await roots?.cleanup();
  });

  test('scale from zero: the first request waits for the cold start and succeeds; back to zero after keep-alive', async () => {
    assert.equal(rt.list().find((f) => f.name === 'zero')!.instances.ready, 0);
    const r = await rt.infer('zero', request([1, 2]));
    assert.deepEqual([...(r.outputs[0]!.data as Float32Array)], [2, 4]);
    assert.ok(r.timing!.coldStartMs! > 0, 'reports the cold start it waited for');
    assert.ok(r.timing!.queueMs >= r.timing!.coldStartMs! * 0.5);
    const scale = events.find((e) => e.type === 'scale' && e.function === 'zero');
    assert.ok(scale?.type === 'scale' && scale.from === 0 && scale.to === 1 && scale.reason === 'cold-start');
    const pid = pidOf(r);
    // Warm while traffic continues within keep-alive.
    await new Promise((res) => setTimeout(res, 300));
    assert.equal(pidOf(await rt.infer('zero', request([1]))), pid);
    await until(() => rt.list().find((f) => f.name === 'zero')!.instances.ready === 0 && !isAlive(pid), 10_000, 'scale to zero');
    const down = events.find((e) => e.type === 'instance-exit' && e.function === 'zero');
    assert.ok(down?.type === 'instance-exit' && down.reason === 'scale-down');
    assert.ok(events.some((e) => e.type === 'scale' && e.function === 'zero' && e.to === 0 && e.reason === 'scale-to-zero'));
    // And up again.
    const again = await rt.infer('zero', request([3]));
    assert.notEqual(pidOf(again), pid);
    assert.ok(again.timing!.coldStartMs! > 0);
  });

  test('a burst panics the autoscaler into scaling up at once; all requests succeed', async () => {
    await until(() => rt.list().find((f) => f.name === 'burst')!.instances.ready === 1, 10_000, 'minInstances');
    const burst = Array.from({ length: 6 }, (_, i) => rt.infer('burst', request([i], { sleepMs: 500 })));
    const results = await Promise.all(burst);
    assert.equal(results.length, 6);
    const panic = events.find((e) => e.type === 'scale' && e.function === 'burst' && e.panicking);
    assert.ok(panic?.type === 'scale' && panic.to > 1, 'panic scale-up');
    assert.ok(new Set(results.map(pidOf)).size > 1, 'served by more than one instance');
    assert.ok(rt.list().find((f) => f.name === 'burst')!.instances.ready <= 3);
  });
});
