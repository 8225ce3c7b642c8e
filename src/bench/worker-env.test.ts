// A benchmark's worker is a served instance as far as memory goes: both run
// with the instance environment (INSTANCE_ENV: few malloc arenas, large
// blocks returned to the OS), read here from /proc/<pid>/environ of a real
// bench worker and a real instance process forked as serve forks them.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import { WorkerPool } from './procs.js';
import { writeIdentityModel } from './tinymodel.js';
import { forkInstanceProcess, INSTANCE_ENV } from '../serve/instances/instance.js';
import { tempRoots } from '../testing/tmp.js';
import { testEnv, unsetTensorshareVars } from '../testing/env.js';

const MALLOC = /^(MALLOC_|GLIBC_TUNABLES=)/;

function mallocEnv(pid: number): Record<string, string> {
  const vars = fs
    .readFileSync(`/proc/${pid}/environ`, 'utf8')
    .split('\0')
    .filter((v) => MALLOC.test(v));
  return Object.fromEntries(vars.map((v) => [v.slice(0, v.indexOf('=')), v.slice(v.indexOf('=') + 1)]));
}

/** Polls until the forked process runs `module` (its environ is then the exec'd one). */
async function execed(pid: number, module: string): Promise<void> {
  for (let i = 0; i < 500; i++) {
    if (fs.readFileSync(`/proc/${pid}/cmdline`, 'utf8').includes(module)) return;
    await new Promise((r) => setTimeout(r, 10));
  }
  throw new Error(`process ${pid} never ran ${module}`);
}

test('bench workers and served instances run with the same malloc environment', async () => {
  const roots = await tempRoots('worker-env');
  const pool = new WorkerPool(unsetTensorshareVars());
  const inst = forkInstanceProcess({ env: testEnv({ MALLOC_ARENA_MAX: '8' }), shmDir: false });
  try {
    assert.ok(Object.keys(INSTANCE_ENV).length > 0);
    const id = writeIdentityModel(roots.dir);
    const w = pool.spawn({
      task: 'hold',
      opener: { kind: 'baseline', file: id.modelPath, sessionOptions: { intraOpNumThreads: 1 } },
      inputs: [{ name: id.inputName, dtype: 'float32', shape: [1, 4], fill: 'ones' }],
    });
    await w.next('ready', 60_000);
    await execed(inst.child.pid!, 'child.js');
    const instance = mallocEnv(inst.child.pid!);
    // The instance's own settings win over what the caller's environment had.
    assert.deepEqual(instance, { ...INSTANCE_ENV });
    assert.deepEqual(mallocEnv(w.pid), instance);
  } finally {
    inst.child.kill('SIGKILL');
    await pool.killAll();
    await roots.cleanup();
  }
});
