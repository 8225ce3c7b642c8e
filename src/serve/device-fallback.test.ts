// The GPU -> CPU fallback through a real `tensorshare serve`: its daemon runs
// an executor on a fake device (the CPU provider standing in for CUDA). While
// a realtime flood of another function keeps requests queued on that
// executor, besteffort requests of a `device: auto` function run on CPU
// sessions of its instance (its answers say so, and so does the metric) with
// the same outputs, and realtime requests of that function stay on the
// executor; once the flood ends and the executor stays calm for the hold, its
// besteffort requests run on the executor again. A realtime request of the
// besteffort function runs in the realtime class on the executor (a session
// of that class). States are read from the gateway's metrics with explicit
// polls, never after a sleep.
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import path from 'node:path';
import { packageRoot } from '../paths.js';
import { importModel } from '../store/import.js';
import { writeBatchedMatMul, writeSlowMatMul } from '../testing/device.js';
import { testEnv } from '../testing/env.js';
import { writeFunction } from '../testing/functions.js';
import { spawnServe } from '../testing/serve.js';
import { tempRoots } from '../testing/tmp.js';
import { until } from '../testing/until.js';
import { readDevicesStatus } from '../device/devices-status.js';

const ROWS = 16;
const COLS = 8;
const SLOW_ROWS = 256;
const SLOW_N = 512;

interface InferBody {
  outputs: { data: number[] }[];
  error: string;
}

async function infer(
  url: string,
  fn: string,
  input: { shape: number[]; data: number[] },
  priority?: 'realtime' | 'besteffort',
): Promise<{ status: number; body: InferBody }> {
  const res = await fetch(`${url}/v2/models/${fn}/infer`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({
      inputs: [{ name: 'x', datatype: 'FP32', ...input }],
      ...(priority ? { parameters: { priority } } : {}),
    }),
  });
  return { status: res.status, body: (await res.json()) as InferBody };
}

async function metric(url: string, re: RegExp): Promise<number> {
  const text = await (await fetch(`${url}/metrics`)).text();
  const m = re.exec(text);
  return m ? Number(m[1]) : 0;
}

function assertClose(actual: number[], expected: number[], what: string) {
  assert.equal(actual.length, expected.length, what);
  for (let i = 0; i < expected.length; i++)
    assert.ok(Math.abs(actual[i]! - expected[i]!) < 1e-6, `${what}: y[${i}] = ${actual[i]}, expected ${expected[i]}`);
}

const byDevice = (url: string, fn: string, device: string) =>
  metric(url, new RegExp(`tensorshare_requests_by_device_total\\{function="${fn}",device="${device}"\\} (\\d+)`));
const fallbackState = (url: string) => metric(url, /tensorshare_gpu_fallback_state\{device="0"\} (\d+)/);

describe('GPU -> CPU fallback of device: auto besteffort work', () => {
  test('a realtime flood moves besteffort requests of an auto function to CPU, realtime stays, and they come back after it', async () => {
    const roots = await tempRoots('ts-serve-fallback');
    try {
      const model = await writeBatchedMatMul(path.join(roots.dir, 'mm.onnx'), ROWS, COLS, 7);
      await importModel(roots.repository, model.file, { name: 'mm' });
      await writeSlowMatMul(path.join(roots.dir, 'slow.onnx'), SLOW_ROWS, SLOW_N, 4, 3);
      await importModel(roots.repository, path.join(roots.dir, 'slow.onnx'), { name: 'slow' });
      const functions = path.join(roots.dir, 'functions');
      await writeFunction(functions, 'be-auto', {
        model: 'mm',
        device: 'auto',
        priority: 'besteffort',
        maxInstances: 1,
        targetConcurrency: 2,
      });
      // One instance sends the executor six runs at once: five wait there while one runs.
      await writeFunction(functions, 'rt-flood', {
        model: 'slow',
        device: 'gpu',
        priority: 'realtime',
        maxInstances: 1,
        targetConcurrency: 6,
      });
      const s = await spawnServe(
        roots,
        functions,
        [
          '--grpc-port',
          'off',
          '--no-bundled',
          '--poll',
          '0',
          '--prestart',
          '0',
          '--gpu-fallback-marks',
          // enterBesteffortWaitMs=0: this test pins the routing; the starvation rule is src/sched/fallback.test.ts's
          'enterQueueDepth=2,enterWaitMs=60000,enterBesteffortWaitMs=0,exitQueueDepth=0,exitWaitMs=5,holdMs=1000',
          '--gpu-fallback-sample-ms',
          '10',
        ],
        testEnv({ TENSORSHARE_GPUS: 'fake:2G' }),
      );
      try {
        const x = Float32Array.from({ length: ROWS }, (_, i) => (i % 5) - 2);
        const mmInput = { shape: [1, ROWS], data: Array.from(x) };
        const slowInput = { shape: [1, SLOW_N], data: new Array(SLOW_N).fill(0.5) };
        const ok = (r: { status: number; body: InferBody }, what: string) => {
          assert.equal(r.status, 200, `${what}: ${JSON.stringify(r.body).slice(0, 300)}`);
          return r.body.outputs[0]!.data;
        };
        // Calm: besteffort runs on the executor (and makes mm resident there, so the fallback follows device 0).
        assert.equal((await infer(s.url, 'rt-flood', slowInput)).status, 200);
        const onGpu = ok(await infer(s.url, 'be-auto', mmInput), 'calm besteffort');
        assert.equal(await byDevice(s.url, 'be-auto', 'gpu'), 1);
        assert.equal(await fallbackState(s.url), 0);

        let flooding = true;
        const flood = Array.from({ length: 6 }, async () => {
          while (flooding) ok(await infer(s.url, 'rt-flood', slowInput), 'realtime flood');
        });
        try {
          await until(async () => (await fallbackState(s.url)) === 1, 30_000, 'the executor to count as saturated');
          const onCpu: number[][] = [];
          for (let i = 0; i < 3; i++) onCpu.push(ok(await infer(s.url, 'be-auto', mmInput), 'besteffort in the flood'));
          assert.equal(await byDevice(s.url, 'be-auto', 'cpu'), 3, 'the three besteffort requests ran on CPU');
          // The same model's outputs, to float rounding: two sessions (the executor's, the instance's) sum in their own order.
          for (const y of onCpu) assertClose(y, onGpu, 'CPU against the executor');
          // A realtime request of the besteffort function runs as realtime on the executor (sessions of that class,
          // opened for it): in the besteffort class it waited behind the flood's realtime runs until a gap in it.
          const rt = ok(await infer(s.url, 'be-auto', mmInput, 'realtime'), 'realtime of the auto function');
          assertClose(rt, onGpu, 'realtime against the first executor answer');
          assert.equal(await byDevice(s.url, 'be-auto', 'gpu'), 2, 'its realtime request stayed on the executor');
          await until(
            () => readDevicesStatus(roots.store)?.devices[0]?.models.find((x) => x.model === 'mm:1')?.clients === 2,
            10_000,
            "the instance's realtime session of mm beside its besteffort one",
          );
        } finally {
          flooding = false;
          await Promise.all(flood);
        }
        await until(async () => (await fallbackState(s.url)) === 0, 30_000, 'the executor to count as calm again');
        assertClose(ok(await infer(s.url, 'be-auto', mmInput), 'besteffort after the flood'), onGpu, 'after the flood');
        assert.equal(await byDevice(s.url, 'be-auto', 'gpu'), 3, 'back on the executor');
        assert.equal(await byDevice(s.url, 'be-auto', 'cpu'), 3);
        assert.equal(await byDevice(s.url, 'rt-flood', 'cpu'), 0, 'device: gpu never falls back');
        assertClose(onGpu, Array.from(model.reference(x)), 'the executor against the reference');
      } finally {
        await s.stop();
      }
    } finally {
      await roots.cleanup();
    }
  });

  test('bad fallback flags are refused before serving, naming the mark', async () => {
    const roots = await tempRoots('ts-serve-fallback-flags');
    try {
      for (const [flags, re] of [
        [['--gpu-fallback-marks', 'holdMS=3'], /unknown GPU fallback mark 'holdMS'/],
        [['--gpu-fallback-marks', 'exitQueueDepth=9'], /exit marks must be below the enter marks/],
        [['--gpu-fallback', 'maybe'], /--gpu-fallback must be 'on' or 'off'/],
        [['--gpu-fallback-sample-ms', '0'], /--gpu-fallback-sample-ms must be a number > 0/],
      ] as const) {
        const r = spawnSync(
          process.execPath,
          [
            path.join(packageRoot, 'bin/tensorshare.js'),
            '--repository',
            roots.repository,
            '--store',
            roots.store,
            'serve',
            '--functions',
            path.join(roots.dir, 'none'),
            '--no-bundled',
            '--daemon',
            'off',
            '--http-port',
            '0',
            ...flags,
          ],
          { env: testEnv(), encoding: 'utf8', timeout: 30_000 },
        );
        assert.notEqual(r.status, 0, `${flags.join(' ')}: refused`);
        assert.match(r.stderr, re);
        assert.doesNotMatch(r.stdout, /serving/, 'it never served');
      }
    } finally {
      await roots.cleanup();
    }
  });
});
