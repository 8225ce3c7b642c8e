// Supervision with real instance processes: crashes, memory limits, the
// memory guard, queue limits and timeouts. Requests go the way they go in
// `tensorshare serve`: through the scheduler (the only queue) to the runtime.
import { test, describe, before, after } from 'node:test';
import assert from 'node:assert/strict';
import path from 'node:path';
import { createRuntime, type Runtime, type RuntimeEvent } from '../runtime.js';
import { createScheduling, type Scheduling } from '../scheduling.js';
import { tempRoots, type TempRoots } from '../../testing/tmp.js';
import { testEnv } from '../../testing/env.js';
import { isAlive, pidOf, recordEvents, request, testHandler, writeFunction } from '../../testing/functions.js';
import { until } from '../../testing/until.js';
import { createMemoryGuard } from './memory.js';

describe('instance supervision', () => {
  let roots: TempRoots;
  let functions: string;
  let rt: Runtime;
  let sched: Scheduling;
  let infer: Scheduling['infer'];
  let events: RuntimeEvent[];
  const pids = new Set<number>();

  before(async () => {
    roots = await tempRoots('ts-serve-sup');
    functions = path.join(roots.dir, 'functions');
    await writeFunction(functions, 'crashy', { minInstances: 2, maxInstances: 2 }, testHandler());
    await writeFunction(functions, 'steady', { minInstances: 1, maxInstances: 1 }, testHandler({ factor: 5 }));
    await writeFunction(functions, 'hog', { minInstances: 1, maxInstances: 1, memoryLimitMb: 120 }, testHandler());
    await writeFunction(
      functions,
      'narrow',
      { maxInstances: 1, maxQueueLength: 1, requestTimeoutMs: 5000, keepAliveSeconds: 30 },
      testHandler(),
    );
    rt = await createRuntime({
      env: testEnv(),
      functionsDir: functions,
      repository: roots.repository,
      store: roots.store,
      // Sampling, not a cgroup: the memory test below is about the sampler's recycling of an instance that grew while idle.
      pollIntervalMs: 0,
      autoscaleTickMs: 200,
      memory: { sampleMs: 100, budgetBytes: 8 * 2 ** 30, defaultInstanceMb: 64, enforce: 'sampling' },
    });
    sched = createScheduling({ runtime: rt });
    infer = sched.infer;
    events = recordEvents(rt);
    rt.subscribe((e) => {
      if (e.type === 'instance-starting' && e.pid) pids.add(e.pid);
    });
    await until(
      () => rt.list().every((f) => f.instances.ready >= (f.name === 'crashy' ? 2 : f.name === 'narrow' ? 0 : 1)),
      20_000,
      'minInstances to be ready',
    ).catch((e) => {
      throw new Error(`${e.message}: ${JSON.stringify(rt.list())} ${JSON.stringify(events)}`);
    });
  });

  after(async () => {
    await sched?.close();
    await rt?.close({ timeoutMs: 5000 });
    for (const pid of pids) assert.equal(isAlive(pid), false, `instance ${pid} is gone after close`);
    await roots?.cleanup();
  });

  test('a crash fails only the requests the instance held; others succeed; the instance is replaced', async () => {
    const before = new Set(
      rt
        .stats()
        .functions.find((f) => f.name === 'crashy')!
        .instances.map((i) => i.pid),
    );
    assert.equal(before.size, 2);
    // Least-loaded routing puts the slow request and the crashing one on different instances.
    const slow = infer('crashy', request([1], { sleepMs: 600 }));
    await until(
      () => rt.stats().functions.find((f) => f.name === 'crashy')!.inflight === 1,
      5000,
      'slow request running',
    );
    const crash = infer('crashy', request([1], { crash: true }));
    const other = infer('steady', request([2]));
    await assert.rejects(crash, (e: Error & { code?: string }) => {
      assert.equal(e.code, 'ERR_UNAVAILABLE');
      assert.match(
        e.message,
        /^instance crashy-v1-\d+ of function 'crashy' exited \(code 3\) while serving this request$/,
      );
      return true;
    });
    const s = await slow;
    assert.ok(before.has(pidOf(s)), 'the other instance finished its request');
    assert.deepEqual([...((await other).outputs[0]!.data as Float32Array)], [10]);
    const exit = events.find((e) => e.type === 'instance-exit' && e.function === 'crashy');
    assert.equal(exit?.type === 'instance-exit' && exit.reason, 'crash');
    await until(() => rt.list().find((f) => f.name === 'crashy')!.instances.ready === 2, 10_000, 'a replacement');
    const after = rt
      .stats()
      .functions.find((f) => f.name === 'crashy')!
      .instances.map((i) => i.pid);
    assert.equal(after.filter((p) => !before.has(p)).length, 1, 'one new process');
    assert.ok((await infer('crashy', request([3]))).outputs.length === 2);
  });

  test('an instance over its memory limit is drained and replaced', async () => {
    // It grows past its limit after answering (a request that grows past it fails: memory-limit.test.ts).
    const r = await infer('hog', request([1], { allocateLaterMb: 160 }));
    const pid = pidOf(r);
    await until(() => events.some((e) => e.type === 'recycle' && e.function === 'hog'), 10_000, 'recycle event');
    const rec = events.find((e) => e.type === 'recycle')!;
    assert.ok(rec.type === 'recycle' && rec.bytes > 120 * 2 ** 20 && rec.limitBytes === 120 * 2 ** 20);
    await until(() => !isAlive(pid), 10_000, 'the hog to exit');
    assert.ok(events.some((e) => e.type === 'instance-exit' && e.function === 'hog' && e.reason === 'memory'));
    await until(() => rt.list().find((f) => f.name === 'hog')!.instances.ready === 1, 10_000, 'a replacement');
    const again = await infer('hog', request([1]));
    assert.notEqual(pidOf(again), pid);
    const memory = () => rt.stats().functions.find((f) => f.name === 'hog')!.instances[0]?.memoryBytes ?? 0;
    await until(() => memory() > 0, 5000, 'a memory sample of the replacement');
    assert.ok(memory() < 120 * 2 ** 20, `replacement holds ${memory()} bytes`);
  });

  test('a full queue refuses with ERR_OVERLOADED; waiting too long fails with ERR_TIMEOUT', async () => {
    // One instance, one request at a time, one queue slot.
    const running = infer('narrow', request([1], { sleepMs: 1500 }));
    await until(
      () => rt.stats().functions.find((f) => f.name === 'narrow')?.inflight === 1,
      10_000,
      'first request running',
    );
    const narrow = rt.stats().functions.find((f) => f.name === 'narrow')!;
    assert.deepEqual([narrow.slots, narrow.free], [1, 0], 'one instance, maxConcurrency 1, busy');
    const queued = infer('narrow', request([2], { timeout_ms: 200 }));
    await assert.rejects(
      infer('narrow', request([3])),
      (e: Error & { code?: string; details?: Record<string, unknown> }) => {
        assert.equal(e.code, 'ERR_OVERLOADED');
        assert.match(e.message, /function 'narrow' is overloaded: 1 requests already queued \(maxQueueLength 1\)/);
        return true;
      },
    );
    await assert.rejects(queued, {
      code: 'ERR_TIMEOUT',
      message: /request to function 'narrow' timed out after 200 ms in the queue \(all instances busy\)/,
    });
    // Still queued behind the running request at its deadline: never run.
    const late = infer('narrow', request([4], { sleepMs: 1000, timeout_ms: 300 }));
    await assert.rejects(late, { code: 'ERR_TIMEOUT', message: /timed out after 300 ms/ });
    assert.ok((await running).outputs.length === 2);
    // A caller that goes away leaves the queue.
    const ac = new AbortController();
    const blocker = infer('narrow', request([5], { sleepMs: 300 }));
    await until(
      () => rt.stats().functions.find((f) => f.name === 'narrow')!.inflight === 1,
      10_000,
      'the blocker running',
    );
    const gone = infer('narrow', request([6]), { signal: ac.signal });
    assert.equal(sched.snapshot().functions.find((f) => f.fn === 'narrow')!.queued, 1);
    ac.abort();
    await assert.rejects(gone, { code: 'ERR_UNAVAILABLE', message: /cancelled by its caller/ });
    assert.equal(sched.snapshot().functions.find((f) => f.fn === 'narrow')!.queued, 0, 'left the queue at once');
    await blocker;
    // Refused, timed-out and cancelled requests never reached the runtime: it ran the two that were dispatched.
    const codes = events
      .filter((e) => e.type === 'request' && e.function === 'narrow')
      .map((e) => e.type === 'request' && e.outcome);
    assert.deepEqual(codes, ['ok', 'ok']);
    assert.equal(rt.stats().functions.find((f) => f.name === 'narrow')!.backlog, 0);
  });
});

describe('start failures', () => {
  test('a handler whose setup throws fails the waiting request with ERR_UNAVAILABLE, not a hang', async () => {
    const roots = await tempRoots('ts-serve-badstart');
    const functions = path.join(roots.dir, 'functions');
    await writeFunction(
      functions,
      'badsetup',
      {},
      `${testHandler()}\nexport async function setup() { throw new Error('no dictionary here'); }\n`,
    );
    const rt = await createRuntime({
      env: testEnv(),
      functionsDir: functions,
      repository: roots.repository,
      store: roots.store,
      pollIntervalMs: 0,
    });
    const sched = createScheduling({ runtime: rt });
    try {
      await assert.rejects(sched.infer('badsetup', request([1])), (e: Error & { code?: string }) => {
        assert.equal(e.code, 'ERR_UNAVAILABLE');
        assert.match(e.message, /^function 'badsetup' failed to start: no dictionary here$/);
        return true;
      });
      assert.match(rt.stats().functions[0]!.lastError ?? '', /no dictionary here/);
    } finally {
      await sched.close();
      await rt.close();
      await roots.cleanup();
    }
  });
});

describe('memory guard', () => {
  test('reserves within the budget, learns from samples, refuses past it', () => {
    const g = createMemoryGuard({ budgetBytes: 1000, defaultInstanceBytes: 300 });
    assert.deepEqual(g.reserve('a', 'a1'), { ok: true, estimate: 300 });
    assert.deepEqual(g.reserve('a', 'a2'), { ok: true, estimate: 300 });
    assert.deepEqual(g.reserve('a', 'a3'), { ok: true, estimate: 300 });
    assert.deepEqual(g.reserve('b', 'b1'), { ok: false, estimate: 300, reserved: 900, budget: 1000 });
    // Samples show a's instances are small: room appears.
    g.observe('a', 'a1', 100);
    g.observe('a', 'a2', 100);
    g.observe('a', 'a3', 100);
    assert.equal(g.estimate('a'), 100);
    assert.equal(g.reserved(), 300);
    assert.equal(g.reserve('b', 'b1').ok, true);
    // A limit caps the estimate; release frees.
    assert.equal(g.estimate('c', 50), 50);
    g.release('b1');
    assert.equal(g.reserved(), 300);
  });

  test('a function that cannot fit anywhere gets ERR_RESOURCE_EXHAUSTED', async () => {
    const roots = await tempRoots('ts-serve-guard');
    const functions = path.join(roots.dir, 'functions');
    await writeFunction(functions, 'big', {}, testHandler());
    const rt = await createRuntime({
      env: testEnv(),
      functionsDir: functions,
      repository: roots.repository,
      store: roots.store,
      pollIntervalMs: 0,
      memory: { budgetBytes: 16 * 2 ** 20, defaultInstanceMb: 64 },
    });
    const sched = createScheduling({ runtime: rt });
    try {
      await assert.rejects(sched.infer('big', request([1])), (e: Error & { code?: string }) => {
        assert.equal(e.code, 'ERR_RESOURCE_EXHAUSTED');
        assert.match(
          e.message,
          /not enough memory to start an instance of function 'big': it needs about 64 MiB and 0 MiB of the 16 MiB instance budget is taken/,
        );
        return true;
      });
    } finally {
      await sched.close();
      await rt.close();
      await roots.cleanup();
    }
  });
});

test('memory guard: an idle instance of another function is evicted to make room', async () => {
  const roots = await tempRoots('ts-serve-evict');
  const functions = path.join(roots.dir, 'functions');
  await writeFunction(functions, 'a', { keepAliveSeconds: 60 }, testHandler());
  await writeFunction(functions, 'b', { keepAliveSeconds: 60 }, testHandler({ factor: 3 }));
  // Room for one instance at the default estimate; no samples to learn smaller ones.
  const rt = await createRuntime({
    env: testEnv(),
    functionsDir: functions,
    repository: roots.repository,
    store: roots.store,
    pollIntervalMs: 0,
    memory: { budgetBytes: 100 * 2 ** 20, defaultInstanceMb: 64, sampleMs: 600_000 },
  });
  const sched = createScheduling({ runtime: rt });
  const events = recordEvents(rt);
  try {
    const a = pidOf(await sched.infer('a', request([1])));
    const b = await sched.infer('b', request([1]));
    assert.deepEqual([...(b.outputs[0]!.data as Float32Array)], [3]);
    assert.equal(isAlive(a), false);
    assert.ok(events.some((e) => e.type === 'memory-refused' && e.function === 'b'));
    assert.ok(events.some((e) => e.type === 'instance-exit' && e.function === 'a' && e.reason === 'evicted'));
  } finally {
    await sched.close();
    await rt.close();
    await roots.cleanup();
  }
});

test('a request that arrives while its function loads waits in the scheduler with no slots, and is served once it deploys', async () => {
  const roots = await tempRoots('ts-serve-loading');
  const functions = path.join(roots.dir, 'functions');
  await writeFunction(functions, 'fresh', {}, testHandler({ factor: 7 }));
  const rt = await createRuntime({
    env: testEnv(),
    functionsDir: functions,
    repository: roots.repository,
    store: roots.store,
    pollIntervalMs: 0,
    loadAll: false,
  });
  const sched = createScheduling({ runtime: rt });
  try {
    const loading = rt.load('fresh');
    assert.equal(rt.status('fresh')?.state, 'LOADING');
    const r = sched.infer('fresh', request([1]));
    assert.deepEqual(
      sched.snapshot().functions.map((f) => [f.fn, f.queued, f.concurrency]),
      [['fresh', 1, 0]],
    );
    await loading;
    const res = await r;
    assert.deepEqual([...(res.outputs[0]!.data as Float32Array)], [7]);
    assert.ok(res.timing!.coldStartMs! > 0, 'it waited for the cold start its backlog asked for');
  } finally {
    await sched.close();
    await rt.close();
    await roots.cleanup();
  }
});
