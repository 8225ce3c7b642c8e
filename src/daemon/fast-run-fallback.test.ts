// A fast-run Open of a model whose variant ONNX Runtime cannot reload (silero
// VAD's If subgraphs) follows the store's one residency sequence: the daemon
// builds the variant once, records it unavailable, and leases the model in
// fast-open -- the same fallback daemonless openSession() makes.
import { after, test } from 'node:test';
import assert from 'node:assert/strict';
import path from 'node:path';
import { DaemonClient } from '../client/daemon-client.js';
import { FIXTURES } from '../testing/fixtures.js';
import { killAll, spawnDaemon } from '../testing/daemon.js';
import { tempRoots } from '../testing/tmp.js';

after(killAll);

test('fast-run of a model without a loadable variant is leased and pinned in fast-open, built once', async () => {
  const roots = await tempRoots();
  const d = await spawnDaemon(['--repository', path.join(roots.repository, 'repo'), '--store', roots.store]);
  const c = new DaemonClient({ socket: d.socket, env: {} });
  try {
    await c.import(FIXTURES.vad, 'vad');
    const [a, b] = await Promise.all([c.open('vad', { mode: 'fast-run' }), c.open('vad', { mode: 'fast-run' })]);
    for (const l of [a, b]) {
      assert.equal(l.mode, 'fast-open');
      assert.equal(l.variant?.status, 'unavailable', 'the lease says why it is not fast-run');
      assert.equal(l.graphPath, path.join(roots.store, 'graphs', `${l.manifest.graph.sha256}.onnx`));
    }
    const s = await c.stats();
    assert.equal(s.totals.fastRunBuilds, 1, 'one build for both opens');
    assert.deepEqual(
      s.models.filter((m) => m.resident).map((m) => m.mode),
      ['fast-open'],
    );
    const again = await c.open('vad', { mode: 'fast-run' });
    assert.equal(again.mode, 'fast-open');
    assert.equal((await c.stats()).totals.fastRunBuilds, 1, 'the unavailable variant is remembered, not rebuilt');
    // A fast-run pin pins what is resident for it, and a fast-run unpin removes that pin again.
    await c.pin('vad', 'fast-run');
    assert.deepEqual((await c.list()).find((m) => m.model === 'vad:1')?.pinnedModes, ['fast-open']);
    await c.unpin('vad', 'fast-run');
    assert.deepEqual((await c.list()).find((m) => m.model === 'vad:1')?.pinnedModes, []);
  } finally {
    await c.disconnect();
    await d.stop();
    await roots.cleanup();
  }
});
