// importModel() on a worker thread: the same result as on the caller's thread,
// errors with their code and details, and close() lets an import under way
// finish (a thread killed mid-commit would leave the commit lock behind).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs/promises';
import path from 'node:path';
import { isTensorshareError } from '../errors.js';
import { mlp, MLP_TINY, writeModel } from '../gen/index.js';
import { importThread } from './import-thread.js';
import { listVersions } from './repository.js';
import { layout } from './layout.js';
import { tempRoots } from '../testing/tmp.js';

test('an import thread imports, reports typed errors, and finishes what is under way at close', async () => {
  const roots = await tempRoots('import-thread');
  const thread = importThread();
  try {
    const file = path.join(roots.dir, 'm.onnx');
    await writeModel(mlp(MLP_TINY), file);
    const r = await thread.importModel(roots.repository, file, { name: 'm' });
    assert.equal(r.outcome, 'created');
    assert.equal(r.manifest.name, 'm');
    assert.equal((await thread.importModel(roots.repository, file, { name: 'm' })).outcome, 'existing');

    const bad = path.join(roots.dir, 'bad.onnx');
    await fs.writeFile(bad, 'not an onnx model');
    await assert.rejects(
      thread.importModel(roots.repository, bad, { name: 'bad' }),
      (e: unknown) => isTensorshareError(e, 'ERR_INVALID_MODEL') && /bad\.onnx/.test(e.message),
    );
    await assert.rejects(thread.importModel(roots.repository, file, { name: 'not a name' }), (e: unknown) =>
      isTensorshareError(e, 'ERR_INVALID_ARGUMENT'),
    );

    const other = path.join(roots.dir, 'other.onnx');
    await writeModel(mlp({ ...MLP_TINY, seed: 7 }), other);
    const underWay = thread.importModel(roots.repository, other, { name: 'other' });
    await thread.close();
    assert.equal((await underWay).outcome, 'created', 'the import under way at close finished');
    assert.deepEqual(await listVersions(layout(roots.repository), 'other'), ['1']);
    await assert.rejects(thread.importModel(roots.repository, file, { name: 'm' }), (e: unknown) =>
      isTensorshareError(e, 'ERR_UNAVAILABLE'),
    );
  } finally {
    await thread.close();
    await roots.cleanup();
  }
});
