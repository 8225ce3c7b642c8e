// A handler's error code reaches statuses and metric labels: only known codes
// pass through from an instance process; any other string becomes
// ERR_INTERNAL, with the original code kept in the message.
import { test, describe, before, after } from 'node:test';
import assert from 'node:assert/strict';
import path from 'node:path';
import { createRuntime, type Runtime } from '../runtime.js';
import { createScheduling, type Scheduling } from '../scheduling.js';
import { tempRoots, type TempRoots } from '../../testing/tmp.js';
import { request, writeFunction } from '../../testing/functions.js';
import { until } from '../../testing/until.js';
import { testEnv } from '../../testing/env.js';

// Throws what request.parameters.code names, shaped as a TensorshareError from another copy of errors.js.
const throwingHandler = `
export const metadata = { inputs: [{ name: 'x', datatype: 'FP32', shape: [-1] }], outputs: [{ name: 'y', datatype: 'FP32', shape: [-1] }] };
export async function handle(request) {
  throw Object.assign(new Error('handler refused'), { name: 'TensorshareError', code: request.parameters.code, details: { why: 'test' } });
}
`;

describe('error codes from instances', () => {
  let roots: TempRoots;
  let rt: Runtime;
  let sched: Scheduling;

  before(async () => {
    roots = await tempRoots('ts-serve-codes');
    const functions = path.join(roots.dir, 'functions');
    await writeFunction(functions, 'thrower', { minInstances: 1, maxInstances: 1 }, throwingHandler);
    rt = await createRuntime({
      env: testEnv(),
      functionsDir: functions,
      repository: roots.repository,
      store: roots.store,
      pollIntervalMs: 0,
    });
    sched = createScheduling({ runtime: rt });
    await until(
      () => rt.list().find((f) => f.name === 'thrower')?.instances.ready === 1,
      20_000,
      'the instance to be ready',
    );
  });

  after(async () => {
    await sched?.close();
    await rt?.close({ timeoutMs: 5000 });
    await roots?.cleanup();
  });

  test('a known code passes through with its message and details', async () => {
    await assert.rejects(
      sched.infer('thrower', request([1], { code: 'ERR_OVERLOADED' })),
      (e: Error & { code?: string; details?: Record<string, unknown> }) => {
        assert.equal(e.code, 'ERR_OVERLOADED');
        assert.equal(e.message, 'handler refused');
        assert.deepEqual(e.details, { why: 'test', function: 'thrower' });
        return true;
      },
    );
  });

  test('an unknown code becomes ERR_INTERNAL and the message names it', async () => {
    await assert.rejects(
      sched.infer('thrower', request([1], { code: 'ERR_MADE_UP{label="x"}' })),
      (e: Error & { code?: string; details?: Record<string, unknown> }) => {
        assert.equal(e.code, 'ERR_INTERNAL');
        assert.equal(
          e.message,
          `function 'thrower' failed with unknown error code "ERR_MADE_UP{label=\\"x\\"}": handler refused`,
        );
        assert.equal(e.details?.function, 'thrower');
        return true;
      },
    );
  });
});
