// The store may hold only what fast-run sessions map: the originals ORT reads
// while creating a session can be cut off (by the daemon owning the store,
// src/daemon/originals-keeper.ts; a store without one keeps them), restored
// from the repository in a creation window for the next creation, and are
// never cut while a window is open or while any process maps them; sessions
// opened before and after a cut compute bit for bit what plain ONNX Runtime
// computes. Real files, real ORT sessions, a real process mapping a file.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs/promises';
import path from 'node:path';
import ort from 'onnxruntime-node';
import { testEnv } from '../testing/env.js';
import { tempRoots, type TempRoots } from '../testing/tmp.js';
import { importModel } from './import.js';
import { mlp, writeModel } from '../gen/index.js';
import { buildFastRun, fastRunKey } from './fast-run.js';
import { layout, tensorPath } from './layout.js';
import { materializeVariant } from './materialize.js';
import { scanStore } from './evict.js';
import { spawn } from 'node:child_process';
import { openSession } from '../client/open-session.js';
import { cutOriginals, cuttableTensors, withOriginals } from './originals.js';
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

const key = () => fastRunKey(variant.ortVersion, variant.target);
const trimmedBytes = () => cuttableTensors(variant).reduce((a, t) => a + t.bytes - t.cutAt, 0);

test('the build records which originals ORT releases; a cut leaves running sessions alone, a window restores them, outputs stay bit-identical', async () => {
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
  const store = layout(roots.store);

  const first = await openSession('mlp', { ...paths, mode: 'fast-run' });
  assert.equal(first.mode, 'fast-run');
  assert.equal(await cutOff(), 0, 'without a daemon nothing cuts: the next open restores nothing');
  const out = async (s: typeof first) => bytesOf((await s.session.run(feeds()))[s.session.outputNames[0]!]!);
  assert.ok((await out(first)).equals(expected));
  const cut = await cutOriginals(store, variant, key());
  assert.equal(cut.cutBytes, trimmedBytes());
  assert.equal(await cutOff(), trimmedBytes());
  // This process maps the blobs of the cut files: those pages stay, the session computes the same.
  assert.ok((await out(first)).equals(expected), 'a session mapping a file while it is cut is untouched by the cut');
  // A cut store is whole for the store's readers: resident, verified, and nothing to copy.
  const scan = await scanStore(store);
  assert.ok(
    scan.resident.some((e) => e.kind === 'variant'),
    'a cut variant is still resident',
  );
  assert.deepEqual((await verify(store)).problems, [], 'verify of the store accepts cut files');
  const copied = await materializeVariant(layout(roots.repository), store, variant, key());
  assert.equal(copied.filesCopied, 0, 'cut files are restored in place by a window, never replaced by a copy');
  // The next creation: its window restores the originals in place, then creates.
  const second = await openSession('mlp', { ...paths, mode: 'fast-run' });
  assert.equal(await cutOff(), 0);
  assert.ok((await out(second)).equals(expected));
  assert.ok((await out(first)).equals(expected));
  await first.release();
  await second.release();
  assert.deepEqual((await verify(store)).problems, []);
});

test('a live creation window keeps the originals; a dead one does not; a failed creation leaves no marker', async () => {
  const store = layout(roots.store);
  const repo = layout(roots.repository);
  await fs.writeFile(path.join(store.tmp, `${process.ppid}-open-test`), '');
  const kept = await cutOriginals(store, variant, key());
  assert.deepEqual([kept.cutBytes, kept.kept], [0, 'window-open']);
  assert.equal(await cutOff(), 0);
  await fs.rm(path.join(store.tmp, `${process.ppid}-open-test`));
  await fs.writeFile(path.join(store.tmp, '2147483646-open-test'), ''); // no such pid
  await fs.writeFile(path.join(store.tmp, '2147483646-cut-test'), '');
  const cut = await cutOriginals(store, variant, key());
  assert.equal(cut.cutBytes, trimmedBytes(), 'dead processes neither hold a window nor a cut');
  const restored = await withOriginals(repo, store, variant, async () => 'created');
  assert.deepEqual([restored.value, restored.restoredBytes], ['created', trimmedBytes()]);
  await assert.rejects(
    withOriginals(repo, store, variant, () => Promise.reject(new Error('ORT refused'))),
    /ORT refused/,
  );
  assert.deepEqual(
    (await fs.readdir(store.tmp)).filter((e) => e.startsWith(`${process.pid}-open-`)),
    [],
    'a failed creation leaves no marker',
  );
});

test('a file whose originals another process maps is never cut (no mapping ever reaches past a file end)', async () => {
  const store = layout(roots.store);
  const [first, ...rest] = cuttableTensors(variant);
  assert.equal(await cutOff(), 0);
  // A creation outside any window, as ORT does it: the whole file mapped, originals included.
  const py = spawn(
    'python3',
    [
      '-c',
      'import mmap,sys\nf=open(sys.argv[1],"rb")\nm=mmap.mmap(f.fileno(),0,access=mmap.ACCESS_READ)\nm[-1]\nprint("mapped",flush=True)\nsys.stdin.read()',
      tensorPath(store, first!.sha256),
    ],
    { stdio: ['pipe', 'pipe', 'inherit'], env: testEnv() },
  );
  try {
    await new Promise<void>((res, rej) => {
      py.stdout!.once('data', () => res());
      py.once('exit', (c) => rej(new Error(`python exited (${c})`)));
    });
    const cut = await cutOriginals(store, variant, key());
    assert.equal(cut.mapped, 1);
    assert.equal(
      cut.cutBytes,
      rest.reduce((a, t) => a + t.bytes - t.cutAt, 0),
      'the other files are cut',
    );
    assert.equal((await fs.stat(tensorPath(store, first!.sha256))).size, first!.bytes, 'the mapped file stays whole');
  } finally {
    py.stdin!.end();
    await new Promise((r) => py.once('exit', r));
  }
  assert.equal((await cutOriginals(store, variant, key())).cutBytes, first!.bytes - first!.cutAt, 'cut once unmapped');
  await withOriginals(layout(roots.repository), store, variant, async () => undefined);
});

test('a cut file fails loudly: ONNX Runtime refuses to create a session over it without the window', async () => {
  const store = layout(roots.store);
  await cutOriginals(store, variant, key());
  assert.ok((await cutOff()) > 0);
  const graph = path.join(store.graphs, `${variant.graph.sha256}.onnx`);
  await assert.rejects(
    ort.InferenceSession.create(graph, {
      logSeverityLevel: 4,
      graphOptimizationLevel: 'disabled',
      extra: { session: { model_external_initializers_file_folder_path: store.tensors } },
    }),
  );
});
