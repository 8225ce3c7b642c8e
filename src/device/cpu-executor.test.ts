// The daemon's CPU executor (`cpuExecutor` setting) end to end: a real daemon,
// its executor process on the CPU provider, real client processes and shared
// memory. Clients that open with `executor: 'cpu'` share the one session the
// executor created (one load, measured private bytes); a daemon without one
// gives a clear ERR_UNAVAILABLE at once; the register hook sends unchanged
// InferenceSession.create(file) there with TENSORSHARE_EXECUTOR=cpu; asking for the CPU executor and the
// cuda provider together is refused.
import { after, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { spawnSync } from 'node:child_process';
import { packageRoot } from '../paths.js';
import { testEnv } from '../testing/env.js';
import ort from 'onnxruntime-node';
import { open } from '../client/open.js';
import { openSession } from '../client/open-session.js';
import { readDevicesStatus } from './devices-status.js';
import { executorFor } from './wants-device.js';
import { killAll, spawnScriptWorker, type WorkerProc } from '../testing/daemon.js';
import { writeBatchedMatMul } from '../testing/device.js';
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
const setup = (args: string[]) => startDaemonEnv('ts-cpu-executor', ['--gpus', 'none', ...args]);
const teardown = stopDaemonEnv;

describe('CPU executor', () => {
  test('client processes share its one session: loaded once, right outputs, private bytes measured', async () => {
    let e: Env | undefined;
    const workers: WorkerProc[] = [];
    try {
      e = await setup(['--cpu-executor', '256MiB']);
      const m = await writeBatchedMatMul(path.join(e.roots.dir, 'mm.onnx'), 64, 32, 7);
      await e.c.import(m.file, 'mm');
      for (let i = 0; i < 3; i++)
        workers.push(
          spawnScriptWorker('device-worker.js', {
            socket: e.d.socket,
            model: 'mm',
            rows: 64,
            batch: 2,
            seed: i,
            executor: 'cpu',
          }),
        );
      for (const w of workers) {
        const ready = await w.waitFor((ev) => ev.event === 'ready');
        assertClose(ready.y as number[], m.reference(Float32Array.from(ready.x as number[])), `worker ${w.pid}`);
        // Sessions and their runtime live in the executor: the client loads neither onnxruntime-node's binding, gRPC nor koffi.
        assert.deepEqual(ready.loaded, { ortBinding: false, koffi: false, grpc: false }, `worker ${w.pid} loaded`);
        assert.deepEqual(ready.later, { koffi: true, same: true }, `worker ${w.pid}: later copies through mappings`);
      }
      const store = e.roots.store;
      const st = await until(() => {
        const s = readDevicesStatus(store, 'cpu');
        return s?.devices[0]?.models[0]?.clients === 3 ? s : undefined;
      }, 10_000);
      const dev = st.devices[0]!;
      assert.equal(dev.loads, 1, 'one load for three client processes');
      assert.equal(dev.device?.kind, 'host');
      assert.equal(dev.device?.provider, 'cpu');
      assert.equal(dev.budgetBytes, 256 * 2 ** 20);
      assert.equal(dev.socket, `${e.d.socket}.cpu0`);
      const r = dev.models[0]!;
      assert.equal(r.model, 'mm:1');
      assert.equal(r.measured, true, 'the executor measured its private memory around the load');
      assert.equal(typeof r.persistentBytes, 'number');
      // The GPU tier is not involved: no devices status, and the model is in the host store as the executor's weights.
      assert.equal(readDevicesStatus(store), undefined);
      assert.deepEqual((await e.c.list()).find((x) => x.model === 'mm:1')?.residentModes, ['fast-open']);
      // The tools show it: ls (JSON and table) and inspect.
      const cli = (...args: string[]) => {
        const r = spawnSync(
          process.execPath,
          [
            path.join(packageRoot, 'bin', 'tensorshare.js'),
            ...args,
            '--repository',
            e!.roots.repository,
            '--store',
            store,
          ],
          { encoding: 'utf8', env: testEnv() },
        );
        assert.equal(r.status, 0, r.stderr);
        return r.stdout;
      };
      const listed = (JSON.parse(cli('ls', '--json')) as { name: string; cpuExecutor: { clients: number }[] }[]).find(
        (x) => x.name === 'mm',
      );
      assert.equal(listed?.cpuExecutor.length, 1);
      assert.equal(listed?.cpuExecutor[0]?.clients, 3);
      assert.match(cli('ls'), /mm:1 .* cpu-executor \S+ \S+/);
      assert.match(cli('inspect', 'mm'), /CPU executor: cpu-executor \S+ \S+ \(measured, 3 clients\)/);
      // An in-process open (daemonless openSession over the same store) gets the resident session too.
      const s = await openSession('mm', { repository: e.roots.repository, store, executor: 'cpu' });
      const x = Float32Array.from({ length: 64 }, (_, i) => i / 64);
      const y = await s.session.run({ x: new ort.Tensor('float32', x, [1, 64]) });
      assertClose(Array.from(y.y!.data as Float32Array), m.reference(x), 'openSession');
      await s.release();
      assert.equal(readDevicesStatus(store, 'cpu')?.devices[0]?.loads, 1);
    } finally {
      for (const w of workers) w.proc.kill('SIGKILL');
      await teardown(e);
    }
  });

  test('cpuExecutorThreads: each session gets that many ORT threads (the status says so)', async () => {
    // A session's intra-op pool is its threads beyond the first: loading one model adds the session's worker thread
    // and threads - 1 pool threads to the executor process (counted in /proc/<pid>/task).
    const added = async (threads: number) => {
      let e: Env | undefined;
      try {
        e = await setup(['--cpu-executor', '256MiB', '--cpu-executor-threads', String(threads)]);
        const m = await writeBatchedMatMul(path.join(e.roots.dir, 'mm.onnx'), 16, 8, 3);
        await e.c.import(m.file, 'mm');
        const store = e.roots.store;
        const idle = await until(() => {
          const d = readDevicesStatus(store, 'cpu')?.devices[0];
          return d?.state === 'ready' && d.device && d.pid ? d : undefined;
        }, 10_000);
        assert.equal(idle.device?.intraOpThreads, threads > 1 ? threads : undefined, 'status');
        const tasks = () => fs.readdirSync(`/proc/${idle.pid}/task`).length;
        const before = tasks();
        const s = await openSession('mm', { repository: e.roots.repository, store, executor: 'cpu' });
        const x = Float32Array.from({ length: 16 }, (_, i) => i / 16);
        const y = await s.session.run({ x: new ort.Tensor('float32', x, [1, 16]) });
        assertClose(Array.from(y.y!.data as Float32Array), m.reference(x), `threads ${threads}`);
        await s.release();
        return tasks() - before;
      } finally {
        await teardown(e);
      }
    };
    const one = await added(1);
    const three = await added(3);
    assert.equal(three - one, 2, `threads added by a load: ${one} with 1 ORT thread, ${three} with 3`);
  });

  test('a daemon without a CPU executor: ERR_UNAVAILABLE naming the setting, within the grace', async () => {
    let e: Env | undefined;
    try {
      e = await setup([]);
      const m = await writeBatchedMatMul(path.join(e.roots.dir, 'mm.onnx'), 8, 4, 1);
      await e.c.import(m.file, 'mm');
      await assert.rejects(
        open('mm', { client: e.c, socket: e.d.socket, env: {}, executor: 'cpu' }),
        (err: Error & { code?: string }) =>
          err.code === 'ERR_UNAVAILABLE' && /no CPU executor/.test(err.message) && /cpu-executor/.test(err.message),
      );
    } finally {
      await teardown(e);
    }
  });

  test('the register hook with TENSORSHARE_EXECUTOR=cpu: an unchanged InferenceSession.create(file) runs there', async () => {
    let e: Env | undefined;
    try {
      e = await setup(['--cpu-executor', '256MiB']);
      const store = e.roots.store;
      await assertHookedSessionOnExecutor(e, {
        env: { TENSORSHARE_EXECUTOR: 'cpu' },
        executor: 'CPU executor',
        resident: () => readDevicesStatus(store, 'cpu')?.devices[0]?.models[0],
      });
    } finally {
      await teardown(e);
    }
  });

  test("executor 'cpu' with the cuda provider is refused; without an executor nothing changes", () => {
    assert.throws(
      () => executorFor({ executionProviders: ['cuda'] }, 'cpu'),
      (err: Error & { code?: string }) => err.code === 'ERR_INVALID_ARGUMENT',
    );
    assert.throws(
      () => executorFor(undefined, 'gpu' as 'cpu'),
      (err: Error & { code?: string }) => err.code === 'ERR_INVALID_ARGUMENT',
    );
    assert.deepEqual(executorFor(undefined, 'cpu'), { tier: 'cpu', device: 0 });
    assert.deepEqual(executorFor({ executionProviders: ['cuda'] }, undefined), { tier: 'gpu', device: undefined });
    assert.equal(executorFor({ executionProviders: ['cpu'] }, undefined), undefined);
  });
});
