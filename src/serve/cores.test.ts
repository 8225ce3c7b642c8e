// The runtime's core budget with real instance processes: an instance asking
// for more intra-op threads than are free runs with what is free (and says
// so), and none starts when no core is free (ERR_RESOURCE_EXHAUSTED, logged).
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import path from 'node:path';
import { createCoreBudget } from '../sched/index.js';
import { createRuntime, type Runtime, type RuntimeEvent } from './runtime.js';
import { createScheduling, type Scheduling } from './scheduling.js';
import { tempRoots, type TempRoots } from '../testing/tmp.js';
import { testEnv } from '../testing/env.js';
import { recordEvents, request, writeFunction } from '../testing/functions.js';
import { until } from '../testing/until.js';

const THREADS_HANDLER = `
export const metadata = {
  inputs: [{ name: 'x', datatype: 'FP32', shape: [-1] }],
  outputs: [{ name: 'threads', datatype: 'INT32', shape: [1] }],
};
export function handle(request, ctx) {
  return { outputs: [{ name: 'threads', datatype: 'INT32', shape: [1], data: Int32Array.of(ctx.config.intraOpThreads) }] };
}
`;

describe('core budget', () => {
  let roots: TempRoots;
  let rt: Runtime;
  let sched: Scheduling;
  let events: RuntimeEvent[];
  const logs: string[] = [];
  const cores = createCoreBudget({ total: 2 });

  before(async () => {
    roots = await tempRoots('ts-serve-cores');
    const functions = path.join(roots.dir, 'functions');
    await writeFunction(functions, 'wide', { minInstances: 1, maxInstances: 1, intraOpThreads: 1 }, THREADS_HANDLER);
    await writeFunction(functions, 'late', { maxInstances: 1, requestTimeoutMs: 10_000 }, THREADS_HANDLER);
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
      logger: { debug() {}, info() {}, warn: log('warn'), error: log('error') },
    });
    sched = createScheduling({ runtime: rt });
    events = recordEvents(rt);
    await until(() => rt.list().find((f) => f.name === 'wide')?.instances.ready === 1, 20_000, 'wide to be ready');
    // Deployed second, so the one core left is what it can get.
    await writeFunction(functions, 'greedy', { minInstances: 1, maxInstances: 1, intraOpThreads: 4 }, THREADS_HANDLER);
    await rt.load('greedy');
    await until(() => rt.list().find((f) => f.name === 'greedy')?.instances.ready === 1, 20_000, 'greedy to be ready');
  });

  after(async () => {
    await sched?.close();
    await rt?.close({ timeoutMs: 5000 });
    await roots?.cleanup();
  });

  test('an instance asking for more threads than are free runs with what is free; the budget is never exceeded', async () => {
    assert.equal(cores.used(), 2);
    const threadsOf = async (fn: string) => ((await sched.infer(fn, request([1]))).outputs[0]!.data as Int32Array)[0];
    assert.equal(await threadsOf('wide'), 1);
    assert.equal(await threadsOf('greedy'), 1, 'greedy asked for 4, got the one core left');
    assert.ok(
      logs.some((l) =>
        /^warn instance greedy-v1-\d+ asked for 4 intra-op threads but only 1 of 2 cores are free: it runs with 1/.test(
          l,
        ),
      ),
      logs.join('\n'),
    );
  });

  test('with every core held by instances that must stay, a new one is refused: ERR_RESOURCE_EXHAUSTED naming cores, logged once', async () => {
    await assert.rejects(sched.infer('late', request([1])), (e: Error & { code?: string }) => {
      assert.equal(e.code, 'ERR_RESOURCE_EXHAUSTED');
      assert.match(
        e.message,
        /not enough CPU cores to start an instance of function 'late': it needs 1 intra-op thread and all 2 cores are held by instances \(wide-v1-\d+:1, greedy-v1-\d+:1\)/,
      );
      return true;
    });
    assert.ok(events.some((e) => e.type === 'cores-refused' && e.function === 'late' && e.total === 2));
    assert.equal(logs.filter((l) => /not enough CPU cores to start an instance of function 'late'/.test(l)).length, 1);
    assert.equal(cores.used(), 2);
  });

  test('cores come back when an instance exits', async () => {
    await rt.unload('wide');
    await until(() => cores.used() === 1, 10_000, 'wide to give its core back');
    const r = await sched.infer('late', request([1]));
    assert.equal((r.outputs[0]!.data as Int32Array)[0], 1);
    assert.equal(cores.used(), 2);
  });
});
