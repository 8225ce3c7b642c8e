// Large models (external data) import by streaming: peak memory stays near a
// fixed overhead, far below the model and even below one tensor. The default
// run proves it on a 300 MB model with 144 MiB tensors and a 128 MiB ceiling;
// BIG_TESTS=1 adds the 2.4 GB model (past protobuf's 2 GB limit), which
// writes 2.4 GB to /dev/shm and as much to the temp folder.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import path from 'node:path';
import fs from 'node:fs/promises';
import { execFileSync } from 'node:child_process';
import { mlp, writeModel } from '../gen/index.js';
import { testEnv } from '../testing/env.js';
import { tempRoots } from '../testing/tmp.js';

const MiB = 2 ** 20;

interface ImportRun {
  maxRssBytes: number;
  bytes: number;
  largestTensor: number;
  tensors: number;
}

async function importInChild(layers: number, width: number): Promise<ImportRun> {
  const roots = await tempRoots('large');
  try {
    const file = path.join(roots.store, 'big.onnx'); // source on tmpfs: fast to write, no disk wear
    await writeModel(mlp({ layers, width }), file, { format: 'external-single' });
    const out = execFileSync(
      process.execPath,
      [path.resolve('dist/src/testing/import-once.js'), roots.repository, file, 'big'],
      { encoding: 'utf8', env: testEnv() },
    );
    await fs.rm(path.join(roots.store, 'big.onnx.data'));
    return JSON.parse(out) as ImportRun;
  } finally {
    await roots.cleanup();
  }
}

const describeRun = (r: ImportRun) =>
  `imported ${(r.bytes / 1e9).toFixed(2)} GB (${r.tensors} tensors, largest ${(r.largestTensor / MiB).toFixed(0)} MiB) with peak RSS ${(r.maxRssBytes / MiB).toFixed(0)} MiB`;

test('a 300 MB model imports with peak memory below its largest tensor', async (t) => {
  const r = await importInChild(2, 6144);
  t.diagnostic(describeRun(r));
  assert.ok(r.bytes > 300e6, `model holds ${r.bytes} bytes of weights`);
  assert.equal(r.largestTensor, 6144 * 6144 * 4);
  assert.ok(r.largestTensor > 128 * MiB, 'one tensor is larger than the allowed peak');
  assert.ok(
    r.maxRssBytes < 128 * MiB,
    `peak RSS ${(r.maxRssBytes / MiB).toFixed(0)} MiB should be a fixed overhead (< 128 MiB) for a ${(r.bytes / 1e6).toFixed(0)} MB model`,
  );
});

test('a 2.4 GB model imports with peak memory far below its largest tensor', {
  skip: process.env.BIG_TESTS !== '1' && 'set BIG_TESTS=1 (writes 2.4 GB to /dev/shm)',
}, async (t) => {
  const r = await importInChild(9, 8192);
  t.diagnostic(describeRun(r));
  assert.ok(r.bytes > 2.2e9, `model holds ${r.bytes} bytes of weights`);
  assert.equal(r.largestTensor, 8192 * 8192 * 4);
  assert.ok(
    r.maxRssBytes < 256 * MiB,
    `peak RSS ${(r.maxRssBytes / MiB).toFixed(0)} MiB should be a fixed overhead (< 256 MiB) for a ${(r.bytes / 1e9).toFixed(1)} GB model`,
  );
});
