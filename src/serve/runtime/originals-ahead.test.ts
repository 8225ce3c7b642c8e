// Serve restores a starting instance's cut fast-run originals itself, under
// a window of its own that keeps the cutter off until the instance is ready:
// real files, a real fast-run variant, the store's own cutter.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs/promises';
import path from 'node:path';
import { tempRoots } from '../../testing/tmp.js';
import { mlp, writeModel } from '../../gen/index.js';
import { importModel } from '../../store/import.js';
import { buildFastRun, fastRunKey } from '../../store/fast-run.js';
import { layout, tensorPath } from '../../store/layout.js';
import { materializeVariant } from '../../store/materialize.js';
import { cutOriginals, cuttableTensors } from '../../store/originals.js';
import { silentLogger } from './log.js';
import { restoreAhead } from './originals-ahead.js';

test('restoreAhead copies cut originals back, keeps the cutter off until done(), and leaves fast-open models alone', async () => {
  const roots = await tempRoots('originals-ahead');
  try {
    const file = path.join(roots.dir, 'mlp.onnx');
    await writeModel(mlp({ layers: 2, width: 256 }), file);
    const m = (await importModel(roots.repository, file, { name: 'mlp' })).manifest;
    const repo = layout(roots.repository);
    const store = layout(roots.store);
    const v = (await buildFastRun(repo, repo, m)).variant;
    const key = fastRunKey(v.ortVersion, v.target);
    await materializeVariant(repo, store, v, key);
    const tensors = cuttableTensors(v);
    assert.ok(tensors.length > 0, 'the MatMul weights are cuttable');
    const cut = (await cutOriginals(store, v, key)).cutBytes;
    assert.ok(cut > 0);
    const sizes = () => Promise.all(tensors.map(async (t) => (await fs.stat(tensorPath(store, t.sha256))).size));

    const o = { repository: roots.repository, store: roots.store, log: silentLogger };
    const fastOpen = restoreAhead(
      o,
      { name: 'f', models: { model: { alias: 'model', ref: 'mlp:1', mode: 'fast-open' } } },
      'i-0',
    );
    assert.equal(await fastOpen.restored, 0, 'a fast-open model has nothing to restore');
    await fastOpen.done();
    assert.deepEqual(
      await sizes(),
      tensors.map((t) => t.cutAt),
    );

    const ahead = restoreAhead(
      o,
      { name: 'f', models: { model: { alias: 'model', ref: 'mlp:1', mode: 'fast-run' } } },
      'i-1',
    );
    assert.equal(await ahead.restored, cut, 'every cut byte comes back');
    assert.deepEqual(
      await sizes(),
      tensors.map((t) => t.bytes),
    );
    for (const t of tensors) {
      const [a, b] = await Promise.all([
        fs.readFile(tensorPath(store, t.sha256)),
        fs.readFile(tensorPath(repo, t.sha256)),
      ]);
      assert.ok(a.equals(b), 'the restored file is the repository file');
    }
    assert.equal((await cutOriginals(store, v, key)).kept, 'window-open', 'no cut while the instance starts');
    await ahead.done();
    assert.equal((await cutOriginals(store, v, key)).cutBytes, cut, 'the window closed with done()');
  } finally {
    await roots.cleanup();
  }
});
