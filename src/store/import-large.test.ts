// Models over 2 GB (external data) import by streaming: peak memory stays
// near a fixed overhead, far below the model and even below one tensor.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import path from 'node:path';
import fs from 'node:fs/promises';
import { execFileSync } from 'node:child_process';
import { mlp, writeModel } from '../gen/index.js';
import { tempRoots } from '../testing/tmp.js';

test('a 2.4 GB model imports with peak memory far below its largest tensor', async (t) => {
  const roots = await tempRoots('large');
  try {
    const file = path.join(roots.store, 'big.onnx'); // source on tmpfs: fast to write, no disk wear
    await writeModel(mlp({ layers: 9, width: 8192 }), file, { format: 'external-single' });
    const out = execFileSync(process.execPath, [path.resolve('dist/src/testing/import-once.js'), roots.repository, file, 'big'], { encoding: 'utf8' });
    await fs.rm(path.join(roots.store, 'big.onnx.data'));
    const r = JSON.parse(out) as { maxRssBytes: number; bytes: number; largestTensor: number; tensors: number };
    t.diagnostic(`imported ${(r.bytes / 1e9).toFixed(2)} GB (${r.tensors} tensors, largest ${(r.largestTensor / 2 ** 20).toFixed(0)} MiB) with peak RSS ${(r.maxRssBytes / 2 ** 20).toFixed(0)} MiB`);
    assert.ok(r.bytes > 2.2e9, `model holds ${r.bytes} bytes of weights`);
    assert.equal(r.largestTensor, 8192 * 8192 * 4);
    assert.ok(r.maxRssBytes < 256 * 2 ** 20, `peak RSS ${(r.maxRssBytes / 2 ** 20).toFixed(0)} MiB should be a fixed overhead (< 256 MiB) for a ${(r.bytes / 1e9).toFixed(1)} GB model`);
  } finally {
    await roots.cleanup();
  }
});
