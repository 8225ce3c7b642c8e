// Many functions on one node (issue 12): idle functions cost no processes and
// no timers of their own, a restart re-imports nothing, and a scan deploys a
// bounded number of functions at once. Real runtime, real model files, real
// instance processes for the first request.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs/promises';
import path from 'node:path';
import { fineTuned, mlp, MLP_TINY, writeModel } from '../gen/index.js';
import { importModel } from '../store/import.js';
import { listVersions, resolveModel } from '../store/repository.js';
import { isResident } from '../store/materialize.js';
import { layout } from '../store/layout.js';
import { realClock } from './autoscaler/clock.js';
import { createRuntime, type Runtime } from './runtime.js';
import { createScheduling } from './scheduling.js';
import { runtimeBackend } from './backend.js';
import { createRepositoryPoller, DEPLOY_CONCURRENCY } from './runtime/polling.js';
import { createFunctionRegistry } from './runtime/registry.js';
import { silentLogger } from './runtime/log.js';
import { listProcessTree } from '../testing/proc-tree.js';
import { testEnv } from '../testing/env.js';
import { tempRoots, type TempRoots } from '../testing/tmp.js';
import { until } from '../testing/until.js';

const N = 12;
/** Timers and child processes this process holds now. */
const timers = () => process.getActiveResourcesInfo().filter((r) => r === 'Timeout').length;
const children = () => listProcessTree(process.pid).length - 1;

async function writeVariantFunctions(dir: string, n: number): Promise<void> {
  for (const spec of fineTuned(mlp(MLP_TINY), { variants: n, diffLayers: 1 })) {
    const fn = path.join(dir, `fn-${spec.variant!.index}`);
    await fs.mkdir(fn, { recursive: true });
    await writeModel(spec, path.join(fn, 'model.onnx'));
    await fs.writeFile(path.join(fn, 'config.json'), JSON.stringify({ modelFile: 'model.onnx', mode: 'fast-open' }));
  }
}

describe('many idle functions', () => {
  let roots: TempRoots;
  let functions: string;
  before(async () => {
    roots = await tempRoots('ts-many-functions');
    functions = path.join(roots.dir, 'functions');
    await writeVariantFunctions(functions, N);
  });
  after(async () => {
    await roots?.cleanup();
  });
  const runtime = (dir = functions) =>
    createRuntime({
      env: testEnv(),
      functionsDir: dir,
      repository: roots.repository,
      store: roots.store,
      pollIntervalMs: 0,
    });

  test('deployed idle functions hold no child process and no timer of their own until a request comes', async () => {
    const one = path.join(roots.dir, 'one');
    await fs.cp(path.join(functions, 'fn-1'), path.join(one, 'fn-1'), { recursive: true });
    const rt1 = await runtime(one);
    // The import checks' shared ONNX Runtime process goes once it has been idle a while.
    await until(() => children() === 0, 20_000, 'no child process left');
    const timersWithOne = timers();
    await rt1.close({ timeoutMs: 5000 });

    const rt: Runtime = await runtime();
    const sched = createScheduling({ runtime: rt });
    try {
      assert.equal(rt.list().length, N);
      assert.ok(rt.list().every((s) => s.state === 'READY' && s.instances.starting + s.instances.ready === 0));
      await until(() => children() === 0, 20_000, 'no child process left');
      assert.equal(timers(), timersWithOne, `${N} idle functions hold the timers one function holds`);

      const r = await sched.infer('fn-3', {
        inputs: [{ name: 'x', datatype: 'FP32', shape: [1, MLP_TINY.width], data: new Float32Array(MLP_TINY.width) }],
      });
      assert.equal(r.outputs[0]!.shape.join(','), `1,${MLP_TINY.width}`);
      assert.equal(children(), 1, 'the first request started exactly one instance process');
      assert.deepEqual(
        rt
          .list()
          .filter((s) => s.instances.ready > 0)
          .map((s) => s.name),
        ['fn-3'],
      );
    } finally {
      await sched.close();
      await rt.close({ timeoutMs: 5000 });
    }
  });

  test('a restart imports nothing again: the same model files resolve to the versions already there', async () => {
    const before = await Promise.all(
      Array.from({ length: N }, (_, i) => listVersions(layout(roots.repository), `fn-${i + 1}`)),
    );
    assert.ok(before.every((v) => v.length === 1));
    const rt = await runtime();
    try {
      const after = await Promise.all(
        Array.from({ length: N }, (_, i) => listVersions(layout(roots.repository), `fn-${i + 1}`)),
      );
      assert.deepEqual(after, before);
      assert.ok(rt.list().every((s) => s.state === 'READY'));
    } finally {
      await rt.close({ timeoutMs: 5000 });
    }
  });
});

test('background imports: functions LOADING at start, a request for one waits for its import alone, a broken file fails only its function, none resident before its first instance', async () => {
  const roots = await tempRoots('ts-background-imports');
  const dir = path.join(roots.dir, 'functions');
  await writeVariantFunctions(dir, 4);
  await fs.mkdir(path.join(dir, 'broken'));
  await fs.writeFile(path.join(dir, 'broken', 'model.onnx'), 'not an onnx model');
  await fs.writeFile(path.join(dir, 'broken', 'config.json'), JSON.stringify({ modelFile: 'model.onnx' }));
  let openGate!: () => void;
  const gate = new Promise<void>((r) => {
    openGate = r;
  });
  const rt = await createRuntime({
    env: testEnv(),
    functionsDir: dir,
    repository: roots.repository,
    store: roots.store,
    pollIntervalMs: 0,
    backgroundImports: 2,
    backgroundAfter: gate,
  });
  const sched = createScheduling({ runtime: rt });
  const versions = (fn: string) => listVersions(layout(roots.repository), fn);
  try {
    assert.deepEqual(
      rt.list().map((s) => [s.name, s.state]),
      [
        ['broken', 'LOADING'],
        ['fn-1', 'LOADING'],
        ['fn-2', 'LOADING'],
        ['fn-3', 'LOADING'],
        ['fn-4', 'LOADING'],
      ],
    );
    assert.equal(rt.stats().imports.pending, 5);
    // Metadata of a loading function: the call waits for its import (started at once), not "unknown model".
    const meta = await runtimeBackend(rt, sched).modelMetadata('fn-2');
    assert.equal(meta?.inputs[0]?.name, 'x');
    assert.equal(rt.status('fn-2')?.state, 'READY');
    const r = await sched.infer('fn-3', {
      inputs: [{ name: 'x', datatype: 'FP32', shape: [1, MLP_TINY.width], data: new Float32Array(MLP_TINY.width) }],
    });
    assert.equal(r.outputs[0]!.shape.join(','), `1,${MLP_TINY.width}`);
    // Held until the gate: only what was asked for was imported.
    assert.deepEqual(
      await Promise.all(['fn-1', 'fn-2', 'fn-3', 'fn-4'].map(async (f) => (await versions(f)).length)),
      [0, 1, 1, 0],
    );
    openGate();
    await until(() => rt.stats().imports.pending === 0, 60_000, 'background imports done');
    assert.deepEqual(
      rt.list().map((s) => [s.name, s.state]),
      [
        ['broken', 'UNAVAILABLE'],
        ['fn-1', 'READY'],
        ['fn-2', 'READY'],
        ['fn-3', 'READY'],
        ['fn-4', 'READY'],
      ],
    );
    assert.match(rt.status('broken')!.reason!, /model\.onnx/);
    // Imported in the background, fast-open: made resident by a first instance only (fn-3), not at deploy.
    const resident = async (fn: string) =>
      isResident(layout(roots.store), await resolveModel(layout(roots.repository), fn));
    assert.deepEqual(await Promise.all(['fn-1', 'fn-2', 'fn-3', 'fn-4'].map(resident)), [false, false, true, false]);
    await assert.rejects(
      sched.infer('broken', { inputs: [] }),
      (e: Error & { code?: string }) => e.code === 'ERR_UNAVAILABLE' && /broken/.test(e.message),
    );
  } finally {
    await sched.close();
    await rt.close({ timeoutMs: 5000 });
    await roots.cleanup();
  }
});

test('importing the same file again touches nothing in the repository (no staging, no runtime check)', async () => {
  const roots = await tempRoots('ts-reimport');
  try {
    const [spec] = fineTuned(mlp(MLP_TINY), { variants: 1, diffLayers: 1 });
    const file = path.join(roots.dir, 'm.onnx');
    await writeModel(spec!, file);
    const first = await importModel(roots.repository, file, { name: 'm' });
    assert.equal(first.outcome, 'created');
    // Staging lives in tmp/: with a file in its way, any import that stages fails.
    const tmp = layout(roots.repository).tmp;
    await fs.rm(tmp, { recursive: true });
    await fs.writeFile(tmp, 'in the way');
    const again = await importModel(roots.repository, file, { name: 'm' });
    assert.equal(again.outcome, 'existing');
    assert.equal(again.manifest.version, first.manifest.version);
    assert.deepEqual(again.manifest, first.manifest);
    // Different bytes under the same name still go the whole way (and meet the obstacle).
    const [other] = fineTuned(mlp(MLP_TINY), { variants: 1, diffLayers: 1, seed: 7 });
    await writeModel(other!, file);
    await assert.rejects(importModel(roots.repository, file, { name: 'm' }));
  } finally {
    await roots.cleanup();
  }
});

test('a scan deploys at most DEPLOY_CONCURRENCY functions at once', async () => {
  const roots = await tempRoots('ts-scan-bound');
  try {
    const dir = path.join(roots.dir, 'functions');
    const names = Array.from({ length: DEPLOY_CONCURRENCY * 3 }, (_, i) => `f${i}`);
    for (const n of names) {
      await fs.mkdir(path.join(dir, n), { recursive: true });
      await fs.writeFile(path.join(dir, n, 'config.json'), '{"model": "m"}');
    }
    let inFlight = 0;
    let most = 0;
    let started = 0;
    const deployed: string[] = [];
    // Deploys wait until as many as may run at once are running (or none is left to start), then all go on.
    let held: (() => void)[] = [];
    const registry = createFunctionRegistry();
    const poller = createRepositoryPoller({
      functionsDir: dir,
      everyMs: 0,
      clock: realClock,
      registry,
      log: silentLogger,
      lifecycle: {
        async deploy(name) {
          most = Math.max(most, ++inFlight);
          started++;
          await new Promise<void>((r) => {
            held.push(r);
            if (held.length === DEPLOY_CONCURRENCY || started === names.length) {
              for (const go of held) go();
              held = [];
            }
          });
          inFlight--;
          deployed.push(name);
          return { name, state: 'READY', instances: { starting: 0, ready: 0, draining: 0 } };
        },
        async remove() {},
      },
    });
    await poller.poll();
    assert.deepEqual([...deployed].sort(), [...names].sort());
    assert.equal(most, DEPLOY_CONCURRENCY);
  } finally {
    await roots.cleanup();
  }
});
