// `device: gpu` and `device: auto` through a real `tensorshare serve`: its
// owned daemon runs an executor on a fake device (the CPU provider standing in
// for CUDA), a function's instances run their model there, and the answer
// over HTTP is the model's. Without a device, `gpu` fails with a reason that
// names what is missing and `auto` serves on CPU instances. `device:
// cpu-executor` runs on the owned daemon's CPU executor.
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import path from 'node:path';
import { readDevicesStatus } from '../device/devices-status.js';
import { importModel } from '../store/import.js';
import { writeBatchedMatMul } from '../testing/device.js';
import { testEnv } from '../testing/env.js';
import { writeFunction } from '../testing/functions.js';
import { spawnServe } from '../testing/serve.js';
import { tempRoots } from '../testing/tmp.js';
import { until } from '../testing/until.js';

interface InferBody {
  outputs: { data: number[] }[];
  error: string;
}

const ROWS = 16;
const COLS = 8;

async function setup(prefix: string) {
  const roots = await tempRoots(prefix);
  const model = await writeBatchedMatMul(path.join(roots.dir, 'mm.onnx'), ROWS, COLS, 7);
  await importModel(roots.repository, model.file, { name: 'mm' });
  const functions = path.join(roots.dir, 'functions');
  // on-gpu names a policy of its own: it travels with its runs to the executor (src/sched/lanes-scheduler.ts).
  for (const [name, device] of [
    ['on-gpu', 'gpu'],
    ['on-auto', 'auto'],
    ['on-cpu', 'cpu'],
    ['on-cpu-executor', 'cpu-executor'],
  ] as const)
    await writeFunction(functions, name, {
      model: 'mm',
      device,
      minInstances: 0,
      maxInstances: 1,
      ...(name === 'on-gpu' ? { gpuPolicy: 'srtf' } : {}),
    });
  return { roots, model, functions };
}

async function infer(url: string, fn: string, x: Float32Array): Promise<{ status: number; body: InferBody }> {
  const res = await fetch(`${url}/v2/models/${fn}/infer`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ inputs: [{ name: 'x', datatype: 'FP32', shape: [1, ROWS], data: Array.from(x) }] }),
  });
  return { status: res.status, body: (await res.json()) as InferBody };
}

const input = () => Float32Array.from({ length: ROWS }, (_, i) => (i % 5) - 2);

function assertClose(actual: number[], expected: Float32Array) {
  assert.equal(actual.length, expected.length);
  for (let i = 0; i < expected.length; i++)
    assert.ok(Math.abs(actual[i]! - expected[i]!) < 1e-4, `y[${i}] = ${actual[i]}, expected ${expected[i]}`);
}

const FLAGS = ['--grpc-port', 'off', '--no-bundled', '--poll', '0', '--prestart', '0'];

describe('serve with device: gpu and auto', () => {
  test('on a (fake) device: gpu and auto functions run on the executor, one device copy for both; cpu stays on CPU', async () => {
    const { roots, model, functions } = await setup('ts-serve-gpu');
    try {
      const s = await spawnServe(roots, functions, FLAGS, testEnv({ TENSORSHARE_GPUS: 'fake:1G' }));
      try {
        const x = input();
        for (const fn of ['on-gpu', 'on-auto', 'on-cpu']) {
          const r = await infer(s.url, fn, x);
          assert.equal(r.status, 200, `${fn}: ${JSON.stringify(r.body)}`);
          assertClose(r.body.outputs[0]!.data, model.reference(x));
        }
        // Both device functions share the one resident copy of mm on device 0: one load, and their two runs there.
        let last: unknown;
        const status = await until(
          () => {
            const st = readDevicesStatus(roots.store);
            last = st;
            const m = st?.devices[0]?.models.find((r) => r.model.startsWith('mm:'));
            const runs = Object.values(st?.devices[0]?.batchSizes ?? {}).reduce((a, b) => a + b, 0);
            return m && runs >= 2 ? { st: st!, m, runs } : undefined;
          },
          20_000,
          'mm resident on device 0 with two runs there',
        ).catch((e) => {
          throw new Error(`${(e as Error).message}; devices.json: ${JSON.stringify(last)}`);
        });
        assert.equal(status.st.devices.length, 1);
        assert.equal(status.st.devices[0]!.loads, 1, 'one device load for two functions');
        assert.equal(status.runs, 2, 'on-gpu and on-auto ran on the device (one batch each); on-cpu did not');
        assert.ok(status.m.clients >= 1, 'an instance holds the resident model');
      } finally {
        await s.stop();
      }
    } finally {
      await roots.cleanup();
    }
  });

  test('without a device: gpu answers a 5xx naming the missing device, auto serves on CPU instances', async () => {
    const { roots, model, functions } = await setup('ts-serve-nogpu');
    try {
      const s = await spawnServe(roots, functions, FLAGS, testEnv({ TENSORSHARE_GPUS: 'none' }));
      try {
        const x = input();
        const auto = await infer(s.url, 'on-auto', x);
        assert.equal(auto.status, 200, JSON.stringify(auto.body));
        assertClose(auto.body.outputs[0]!.data, model.reference(x));
        const gpu = await infer(s.url, 'on-gpu', x);
        assert.ok(gpu.status >= 500 && gpu.status < 600, `status ${gpu.status}: ${JSON.stringify(gpu.body)}`);
        assert.match(gpu.body.error, /gpu|device|executor/i);
        assert.equal(readDevicesStatus(roots.store)?.devices.length ?? 0, 0);
      } finally {
        await s.stop();
      }
    } finally {
      await roots.cleanup();
    }
  });

  test("device: cpu-executor: the instance runs its model on the daemon's CPU executor, none without one", async () => {
    const { roots, model, functions } = await setup('ts-serve-cpu-executor');
    try {
      const s = await spawnServe(
        roots,
        functions,
        FLAGS,
        testEnv({ TENSORSHARE_GPUS: 'none', TENSORSHARE_CPU_EXECUTOR: '64MiB' }),
      );
      try {
        const x = input();
        const r = await infer(s.url, 'on-cpu-executor', x);
        assert.equal(r.status, 200, JSON.stringify(r.body));
        assertClose(r.body.outputs[0]!.data, model.reference(x));
        const st = await until(
          () => {
            const v = readDevicesStatus(roots.store, 'cpu');
            // The executor's stats (its batches) arrive every second.
            const ran = Object.values(v?.devices[0]?.batchSizes ?? {}).reduce((a, b) => a + b, 0) >= 1;
            return ran && v?.devices[0]?.models.some((m) => m.model.startsWith('mm:') && m.clients >= 1)
              ? v
              : undefined;
          },
          20_000,
          'mm resident on the CPU executor, run there, with the instance as its client',
        );
        assert.equal(st.devices[0]!.loads, 1);
      } finally {
        await s.stop();
      }
      const without = await spawnServe(roots, functions, FLAGS, testEnv({ TENSORSHARE_GPUS: 'none' }));
      try {
        const r = await infer(without.url, 'on-cpu-executor', input());
        assert.ok(r.status >= 500 && r.status < 600, `status ${r.status}: ${JSON.stringify(r.body)}`);
        assert.match(r.body.error, /no CPU executor/);
      } finally {
        await without.stop();
      }
    } finally {
      await roots.cleanup();
    }
  });
});
