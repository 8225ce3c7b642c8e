// memoryLimitMb enforced while a request runs: a handler that keeps
// allocating is stopped near its function's limit (by its memory cgroup where
// this machine allows one, else by polling its RssAnon while the request is
// in flight), the request fails with an error naming the limit, only that
// instance dies, and the function serves the next request.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import path from 'node:path';
import { createRuntime } from '../runtime.js';
import { createScheduling } from '../scheduling.js';
import { tempRoots } from '../../testing/tmp.js';
import { testEnv } from '../../testing/env.js';
import { isAlive, pidOf, request, testHandler, writeFunction } from '../../testing/functions.js';
import { isTensorshareError } from '../../errors.js';
import { memoryCgroupSupport, type MemoryEnforcement } from './memory-limit.js';

const LIMIT_MB = 160;
// Grows in 16 MB steps to 800 MB (five times the limit), then answers: an answer means the limit was not enforced.
const growing = `
export const metadata = { inputs: [{ name: 'x', datatype: 'FP32', shape: [-1] }], outputs: [{ name: 'mb', datatype: 'INT32', shape: [1] }, { name: 'pid', datatype: 'INT32', shape: [1] }] };
const hog = [];
export async function handle(request) {
  const out = (mb) => ({ outputs: [{ name: 'mb', datatype: 'INT32', shape: [1], data: Int32Array.of(mb) }, { name: 'pid', datatype: 'INT32', shape: [1], data: Int32Array.of(process.pid) }] });
  if (!request.parameters?.grow) return out(0);
  for (let mb = 16; mb <= 800; mb += 16) {
    hog.push(Buffer.alloc(16 * 1048576, 1));
    await new Promise((r) => setTimeout(r, 5));
  }
  return out(800);
}
`;

for (const enforce of ['auto', 'sampling'] as MemoryEnforcement[]) {
  test(`a request that outgrows memoryLimitMb fails alone (enforce: ${enforce})`, { timeout: 120_000 }, async () => {
    const roots = await tempRoots(`memlimit-${enforce}`);
    const functions = path.join(roots.dir, 'functions');
    await writeFunction(functions, 'grow', { memoryLimitMb: LIMIT_MB, maxInstances: 1, keepAliveSeconds: 60 }, growing);
    await writeFunction(functions, 'echo', { keepAliveSeconds: 60 }, testHandler());
    const rt = await createRuntime({
      env: testEnv(),
      functionsDir: functions,
      repository: roots.repository,
      store: roots.store,
      pollIntervalMs: 0,
      memory: { enforce },
    });
    const sched = createScheduling({ runtime: rt });
    try {
      const echoPid = pidOf(await sched.infer('echo', request([1])));
      const firstPid = pidOf(await sched.infer('grow', request([1])));
      const err = await sched.infer('grow', request([1], { grow: true })).then(
        () => undefined,
        (e: Error) => e,
      );
      assert.ok(
        err && isTensorshareError(err, 'ERR_RESOURCE_EXHAUSTED'),
        `the growing request failed with ERR_RESOURCE_EXHAUSTED: ${String(err)}`,
      );
      const cgroups = 'base' in memoryCgroupSupport();
      if (enforce === 'auto' && cgroups)
        assert.match(
          err.message,
          /killed by the kernel at its memory cgroup limit \(memory\.(max|limit_in_bytes) = memoryLimitMb 160\)/,
        );
      else assert.match(err.message, /was stopped holding \d+ MB, over its memoryLimitMb of 160/);
      if (!err.message.includes('cgroup')) {
        const held = Number(/holding (\d+) MB/.exec(err.message)![1]);
        assert.ok(held < 800, `stopped at ${held} MB, before the handler reached 800 MB`);
      }
      assert.equal(isAlive(firstPid), false, 'the instance that outgrew its limit is gone');
      // The function serves again from a new instance; the other function's instance was never touched.
      const again = await sched.infer('grow', request([1]));
      assert.notEqual(pidOf(again), firstPid);
      assert.equal(pidOf(await sched.infer('echo', request([1]))), echoPid);
    } finally {
      await sched.close();
      await rt.close({ timeoutMs: 5000 });
      await roots.cleanup();
    }
  });
}
