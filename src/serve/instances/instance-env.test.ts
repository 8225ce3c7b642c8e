// What an instance process's environment holds: the runtime's, the allocator
// settings (INSTANCE_ENV), and NODE_EXTRA_CA_CERTS only when the runtime is
// asked to keep it (instance.ts says why it is dropped). Checked from inside
// real instance processes, forked and pre-started.
import { test, describe, before, after } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs/promises';
import path from 'node:path';
import { createRuntime } from '../runtime.js';
import { createScheduling } from '../scheduling.js';
import { tempRoots, type TempRoots } from '../../testing/tmp.js';
import { pidOf, request, writeFunction } from '../../testing/functions.js';
import { listProcessTree } from '../../testing/proc-tree.js';
import { until } from '../../testing/until.js';
import { testEnv } from '../../testing/env.js';
import { instanceEnvironment } from './instance.js';

// Answers [NODE_EXTRA_CA_CERTS === the file given, MALLOC_ARENA_MAX === '2'] as 1/0, and its pid.
const envHandler = `
export const metadata = { inputs: [{ name: 'x', datatype: 'FP32', shape: [-1] }], outputs: [{ name: 'env', datatype: 'INT32', shape: [2] }, { name: 'pid', datatype: 'INT32', shape: [1] }] };
export async function handle(request) {
  return { outputs: [
    { name: 'env', datatype: 'INT32', shape: [2], data: Int32Array.of(
      process.env.NODE_EXTRA_CA_CERTS === request.parameters.ca ? 1 : 0,
      process.env.MALLOC_ARENA_MAX === '2' ? 1 : 0,
    ) },
    { name: 'pid', datatype: 'INT32', shape: [1], data: Int32Array.of(process.pid) },
  ] };
}
`;

describe('instance environment', () => {
  let roots: TempRoots;
  let functions: string;
  let caFile: string;

  before(async () => {
    roots = await tempRoots('ts-instance-env');
    functions = path.join(roots.dir, 'functions');
    await writeFunction(functions, 'env', { minInstances: 0, maxInstances: 1 }, envHandler);
    // An empty bundle: Node loads it without a warning, and the test needs only its name.
    caFile = path.join(roots.dir, 'extra-ca.pem');
    await fs.writeFile(caFile, '');
  });

  after(async () => {
    await roots?.cleanup();
  });

  /** What the first instance of a runtime with these settings sees: [has the CA file, has the allocator setting]. */
  async function seen(o: { keep?: boolean; prestart: number }): Promise<number[]> {
    const rt = await createRuntime({
      env: testEnv({ NODE_EXTRA_CA_CERTS: caFile }),
      ...(o.keep ? { instanceExtraCaCerts: true } : {}),
      functionsDir: functions,
      repository: roots.repository,
      store: roots.store,
      pollIntervalMs: 0,
      prestart: o.prestart,
      memory: { budgetBytes: 2 * 2 ** 30 },
    });
    const sched = createScheduling({ runtime: rt });
    try {
      let idle: number | undefined;
      if (o.prestart) {
        await until(() => rt.stats().prestart.ready === 1, 20_000, 'a pre-started process to preload');
        // Once deploy's describe process has gone, the only child is the pre-started one.
        await until(() => listProcessTree(process.pid).length === 2, 20_000, 'the describe process to exit');
        idle = listProcessTree(process.pid)[1];
      }
      const r = await sched.infer('env', request([1], { ca: caFile }));
      if (idle !== undefined) assert.equal(pidOf(r), idle, 'the instance is the pre-started process');
      return Array.from(r.outputs.find((t) => t.name === 'env')!.data as Int32Array);
    } finally {
      await sched.close();
      await rt.close({ timeoutMs: 5000 });
    }
  }

  test('a forked instance starts without NODE_EXTRA_CA_CERTS, with the allocator settings', async () => {
    assert.deepEqual(await seen({ prestart: 0 }), [0, 1]);
  });

  test('a pre-started process starts without it too', async () => {
    assert.deepEqual(await seen({ prestart: 1 }), [0, 1]);
  });

  test('instanceExtraCaCerts keeps it', async () => {
    assert.deepEqual(await seen({ keep: true, prestart: 0 }), [1, 1]);
  });

  test('instanceEnvironment leaves an environment without the variable as it is', () => {
    const env = { PATH: '/bin' };
    assert.equal(instanceEnvironment(env), env);
    assert.deepEqual(instanceEnvironment({ PATH: '/bin', NODE_EXTRA_CA_CERTS: '/x.pem' }), { PATH: '/bin' });
    assert.deepEqual(instanceEnvironment({ NODE_EXTRA_CA_CERTS: '/x.pem' }, true), { NODE_EXTRA_CA_CERTS: '/x.pem' });
  });
});
