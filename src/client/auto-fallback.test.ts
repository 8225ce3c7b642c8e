// 'auto' serves with whatever mode works: when the fast-open graph cannot be
// loaded at any level, it opens the fast-run variant instead of failing.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs/promises';
import path from 'node:path';
import ort from 'onnxruntime-node';
import { openSession } from './open-session.js';
import { importModel } from '../store/import.js';
import { graphPath, layout } from '../store/layout.js';
import { compatCorpus } from '../gen/compat-corpus.js';
import { tempRoots } from '../testing/tmp.js';

test('auto falls back to fast-run when fast-open cannot load the model', async () => {
  const roots = await tempRoots('auto-fallback');
  try {
    const file = path.join(roots.dir, 'mlp.onnx');
    await fs.writeFile(file, compatCorpus().find((m) => m.name === 'ir3-mlp')!.bytes);
    const { manifest } = await importModel(roots.repository, file, { name: 'mlp' });
    const paths = { repository: roots.repository, store: roots.store };
    await (await openSession('mlp', { ...paths, mode: 'fast-run' })).release(); // builds the variant, makes both resident
    // Damage only the fast-open graph in the store: no level can load it now.
    const g = graphPath(layout(roots.store), manifest.graph.sha256);
    await fs.chmod(g, 0o644);
    await fs.writeFile(g, 'not an onnx model');
    await assert.rejects(openSession('mlp', { ...paths, mode: 'fast-open' }));

    const s = await openSession('mlp', { ...paths, mode: 'auto' });
    try {
      assert.equal(s.mode, 'fast-run');
      const out = await s.session.run({ x: new ort.Tensor('float32', new Float32Array(16).fill(0.5), [2, 8]) });
      assert.deepEqual(out.y!.dims, [2, 4]);
    } finally {
      await s.release();
    }
  } finally {
    await roots.cleanup();
  }
});
