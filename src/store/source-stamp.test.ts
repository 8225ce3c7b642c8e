// Source stamps: a re-import of an unchanged model file does not read it; any
// change the stat identity sees (content rewritten with the same size and the
// old mtime put back, a replaced file) is hashed and imported as before.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs/promises';
import path from 'node:path';
import { files } from '../file-calls.js';
import { fineTuned, mlp, MLP_TINY, writeModel } from '../gen/index.js';
import { tempRoots } from '../testing/tmp.js';
import { importModel } from './import.js';
import { layout } from './layout.js';
import { stampPath, stampedImport } from './source-stamp.js';

/** Paths `f` opened through the import path's file calls (src/file-calls.ts: what import and hashing read through). */
async function opened<T>(f: () => Promise<T>): Promise<{ result: T; paths: string[] }> {
  const paths: string[] = [];
  const real = files.open;
  files.open = ((p: Parameters<typeof files.open>[0], ...rest: unknown[]) => {
    paths.push(String(p));
    return (real as (...a: unknown[]) => ReturnType<typeof files.open>)(p, ...rest);
  }) as typeof files.open;
  try {
    return { result: await f(), paths };
  } finally {
    files.open = real;
  }
}

test('an unchanged file is not read again; a rewrite with the same size and mtime is', async () => {
  const roots = await tempRoots('ts-stamp');
  try {
    const [a, b] = fineTuned(mlp(MLP_TINY), { variants: 2, diffLayers: 1 });
    const file = path.join(roots.dir, 'model.onnx');
    await writeModel(a!, file);
    const first = await importModel(roots.repository, file, { name: 'm' });
    assert.equal(first.outcome, 'created');
    await fs.stat(stampPath(layout(roots.repository), 'm', file)); // written

    const again = await opened(() => importModel(roots.repository, file, { name: 'm' }));
    assert.equal(again.result.outcome, 'existing');
    assert.equal(again.result.manifest.version, first.manifest.version);
    assert.ok(!again.paths.includes(file), `the model file was not opened: ${again.paths.join(', ')}`);

    // Other weights, same size, the old mtime put back: ctime still moved, so it is read and imported.
    const other = path.join(roots.dir, 'other.onnx');
    await writeModel(b!, other);
    const st = await fs.stat(file);
    assert.equal((await fs.stat(other)).size, st.size);
    await fs.writeFile(file, await fs.readFile(other));
    await fs.utimes(file, st.atime, st.mtime);
    assert.equal(await stampedImport(layout(roots.repository), 'm', undefined, file), undefined);
    const changed = await opened(() => importModel(roots.repository, file, { name: 'm' }));
    assert.equal(changed.result.outcome, 'created');
    assert.notEqual(changed.result.manifest.version, first.manifest.version);
    assert.ok(changed.paths.includes(file));
    // ...and its new stamp serves the next import.
    const stamped = await stampedImport(layout(roots.repository), 'm', undefined, file);
    assert.equal(stamped?.version, changed.result.manifest.version);
    // A stamp names one model name: the same file under another name is imported for that name.
    assert.equal(await stampedImport(layout(roots.repository), 'n', undefined, file), undefined);
  } finally {
    await roots.cleanup();
  }
});

test('a stamp whose manifest is gone or records other bytes is ignored', async () => {
  const roots = await tempRoots('ts-stamp-gone');
  try {
    const [a] = fineTuned(mlp(MLP_TINY), { variants: 1, diffLayers: 1 });
    const file = path.join(roots.dir, 'model.onnx');
    await writeModel(a!, file);
    const first = await importModel(roots.repository, file, { name: 'm' });
    const l = layout(roots.repository);
    const manifest = path.join(l.models, 'm', `${first.manifest.version}.json`);
    const saved = await fs.readFile(manifest, 'utf8');
    await fs.writeFile(
      manifest,
      JSON.stringify({ ...JSON.parse(saved), source: { ...first.manifest.source, digest: '0'.repeat(64) } }),
    );
    assert.equal(await stampedImport(l, 'm', undefined, file), undefined, 'other source bytes recorded');
    await fs.rm(manifest);
    assert.equal(await stampedImport(l, 'm', undefined, file), undefined, 'manifest gone');
    await fs.writeFile(stampPath(l, 'm', file), 'not json');
    assert.equal(await stampedImport(l, 'm', undefined, file), undefined, 'a torn stamp');
    assert.equal((await importModel(roots.repository, file, { name: 'm' })).outcome, 'created');
  } finally {
    await roots.cleanup();
  }
});
