// Peer credentials: SO_PEERCRED of real Unix socket connections, and a
// client that reports a forged pid (a live process's) cannot keep its lease
// alive once its own process is gone: the daemon goes by the connection's pid.
import { after, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import fs from 'node:fs/promises';
import net from 'node:net';
import path from 'node:path';
import { DaemonClient } from '../client/daemon-client.js';
import { packageRoot } from '../paths.js';
import { killAll, spawnDaemon } from '../testing/daemon.js';
import { testEnv } from '../testing/env.js';
import { writeMatMulChain } from '../testing/models.js';
import { tempRoots } from '../testing/tmp.js';
import { until } from '../testing/until.js';
import { peerCredentials, type PeerCredentials } from './peer-credentials.js';

after(killAll);

test('SO_PEERCRED names the connecting process: this one, then a child', async () => {
  const roots = await tempRoots('peercred');
  const sock = path.join(roots.dir, 's');
  const seen: PeerCredentials[] = [];
  const server = net.createServer((c) => {
    seen.push(peerCredentials(c));
    c.end();
  });
  await new Promise<void>((r) => server.listen(sock, r));
  try {
    await new Promise<void>((r) =>
      net
        .connect(sock)
        .on('close', () => r())
        .resume(),
    );
    const child = spawn(
      process.execPath,
      ['-e', `require('net').connect(${JSON.stringify(sock)}).on('close', () => process.exit(0)).resume()`],
      { env: testEnv(), stdio: 'ignore' },
    );
    await new Promise((r) => child.once('exit', r));
    assert.deepEqual(seen, [
      { pid: process.pid, uid: process.getuid!(), gid: process.getgid!() },
      { pid: child.pid, uid: process.getuid!(), gid: process.getgid!() },
    ]);
  } finally {
    server.close();
    await roots.cleanup();
  }
});

test("a client reporting a live process's pid loses its lease when its own process dies", async () => {
  const roots = await tempRoots('peercred');
  const d = await spawnDaemon(['--repository', roots.repository, '--store', roots.store]);
  const c = new DaemonClient({ env: {}, socket: d.socket, name: 'test' });
  try {
    await fs.mkdir(path.join(roots.dir, 'src'));
    await c.import(
      await writeMatMulChain(path.join(roots.dir, 'src', 'm.onnx'), [{ rows: 16, cols: 16, seed: 1 }]),
      'm',
    );
    // The forged pid is this test process's: alive for the whole test.
    const forger = spawn(
      process.execPath,
      [
        path.join(packageRoot, 'dist', 'src', 'testing', 'forged-pid-client.js'),
        JSON.stringify({ socket: d.socket, model: 'm', forgedPid: process.pid }),
      ],
      {
        env: testEnv(),
        stdio: ['ignore', 'pipe', 'inherit'],
      },
    );
    let out = '';
    forger.stdout!.setEncoding('utf8').on('data', (s: string) => {
      out += s;
    });
    const ready = JSON.parse(
      await until(() => out.includes('\n') && out.split('\n')[0]!, 20_000, "the forger's lease"),
    ) as { realPid: number; leaseId: string };
    const held = (await c.stats()).leases.find((l) => l.leaseId === ready.leaseId);
    assert.equal(held?.pid, ready.realPid, 'the lease is tied to the connecting process, not to the reported pid');
    assert.notEqual(ready.realPid, process.pid);
    forger.kill('SIGKILL');
    await until(
      async () => !(await c.stats()).leases.some((l) => l.leaseId === ready.leaseId),
      10_000,
      "the dead forger's lease to be released",
    );
    assert.equal((await c.stats()).totals.leases, 0);
  } finally {
    await c.disconnect().catch(() => {});
    await d.stop();
    await roots.cleanup();
  }
});
