// Deploy, update and remove functions while the runtime serves, through
// repository polling and explicit load/unload; real instance processes.
import { test, describe, before, after } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs/promises';
import path from 'node:path';
import { createRuntime, type Runtime, type RuntimeEvent } from '../runtime.js';
import { createScheduling, type Scheduling } from '../scheduling.js';
import { importModel } from '../../store/import.js';
import { writeChain } from '../../testing/models.js';
import { tempRoots, type TempRoots } from '../../testing/tmp.js';
import { testEnv } from '../../testing/env.js';
import { isAlive, pidOf, recordEvents, request, testHandler, writeFunction } from '../../testing/functions.js';
import { until } from '../../testing/until.js';

describe('functions deploy, update and remove while serving (polling)', () => {
  let roots: TempRoots;
  let functions: string;
  let rt: Runtime;
  let sched: Scheduling;
  let infer: Scheduling['infer'];
  let events: RuntimeEvent[];
  const pids = new Set<number>();
  const tag = (r: { parameters?: Record<string, unknown> }) => r.parameters?.tag;

  before(async () => {
    roots = await tempRoots('ts-serve-deploy');
    functions = path.join(roots.dir, 'functions');
    await importModel(
      roots.repository,
      await writeChain(path.join(roots.dir, 'src'), 'chain', { width: 4, layers: 2 }),
      { name: 'chain' },
    );
    await writeFunction(
      functions,
      'echo',
      { maxInstances: 2, keepAliveSeconds: 30 },
      testHandler({ factor: 2, tag: 'v1' }),
    );
    await writeFunction(functions, 'raw', { model: 'chain' });
    rt = await createRuntime({
      env: testEnv(),
      functionsDir: functions,
      repository: roots.repository,
      store: roots.store,
      pollIntervalMs: 100,
      autoscaleTickMs: 200,
    });
    sched = createScheduling({ runtime: rt });
    infer = sched.infer;
    events = recordEvents(rt);
    rt.subscribe((e) => {
      if (e.type === 'instance-starting' && e.pid) pids.add(e.pid);
    });
  });

  after(async () => {
    await sched?.close();
    await rt?.close({ timeoutMs: 5000 });
    for (const pid of pids) assert.equal(isAlive(pid), false, `instance ${pid} is gone after close`);
    await roots?.cleanup();
  });

  test('every function found at start is deployed and serves', async () => {
    assert.deepEqual(
      rt.list().map((f) => [f.name, f.state, f.version]),
      [
        ['echo', 'READY', '1'],
        ['raw', 'READY', '1'],
      ],
    );
    assert.deepEqual(rt.metadata('echo')?.inputs, [{ name: 'x', datatype: 'FP32', shape: [-1] }]);
    assert.equal(rt.metadata('echo')?.platform, 'tensorshare_handler');
    assert.deepEqual(rt.metadata('raw'), {
      name: 'raw',
      versions: ['1'],
      platform: 'onnxruntime_onnx',
      inputs: [{ name: 'x', datatype: 'FP32', shape: [-1, 4] }],
      outputs: [{ name: 'y', datatype: 'FP32', shape: [-1, 4] }],
    });
    const r = await infer('echo', request([1, 2, 3]));
    assert.deepEqual([...(r.outputs[0]!.data as Float32Array)], [2, 4, 6]);
    assert.equal(tag(r), 'v1');
    const raw = await infer('raw', {
      inputs: [{ name: 'x', datatype: 'FP32', shape: [1, 4], data: Float32Array.of(1, 0, 0, 1) }],
    });
    assert.equal(raw.outputs[0]!.name, 'y');
    assert.deepEqual(raw.outputs[0]!.shape, [1, 4]);
    assert.equal(raw.outputs[0]!.datatype, 'FP32');
  });

  test('a new function folder is deployed by polling', async () => {
    await writeFunction(functions, 'late', {}, testHandler({ factor: 10 }));
    await until(() => rt.ready('late'), 10_000, 'late to be deployed');
    const r = await infer('late', request([1]));
    assert.deepEqual([...(r.outputs[0]!.data as Float32Array)], [10]);
  });

  test('a changed handler gets new instances while the old one drains; in-flight requests finish', async () => {
    const before = await infer('echo', request([1]));
    const oldPid = pidOf(before);
    const slow = infer('echo', request([5], { sleepMs: 1500 }));
    await until(
      () => rt.stats().functions.find((f) => f.name === 'echo')!.inflight === 1,
      5000,
      'the slow request to run',
    );
    await writeFunction(
      functions,
      'echo',
      { maxInstances: 2, keepAliveSeconds: 30 },
      testHandler({ factor: 3, tag: 'v2' }),
    );
    await until(
      () => events.some((e) => e.type === 'function' && e.function === 'echo' && e.action === 'updated'),
      10_000,
      'echo update',
    );
    // Other functions keep serving during the update.
    const other = await infer('raw', {
      inputs: [{ name: 'x', datatype: 'FP32', shape: [1, 4], data: new Float32Array(4) }],
    });
    assert.equal(other.outputs.length, 1);
    const next = await infer('echo', request([5]));
    assert.equal(tag(next), 'v2');
    assert.deepEqual([...(next.outputs[0]!.data as Float32Array)], [15]);
    assert.notEqual(pidOf(next), oldPid);
    const done = await slow;
    assert.equal(tag(done), 'v1', 'the in-flight request finished on the old version');
    assert.equal(pidOf(done), oldPid);
    await until(
      () => events.some((e) => e.type === 'instance-exit' && e.function === 'echo' && e.reason === 'update'),
      10_000,
      'old instance to exit',
    );
    assert.equal(isAlive(oldPid), false);
    assert.equal(rt.list().find((f) => f.name === 'echo')!.version, '2');
  });

  test('an invalid update is reported with file and field, and the previous version keeps serving', async () => {
    await writeFunction(functions, 'echo', { maxInstances: 'x' });
    await until(
      () => events.some((e) => e.type === 'function' && e.function === 'echo' && e.action === 'failed'),
      10_000,
      'failed update',
    );
    const status = rt.list().find((f) => f.name === 'echo')!;
    assert.equal(status.state, 'READY');
    assert.equal(status.reason, 'functions/echo/config.json: maxInstances must be an integer >= 1, got "x"');
    assert.equal(tag(await infer('echo', request([1]))), 'v2');
    await writeFunction(functions, 'echo', { maxInstances: 2, keepAliveSeconds: 30 });
    await until(() => rt.list().find((f) => f.name === 'echo')!.reason === undefined, 10_000, 'fixed config');
  });

  test('a removed function folder is unloaded; its instance drains', async () => {
    const pid = pidOf(await infer('late', request([1])));
    await fs.rm(path.join(functions, 'late'), { recursive: true });
    await until(() => !rt.list().some((f) => f.name === 'late'), 10_000, 'late to be removed');
    await assert.rejects(infer('late', request([1])), { code: 'ERR_MODEL_NOT_FOUND' });
    await until(() => !isAlive(pid), 10_000, 'late instance to exit');
    assert.ok(events.some((e) => e.type === 'function' && e.function === 'late' && e.action === 'removed'));
  });

  test('explicit unload sticks until load (or a change of the files)', async () => {
    await rt.unload('raw');
    await assert.rejects(infer('raw', request([1])), { code: 'ERR_MODEL_NOT_FOUND' });
    // Two scans: the second starts after the unload even if the first joined one under way.
    await rt.poll();
    await rt.poll();
    assert.equal(
      rt.list().some((f) => f.name === 'raw'),
      false,
      'polling leaves an unloaded function alone',
    );
    const s = await rt.load('raw');
    assert.equal(s.state, 'READY');
    const raw = await infer('raw', {
      inputs: [{ name: 'x', datatype: 'FP32', shape: [1, 4], data: new Float32Array(4) }],
    });
    assert.equal(raw.outputs[0]!.name, 'y');
  });

  test('a modelFile is imported on first deploy', async () => {
    const dir = await writeFunction(functions, 'fromfile', { modelFile: 'model.onnx', mode: 'fast-open' });
    await writeChain(dir, 'model', { width: 4, layers: 1, seed: 7 });
    const s = await rt.load('fromfile');
    assert.equal(s.state, 'READY');
    assert.deepEqual(rt.metadata('fromfile')?.inputs, [{ name: 'x', datatype: 'FP32', shape: [-1, 4] }]);
    const r = await infer('fromfile', {
      inputs: [{ name: 'x', datatype: 'FP32', shape: [2, 4], data: new Float32Array(8).fill(1) }],
    });
    assert.deepEqual(r.outputs[0]!.shape, [2, 4]);
    await fs.access(path.join(roots.repository, 'models', 'fromfile', '1.json'));
  });

  test('load reports missing and invalid functions', async () => {
    await assert.rejects(rt.load('nope'), { code: 'ERR_MODEL_NOT_FOUND' });
    assert.equal(
      rt.list().some((f) => f.name === 'nope'),
      false,
    );
    await writeFunction(functions, 'broken', { model: 'not-imported' });
    await assert.rejects(rt.load('broken'), {
      code: 'ERR_MODEL_NOT_FOUND',
      message: /^functions\/broken\/config.json: model: model 'not-imported' not found/,
    });
    assert.equal(rt.list().find((f) => f.name === 'broken')?.state, 'UNAVAILABLE');
    await assert.rejects(infer('broken', request([1])), { code: 'ERR_UNAVAILABLE' });
    await writeFunction(
      functions,
      'badhandler',
      {},
      'export const metadata = { inputs: [], outputs: [] };\nexport function nothandle() {}\n',
    );
    await assert.rejects(rt.load('badhandler'), {
      code: 'ERR_INVALID_ARGUMENT',
      message: /^functions\/badhandler\/handler.js: exports no handle/,
    });
    await writeFunction(functions, 'syntax', {}, 'export function handle( {');
    await assert.rejects(rt.load('syntax'), { message: /^functions\/syntax\/handler.js: cannot be loaded: / });
  });
});
