// The GPU benchmark's instance path (gpu-instances.ts) against a real daemon
// whose executor runs on a fake device, the CPU provider standing in for
// CUDA: a `device: gpu` function of a real serve runtime at zero instances
// answers its first request from a forked instance and from a pre-started
// process, each row carries the instance's events, and the report gives both
// ratios. It measures nothing: (a) is a given number here.
import { after, test } from 'node:test';
import assert from 'node:assert/strict';
import path from 'node:path';
import { open } from '../client/open.js';
import { killAll } from '../testing/daemon.js';
import { startDaemonEnv, stopDaemonEnv, type DaemonEnv } from '../testing/daemon-env.js';
import { writeBatchedMatMul } from '../testing/device.js';
import { testEnv } from '../testing/env.js';
import { gpuInstancesMarkdown, measureGpuInstances, requestOf } from './gpu-instances.js';
import type { InstanceRow } from './instance-path.js';

after(killAll);

test('a GPU function at zero instances answers its first request, forked and pre-started, beside plain CUDA', async () => {
  let e: DaemonEnv | undefined;
  try {
    e = await startDaemonEnv('ts-gpu-instances', ['--gpus', 'fake:64MiB']);
    const m = await writeBatchedMatMul(path.join(e.roots.dir, 'mm.onnx'), 16, 8, 7);
    await e.c.import(m.file, 'mm');
    const spec = { name: 'mm', file: 'mm.onnx', inputs: [{ name: 'x', dtype: 'float32', shape: [1, 16] }] };
    const d = e.d;
    let resident = 0;
    const r = await measureGpuInstances({
      model: spec,
      modelsDir: e.roots.dir,
      repository: e.roots.repository,
      store: e.roots.store,
      work: e.roots.dir,
      reps: 2,
      plainFirstResultMs: async () => 1000,
      makeResident: async () => {
        const s = await open('mm', { socket: d.socket, env: {}, sessionOptions: { executionProviders: ['cuda'] } });
        await s.release();
        resident++;
      },
      log: () => {},
      env: testEnv(),
    });
    assert.equal(resident, 1);
    assert.deepEqual(r.plainCudaMs, [1000, 1000]);
    for (const row of [...r.forked, ...r.prestarted]) {
      assert.ok(row.requestToAnswerMs > 0 && row.spawnToReadyMs > 0 && row.readyToAnswerMs >= 0, JSON.stringify(row));
      assert.ok(row.requestToAnswerMs >= row.readyToAnswerMs, 'the answer comes after the instance is ready');
    }
    assert.equal(r.forked.length, 2);
    assert.equal(r.prestarted.length, 2);
    // The GPU benchmark's median of two is the lower one.
    const lower = (xs: InstanceRow[]) => Math.min(...xs.map((x) => x.requestToAnswerMs));
    assert.ok(Math.abs(r.ratioForked - 1000 / lower(r.forked)) < 1e-9);
    assert.ok(Math.abs(r.ratioPrestarted - 1000 / lower(r.prestarted)) < 1e-9);
    const md = gpuInstancesMarkdown([r]).join('\n');
    assert.match(md, /\| mm \| 1000 ms \|/);
    assert.match(md, new RegExp(`\\| ${r.ratioPrestarted.toFixed(1)}x \\| ${r.ratioForked.toFixed(1)}x \\|$`, 'm'));
  } finally {
    await stopDaemonEnv(e);
  }
});

test("the instance path's request feeds the GPU worker's values at batch 1", () => {
  const req = requestOf({
    name: 'bert',
    file: 'bert.onnx',
    inputs: [
      { name: 'input_ids', dtype: 'int64', shape: [1, 4] },
      { name: 'attention_mask', dtype: 'int64', shape: [1, 4] },
      { name: 'x', dtype: 'float32', shape: [1, 2] },
    ],
  });
  assert.deepEqual(
    req.inputs.map((i) => [i.name, i.datatype, i.shape]),
    [
      ['input_ids', 'INT64', [1, 4]],
      ['attention_mask', 'INT64', [1, 4]],
      ['x', 'FP32', [1, 2]],
    ],
  );
  assert.deepEqual(Array.from(req.inputs[0]!.data as BigInt64Array), [0n, 7n, 14n, 21n]);
  assert.deepEqual(Array.from(req.inputs[1]!.data as BigInt64Array), [1n, 1n, 1n, 1n]);
  assert.deepEqual(Array.from(req.inputs[2]!.data as Float32Array), [0, Math.fround(Math.sin(1) * 0.5)]);
});
