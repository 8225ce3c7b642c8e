// A function with `mode: auto`: deploy makes both legs resident, its instance
// answers from a fast-open session at once and then switches to fast-run
// behind the same session, computing bit for bit what plain ONNX Runtime
// does. The switch is read from /proc/<pid>/maps of the real instance: it
// maps the variant's prepacked file and no longer the fast-open original.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs/promises';
import path from 'node:path';
import ort from 'onnxruntime-node';
import { createRuntime } from '../runtime.js';
import { createScheduling } from '../scheduling.js';
import { importModel } from '../../store/import.js';
import { findFastRun } from '../../store/fast-run.js';
import { layout } from '../../store/layout.js';
import { testEnv } from '../../testing/env.js';
import { recordEvents, writeFunction } from '../../testing/functions.js';
import { writeMatMulChain } from '../../testing/models.js';
import { tempRoots } from '../../testing/tmp.js';
import { until } from '../../testing/until.js';
import type { InferRequest } from '../../tensor/index.js';

test('mode auto: the first answer comes from fast-open, then fast-run serves behind the same session, bit-identical', async () => {
  const roots = await tempRoots('ts-auto-mode');
  const file = path.join(roots.dir, 'chain.onnx');
  await writeMatMulChain(file, [
    { rows: 256, cols: 256, seed: 1 },
    { rows: 256, cols: 64, seed: 2 },
  ]);
  const m = (await importModel(roots.repository, file, { name: 'chain' })).manifest;
  const functions = path.join(roots.dir, 'functions');
  await writeFunction(functions, 'auto', { model: 'chain', mode: 'auto', minInstances: 0, keepAliveSeconds: 60 });
  const x = Float32Array.from({ length: 256 }, (_, i) => ((i * 37) % 101) / 101 - 0.5);
  const req = (): InferRequest => ({ inputs: [{ name: 'x', datatype: 'FP32', shape: [1, 256], data: x.slice() }] });
  // Plain ORT over the original file: with fast-open's settings (no optimizations, no prepacking) for the
  // fast-open answer, with its defaults for the fast-run one (prepacked kernels round differently).
  const plainRun = async (options: ort.InferenceSession.SessionOptions) => {
    const s = await ort.InferenceSession.create(file, { intraOpNumThreads: 1, logSeverityLevel: 4, ...options });
    const y = (await s.run({ x: new ort.Tensor('float32', x, [1, 256]) })).y!.data as Float32Array;
    await s.release();
    return Buffer.from(y.buffer, y.byteOffset, y.byteLength);
  };
  const asFastOpen = await plainRun({
    graphOptimizationLevel: 'disabled',
    extra: { session: { disable_prepacking: '1' } },
  });
  const asFastRun = await plainRun({});
  const rt = await createRuntime({
    env: testEnv(),
    functionsDir: functions,
    repository: roots.repository,
    store: roots.store,
    pollIntervalMs: 0,
  });
  const events = recordEvents(rt);
  const sched = createScheduling({ runtime: rt });
  try {
    const out = async () => {
      const y = (await sched.infer('auto', req())).outputs[0]!.data as Float32Array;
      return Buffer.from(y.buffer, y.byteOffset, y.byteLength);
    };
    assert.ok((await out()).equals(asFastOpen), 'the fast-open answer is plain ORT bit for bit');
    const ready = events.find((e) => e.type === 'instance-ready' && e.function === 'auto');
    assert.ok(ready && ready.type === 'instance-ready');
    assert.deepEqual(
      ready.models?.map((mm) => mm.mode),
      ['fast-open'],
      'the instance opened fast-open',
    );
    const v = await findFastRun(layout(roots.repository), m.digest);
    assert.equal(v?.status, 'ok');
    const own = new Set(m.tensors.map((t) => t.sha256));
    const packed = v!.tensors.filter((t) => t.prepacked > 0 && !own.has(t.sha256)).map((t) => t.sha256);
    const originals = m.tensors.map((t) => t.sha256).filter((s) => !v!.tensors.some((t) => t.sha256 === s));
    assert.ok(packed.length > 0 && originals.length > 0, 'the variant replaces the MatMul weights by prepacked files');
    const pid = rt.stats().functions.find((f) => f.name === 'auto')!.instances[0]!.pid!;
    const maps = () => fs.readFile(`/proc/${pid}/maps`, 'utf8');
    await until(
      async () => {
        const text = await maps();
        return packed.every((s) => text.includes(s)) && originals.every((s) => !text.includes(s));
      },
      20_000,
      'the instance to switch to fast-run (maps the prepacked files, not the fast-open originals)',
    );
    assert.ok((await out()).equals(asFastRun), 'the fast-run answer is plain ORT bit for bit');
  } finally {
    await sched.close();
    await rt.close({ timeoutMs: 5000 });
    await roots.cleanup();
  }
});
