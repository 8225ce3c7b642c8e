// `tensorshare top` piped, against a real `tensorshare serve` and the daemon
// it owns: one snapshot (text and --json) showing the resident model, the
// instance process holding it, bytes saved by sharing, the function's
// instances and the requests it served; and a clear error with no daemon.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import path from 'node:path';
import { packageRoot } from '../paths.js';
import { importModel } from '../store/import.js';
import { testEnv } from '../testing/env.js';
import { writeFunction } from '../testing/functions.js';
import { writeChain } from '../testing/models.js';
import { tempRoots } from '../testing/tmp.js';
import { spawnServe } from '../testing/serve.js';
import type { TopSnapshot } from './top-snapshot.js';
import { parsePrometheusText } from './prometheus-text.js';

const cli = path.join(packageRoot, 'bin/tensorshare.js');

function top(store: string, args: string[]): { status: number | null; stdout: string; stderr: string } {
  const r = spawnSync(process.execPath, [cli, '--store', store, 'top', ...args], {
    env: testEnv(),
    encoding: 'utf8',
    timeout: 60_000,
  });
  return { status: r.status, stdout: r.stdout, stderr: r.stderr };
}

test('top prints one snapshot when piped: resident models, instances, memory saved, request rates', async () => {
  const roots = await tempRoots('top');
  try {
    await importModel(
      roots.repository,
      await writeChain(path.join(roots.dir, 'src'), 'chain', { width: 4, layers: 2 }),
      { name: 'chain' },
    );
    const functions = path.join(roots.dir, 'functions');
    await writeFunction(functions, 'warm', { model: 'chain', minInstances: 1, maxInstances: 1 });
    const serve = await spawnServe(roots, functions, ['--no-bundled', '--grpc-port', '0', '--daemon', 'auto']);
    try {
      const { url } = serve;
      const infer = () =>
        fetch(`${url}/v2/models/warm/infer`, {
          method: 'POST',
          headers: { 'content-type': 'application/json' },
          body: JSON.stringify({ inputs: [{ name: 'x', datatype: 'FP32', shape: [1, 4], data: [1, 0, 0, 1] }] }),
        });
      for (let i = 0; i < 5; i++) assert.equal((await infer()).status, 200);

      // --json: the data, checked against the daemon's and the gateway's own answers.
      const j = top(roots.store, ['--url', url, '--interval', '300', '--json']);
      assert.equal(j.status, 0, j.stderr);
      const snap = JSON.parse(j.stdout) as TopSnapshot;
      assert.ok(snap.daemon, 'the daemon serve owns answered');
      const chain = snap.daemon.models.find((m) => m.model.startsWith('chain:'));
      assert.ok(chain, `chain resident: ${JSON.stringify(snap.daemon.models)}`);
      assert.ok(chain.bytes > 0 && chain.leases >= 1, JSON.stringify(chain));
      assert.ok(
        snap.daemon.processes.some((p) => p.pid > 0 && p.models.some((m) => m.startsWith('chain:'))),
        `an instance process holds chain: ${JSON.stringify(snap.daemon.processes)}`,
      );
      assert.ok(snap.daemon.savedBytes >= 0 && snap.daemon.usedBytes >= chain.bytes);
      assert.ok(snap.gateway, 'the gateway answered');
      const warm = snap.gateway.functions.find((f) => f.name === 'warm');
      assert.ok(warm, JSON.stringify(snap.gateway.functions));
      assert.equal(warm.instances, 1);
      assert.equal(warm.requestsTotal, 5, 'the five requests, none counted twice');
      assert.equal(warm.requestsPerS, 0, 'no request in the sampled interval');
      assert.equal(warm.meanLatencyMs, null);
      const metrics = parsePrometheusText(await (await fetch(`${url}/metrics`)).text());
      const saved = metrics.find((s) => s.name === 'tensorshare_bytes_saved_by_sharing');
      assert.equal(snap.gateway.bytesSavedBySharing, saved?.value ?? 0);

      // Requests while top samples show up as a rate and a mean latency.
      const piped = spawn(process.execPath, [cli, '--store', roots.store, 'top', '--url', url, '--interval', '1500'], {
        env: testEnv(),
        stdio: ['ignore', 'pipe', 'pipe'],
      });
      let text = '';
      let err = '';
      piped.stdout.on('data', (d) => {
        text += d;
      });
      piped.stderr.on('data', (d) => {
        err += d;
      });
      let exitCode: number | null | undefined;
      const done = new Promise<void>((r) =>
        piped.once('exit', (code) => {
          exitCode = code;
          r();
        }),
      );
      // Requests from before top's first scrape until it exits, so some land inside its interval.
      let sent = 0;
      while (exitCode === undefined && sent < 2_000) {
        assert.equal((await infer()).status, 200);
        sent++;
      }
      await done;
      assert.equal(exitCode, 0, err);
      // One snapshot, no terminal control sequences when piped.
      assert.equal(text.match(/^tensorshare top /gm)?.length, 1, text);
      assert.ok(!text.includes('\u001b'), 'no escape sequences');
      assert.match(text, /^chain:\S+\s+fast-\S+\s+[\d.]+ [KMG]?i?B/m);
      assert.match(text, /saved by sharing/);
      const row = /^warm\s+(\d+)\s+([\d.]+)\s+([\d.]+)\s+([\d.]+)\s+(\d+)\s+(\d+)$/m.exec(text);
      assert.ok(row, `a row for warm:\n${text}`);
      assert.equal(row[1], '1', 'instances');
      assert.ok(Number(row[2]) > 0, `a request rate: ${row[2]}`);
      assert.ok(Number(row[5]) > 5 && Number(row[5]) <= 5 + sent, `requests in all: ${row[5]} of ${5 + sent}`);
    } finally {
      await serve.stop();
    }

    // No daemon, no gateway: a clear error, not a hang.
    const none = top(path.join(roots.dir, 'no-store'), ['--json']);
    assert.equal(none.status, 1);
    assert.match(none.stderr, /no daemon answers on .*daemon\.sock.*\[ERR_UNAVAILABLE\]/);
    const bad = top(roots.store, ['--interval', '5']);
    assert.equal(bad.status, 2);
    assert.match(bad.stderr, /--interval must be an integer number of milliseconds >= 100, got 5/);
  } finally {
    await roots.cleanup();
  }
});
