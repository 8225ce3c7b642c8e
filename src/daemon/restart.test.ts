// The daemon dies (SIGKILL) while clients run inference: they keep running
// on their mapped files, and re-register their leases with the next daemon,
// which must not evict anything they map in between -- checked with the
// `eager` policy, which would drop every unreferenced model at once.
import { after, test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs/promises';
import path from 'node:path';
import { DaemonClient } from '../client/daemon-client.js';
import { killAll, spawnDaemon, spawnWorker, type DaemonProc } from '../testing/daemon.js';
import { writeMatMulChain } from '../testing/models.js';
import { tempRoots } from '../testing/tmp.js';
import { until } from '../testing/until.js';

after(killAll);

test('clients outlive a killed daemon and re-register with the next one', async (t) => {
  const roots = await tempRoots();
  const args = [
    '--repository',
    roots.repository,
    '--store',
    roots.store,
    '--policy',
    'eager',
    '--reclaim-interval',
    '100ms',
  ];
  let d: DaemonProc = await spawnDaemon(args);
  let c = new DaemonClient({ env: {}, socket: d.socket });
  try {
    const file = await writeMatMulChain(path.join(roots.dir, 'm.onnx'), [{ rows: 256, cols: 1024, seed: 5 }]);
    await c.import(file, 'm');
    await c.import(await writeMatMulChain(path.join(roots.dir, 'n.onnx'), [{ rows: 256, cols: 1024, seed: 6 }]), 'n');
    const input = { name: 'x', dims: [1, 256] };
    const w1 = spawnWorker({ socket: d.socket, model: 'm', input, loopMs: 5 });
    const w2 = spawnWorker({ socket: d.socket, model: 'n', input, loopMs: 5 });
    const [r1, r2] = await Promise.all([
      w1.waitFor((e) => e.event === 'ready'),
      w2.waitFor((e) => e.event === 'ready'),
    ]);
    assert.equal((await c.stats()).totals.leases, 2);
    const storeFiles = await fs.readdir(path.join(roots.store, 'tensors'));

    await c.disconnect();
    d.proc.kill('SIGKILL');
    await new Promise((r) => d.proc.once('exit', r));
    // The daemon is gone: clients notice, keep their sessions and keep running.
    const down1 = await w1.status();
    await new Promise((r) => setTimeout(r, 400));
    const down2 = await w1.status();
    assert.equal(down2.attached, false);
    assert.ok((down2.runs as number) > (down1.runs as number), 'inference stopped while the daemon was down');
    assert.equal(down2.failures, 0);
    // A client that dies while the daemon is down must not keep its lease.
    w2.proc.kill('SIGKILL');
    await new Promise((r) => w2.proc.once('exit', r));

    const t0 = Date.now();
    d = await spawnDaemon(args);
    c = new DaemonClient({ env: {}, socket: d.socket });
    const s = await until(async () => {
      const st = await c.stats();
      return st.leases.some((l) => l.leaseId === r1.leaseId && l.attachmentId !== '') ? st : undefined;
    }, 10_000);
    t.diagnostic(`lease re-registered ${Date.now() - t0} ms after the daemon was started again`);
    assert.deepEqual(
      s.leases.map((l) => l.leaseId),
      [r1.leaseId],
    );
    assert.ok(!s.leases.some((l) => l.leaseId === r2.leaseId));
    const st1 = await w1.status();
    assert.equal(st1.attached, true);
    assert.equal(st1.attachCount, 2);
    assert.equal(st1.failures, 0);
    // The state was rebuilt from the store: m is resident and was never evicted
    // (eager would have dropped it had the lease not been held); n is gone.
    // A poll, bounded generously: on a loaded 2-core machine the whole suite runs beside it (5 s once timed out in CI).
    await until(async () => !(await c.stats()).models.some((m) => m.model === 'n:1' && m.resident), 20_000);
    const m = (await c.stats()).models.find((x) => x.model === 'm:1')!;
    assert.equal(m.resident, true);
    assert.equal(m.opens, 1, 'open count survives the restart');
    const now = await fs.readdir(path.join(roots.store, 'tensors'));
    assert.ok(storeFiles.filter((f) => now.includes(f)).length >= 1);
    assert.equal(d.logs.filter((l) => l.msg === 'evicted' && l.model === 'm:1').length, 0);

    // The worker releases: with eager, m goes at once.
    w1.send('release');
    await w1.waitFor((e) => e.event === 'released');
    await until(async () => !(await c.stats()).models.some((x) => x.model === 'm:1' && x.resident), 20_000);
    w1.send('exit');
  } finally {
    await c.disconnect().catch(() => {});
    await d.stop();
    await roots.cleanup();
  }
});

test('a daemon that lost its state file still takes back leases of resident models', async () => {
  const roots = await tempRoots();
  const args = ['--repository', roots.repository, '--store', roots.store];
  let d = await spawnDaemon(args);
  let c = new DaemonClient({ env: {}, socket: d.socket });
  try {
    await c.import(await writeMatMulChain(path.join(roots.dir, 'm.onnx'), [{ rows: 64, cols: 64, seed: 3 }]), 'm');
    const w = spawnWorker({ socket: d.socket, model: 'm', input: { name: 'x', dims: [1, 64] } });
    const ready = await w.waitFor((e) => e.event === 'ready');
    await c.disconnect();
    d.proc.kill('SIGKILL');
    await new Promise((r) => d.proc.once('exit', r));
    await fs.rm(path.join(roots.store, '.daemon', 'state.json'));
    d = await spawnDaemon(args);
    c = new DaemonClient({ env: {}, socket: d.socket });
    const st = await until(async () => {
      const s = await c.stats();
      return s.leases.length ? s : undefined;
    });
    assert.equal(st.leases[0]!.leaseId, ready.leaseId);
    w.send('exit');
    await until(async () => (await c.stats()).totals.leases === 0, 5000);
  } finally {
    await c.disconnect().catch(() => {});
    await d.stop();
    await roots.cleanup();
  }
});
