// The planner's profiler measures a real model in child processes through
// openSession, and caches the profile per model, CPU and grid.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { MLP_TINY, mlp, writeModel } from '../gen/index.js';
import { importModel } from '../store/import.js';
import { testEnv } from '../testing/env.js';
import { tempRoots } from '../testing/tmp.js';
import { checkProfile } from '../plan/profile.js';
import { measureProfile } from './plan-profile.js';

test('plan profile: latency and memory per threads x batch, measured once, then read from the cache', async () => {
  const roots = await tempRoots('ts-plan-profile');
  try {
    const file = path.join(roots.dir, 'm.onnx');
    await writeModel(mlp(MLP_TINY), file);
    await importModel(roots.repository, file, { name: 'm' });
    const request = {
      ref: 'm',
      repository: roots.repository,
      store: roots.store,
      threads: [1, 2],
      batches: [4, 1],
      budgetMs: 5,
      cacheDir: path.join(roots.dir, 'cache'),
      env: testEnv(),
    };
    const first = await measureProfile(request);
    assert.equal(first.cached, false);
    checkProfile(first.profile, 'measured');
    assert.deepEqual(
      first.profile.points.map((p) => [p.threads, p.batch]),
      [
        [1, 1],
        [1, 4],
        [2, 1],
        [2, 4],
      ],
    );
    for (const p of first.profile.points) assert.ok(p.latencyMs > 0 && p.memoryBytes > 0);
    assert.ok(first.profile.sharedBytes > 0, 'the weights are mapped shared from the store');
    assert.ok(first.file?.startsWith(request.cacheDir) && fs.existsSync(first.file));
    const again = await measureProfile(request);
    assert.equal(again.cached, true);
    assert.deepEqual(again.profile.points, first.profile.points);
    // Another grid is another cache entry.
    assert.notEqual((await measureProfile({ ...request, threads: [1] })).file, first.file);
  } finally {
    await roots.cleanup();
  }
});
