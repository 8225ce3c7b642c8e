// GPU residency across daemon restarts, on a fake device (CPU provider
// standing in): models resident on a device when the daemon stopped (or was
// SIGKILLed) are loaded onto it again by the next daemon, pins included, from
// the host store, and a client's open then finds them resident.
import { after, test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import ort from 'onnxruntime-node';
import { DaemonClient } from '../client/daemon-client.js';
import { open } from '../client/open.js';
import { deviceControl } from '../device/device-session.js';
import type { DevicesStatus } from '../device/protocol.js';
import { killAll, spawnDaemon, type DaemonProc } from '../testing/daemon.js';
import { writeBatchedMatMul } from '../testing/device.js';
import { tempRoots } from '../testing/tmp.js';
import { until } from '../testing/until.js';
import { recordFileOf } from './device-record.js';

after(killAll);

test('models resident on a device come back onto it after a daemon restart or SIGKILL, pins included', async () => {
  const roots = await tempRoots('ts-device-restore');
  const start = () =>
    spawnDaemon(['--repository', roots.repository, '--store', roots.store], {
      env: { TENSORSHARE_GPUS: 'fake:1G' },
    });
  const device0 = () =>
    (JSON.parse(fs.readFileSync(path.join(roots.store, '.daemon', 'devices.json'), 'utf8')) as DevicesStatus)
      .devices[0];
  const residentBoth = () => {
    const d = device0();
    const names = (d?.models ?? []).map((m) => m.model).sort();
    return d?.state === 'ready' && names.join() === 'mm:1,pinned:1' ? d : undefined;
  };
  let d: DaemonProc | undefined;
  let c: DaemonClient | undefined;
  try {
    d = await start();
    c = new DaemonClient({ env: {}, socket: d.socket, name: 'device-restore-test' });
    const mm = await writeBatchedMatMul(path.join(roots.dir, 'mm.onnx'), 16, 8, 3);
    await c.import(mm.file, 'mm');
    await c.import((await writeBatchedMatMul(path.join(roots.dir, 'p.onnx'), 8, 4, 4)).file, 'pinned');
    const first = await open('mm', {
      client: c,
      socket: d.socket,
      env: {},
      sessionOptions: { executionProviders: ['cuda'] },
    });
    await first.session.run({ x: new ort.Tensor('float32', new Float32Array(16), [1, 16]) });
    await first.release();
    await deviceControl('pin', 'pinned', { daemonSocket: d.socket });
    await until(residentBoth, 10_000, 'both models resident before the restart');
    await c.disconnect();
    await d.stop();
    assert.ok(fs.existsSync(recordFileOf(roots.store)), 'the record outlives the daemon');

    // The SIGKILLed daemon's executor region folder (named with its pid, device/transfer.ts regionFolder).
    const regionsOf = (pid: number) =>
      fs.readdirSync('/dev/shm').filter((n) => n.startsWith(`tensorshare-exec-${pid}-`));
    let killed: number | undefined;
    for (const how of ['restart', 'after SIGKILL'] as const) {
      if (killed !== undefined)
        assert.equal(regionsOf(killed).length, 1, 'a SIGKILLed daemon leaves its region folder behind');
      d = await start();
      if (killed !== undefined)
        assert.deepEqual(regionsOf(killed), [], 'the next daemon removes the region folder of the one killed');
      const restored = await until(residentBoth, 20_000, `both models back on the device (${how})`);
      assert.equal(restored.loads, 2, `${how}: each model loaded once by the new daemon`);
      assert.equal(restored.models.find((m) => m.model === 'pinned:1')?.pinned, true, `${how}: the pin is kept`);
      assert.equal(restored.models.find((m) => m.model === 'mm:1')?.pinned, false);
      assert.equal(restored.models.find((m) => m.model === 'mm:1')?.clients, 0, 'restored without clients');
      await d.waitLog((l) => l.msg === 'restored onto device after daemon restart' && l.model === 'mm:1');
      // A client's open finds it resident: right outputs, no further load.
      c = new DaemonClient({ env: {}, socket: d.socket, name: 'device-restore-test' });
      const again = await open('mm', {
        client: c,
        socket: d.socket,
        env: {},
        sessionOptions: { executionProviders: ['cuda'] },
      });
      const x = Float32Array.from({ length: 16 }, (_, i) => i / 16 - 0.5);
      const y = (await again.session.run({ x: new ort.Tensor('float32', x, [1, 16]) })).y!.data as Float32Array;
      const want = mm.reference(x);
      for (let i = 0; i < want.length; i++) assert.ok(Math.abs(y[i]! - want[i]!) < 1e-4, `${how}: y[${i}]`);
      await again.release();
      assert.equal(device0()?.loads, 2, `${how}: the open used the restored copy`);
      await c.disconnect();
      // The second round starts from a daemon killed without a chance to write anything at exit.
      if (how === 'restart') killed = d.pid;
      await d.stop(how === 'restart' ? 'SIGKILL' : 'SIGTERM');
    }
  } finally {
    await c?.disconnect().catch(() => {});
    await d?.stop().catch(() => {});
    await roots.cleanup();
  }
});
