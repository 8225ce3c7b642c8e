// The import path's file calls: node:fs/promises by default; callInPlace()
// makes them synchronous on the calling thread only (each thread has its own
// module instance), and an import on such a thread gives the same model.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fsp from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { Worker } from 'node:worker_threads';
import { files } from './file-calls.js';
import { fineTuned, mlp, MLP_TINY, writeModel } from './gen/index.js';
import { withTempDir } from './testing/tmp.js';
import { importModel } from './store/import.js';

test('callInPlace changes the calls of its own thread only; an import there gives the same manifest', () =>
  withTempDir(os.tmpdir(), async (dir) => {
    const [spec] = fineTuned(mlp(MLP_TINY), { variants: 1, diffLayers: 1 });
    const file = path.join(dir, 'model.onnx');
    await writeModel(spec!, file);
    const here = await importModel(path.join(dir, 'repo-here'), file, { name: 'm' });
    // A worker calls in place, then imports the same file into a repository of its own.
    const body = `
      const { parentPort, workerData } = require('node:worker_threads');
      (async () => {
        const calls = await import(workerData.calls);
        const fsp = require('node:fs/promises');
        const before = calls.files.stat === fsp.stat;
        calls.callInPlace();
        const size = (await calls.files.stat(workerData.file)).size;
        const { importModel } = await import(workerData.importer);
        const r = await importModel(workerData.repo, workerData.file, { name: 'm' });
        parentPort.postMessage({ before, after: calls.files.stat === fsp.stat, size, manifest: r.manifest });
      })().catch((e) => parentPort.postMessage({ error: String(e && e.stack || e) }));
    `;
    const worker = new Worker(body, {
      eval: true,
      workerData: {
        calls: new URL('./file-calls.js', import.meta.url).href,
        importer: new URL('./store/import.js', import.meta.url).href,
        repo: path.join(dir, 'repo-there'),
        file,
      },
    });
    const answer = await new Promise<Record<string, unknown>>((resolve, reject) => {
      worker.once('message', resolve);
      worker.once('error', reject);
    });
    await worker.terminate();
    assert.equal(answer.error, undefined, String(answer.error));
    assert.equal(answer.before, true, 'the promise calls until callInPlace');
    assert.equal(answer.after, false, 'in place after it');
    assert.equal(answer.size, (await fsp.stat(file)).size);
    assert.equal(files.stat, fsp.stat, "this thread's calls are unchanged");
    const there = answer.manifest as typeof here.manifest;
    assert.equal(there.digest, here.manifest.digest, 'the same graph');
    assert.deepEqual(
      there.tensors.map((t) => t.sha256),
      here.manifest.tensors.map((t) => t.sha256),
      'the same tensors',
    );
  }));
