// Pre-started instance processes with real processes: a start from zero takes
// the idle preloaded one (the request is answered by that very process) and a
// replacement is forked; the memory budget decides whether any is kept; a
// process that cannot preload is not replaced; shed() ends one; preload runs
// the opener's warm-up.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import path from 'node:path';
import { createRuntime } from '../runtime.js';
import { createScheduling } from '../scheduling.js';
import { tempRoots } from '../../testing/tmp.js';
import { testEnv } from '../../testing/env.js';
import { isAlive, pidOf, request, testHandler, writeFunction } from '../../testing/functions.js';
import { listProcessTree } from '../../testing/proc-tree.js';
import { until } from '../../testing/until.js';
import { forkInstanceProcess } from './instance.js';
import { DEFAULT_OPENER, type OpenerSpec } from './opener.js';
import type { FromInstance } from './protocol.js';
import { createPrestartPool } from './prestart.js';

test('a start from zero takes the pre-started process, and another is started in its place', async () => {
  const roots = await tempRoots('ts-prestart');
  const functions = path.join(roots.dir, 'functions');
  await writeFunction(functions, 'echo', { minInstances: 0, keepAliveSeconds: 60 }, testHandler({ factor: 4 }));
  const rt = await createRuntime({
    env: testEnv(),
    functionsDir: functions,
    repository: roots.repository,
    store: roots.store,
    pollIntervalMs: 0,
    prestart: 1,
    memory: { budgetBytes: 2 * 2 ** 30 },
  });
  const sched = createScheduling({ runtime: rt });
  try {
    await until(() => rt.stats().prestart.ready === 1, 20_000, 'a pre-started process to preload');
    // No instance runs yet: once deploy's throwaway describe process has gone, the only child is the pre-started one.
    await until(() => listProcessTree(process.pid).length === 2, 20_000, 'the describe process to exit');
    const idle = listProcessTree(process.pid).slice(1);
    const r = await sched.infer('echo', request([2]));
    assert.deepEqual([...(r.outputs[0]!.data as Float32Array)], [8]);
    assert.equal(pidOf(r), idle[0], 'the instance is the pre-started process');
    await until(() => rt.stats().prestart.ready === 1, 20_000, 'a replacement to preload');
    assert.equal(rt.stats().functions.find((f) => f.name === 'echo')!.instances.length, 1);
  } finally {
    await sched.close();
    await rt.close({ timeoutMs: 5000 });
    await roots.cleanup();
  }
  assert.deepEqual(listProcessTree(process.pid).slice(1), [], 'close ends the idle pre-started process too');
});

test('no process is pre-started where the memory budget has no room for it beside an instance', async () => {
  const roots = await tempRoots('ts-prestart-budget');
  const functions = path.join(roots.dir, 'functions');
  await writeFunction(functions, 'echo', { minInstances: 0 }, testHandler());
  const rt = await createRuntime({
    env: testEnv(),
    functionsDir: functions,
    repository: roots.repository,
    store: roots.store,
    pollIntervalMs: 0,
    prestart: 1,
    memory: { budgetBytes: 100 * 2 ** 20, defaultInstanceMb: 64 },
  });
  const sched = createScheduling({ runtime: rt });
  try {
    assert.deepEqual(rt.stats().prestart, { ready: 0, starting: 0 });
    const r = await sched.infer('echo', request([1]));
    assert.deepEqual([...(r.outputs[0]!.data as Float32Array)], [2]);
    assert.deepEqual(rt.stats().prestart, { ready: 0, starting: 0 });
  } finally {
    await sched.close();
    await rt.close({ timeoutMs: 5000 });
    await roots.cleanup();
  }
});

test('shed() ends an idle process and frees its reservation; take() for another user gets none', async () => {
  const reserved = new Set<string>();
  const pool = createPrestartPool({
    size: 1,
    opener: DEFAULT_OPENER,
    env: testEnv(),
    reserve: (id) => {
      reserved.add(id);
      return true;
    },
    release: (id) => {
      reserved.delete(id);
    },
  });
  assert.deepEqual(pool.counts(), { ready: 0, starting: 0 }, 'nothing forked before the first refill');
  pool.refill();
  try {
    await until(() => pool.counts().ready === 1, 20_000, 'the process to preload');
    const [pid] = listProcessTree(process.pid).slice(1);
    assert.ok(pid !== undefined);
    assert.equal(pool.take({ uid: 12345, gid: 12345 }), undefined, 'a start as another user forks its own');
    assert.equal(pool.shed(), true);
    assert.deepEqual(pool.counts(), { ready: 0, starting: 0 });
    assert.equal(reserved.size, 0);
    await until(() => !isAlive(pid), 5000, 'the shed process to exit');
    assert.equal(pool.shed(), false, 'nothing left to shed');
  } finally {
    pool.close();
  }
});

test('a process that cannot preload is reported and not replaced', async () => {
  const reserves: string[] = [];
  const errors: string[] = [];
  const pool = createPrestartPool({
    size: 1,
    opener: { module: 'file:///nonexistent/opener.js' },
    env: testEnv(),
    reserve: (id) => {
      reserves.push(id);
      return true;
    },
    release: () => {},
    onError: (m) => errors.push(m),
  });
  pool.refill();
  try {
    await until(() => errors.length === 1, 20_000, 'the preload failure');
    assert.match(errors[0]!, /could not preload: .*nonexistent/);
    pool.refill();
    assert.deepEqual(pool.counts(), { ready: 0, starting: 0 });
    assert.equal(reserves.length, 1, 'forked once');
    assert.equal(pool.take(), undefined);
  } finally {
    pool.close();
  }
});

test("preload runs the opener's warm-up (an ONNX Runtime session) and the handler kit's, and names a warm-up the module lacks", async () => {
  const answer = (opener: OpenerSpec) => {
    const p = forkInstanceProcess({ env: testEnv(), shmDir: false });
    return new Promise<FromInstance>((resolve) => {
      p.child.once('message', (m: FromInstance) => {
        p.child.kill('SIGKILL');
        resolve(m);
      });
      p.child.send({ type: 'preload', opener });
    });
  };
  const ok = await answer(DEFAULT_OPENER);
  assert.equal(ok.type, 'preloaded');
  assert.ok(ok.type === 'preloaded' && ok.warmUpMs > 0, 'the default opener warms ONNX Runtime up');
  assert.ok(ok.type === 'preloaded' && ok.handlersWarmUpMs > 0, 'and the handler kit is warmed up');
  const none = await answer({ ...DEFAULT_OPENER, warmUp: undefined });
  assert.ok(none.type === 'preloaded' && none.warmUpMs === 0, 'an opener without a warm-up runs none');
  const bad = await answer({ ...DEFAULT_OPENER, warmUp: 'noSuchExport' });
  assert.ok(bad.type === 'fatal');
  assert.equal(bad.error.code, 'ERR_INVALID_ARGUMENT');
  assert.match(bad.error.message, /warm-up function 'noSuchExport' not exported/);
});
