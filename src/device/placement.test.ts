// Placement over several (fake) devices in a real daemon with its executor
// processes, the CPU provider standing in: a session that names no device is
// placed by best fit of its bytes beside what each device holds, or on a
// device that holds the model already; `deviceId` pins; a model moves
// between devices through the host store; bad requests are named.
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import ort from 'onnxruntime-node';
import { DaemonClient } from '../client/daemon-client.js';
import { open, type OpenedModel } from '../client/open.js';
import type { DeviceBackedSession } from '../client/device-open.js';
import { deviceControl } from './device-session.js';
import type { DevicesStatus } from './protocol.js';
import { spawnDaemon } from '../testing/daemon.js';
import { writeBatchedMatMul } from '../testing/device.js';
import { tempRoots } from '../testing/tmp.js';
import { until } from '../testing/until.js';

const KiB = 1024;

describe('placement over several devices (fake devices, CPU provider standing in)', () => {
  test('best fit without a deviceId, replicas found, deviceId pins, move through the host store, errors named', async () => {
    const roots = await tempRoots('ts-place');
    // Budgets (0.9 of each): 0.9 MiB and 1.8 MiB.
    const d = await spawnDaemon([
      '--repository',
      roots.repository,
      '--store',
      roots.store,
      '--gpus',
      'fake:1MiB,2MiB',
      '--gpu-budget',
      '0.9',
    ]);
    const c = new DaemonClient({ env: {}, socket: d.socket, name: 'placement-test' });
    const opened: OpenedModel[] = [];
    try {
      const models = {
        a: await writeBatchedMatMul(path.join(roots.dir, 'a.onnx'), 256, 512, 1), // 512 KiB of weights
        b: await writeBatchedMatMul(path.join(roots.dir, 'b.onnx'), 512, 256, 2), // 512 KiB
        c: await writeBatchedMatMul(path.join(roots.dir, 'c.onnx'), 64, 256, 3), // 64 KiB
      };
      for (const [name, m] of Object.entries(models)) await c.import(m.file, name);
      const openOn = async (ref: string, deviceId?: number) => {
        const m = await open(ref, {
          client: c,
          socket: d.socket,
          env: {},
          sessionOptions: { executionProviders: [deviceId === undefined ? 'cuda' : { name: 'cuda', deviceId }] },
        });
        opened.push(m);
        const s = m.session as DeviceBackedSession;
        const model = models[ref as keyof typeof models];
        const x = Float32Array.from({ length: model.rows }, (_, i) => (i % 3) - 1);
        const y = (await s.run({ x: new ort.Tensor('float32', x, [1, model.rows]) })).y!.data as Float32Array;
        const want = model.reference(x);
        for (let i = 0; i < want.length; i++) assert.ok(Math.abs(y[i]! - want[i]!) < 1e-3, `${ref} y[${i}]`);
        return s.device.device;
      };
      const status = () =>
        JSON.parse(fs.readFileSync(path.join(roots.store, '.daemon', 'devices.json'), 'utf8')) as DevicesStatus;
      const where = (key: string) =>
        status()
          .devices.filter((x) => x.models.some((m) => m.model === key))
          .map((x) => x.index);

      // a: both devices take it; device 0 is the tighter fit.
      assert.equal(await openOn('a'), 0, 'a: best fit is the smaller device');
      // b: device 0 has 0.4 MiB left, too little: device 1.
      assert.equal(await openOn('b'), 1, 'b: fits only device 1');
      // c: 64 KiB fits both; device 0 has less left after it.
      assert.equal(await openOn('c'), 0, 'c: best fit beside a');
      // Another client of b goes where b is.
      assert.equal(await openOn('b'), 1, 'a second client of b finds its device');
      // deviceId pins: c on device 1 too (a second copy, there).
      assert.equal(await openOn('c', 1), 1, 'deviceId 1 pins');
      await until(() => where('c:1').length === 2, 10_000, 'c resident on both devices');
      assert.deepEqual(where('a:1'), [0]);

      // Move a to device 1 while a client has it open on device 0: loaded there from the store, kept on 0.
      const kept = await deviceControl('move', 'a', { daemonSocket: d.socket, device: 0, to: 1 });
      assert.equal(kept.unloaded, false, 'a client holds it on device 0');
      await until(() => where('a:1').length === 2, 10_000, 'a on both devices');
      await opened[0]!.release();
      const moved = await deviceControl('move', 'a', { daemonSocket: d.socket, device: 0, to: 1 });
      assert.equal(moved.unloaded, true, 'no client on device 0 any more: it left');
      await until(() => where('a:1').join() === '1', 10_000, 'a only on device 1');
      // A new client of a is placed where it is now.
      assert.equal(await openOn('a'), 1);

      await assert.rejects(
        deviceControl('move', 'a', { daemonSocket: d.socket, device: 1, to: 1 }),
        /is on device 1 already/,
      );
      await assert.rejects(
        deviceControl('move', 'b', { daemonSocket: d.socket, device: 0, to: 1 }),
        /is not on device 0/,
      );
      await assert.rejects(
        open('a', {
          client: c,
          socket: d.socket,
          env: {},
          sessionOptions: { executionProviders: [{ name: 'cuda', deviceId: -1 }] },
        }),
        (e: Error & { code?: string }) =>
          e.code === 'ERR_INVALID_ARGUMENT' && /deviceId must be an integer >= 0/.test(e.message),
      );
    } finally {
      for (const m of opened) await m.release().catch(() => {});
      await c.disconnect().catch(() => {});
      await d.stop();
      await roots.cleanup();
    }
  });
});
