// The default mode's store holds what fast-run sessions map: once a model's
// fast-run variant is resident, its fast-open files leave the store as soon as
// nothing references them (the variant's prepacked tensors replace the
// originals), except files another resident model still uses. A fast-open
// open brings them back from the repository. Real daemon, real files.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs/promises';
import path from 'node:path';
import { DaemonClient } from '../client/daemon-client.js';
import { open } from '../client/open.js';
import { killAll, spawnDaemon, type DaemonProc } from '../testing/daemon.js';
import { writeMatMulChain } from '../testing/models.js';
import { tempRoots, type TempRoots } from '../testing/tmp.js';
import { until } from '../testing/until.js';

after(killAll);

const exists = (p: string) =>
  fs.access(p).then(
    () => true,
    () => false,
  );

describe('fast-run residency', () => {
  let roots: TempRoots;
  let d: DaemonProc;
  let c: DaemonClient;
  let aFile: string;
  before(async () => {
    roots = await tempRoots();
    d = await spawnDaemon(['--repository', roots.repository, '--store', roots.store]);
    c = new DaemonClient({ env: {}, socket: d.socket });
    // a and b share their first weight (same rows, cols and seed: one tensor file).
    aFile = await writeMatMulChain(path.join(roots.dir, 'a.onnx'), [
      { rows: 64, cols: 256, seed: 31 },
      { rows: 256, cols: 64, seed: 32 },
    ]);
    const bFile = await writeMatMulChain(path.join(roots.dir, 'b.onnx'), [
      { rows: 64, cols: 256, seed: 31 },
      { rows: 256, cols: 32, seed: 33 },
    ]);
    await c.import(aFile, 'a');
    await c.import(bFile, 'b');
  });
  after(async () => {
    await c.disconnect().catch(() => {});
    await d.stop();
    await roots.cleanup();
  });

  const storeTensor = (sha: string) => path.join(roots.store, 'tensors', sha);
  const modes = async (model: string) => (await c.list()).find((m) => m.model === model)?.residentModes ?? [];

  test('the originals a resident variant replaced leave the store; shared and variant files stay; fast-open brings them back', async () => {
    const b = await c.open('b', { mode: 'fast-open' });
    const fr = await c.open('a', { mode: 'fast-run' });
    assert.equal(fr.mode, 'fast-run');
    const v = fr.variant!;
    assert.ok(
      v.tensors.some((t) => t.prepacked > 0),
      'the variant prepacks at least one weight',
    );
    const a = fr.manifest;
    const bShas = new Set(b.manifest.tensors.map((t) => t.sha256));
    const vShas = new Set(v.tensors.map((t) => t.sha256));
    const shared = a.tensors.filter((t) => bShas.has(t.sha256));
    const replacedOnly = a.tensors.filter((t) => !bShas.has(t.sha256) && !vShas.has(t.sha256));
    assert.equal(shared.length, 1);
    assert.ok(replacedOnly.length >= 1);

    // Building the variant made a's fast-open files resident; the open returns with them gone.
    assert.deepEqual(await modes('a:1'), ['fast-run']);
    assert.equal(await exists(path.join(roots.store, 'models', 'a', '1.json')), false);
    for (const t of replacedOnly) assert.equal(await exists(storeTensor(t.sha256)), false, `${t.name} left`);
    for (const t of shared) assert.equal(await exists(storeTensor(t.sha256)), true, `${t.name} (b uses it) stays`);
    for (const t of v.tensors) assert.equal(await exists(storeTensor(t.sha256)), true);
    assert.equal(await exists(path.join(roots.store, 'models', 'b', '1.json')), true);

    // A fast-run session over what stayed answers as plain ORT over the original file.
    const ort = (await import('onnxruntime-node')).default;
    const x = new ort.Tensor(
      'float32',
      Float32Array.from({ length: 64 }, (_, i) => Math.sin(i)),
      [1, 64],
    );
    const s = await open('a', { env: {}, client: c, mode: 'fast-run' });
    const plain = await ort.InferenceSession.create(aFile, { graphOptimizationLevel: 'all' });
    try {
      const got = (await s.session.run({ x })).y!.data as Float32Array;
      const want = (await plain.run({ x })).y!.data as Float32Array;
      assert.equal(got.length, want.length);
      for (let i = 0; i < got.length; i++) assert.ok(Math.abs(got[i]! - want[i]!) <= 1e-5 * (1 + Math.abs(want[i]!)));
    } finally {
      await s.release();
      await plain.release();
    }

    // fast-open: re-materialized from the repository, and kept while leased.
    const fo = await c.open('a', { mode: 'fast-open' });
    assert.equal(fo.wasResident, false);
    for (const t of replacedOnly) assert.equal(await exists(storeTensor(t.sha256)), true);
    assert.deepEqual((await modes('a:1')).sort(), ['fast-open', 'fast-run']);
    const fos = await open('a', { env: {}, client: c, mode: 'fast-open' });
    const out = await fos.session.run({ x });
    assert.deepEqual(out.y!.dims, [1, 64]);
    await fos.release();
    // Its last reference ends: replaced again.
    await c.close(fo.leaseId);
    await until(async () => !(await exists(storeTensor(replacedOnly[0]!.sha256))), 10_000, 'originals evicted again');
    assert.deepEqual(await modes('a:1'), ['fast-run']);

    // b has no resident variant: closing its lease leaves it resident (the policy decides, no pressure).
    await c.close(b.leaseId);
    await c.close(fr.leaseId);
    assert.deepEqual(await modes('b:1'), ['fast-open']);
    for (const t of shared) assert.equal(await exists(storeTensor(t.sha256)), true);
  });
});
