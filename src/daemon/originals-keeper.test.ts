// The daemon cuts fast-run originals off its store once no session creation
// window has been open for originalsLinger, and only then: an instance's
// window (a daemonless open in the daemon's store, as serve's instances do)
// restores them for its creation; the client library opens its own window and
// has the daemon restore cut ones; a lease whose client opens no window of
// its own gets one from the daemon for the lease's life; a daemon restarted in
// the middle of a window does not cut under it, and keeps a cut store
// resident. Sessions opened before a cut compute what plain ORT computes.
// Real daemon processes, real files, real ORT sessions.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs/promises';
import path from 'node:path';
import ort from 'onnxruntime-node';
import { DaemonClient } from '../client/daemon-client.js';
import { open } from '../client/open.js';
import { openSession } from '../client/open-session.js';
import { mlp, writeModel } from '../gen/index.js';
import { layout, tensorPath } from '../store/layout.js';
import type { VariantManifest } from '../store/manifest.js';
import { cuttableTensors } from '../store/originals.js';
import { killAll, spawnDaemon, type DaemonProc } from '../testing/daemon.js';
import { tempRoots, type TempRoots } from '../testing/tmp.js';
import { until } from '../testing/until.js';

after(killAll);

const feeds = () => ({
  x: new ort.Tensor(
    'float32',
    Float32Array.from({ length: 512 }, (_, i) => (i % 5) / 5),
    [1, 512],
  ),
});
const bytesOf = (t: ort.Tensor) => Buffer.from((t.data as Float32Array).buffer);
const LINGER = ['--originals-linger', '100ms'];

describe('fast-run originals in a daemon-owned store', () => {
  let roots: TempRoots;
  let d: DaemonProc;
  let c: DaemonClient;
  let variant: VariantManifest;
  let expected: Buffer;
  const paths = () => ({ repository: roots.repository, store: roots.store, sessionOptions: { intraOpNumThreads: 1 } });
  /** Bytes of the variant's originals not in the store now. */
  const cutOff = async () => {
    let n = 0;
    for (const t of cuttableTensors(variant))
      n += t.bytes - (await fs.stat(tensorPath(layout(roots.store), t.sha256))).size;
    return n;
  };
  const trimmed = () => cuttableTensors(variant).reduce((a, t) => a + t.bytes - t.cutAt, 0);
  const out = async (s: ort.InferenceSession) => bytesOf((await s.run(feeds()))[s.outputNames[0]!]!);

  before(async () => {
    roots = await tempRoots('keeper');
    const file = path.join(roots.dir, 'mlp.onnx');
    await writeModel(mlp({ layers: 3, width: 512 }), file);
    const plain = await ort.InferenceSession.create(file, { intraOpNumThreads: 1, logSeverityLevel: 4 });
    expected = await out(plain);
    await plain.release();
    d = await spawnDaemon(['--repository', roots.repository, '--store', roots.store, ...LINGER]);
    c = new DaemonClient({ env: {}, socket: d.socket });
    await c.import(file, 'mlp');
  });
  after(async () => {
    await c.disconnect().catch(() => {});
    await d.stop();
    await roots.cleanup();
  });

  test("serve's path: the gateway's lease opens no window, an instance's window restores, the daemon cuts after the linger", async () => {
    // The gateway's deploy lease (it creates no session).
    const deploy = await c.open('mlp', { mode: 'fast-run', ownWindow: true });
    variant = deploy.variant!;
    assert.ok(cuttableTensors(variant).length > 0);
    await until(async () => (await cutOff()) === trimmed(), 20_000, 'the daemon cutting the originals');
    // An instance: a daemonless open in the daemon's store restores in its window, then creates.
    const inst = await openSession('mlp', { ...paths(), mode: 'fast-run' });
    assert.equal(inst.mode, 'fast-run');
    assert.ok((await out(inst.session)).equals(expected));
    await until(async () => (await cutOff()) === trimmed(), 20_000, 'the cut after the instance created');
    assert.ok((await out(inst.session)).equals(expected), 'a running session is untouched by the cut');
    await inst.release();
    await c.close(deploy.leaseId);
  });

  test('the client library: a creation on a cut store gets them restored by the daemon, the cut follows while the session lives', async () => {
    await until(async () => (await cutOff()) === trimmed(), 20_000, 'a cut store');
    const m = await open('mlp', { env: {}, mode: 'fast-run', client: c, sessionOptions: { intraOpNumThreads: 1 } });
    assert.equal(m.mode, 'fast-run');
    assert.ok((await out(m.session)).equals(expected));
    await until(async () => (await cutOff()) === trimmed(), 20_000, 'the cut after the creation, lease still held');
    assert.ok((await out(m.session)).equals(expected), 'a session mapping the files while they are cut');
    await m.release();
  });

  test('a lease without its own window (another user, an older client): restored before the answer, whole for the lease', async () => {
    await until(async () => (await cutOff()) === trimmed(), 20_000, 'a cut store');
    const seen = d.logs.length;
    const l = await c.open('mlp', { mode: 'fast-run' });
    assert.equal(await cutOff(), 0, 'the Open answered with the originals whole');
    await until(
      () => d.logs.slice(seen).some((x) => x.msg === 'fast-run originals kept: a session creation window is open'),
      20_000,
      "the daemon's tick seeing the lease's window",
    );
    assert.equal(await cutOff(), 0, 'kept while the lease lives');
    await c.close(l.leaseId);
    await until(async () => (await cutOff()) === trimmed(), 20_000, 'the cut after the lease ended');
  });

  test('a daemon restarted in the middle of a window does not cut under it, and keeps a cut store resident', async () => {
    await until(async () => (await cutOff()) === trimmed(), 20_000, 'a cut store');
    await d.stop();
    await c.disconnect();
    d = await spawnDaemon(['--repository', roots.repository, '--store', roots.store, ...LINGER]);
    c = new DaemonClient({ env: {}, socket: d.socket });
    const modes = (await c.list()).find((x) => x.model === 'mlp:1')?.residentModes ?? [];
    assert.ok(modes.includes('fast-run'), 'a cut variant is resident after a restart (not dropped, not copied)');
    // An opener in the middle of its creation: its window is open, the originals are whole.
    const store = layout(roots.store);
    const marker = path.join(store.tmp, `${process.pid}-open-midway`);
    await fs.writeFile(marker, '');
    const held = await openSession('mlp', { ...paths(), mode: 'fast-run' });
    assert.equal(await cutOff(), 0);
    await d.stop();
    d = await spawnDaemon(['--repository', roots.repository, '--store', roots.store, ...LINGER]);
    await d.waitLog((l) => l.msg === 'fast-run originals kept: a session creation window is open');
    assert.equal(await cutOff(), 0, 'the restarted daemon saw the window');
    await fs.rm(marker);
    await until(async () => (await cutOff()) === trimmed(), 20_000, 'the cut once the window closed');
    assert.ok((await out(held.session)).equals(expected));
    await held.release();
    await c.disconnect();
    c = new DaemonClient({ env: {}, socket: d.socket });
  });
});
