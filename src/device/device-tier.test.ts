// The GPU tier end to end, with the CPU provider standing in for the GPU and
// a fake device of N bytes: a real daemon, its real executor process, real
// client processes, real shared memory. One resident copy serves every
// client; the device budget admits and evicts with the daemon's policy; an
// executor SIGKILLed fails only in-flight requests and comes back with its
// models; bad inputs get INVALID_ARGUMENT.
import { after, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import ort from 'onnxruntime-node';
import { open, type OpenedModel } from '../client/open.js';
import { openSession } from '../client/open-session.js';
import { spawnSync } from 'node:child_process';
import { deviceControl } from './device-session.js';
import { gpuCount } from './memory.js';
import { packageRoot } from '../paths.js';
import { testEnv } from '../testing/env.js';
import type { DevicesStatus } from './protocol.js';
import { killAll, spawnDaemon, spawnScriptWorker, type WorkerProc } from '../testing/daemon.js';
import { writeBatchedMatMul, type BatchedModel } from '../testing/device.js';
import { tempRoots } from '../testing/tmp.js';
import { until } from '../testing/until.js';
import {
  assertClose,
  assertHookedSessionOnExecutor,
  startDaemonEnv,
  stopDaemonEnv,
  type DaemonEnv,
} from '../testing/daemon-env.js';

after(killAll);

type Env = DaemonEnv;
const setup = (args: string[]) => startDaemonEnv('ts-device', args);
const teardown = stopDaemonEnv;

async function importModel(e: Env, name: string, rows: number, cols: number, seed: number): Promise<BatchedModel> {
  const m = await writeBatchedMatMul(path.join(e.roots.dir, `${name}.onnx`), rows, cols, seed);
  await e.c.import(m.file, name);
  return m;
}

function devices(e: Env): DevicesStatus {
  return JSON.parse(fs.readFileSync(path.join(e.roots.store, '.daemon', 'devices.json'), 'utf8')) as DevicesStatus;
}

const device0 = (e: Env) => devices(e).devices[0]!;

function openOnDevice(e: Env, ref: string): Promise<OpenedModel> {
  return open(ref, { client: e.c, socket: e.d.socket, env: {}, sessionOptions: { executionProviders: ['cuda'] } });
}

const logsWith = (e: Env, msg: string) => e.d.logs.filter((l) => l.msg === msg);

describe('device tier (fake device, CPU provider standing in)', () => {
  test('client processes share one resident copy: loaded once, right outputs, kept after the last client', async () => {
    let e: Env | undefined;
    const workers: WorkerProc[] = [];
    try {
      e = await setup(['--gpus', 'fake:64MiB']);
      const m = await importModel(e, 'mm', 64, 32, 7);
      for (let i = 0; i < 4; i++)
        workers.push(
          spawnScriptWorker('device-worker.js', { socket: e.d.socket, model: 'mm', rows: 64, batch: 2, seed: i }),
        );
      for (const w of workers) {
        const ready = await w.waitFor((ev) => ev.event === 'ready');
        assertClose(ready.y as number[], m.reference(Float32Array.from(ready.x as number[])), `worker ${w.pid}`);
        // Sessions and their runtime live in the executor: the client loads neither onnxruntime-node's binding, gRPC nor koffi.
        assert.deepEqual(ready.loaded, { ortBinding: false, koffi: false, grpc: false }, `worker ${w.pid} loaded`);
        assert.deepEqual(ready.later, { koffi: true, same: true }, `worker ${w.pid}: later copies through mappings`);
      }
      const env = e;
      await until(() => device0(env).models[0]?.clients === 4, 10_000, 'four clients on the resident model');
      const dev = device0(e);
      assert.equal(dev.loads, 1, 'the executor loaded the model once for four client processes');
      await e.d.waitLog((l) => l.msg === 'loaded onto device');
      assert.equal(logsWith(e, 'loaded onto device').length, 1);
      assert.equal(dev.models.length, 1);
      assert.equal(dev.models[0]!.model, 'mm:1');
      assert.equal(dev.models[0]!.measured, true);
      // The fake device books the model's weights: 64 x 32 float32.
      assert.equal(dev.models[0]!.persistentBytes, 64 * 32 * 4);
      // Device memory as the executor reads it (its stats arrive every second).
      await until(() => device0(env).device?.usedBytes === 64 * 32 * 4, 10_000, 'device memory of the weights');
      // Its weights came from the host store, where the model is resident.
      const listed = (await e.c.list()).find((x) => x.model === 'mm:1');
      assert.deepEqual(listed?.residentModes, ['fast-open']);
      for (const w of workers) {
        const exited = new Promise((r) => w.proc.once('exit', r));
        w.send('exit');
        await exited;
      }
      await until(() => device0(env).models[0]?.clients === 0, 10_000, 'clients gone');
      assert.equal(device0(e).models[0]?.model, 'mm:1', 'kept on the device after its last client left');
      // A new client gets the resident copy: no second load.
      const again = await openOnDevice(e, 'mm');
      const x = Float32Array.from({ length: 64 }, (_, i) => i / 64);
      const y = await again.session.run({ x: new ort.Tensor('float32', x, [1, 64]) });
      assertClose(Array.from(y.y!.data as Float32Array), m.reference(x), 'reopened');
      await again.release();
      assert.equal(device0(e).loads, 1);
    } finally {
      for (const w of workers) w.proc.kill('SIGKILL');
      await teardown(e);
    }
  });

  test('budget: the policy evicts an unused model (it stays in the host store); models in use make RESOURCE_EXHAUSTED', async () => {
    let e: Env | undefined;
    try {
      // Each model holds 128 x 900 float32 = 460800 bytes; two fit in 1 MiB, three do not.
      e = await setup(['--gpus', 'fake:4MiB', '--gpu-budget', '1MiB']);
      for (const [i, n] of ['a', 'b', 'c'].entries()) await importModel(e, n, 128, 900, 10 + i);
      const a = await openOnDevice(e, 'a');
      await a.release();
      const b = await openOnDevice(e, 'b');
      const c = await openOnDevice(e, 'c');
      const env = e;
      await until(
        () =>
          device0(env)
            .models.map((x) => x.model)
            .sort()
            .join() === 'b:1,c:1',
        10_000,
        'a evicted from the device',
      );
      await e.d.waitLog((l) => l.msg === 'evicted from device');
      const evicted = logsWith(e, 'evicted from device');
      assert.equal(evicted.length, 1);
      assert.equal(evicted[0]!.model, 'a:1');
      assert.equal(evicted[0]!.reason, 'pressure');
      // The fake device freed a's bytes (read by the executor; its stats arrive every second).
      await until(() => device0(env).device?.usedBytes === 2 * 460800, 10_000, 'device memory of b and c only');
      const listed = (await e.c.list()).find((x) => x.model === 'a:1');
      assert.deepEqual(listed?.residentModes, ['fast-open'], 'evicted from the device, still in the host store');
      await assert.rejects(openOnDevice(e, 'a'), (err: Error & { code?: string }) => {
        assert.equal(err.code, 'ERR_RESOURCE_EXHAUSTED');
        assert.match(
          err.message,
          /cannot load a:1 onto device 0: it needs .*\(460800 bytes\) but only .*\(126976 bytes\) is free/,
        );
        return true;
      });
      await b.release();
      // With b unused, a fits again by evicting b.
      const a2 = await openOnDevice(e, 'a');
      await until(
        () =>
          device0(env)
            .models.map((x) => x.model)
            .sort()
            .join() === 'a:1,c:1',
        10_000,
        'b evicted',
      );
      await a2.release();
      await c.release();
    } finally {
      await teardown(e);
    }
  });

  test('an out-of-memory error while loading is an admission failure, not a crash', async () => {
    let e: Env | undefined;
    try {
      // The budget says yes, the device (256 KiB) says no: the way another process's memory looks on a real GPU.
      e = await setup(['--gpus', 'fake:256KiB', '--gpu-budget', '10MiB']);
      await importModel(e, 'big', 128, 900, 1);
      const small = await importModel(e, 'small', 16, 16, 2);
      const pid = device0(e).pid;
      await assert.rejects(openOnDevice(e, 'big'), (err: Error & { code?: string }) => {
        assert.equal(err.code, 'ERR_RESOURCE_EXHAUSTED');
        assert.match(err.message, /cannot load big:1 onto device 0: .*out of memory/);
        return true;
      });
      assert.equal(device0(e).pid, pid, 'the executor did not crash');
      const s = await openOnDevice(e, 'small');
      const x = Float32Array.from({ length: 16 }, (_, i) => i);
      const y = await s.session.run({ x: new ort.Tensor('float32', x, [1, 16]) });
      assertClose(Array.from(y.y!.data as Float32Array), small.reference(x), 'small');
      await s.release();
    } finally {
      await teardown(e);
    }
  });

  test("openSession() with executionProviders ['cuda'] runs on the executor of the store's daemon", async () => {
    let e: Env | undefined;
    try {
      e = await setup(['--gpus', 'fake:64MiB']);
      const m = await importModel(e, 'mm', 64, 32, 7);
      const s = await openSession('mm', {
        repository: e.roots.repository,
        store: e.roots.store,
        sessionOptions: { executionProviders: ['cuda'] },
      });
      const x = Float32Array.from({ length: 128 }, (_, i) => i / 128);
      const y = await s.session.run({ x: new ort.Tensor('float32', x, [2, 64]) });
      assertClose(Array.from(y.y!.data as Float32Array), m.reference(x), 'openSession on the device');
      const env = e;
      await until(() => device0(env).models[0]?.clients === 1, 10_000, 'the session is a client of the executor');
      await s.release();
      await until(() => device0(env).models[0]?.clients === 0, 10_000, 'released');
    } finally {
      await teardown(e);
    }
  });

  test("the register hook: unchanged InferenceSession.create(file, { executionProviders: ['cuda'] }) runs on the executor", async () => {
    let e: Env | undefined;
    try {
      e = await setup(['--gpus', 'fake:64MiB']);
      const env = e;
      await assertHookedSessionOnExecutor(e, {
        env: {},
        options: { executionProviders: ['cuda'] },
        executor: 'executor of device 0',
        resident: () => device0(env).models[0],
      });
    } finally {
      await teardown(e);
    }
  });

  test('bad inputs get INVALID_ARGUMENT naming the input, as on the CPU path', async () => {
    let e: Env | undefined;
    try {
      e = await setup(['--gpus', 'fake:64MiB']);
      await importModel(e, 'mm', 64, 32, 7);
      const s = await openOnDevice(e, 'mm');
      const bad = async (feeds: Record<string, ort.Tensor>, re: RegExp) =>
        assert.rejects(s.session.run(feeds), (err: Error & { code?: string }) => {
          assert.equal(err.code, 'ERR_INVALID_ARGUMENT');
          assert.match(err.message, re);
          return true;
        });
      await bad(
        { x: new ort.Tensor('float32', new Float32Array(100), [2, 50]) },
        /input 'x' .* shape \[2,50\], the model expects \[batch,64\]/,
      );
      await bad(
        { x: new ort.Tensor('int32', new Int32Array(64), [1, 64]) },
        /input 'x' of model mm:1 must be float32, got int32/,
      );
      await bad({ z: new ort.Tensor('float32', new Float32Array(64), [1, 64]) }, /model mm:1 has no input 'z'/);
      await bad({}, /input 'x' of model mm:1 is missing/);
      // The session still serves afterwards.
      const y = await s.session.run({ x: new ort.Tensor('float32', new Float32Array(64), [1, 64]) });
      assert.deepEqual(y.y!.dims, [1, 32]);
      await s.release();
    } finally {
      await teardown(e);
    }
  });

  test('an executor SIGKILLed fails only in-flight requests (UNAVAILABLE), restarts and reloads its models; clients recover', async () => {
    let e: Env | undefined;
    const workers: WorkerProc[] = [];
    try {
      e = await setup(['--gpus', 'fake:64MiB']);
      await importModel(e, 'mm', 64, 32, 7);
      for (let i = 0; i < 2; i++)
        workers.push(
          spawnScriptWorker('device-worker.js', {
            socket: e.d.socket,
            model: 'mm',
            rows: 64,
            batch: 1,
            seed: i,
            loop: true,
          }),
        );
      for (const w of workers) await w.waitFor((ev) => ev.event === 'ok');
      const env0 = e;
      const before = await until(
        () => {
          const d = device0(env0);
          return d.loads === 1 && d.pid !== undefined ? d : undefined;
        },
        10_000,
        'one load',
      );
      process.kill(before.pid!, 'SIGKILL');
      const env = e;
      const after = await until(
        () => {
          const d = device0(env);
          return d.state === 'ready' && d.pid !== before.pid && d.loads === 2 && d;
        },
        20_000,
        'the executor restarted with its model reloaded',
      );
      assert.equal(after.restarts, 1);
      assert.equal(after.models[0]?.model, 'mm:1');
      await e.d.waitLog((l) => l.msg === 'reloaded after executor restart' && l.model === 'mm:1');
      // Every client runs again on the new executor (an 'ok' reported after the restart was seen); nothing hung.
      const seen = workers.map((w) => w.events.length);
      for (const [i, w] of workers.entries())
        await until(
          () => w.events.slice(seen[i]).some((ev) => ev.event === 'ok'),
          20_000,
          `worker ${w.pid} running again`,
        );
      for (const w of workers)
        for (const f of w.events.filter((ev) => ev.event === 'failed'))
          assert.equal(f.code, 'ERR_UNAVAILABLE', `worker ${w.pid}: ${String(f.message)}`);
    } finally {
      for (const w of workers) w.proc.kill('SIGKILL');
      await teardown(e);
    }
  });

  test('an executor that hangs (SIGSTOP) fails requests with ERR_TIMEOUT naming it, never a hang; after SIGCONT they run again', async () => {
    let e: Env | undefined;
    let stopped: number | undefined;
    try {
      e = await setup(['--gpus', 'fake:64MiB']);
      const m = await importModel(e, 'mm', 8, 4, 3);
      const opened = await open('mm', {
        client: e.c,
        socket: e.d.socket,
        env: {},
        sessionOptions: { executionProviders: ['cuda'] },
        deviceRequestTimeoutMs: 3000,
      });
      const x = Float32Array.from({ length: 8 }, (_, i) => i / 8);
      const feeds = { x: new ort.Tensor('float32', x, [1, 8]) };
      assertClose([...((await opened.session.run(feeds)).y!.data as Float32Array)], m.reference(x), 'before');
      stopped = device0(e).pid!;
      process.kill(stopped, 'SIGSTOP');
      await assert.rejects(opened.session.run(feeds), (err: Error & { code?: string }) => {
        assert.equal(err.code, 'ERR_TIMEOUT');
        assert.match(err.message, /the executor of device 0 did not answer run within 3000 ms \(hung or stopped\)/);
        return true;
      });
      process.kill(stopped, 'SIGCONT');
      stopped = undefined;
      // The timed-out connection was closed; the next run opens a new one on the same executor.
      assertClose([...((await opened.session.run(feeds)).y!.data as Float32Array)], m.reference(x), 'after');
      await opened.release();
    } finally {
      if (stopped) process.kill(stopped, 'SIGCONT');
      await teardown(e);
    }
  });

  test('ls and inspect show GPU residency: device, bytes, pinned', async () => {
    let e: Env | undefined;
    try {
      e = await setup(['--gpus', 'fake:64MiB']);
      await importModel(e, 'mm', 16, 8, 1);
      await importModel(e, 'other', 4, 4, 2);
      const cli = (...args: string[]) => {
        const r = spawnSync(
          process.execPath,
          [
            path.join(packageRoot, 'bin', 'tensorshare.js'),
            '--repository',
            e!.roots.repository,
            '--store',
            e!.roots.store,
            ...args,
          ],
          { encoding: 'utf8', env: testEnv() },
        );
        assert.equal(r.status, 0, r.stderr);
        return r.stdout;
      };
      const opened = await openOnDevice(e, 'mm');
      await deviceControl('pin', 'mm', { daemonSocket: e.d.socket });
      const env = e;
      await until(() => device0(env).models.some((m) => m.model === 'mm:1' && m.pinned), 10_000, 'mm pinned');
      const rows = JSON.parse(cli('ls', '--json')) as {
        name: string;
        gpu: { device: number; bytes: number; pinned: boolean }[];
      }[];
      const mm = rows.find((r) => r.name === 'mm')!;
      assert.equal(mm.gpu.length, 1);
      assert.equal(mm.gpu[0]!.device, 0);
      assert.equal(mm.gpu[0]!.bytes, device0(e).models.find((m) => m.model === 'mm:1')!.bytes);
      assert.ok(mm.gpu[0]!.bytes >= 16 * 8 * 4, 'at least the weights');
      assert.equal(mm.gpu[0]!.pinned, true);
      assert.deepEqual(rows.find((r) => r.name === 'other')!.gpu, [], 'a model on no device');
      assert.match(cli('ls'), /mm:1 .* gpu0 \S+ \S+ pinned/);
      const text = cli('inspect', 'mm');
      assert.match(text, /GPU: gpu0 \S+ \S+ pinned \((measured|estimated from the manifest), 1 client\)/);
      assert.match(cli('inspect', 'other'), /GPU: not resident on a device/);
      await opened.release();
    } finally {
      await teardown(e);
    }
  });

  test('a session on a daemon without devices fails naming the missing executor', async () => {
    let e: Env | undefined;
    try {
      e = await setup(['--gpus', 'none']);
      await importModel(e, 'mm', 16, 16, 7);
      await assert.rejects(openOnDevice(e, 'mm'), (err: Error & { code?: string }) => {
        assert.equal(err.code, 'ERR_UNAVAILABLE');
        assert.match(err.message, /no device executor beside .*gpus setting/);
        return true;
      });
    } finally {
      await teardown(e);
    }
  });

  test('a daemon asked for a GPU without an NVIDIA driver refuses to start, naming the library', {
    skip: gpuCount() > 0,
  }, async () => {
    const roots = await tempRoots('ts-device');
    try {
      await assert.rejects(
        spawnDaemon(['--repository', roots.repository, '--store', roots.store, '--gpus', '0'], { timeoutMs: 15_000 }),
        /libnvidia-ml\.so\.1/,
      );
    } finally {
      await roots.cleanup();
    }
  });
});
