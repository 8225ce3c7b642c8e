// A daemonless fast-run open leaves only what sessions map in the store: the
// originals ORT reads while creating a session are cut off afterwards,
// restored from the repository for the next creation, kept while another
// process is creating one; sessions opened before and after a trim compute
// bit for bit what plain ONNX Runtime computes.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs/promises';
import path from 'node:path';
import ort from 'onnxruntime-node';
import { tempRoots, type TempRoots } from '../testing/tmp.js';
import { importModel } from './import.js';
import { mlp, writeModel } from '../gen/index.js';
import { buildFastRun, fastRunKey } from './fast-run.js';
import { layout, tensorPath, variantPath } from './layout.js';
import { materializeVariant } from './materialize.js';
import { openSession } from '../client/open-session.js';
import { cuttableTensors, withOriginals } from './originals.js';
import type { VariantManifest } from './manifest.js';
import { verify } from './maintenance.js';

let roots: TempRoots;
let file: string;
let variant: VariantManifest;
const feeds = () => ({
  x: new ort.Tensor(
    'float32',
    Float32Array.from({ length: 512 }, (_, i) => (i % 7) / 7),
    [1, 512],
  ),
});
const bytesOf = (t: ort.Tensor) => Buffer.from((t.data as Float32Array).buffer);

/** Bytes of originals not in the store now. */
async function cutOff(): Promise<number> {
  let missing = 0;
  for (const t of cuttableTensors(variant))
    missing += t.bytes - (await fs.stat(tensorPath(layout(roots.store), t.sha256))).size;
  return missing;
}

before(async () => {
  roots = await tempRoots('originals');
  file = path.join(roots.dir, 'mlp.onnx');
  await writeModel(mlp({ layers: 3, width: 512 }), file);
  const r = await importModel(roots.repository, file, { name: 'mlp' });
  variant = (await buildFastRun(layout(roots.repository), layout(roots.repository), r.manifest)).variant;
});
after(async () => {
  await roots.cleanup();
});

test('the build records which originals ORT releases; opens cut them off and restore them, outputs stay bit-identical', async () => {
  assert.equal(variant.status, 'ok');
  const prepacked = variant.tensors.filter((t) => t.prepacked > 0);
  assert.ok(prepacked.length > 0, 'MatMul weights are prepacked');
  assert.deepEqual(
    prepacked.map((t) => t.originalsTail),
    prepacked.map(() => 512 * 512 * 4),
    'each prepacked file ends with its original weight, ORT releases it after creating a session',
  );
  const plain = await ort.InferenceSession.create(file, { intraOpNumThreads: 1, logSeverityLevel: 4 });
  const expected = bytesOf((await plain.run(feeds()))[plain.outputNames[0]!]!);
  await plain.release();
  const paths = { repository: roots.repository, store: roots.store, sessionOptions: { intraOpNumThreads: 1 } };
  const trimmed = cuttableTensors(variant).reduce((a, t) => a + t.bytes - t.cutAt, 0);

  const first = await openSession('mlp', { ...paths, mode: 'fast-run' });
  assert.equal(first.mode, 'fast-run');
  assert.equal(await cutOff(), trimmed, 'after the creation the originals are out of the store');
  const out = async (s: typeof first) => bytesOf((await s.session.run(feeds()))[s.session.outputNames[0]!]!);
  assert.ok((await out(first)).equals(expected));
  // A second creation while the first session lives: restored for it, trimmed again after.
  const second = await openSession('mlp', { ...paths, mode: 'fast-run' });
  assert.equal(await cutOff(), trimmed);
  assert.ok((await out(second)).equals(expected));
  assert.ok((await out(first)).equals(expected), 'a session opened before the trim is untouched by it');
  await first.release();
  await second.release();
  assert.deepEqual((await verify(layout(roots.store))).problems, [], 'verify of the store accepts cut files');
});

test('another live process creating a session keeps the originals; a dead one does not', async () => {
  const store = layout(roots.store);
  const repo = layout(roots.repository);
  const key = fastRunKey(variant.ortVersion, variant.target);
  await fs.writeFile(path.join(store.tmp, `${process.ppid}-open-test`), '');
  const kept = await withOriginals(repo, store, variant, key, async () => 'created');
  assert.equal(kept.value, 'created');
  assert.equal(kept.outcome.kept, 'other-opens');
  assert.ok(kept.outcome.restoredBytes > 0, 'restored for this creation');
  assert.equal(await cutOff(), 0);
  await fs.rm(path.join(store.tmp, `${process.ppid}-open-test`));
  await fs.writeFile(path.join(store.tmp, '2147483646-open-test'), ''); // no such pid
  await fs.writeFile(path.join(store.tmp, '2147483646-cut-test'), '');
  const trimmed = await withOriginals(repo, store, variant, key, async () => 'created');
  assert.equal(trimmed.outcome.cutBytes, await cutOff(), 'dead processes neither hold a window nor a cut');
  assert.ok(trimmed.outcome.cutBytes > 0);
  await assert.rejects(
    withOriginals(repo, store, variant, key, () => Promise.reject(new Error('ORT refused'))),
    /ORT refused/,
  );
  assert.deepEqual(
    (await fs.readdir(store.tmp)).filter((e) => e.startsWith(`${process.pid}-open-`)),
    [],
    'a failed creation leaves no marker',
  );
});

test('a cut file fails loudly: ONNX Runtime refuses to create a session over it without the window', async () => {
  const paths = { repository: roots.repository, store: roots.store };
  await (await openSession('mlp', { ...paths, mode: 'fast-run' })).release();
  assert.ok((await cutOff()) > 0);
  const graph = path.join(layout(roots.store).graphs, `${variant.graph.sha256}.onnx`);
  await assert.rejects(
    ort.InferenceSession.create(graph, {
      logSeverityLevel: 4,
      graphOptimizationLevel: 'disabled',
      extra: { session: { model_external_initializers_file_folder_path: layout(roots.store).tensors } },
    }),
  );
  // A writer that copies what is missing (the daemon) sees cut files as such and makes them whole.
  const key = fastRunKey(variant.ortVersion, variant.target);
  await fs.rm(variantPath(layout(roots.store), variant.modelDigest, key));
  const copied = await materializeVariant(layout(roots.repository), layout(roots.store), variant, key);
  assert.equal(copied.filesCopied, cuttableTensors(variant).length);
  assert.equal(await cutOff(), 0);
});
