// The daemon under `serve`, with real processes: a SIGKILLed owned daemon is
// noticed (readiness goes false), started again (readiness true, the
// instance's lease re-registered, a cold start through the new daemon works);
// a SIGKILLed serve takes its owned daemon with it; a connected daemon that
// goes away and comes back is used again; one whose socket the instances'
// user cannot reach stops serve with that error (not a silent exit 0).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs/promises';
import path from 'node:path';
import { pino } from 'pino';
import * as grpc from '@grpc/grpc-js';
import { spawn } from 'node:child_process';
import { protoDir } from '../paths.js';
import { importModel } from '../store/import.js';
import { tempRoots } from '../testing/tmp.js';
import { testEnv } from '../testing/env.js';
import { until } from '../testing/until.js';
import { serveArgv, spawnServe } from '../testing/serve.js';
import { writeChain } from '../testing/models.js';
import { writeFunction, isAlive } from '../testing/functions.js';
import { spawnDaemon, killAll } from '../testing/daemon.js';
import { DaemonClient } from '../client/daemon-client.js';
import { startServer } from './server.js';
import { loadInferenceService } from './protocol/grpc-codec.js';

const rawRequest = { inputs: [{ name: 'x', datatype: 'FP32', shape: [1, 4], data: [1, 0, 0, 1] }] };
const infer = (url: string, fn: string) =>
  fetch(`${url}/v2/models/${fn}/infer`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify(rawRequest),
  });
const readyStatus = async (url: string) => (await fetch(`${url}/v2/health/ready`)).status;

async function daemonPid(store: string): Promise<number | undefined> {
  const text = await fs.readFile(path.join(store, '.daemon', 'daemon.pid'), 'utf8').catch(() => '');
  const pid = Number(text.split(' ')[0]);
  return pid > 0 && isAlive(pid) ? pid : undefined;
}

async function leasesOn(socket: string): Promise<number> {
  const c = new DaemonClient({ env: {}, socket, connectTimeoutMs: 2000 });
  try {
    return (await c.stats()).totals.leases;
  } finally {
    await c.disconnect();
  }
}

test('serve restarts the daemon it owns after SIGKILL, and its owned daemon exits when serve is SIGKILLed', async () => {
  const roots = await tempRoots('supervise');
  try {
    await importModel(
      roots.repository,
      await writeChain(path.join(roots.dir, 'src'), 'chain', { width: 4, layers: 2 }),
      { name: 'chain' },
    );
    const functions = path.join(roots.dir, 'functions');
    await writeFunction(functions, 'warm', { model: 'chain', minInstances: 1 });
    await writeFunction(functions, 'cold', { model: 'chain', minInstances: 0 });
    const served = await spawnServe(roots, functions, ['--no-bundled', '--grpc-port', '0', '--daemon', 'auto']);
    const serve = served.child;
    try {
      const { url } = served;
      const grpcAddr = served.grpcAddress!;
      const { Client } = loadInferenceService(protoDir);
      const grpcClient = new Client(grpcAddr, grpc.credentials.createInsecure());
      const serverReady = () =>
        new Promise<boolean>((resolve, reject) =>
          grpcClient.ServerReady({}, (e, r) => (e ? reject(e) : resolve(Boolean(r?.ready)))),
        );
      const socket = path.join(roots.store, 'daemon.sock');

      assert.equal((await infer(url, 'warm')).status, 200);
      assert.equal(await readyStatus(url), 200);
      assert.equal(await serverReady(), true);
      const first = await until(() => daemonPid(roots.store), 10_000, 'the owned daemon pid');
      assert.ok((await leasesOn(socket)) >= 1, 'the warm instance holds a lease');

      process.kill(first, 'SIGKILL');
      // Both protocols say so while no daemon answers (polled side by side: the restart is at least a backoff and a process start away).
      await Promise.all([
        until(async () => (await readyStatus(url)) === 503, 10_000, 'HTTP readiness to go false after the daemon died'),
        until(
          async () => (await serverReady()) === false,
          10_000,
          'gRPC ServerReady to go false after the daemon died',
        ),
      ]);
      const second = await until(
        async () => {
          const pid = await daemonPid(roots.store);
          return pid !== undefined && pid !== first ? pid : undefined;
        },
        30_000,
        'a new daemon',
      );
      await until(async () => (await readyStatus(url)) === 200, 30_000, 'readiness to return after the restart');
      assert.equal(await serverReady(), true);
      // The running instance re-registered its lease with the new daemon; a cold start opens its model through it.
      await until(async () => (await leasesOn(socket)) >= 1, 10_000, 'the lease re-registered with the new daemon');
      const warm = await infer(url, 'warm');
      assert.equal(warm.status, 200, await warm.clone().text());
      const cold = await infer(url, 'cold');
      assert.equal(cold.status, 200, await cold.clone().text());
      assert.ok((await leasesOn(socket)) >= 2, 'both instances hold leases on the new daemon');
      grpcClient.close();

      serve.kill('SIGKILL');
      await served.stop();
      await until(() => !isAlive(second), 20_000, `the owned daemon ${second} to exit after serve was SIGKILLed`);
    } finally {
      if (serve.exitCode === null && serve.signalCode === null) serve.kill('SIGKILL');
      const pid = await daemonPid(roots.store);
      if (pid) process.kill(pid, 'SIGKILL');
    }
  } finally {
    await roots.cleanup();
  }
});

test('a connected daemon that goes away makes the server not ready; when it returns it is used again', async () => {
  const roots = await tempRoots('supervise-connected');
  try {
    await importModel(
      roots.repository,
      await writeChain(path.join(roots.dir, 'src'), 'chain', { width: 4, layers: 2 }),
      { name: 'chain' },
    );
    const functions = path.join(roots.dir, 'functions');
    await writeFunction(functions, 'cold', { model: 'chain', minInstances: 0 });
    const args = ['--repository', roots.repository, '--store', roots.store];
    const daemon = await spawnDaemon(args);
    const server = await startServer({
      functionsDir: functions,
      repository: roots.repository,
      store: roots.store,
      httpPort: 0,
      grpcPort: false,
      daemon: 'auto',
      pollIntervalMs: 0,
      env: testEnv(),
      logger: pino({ level: 'silent' }),
    });
    try {
      assert.equal(server.daemon.mode, 'connected');
      const url = server.gateway.httpUrl;
      assert.equal(await readyStatus(url), 200);
      await daemon.stop('SIGKILL');
      await until(async () => (await readyStatus(url)) === 503, 10_000, 'readiness to go false');
      const again = await spawnDaemon(args);
      try {
        await until(async () => (await readyStatus(url)) === 200, 10_000, 'readiness to return with the daemon');
        const res = await infer(url, 'cold');
        assert.equal(res.status, 200, await res.clone().text());
      } finally {
        await server.close();
        await again.stop();
      }
    } finally {
      await server.close();
    }
  } finally {
    killAll();
    await roots.cleanup();
  }
});

test("serve as root stops with a named error when a connected daemon's socket is closed to the instances' group", {
  skip: process.geteuid?.() !== 0 && 'instances run as another user only under root',
}, async () => {
  const roots = await tempRoots('supervise-socket-group');
  try {
    const functions = path.join(roots.dir, 'functions');
    await writeFunction(functions, 'cold', { model: 'chain', minInstances: 0 });
    // No --socket-group: the socket is 0660 for root's group; instances run as nobody.
    const daemon = await spawnDaemon(['--repository', roots.repository, '--store', roots.store]);
    try {
      // stdin closed and nothing else pending: only serve's own handles keep it alive until it reports.
      const child = spawn(
        process.execPath,
        serveArgv(roots, functions, ['--daemon', 'auto', '--no-bundled', '--grpc-port', 'off']),
        { stdio: ['ignore', 'ignore', 'pipe'], env: testEnv() },
      );
      let stderr = '';
      child.stderr!.on('data', (d) => {
        stderr += d;
      });
      const code = await new Promise<number | null>((r) => child.once('exit', (c) => r(c)));
      assert.notEqual(code, 0, `serve exited ${code}: ${stderr}`);
      assert.match(stderr, /cannot connect to the daemon's socket .* start the daemon with --socket-group \d+/);
    } finally {
      await daemon.stop();
    }
  } finally {
    killAll();
    await roots.cleanup();
  }
});
