// Import's one pass: a large model's tensors are copied and hashed on worker
// threads from ranges of the source file, and the file's identity is the
// source digest computed in the same pass (src/onnx/source-digest.ts) rather
// than a second hash of every byte. These tests pin that the worker path
// stores what the inline path does, that the digest names the bytes and
// nothing else, that the same bytes imported again are a no-op, and that
// repositories written before the digest existed keep working.
import { test, describe, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import fs from 'node:fs/promises';
import path from 'node:path';
import { mlp, MLP_TINY, writeModel } from '../gen/index.js';
import { isTensorshareError } from '../errors.js';
import { splitModel, type TensorSink } from '../onnx/split.js';
import { mountSmallTmpfs, tempRoots, type SmallTmpfs, type TempRoots } from '../testing/tmp.js';
import { HASH_THREADS_FROM_BYTES, importModel } from './import.js';
import { layout, manifestPath } from './layout.js';
import { verify } from './maintenance.js';
import { stampedImport } from './source-stamp.js';

/** A sink that only hashes what it is written (no copyRange: the split reads every byte itself). */
async function hashingSink(): Promise<TensorSink> {
  const h = createHash('sha256');
  const chunks: Buffer[] = [];
  let bytes = 0;
  return {
    async write(c) {
      h.update(c);
      chunks.push(Buffer.from(c));
      bytes += c.length;
    },
    finish: async () => ({ sha256: h.digest('hex'), bytes }),
    abort: async () => {},
    readBack: async () => Buffer.concat(chunks),
  };
}

const sha256Of = async (file: string) =>
  createHash('sha256')
    .update(await fs.readFile(file))
    .digest('hex');

/** File offset of the bytes of the model's first tensor of at least 1 KiB (a segment of its own in the digest). */
async function weightOffset(file: string): Promise<number> {
  const split = await splitModel(file, { newSink: hashingSink });
  const weight = split.tensors.find((t) => t.bytes >= 1024);
  assert.ok(weight, 'the model has a weight of at least 1 KiB');
  const at = (await fs.readFile(file)).indexOf(await weight.sink.readBack());
  assert.ok(at > 0, 'its bytes are found in the file');
  return at;
}

/** A copy of `file` at `to` with the byte at `pos` flipped. */
async function flipped(file: string, to: string, pos: number): Promise<void> {
  const bytes = await fs.readFile(file);
  bytes[pos] = bytes[pos]! ^ 1;
  await fs.writeFile(to, bytes);
}

/** An MLP whose file is just over the size from which import uses worker threads. */
const LARGE = { layers: 2, width: 3000, seed: 3 };

describe('import of a large model on worker threads', () => {
  let roots: TempRoots;
  let file: string;
  before(async () => {
    roots = await tempRoots('ts-import-pool');
    file = path.join(roots.store, 'large.onnx'); // tmpfs: fast to write
    await writeModel(mlp(LARGE), file);
    assert.ok((await fs.stat(file)).size >= HASH_THREADS_FROM_BYTES, 'the model takes the worker path');
  });
  after(() => roots.cleanup());

  test('stores the tensors, graph and source digest that a split reading every byte itself gives; hashSource adds the whole file SHA-256', async () => {
    const r = await importModel(roots.repository, file, { name: 'large', hashSource: true });
    assert.equal(r.outcome, 'created');
    assert.ok(r.phases.split > 0 && r.phases.commit > 0, 'phases are reported');
    const inline = await splitModel(file, { newSink: hashingSink });
    assert.equal(r.manifest.digest, createHash('sha256').update(inline.graph).digest('hex'), 'same graph');
    assert.deepEqual(
      r.manifest.tensors.map((t) => [t.name, t.sha256, t.bytes]),
      inline.tensors.map((t) => [t.name, t.sha256, t.bytes]),
    );
    assert.equal(r.manifest.source.digest, inline.source.digest, 'same source digest');
    assert.equal(r.manifest.source.sha256, await sha256Of(file));
    // Every stored tensor file holds the bytes its name says.
    assert.deepEqual((await verify(layout(roots.repository))).problems, []);

    // The same bytes under another path (no stamp): found by digest with nothing split or written.
    const copy = path.join(roots.store, 'copy.onnx');
    await fs.copyFile(file, copy);
    const again = await importModel(roots.repository, copy, { name: 'large' });
    assert.equal(again.outcome, 'existing');
    assert.equal(again.manifest.version, r.manifest.version);
    assert.equal(again.phases.split, 0, 'no split: the source digest matched before staging');
    await fs.rm(copy);
  });
});

describe('the source digest', () => {
  let roots: TempRoots;
  before(async () => {
    roots = await tempRoots('ts-source-digest');
  });
  after(() => roots.cleanup());

  test('depends on the bytes only: not on the path or the external-data threshold; any changed byte changes it', async () => {
    const file = path.join(roots.dir, 'm.onnx');
    await writeModel(mlp(MLP_TINY), file);
    const digestOf = async (f: string, minExternalBytes?: number) =>
      (await splitModel(f, { newSink: hashingSink, minExternalBytes })).source.digest;
    const d = await digestOf(file);
    assert.match(d, /^[0-9a-f]{64}$/);
    assert.notEqual(d, await sha256Of(file), 'not the whole-file hash');
    for (const threshold of [1, 100, 1 << 20])
      assert.equal(await digestOf(file, threshold), d, `threshold ${threshold}`);
    const at = await weightOffset(file);
    const other = path.join(roots.dir, 'other.onnx');
    await flipped(file, other, at + 17);
    assert.notEqual(await digestOf(other), d, 'a byte inside a tensor segment');
    // A byte of the weight's own name, in the structure just before its bytes.
    const name = (await fs.readFile(file)).lastIndexOf('layers.0.weight', at, 'latin1');
    assert.ok(name > 0, "the weight's name precedes its bytes");
    await flipped(file, other, name);
    assert.notEqual(await digestOf(other), d, 'a byte of the structure between tensors');
  });

  test('a repository written before the digest (whole-file SHA-256 only) still finds the same bytes and stamps them', async () => {
    const file = path.join(roots.dir, 'old.onnx');
    await writeModel(mlp({ ...MLP_TINY, seed: 9 }), file);
    const first = await importModel(roots.repository, file, { name: 'old' });
    const l = layout(roots.repository);
    // Rewrite the manifest as an older import wrote it: the whole file's SHA-256, no digest.
    const mp = manifestPath(l, 'old', first.manifest.version);
    const m = JSON.parse(await fs.readFile(mp, 'utf8'));
    delete m.source.digest;
    m.source.sha256 = await sha256Of(file);
    await fs.writeFile(mp, JSON.stringify(m));
    assert.equal(await stampedImport(l, 'old', undefined, file), undefined, 'the stamp names the digest it saw');
    const copy = path.join(roots.dir, 'old-copy.onnx');
    await fs.copyFile(file, copy);
    const again = await importModel(roots.repository, copy, { name: 'old' });
    assert.equal(again.outcome, 'existing');
    assert.equal(again.phases.split, 0, 'found by the whole-file hash, not split');
    assert.equal((await stampedImport(l, 'old', undefined, copy))?.version, first.manifest.version, 'stamped');
    // Other bytes of the same size are another version.
    await flipped(file, copy, (await weightOffset(file)) + 5);
    const other = await importModel(roots.repository, copy, { name: 'old' });
    assert.equal(other.outcome, 'created');
    assert.notEqual(other.manifest.version, first.manifest.version);
  });
});

describe('disk full on the worker path', () => {
  let roots: TempRoots;
  let mnt: string;
  let small: SmallTmpfs;
  let mounted = false;
  before(async () => {
    roots = await tempRoots('ts-pool-enospc');
    mnt = path.join(roots.dir, 'small');
    small = await mountSmallTmpfs(mnt, '40m');
    mounted = small.mounted;
  });
  after(async () => {
    await small.unmount();
    await roots.cleanup();
  });

  test('a worker that runs out of space fails the import with ERR_NO_SPACE and leaves nothing', async (t) => {
    if (!mounted) return t.skip('cannot mount a small tmpfs here (needs root)');
    const file = path.join(roots.store, 'large.onnx');
    await writeModel(mlp(LARGE), file);
    const repo = path.join(mnt, 'repo');
    await assert.rejects(
      importModel(repo, file, { name: 'large' }),
      (e) => isTensorshareError(e, 'ERR_NO_SPACE') && /no space left/.test(e.message),
    );
    const l = layout(repo);
    for (const d of [l.models, l.tensors, l.graphs, l.tmp])
      assert.deepEqual(await fs.readdir(d).catch(() => []), [], `${d} should be empty`);
  });
});
