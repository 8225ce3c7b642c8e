// N client processes share one model's pages through the daemon; a killed
// client's leases are freed; open() in-process works and releases.
import { after, test } from 'node:test';
import assert from 'node:assert/strict';
import { DaemonClient } from './daemon-client.js';
import { open } from './open.js';
import { killAll, spawnDaemon, spawnWorker } from '../testing/daemon.js';
import { FIXTURES } from '../testing/fixtures.js';
import { readSmapsRollup } from '../proc/smaps.js';
import { tempRoots } from '../testing/tmp.js';
import { until } from '../testing/until.js';

after(killAll);

const MIB = 1024 * 1024;

test('N clients share one model (Pss_Shmem ~ weights/N each); SIGKILL of a client frees its leases', async (t) => {
  const roots = await tempRoots();
  const d = await spawnDaemon(['--repository', roots.repository, '--store', roots.store]);
  const c = new DaemonClient({ env: {}, socket: d.socket });
  try {
    await c.import(FIXTURES.ocrRec, 'ocr-rec');
    const weights = (await c.list())[0]!.bytes;
    const N = 3;
    const input = { name: 'x', dims: [1, 3, 48, 320] };
    const workers = Array.from({ length: N }, () =>
      spawnWorker({ socket: d.socket, model: 'ocr-rec', input }, { OMP_NUM_THREADS: '1' }),
    );
    const ready = await Promise.all(workers.map((w) => w.waitFor((e) => e.event === 'ready', 60_000)));
    assert.equal(new Set(ready.map((r) => r.sum)).size, 1, 'clients computed different outputs');
    assert.equal(ready.filter((r) => r.wasResident === false).length >= 1, true);
    const s = await c.stats();
    assert.equal(s.totals.leases, N);
    assert.equal(s.totals.materializations, 1);
    assert.equal(s.totals.leasedLogicalBytes, N * s.totals.usedBytes);
    const pss = workers.map((w) => readSmapsRollup(w.pid));
    const shmem = pss.map((p) => p.pssShmem);
    t.diagnostic(
      `weights ${(weights / MIB).toFixed(2)} MiB; Pss_Shmem per client ${shmem.map((x) => (x / MIB).toFixed(2)).join(', ')} MiB (weights/N = ${(weights / N / MIB).toFixed(2)}); Rss ${(pss[0]!.rss / MIB).toFixed(0)} MiB`,
    );
    for (const x of shmem) {
      assert.ok(
        x > (weights / N) * 0.6 && x < (weights / N) * 1.4,
        `Pss_Shmem ${x} is not about weights/N = ${weights / N}`,
      );
    }
    t.diagnostic(
      `open via daemon (model not resident, ${ready.length} concurrent): ${ready.map((r) => (r.openMs as number).toFixed(1)).join(', ')} ms; ORT create ${ready.map((r) => (r.createMs as number).toFixed(0)).join(', ')} ms`,
    );

    // SIGKILL one client: its lease goes as soon as the daemon sees the socket close and the process gone.
    const victim = workers[0]!;
    const t0 = performance.now();
    victim.proc.kill('SIGKILL');
    await until(async () => (await c.stats()).totals.leases === N - 1, 5000, "the killed client's lease to go", 5);
    const freedMs = performance.now() - t0;
    t.diagnostic(`leases of a SIGKILLed client freed after ${freedMs.toFixed(0)} ms`);
    assert.ok(!(await c.stats()).leases.some((l) => l.leaseId === ready[0]!.leaseId));
    for (const w of workers.slice(1)) w.send('exit');
    await until(async () => (await c.stats()).totals.leases === 0, 5000, 'every lease to go', 5);
  } finally {
    await c.disconnect();
    await d.stop();
    await roots.cleanup();
  }
});

test('open() in-process: resident opens are cheap, release() ends the lease', async (t) => {
  const roots = await tempRoots();
  const d = await spawnDaemon(['--repository', roots.repository, '--store', roots.store, '--log-level', 'info']);
  const client = new DaemonClient({ env: {}, socket: d.socket });
  try {
    await client.import(FIXTURES.ocrRec, 'ocr-rec');
    const first = await open('ocr-rec', { env: {}, client, sessionOptions: { intraOpNumThreads: 1 } });
    assert.equal(first.lease.wasResident, false);
    const rpc: number[] = [];
    const total: number[] = [];
    for (let i = 0; i < 5; i++) {
      const t0 = performance.now();
      const m = await open('ocr-rec', { env: {}, client, sessionOptions: { intraOpNumThreads: 1 } });
      total.push(performance.now() - t0);
      rpc.push(m.openMs);
      assert.equal(m.lease.wasResident, true);
      await m.release();
    }
    const med = (a: number[]) => [...a].sort((x, y) => x - y)[Math.floor(a.length / 2)]!;
    t.diagnostic(
      `resident model: Open RPC median ${med(rpc).toFixed(2)} ms; open() incl. ORT session ${med(total).toFixed(1)} ms`,
    );
    assert.equal((await client.stats()).totals.leases, 1);
    await first.release();
    await first.release(); // idempotent
    assert.equal((await client.stats()).totals.leases, 0);
    await assert.rejects(open('missing', { env: {}, client }), { code: 'ERR_MODEL_NOT_FOUND' });
  } finally {
    await client.disconnect();
    await d.stop();
    await roots.cleanup();
  }
});
