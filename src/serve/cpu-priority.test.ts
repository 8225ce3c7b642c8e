// Realtime isolation on a shared CPU (issue 14, DART): a besteffort
// function's instance processes run at SCHED_IDLE, every thread of them
// (onnxruntime's intra-op pool included, created after the lowering, so
// inherited), a realtime function's at normal priority; and the core budget
// lets realtime instances take the cores that besteffort ones hold. Real
// runtime, real model, real instance processes.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs/promises';
import path from 'node:path';
import { mlp, writeModel } from '../gen/index.js';
import { createCoreBudget } from '../sched/index.js';
import { lowerCpuPriority } from './instances/cpu-priority.js';
import { SCHED_POLICY, threadPriorities } from '../proc/threads.js';
import { createRuntime, type Runtime, type RuntimeEvent } from './runtime.js';
import { createScheduling, type Scheduling } from './scheduling.js';
import { testEnv } from '../testing/env.js';
import { recordEvents } from '../testing/functions.js';
import { tempRoots, type TempRoots } from '../testing/tmp.js';
import { until } from '../testing/until.js';

describe('CPU priority classes of instances', () => {
  let roots: TempRoots;
  let rt: Runtime;
  let sched: Scheduling;
  let events: RuntimeEvent[];
  const logs: string[] = [];
  const cores = createCoreBudget({ total: 2 });

  before(async () => {
    roots = await tempRoots('ts-serve-cpu-priority');
    const functions = path.join(roots.dir, 'functions');
    for (const [name, priority] of [
      ['rt', 'realtime'],
      ['be', 'besteffort'],
    ] as const) {
      await fs.mkdir(path.join(functions, name), { recursive: true });
      await writeModel(mlp({ layers: 2, width: 64 }), path.join(functions, name, 'model.onnx'));
      await fs.writeFile(
        path.join(functions, name, 'config.json'),
        JSON.stringify({ modelFile: 'model.onnx', minInstances: 1, maxInstances: 1, intraOpThreads: 2, priority }),
      );
    }
    const log = (level: string) => (obj: object, msg?: string) =>
      logs.push(`${level} ${msg ?? ''} ${JSON.stringify(obj)}`);
    rt = await createRuntime({
      env: testEnv(),
      functionsDir: functions,
      repository: roots.repository,
      store: roots.store,
      cores,
      pollIntervalMs: 0,
      autoscaleTickMs: 200,
      logger: { debug() {}, info: log('info'), warn: log('warn'), error: log('error') },
    });
    sched = createScheduling({ runtime: rt, policy: 'priority' });
    events = recordEvents(rt);
    for (const fn of ['rt', 'be'])
      await until(() => rt.list().find((f) => f.name === fn)?.instances.ready === 1, 30_000, `${fn} to be ready`);
  });

  after(async () => {
    await sched?.close();
    await rt?.close({ timeoutMs: 5000 });
    await roots?.cleanup();
  });

  const pidOf = (fn: string): number => {
    const e = events.find((x) => x.type === 'instance-ready' && x.function === fn);
    assert.ok(e && e.type === 'instance-ready' && e.pid !== undefined, `no ready event with a pid for ${fn}`);
    return e.pid!;
  };
  const x = { name: 'x', datatype: 'FP32' as const, shape: [1, 64], data: new Float32Array(64).fill(0.5) };

  test('every thread of a besteffort instance is SCHED_IDLE, every thread of a realtime one is not; both serve', async () => {
    for (const fn of ['rt', 'be']) {
      const res = await sched.infer(fn, { inputs: [x] });
      assert.equal(res.outputs.length, 1);
    }
    const be = threadPriorities(pidOf('be'));
    const rtThreads = threadPriorities(pidOf('rt'));
    assert.ok(be.length > 1, `the besteffort instance has ${be.length} threads`);
    assert.deepEqual(
      be.filter((t) => t.policy !== SCHED_POLICY.SCHED_IDLE),
      [],
      'threads of the besteffort instance not at SCHED_IDLE',
    );
    assert.deepEqual(
      rtThreads.filter((t) => t.policy !== SCHED_POLICY.SCHED_OTHER || t.nice !== 0),
      [],
      'threads of the realtime instance not at normal priority',
    );
    // Same model, same intra-op threads: the same threads exist in both (ORT's pool included), only their class differs.
    assert.equal(be.length, rtThreads.length);
    assert.ok(
      logs.some((l) => /^info besteffort instance be-v\d+-\d+ runs at SCHED_IDLE/.test(l)),
      logs.join('\n'),
    );
  });

  test('realtime and besteffort instances both got their 2 intra-op threads on 2 cores: realtime may take besteffort cores', () => {
    assert.equal(cores.used(), 2);
    assert.equal(cores.yielding(), 2);
    assert.deepEqual(
      cores
        .holders()
        .map((h) => `${h.owner.replace(/-v\d+-\d+$/, '')}:${h.threads}${h.yielding ? ' yielding' : ''}`)
        .sort(),
      ['be:2 yielding', 'rt:2'],
    );
  });

  test('lowering a process that does not exist is refused naming it', () => {
    assert.throws(
      () => lowerCpuPriority(2 ** 22 + 12345),
      (e: Error & { code?: string }) =>
        e.code === 'ERR_INVALID_ARGUMENT' &&
        /cannot lower the CPU priority of process \d+: no such process/.test(e.message),
    );
  });
});
