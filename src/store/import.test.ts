import { test, describe, before, after } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs/promises';
import path from 'node:path';
import { spawn } from 'node:child_process';
import { importModel } from './import.js';
import { layout } from './layout.js';
import { listModels, resolveModel } from './repository.js';
import { du, gc, removeModel, verify } from './maintenance.js';
import { testEnv } from '../testing/env.js';
import { FIXTURES } from '../testing/fixtures.js';
import { mountSmallTmpfs, tempRoots, type SmallTmpfs, type TempRoots } from '../testing/tmp.js';
import { writeChain, type Format } from '../testing/models.js';
import { isTensorshareError } from '../errors.js';
import { onnxTypes } from '../onnx/schema.js';

async function listFiles(dir: string): Promise<string[]> {
  try {
    return (await fs.readdir(dir, { recursive: true })).map(String).sort();
  } catch {
    return [];
  }
}

/** Nothing published: no manifests, tensors, graphs, and no staging left behind. */
async function assertNothingWritten(repository: string): Promise<void> {
  const l = layout(repository);
  for (const d of [l.models, l.tensors, l.graphs, l.tmp])
    assert.deepEqual(await listFiles(d), [], `${d} should be empty`);
}

describe('import', () => {
  let roots: TempRoots;
  before(async () => {
    roots = await tempRoots('import');
  });
  after(async () => {
    await roots.cleanup();
  });

  for (const format of ['embedded', 'external-single', 'external-per-tensor'] as Format[]) {
    test(`accepts ${format} weights and stores each tensor once, by content`, async () => {
      const file = await writeChain(path.join(roots.dir, format), 'chain', { width: 64, layers: 3 }, format);
      const repo = path.join(roots.dir, `repo-${format}`);
      const r = await importModel(repo, file, { name: 'chain' });
      assert.equal(r.outcome, 'created');
      assert.equal(r.manifest.version, '1');
      assert.equal(r.manifest.tensors.length, 3);
      const l = layout(repo);
      for (const t of r.manifest.tensors) {
        const st = await fs.stat(path.join(l.tensors, t.sha256));
        assert.equal(st.size, 64 * 64 * 4);
        assert.equal(st.mode & 0o777, 0o444, 'tensor files are read-only');
      }
      assert.deepEqual(await listFiles(l.tmp), [], 'staging cleaned');
    });
  }

  test('the same content gives the same tensors, graph and digest whatever the source format', async () => {
    const digests = new Set<string>();
    for (const format of ['embedded', 'external-single', 'external-per-tensor'] as Format[]) {
      const file = await writeChain(path.join(roots.dir, `same-${format}`), 'chain', { width: 32, layers: 2 }, format);
      digests.add((await importModel(roots.repository, file, { name: `same-${format}` })).manifest.digest);
    }
    assert.equal(digests.size, 1);
  });

  test('identical tensors across models are stored once; du reports the dedup', async () => {
    const repo = path.join(roots.dir, 'dedup');
    const base = await writeChain(path.join(roots.dir, 'ft'), 'base', { width: 128, layers: 4, seed: 7 });
    const tuned = await writeChain(path.join(roots.dir, 'ft'), 'tuned', {
      width: 128,
      layers: 4,
      seed: 7,
      tuned: { layers: [3], seed: 99 },
    });
    await importModel(repo, base, { name: 'base' });
    const r2 = await importModel(repo, tuned, { name: 'tuned' });
    assert.equal(r2.tensorsAdded, 1, 'only the fine-tuned layer is new');
    const usage = await du(layout(repo));
    const layer = 128 * 128 * 4;
    assert.equal(
      usage.physicalBytes - usage.models.reduce((a, m) => a + m.logicalBytes - m.tensors * layer, 0),
      5 * layer,
      'five distinct weight files',
    );
    assert.ok(usage.dedupRatio > 1.5, `dedup ratio ${usage.dedupRatio}`);
    const tunedUsage = usage.models.find((m) => m.ref === 'tuned:1')!;
    assert.equal(tunedUsage.sharedBytes >= 3 * layer, true);
  });

  test('re-importing identical content is idempotent; a different model under an existing version is refused', async () => {
    const file = await writeChain(path.join(roots.dir, 'idem'), 'm', { width: 32, layers: 2 });
    const a = await importModel(roots.repository, file, { name: 'idem', version: 'v1' });
    const b = await importModel(roots.repository, file, { name: 'idem', version: 'v1' });
    assert.equal(b.outcome, 'existing');
    assert.equal(b.manifest.digest, a.manifest.digest);
    const c = await importModel(roots.repository, file, { name: 'idem' });
    assert.equal(c.outcome, 'existing', 'no version given: reuse the identical one');
    const other = await writeChain(path.join(roots.dir, 'idem2'), 'm', { width: 32, layers: 2, seed: 5 });
    await assert.rejects(
      importModel(roots.repository, other, { name: 'idem', version: 'v1' }),
      (e) => isTensorshareError(e, 'ERR_VERSION_EXISTS') && /idem:v1/.test(e.message),
    );
    const d = await importModel(roots.repository, other, { name: 'idem' });
    assert.equal(d.outcome, 'created');
    assert.equal(
      (await resolveModel(layout(roots.repository), 'idem')).digest,
      d.manifest.digest,
      'the newest version is the default',
    );
  });

  test('imports models whose weights are Constant nodes (paddle2onnx) and If subgraphs (silero VAD)', async () => {
    const rec = await importModel(roots.repository, FIXTURES.ocrRec, { name: 'ocr-rec' });
    assert.ok(rec.manifest.tensors.length > 50);
    assert.ok(rec.manifest.graph.bytes < 200_000, `graph ${rec.manifest.graph.bytes} bytes: weights moved out`);
    const vad = await importModel(roots.repository, FIXTURES.vad, { name: 'vad' });
    assert.ok(
      vad.manifest.graph.bytes < 100_000,
      `graph ${vad.manifest.graph.bytes} bytes: subgraph weights moved out`,
    );
    assert.deepEqual(
      vad.manifest.inputs.map((i) => i.name),
      ['input', 'sr', 'h', 'c'],
    );
  });
});

describe('import rejects bad input, writing nothing', () => {
  let roots: TempRoots;
  before(async () => {
    roots = await tempRoots('badinput');
  });
  after(async () => {
    await roots.cleanup();
  });

  const expectRejected = async (file: string, code: string, pattern: RegExp) => {
    const repo = path.join(roots.dir, `repo-${path.basename(file)}`);
    await assert.rejects(importModel(repo, file, { name: 'bad' }), (e) => {
      assert.ok(isTensorshareError(e), `typed error, got ${e}`);
      assert.equal(e.code, code, e.message);
      assert.match(e.message, pattern);
      return true;
    });
    await assertNothingWritten(repo);
  };

  test('truncated ONNX', async () => {
    const bytes = await fs.readFile(FIXTURES.ocrCls);
    const file = path.join(roots.dir, 'truncated.onnx');
    await fs.writeFile(file, bytes.subarray(0, Math.floor(bytes.length / 2)));
    await expectRejected(file, 'ERR_INVALID_MODEL', /truncated\.onnx.*truncated/);
  });

  test('malformed bytes and empty files', async () => {
    const junk = path.join(roots.dir, 'junk.onnx');
    await fs.writeFile(junk, Buffer.from('this is not a protobuf at all, just text\n'.repeat(10)));
    await expectRejected(junk, 'ERR_INVALID_MODEL', /junk\.onnx/);
    const empty = path.join(roots.dir, 'empty.onnx');
    await fs.writeFile(empty, '');
    await expectRejected(empty, 'ERR_INVALID_MODEL', /empty\.onnx: empty file/);
  });

  test('unsupported data type', async () => {
    const { Model } = onnxTypes();
    const file = path.join(roots.dir, 'dtype.onnx');
    await fs.writeFile(
      file,
      Model.encode(
        Model.fromObject({
          irVersion: 8,
          opsetImport: [{ version: 17 }],
          graph: {
            name: 'g',
            initializer: [{ name: 'weird', dims: [4096], dataType: 99, rawData: Buffer.alloc(4096) }],
            node: [],
            input: [],
            output: [],
          },
        }),
      ).finish(),
    );
    await expectRejected(
      file,
      'ERR_UNSUPPORTED_DTYPE',
      /dtype\.onnx: initializer 'weird' has unsupported data type 99/,
    );
  });

  test('raw data that disagrees with the dims', async () => {
    const { Model } = onnxTypes();
    const file = path.join(roots.dir, 'dims.onnx');
    await fs.writeFile(
      file,
      Model.encode(
        Model.fromObject({
          irVersion: 8,
          opsetImport: [{ version: 17 }],
          graph: {
            name: 'g',
            initializer: [{ name: 'W', dims: [64, 64], dataType: 1, rawData: Buffer.alloc(5000) }],
            node: [],
            input: [],
            output: [],
          },
        }),
      ).finish(),
    );
    await expectRejected(
      file,
      'ERR_INVALID_MODEL',
      /'W' has 5000 bytes of raw_data but dims \[64, 64\] of float32 need 16384/,
    );
  });

  const withLocation = async (name: string, location: string) => {
    const dir = path.join(roots.dir, name);
    const file = await writeChain(dir, 'm', { width: 32, layers: 1 }, 'external-per-tensor');
    const { Model } = onnxTypes();
    const m = Model.decode(await fs.readFile(file)) as unknown as {
      graph: { initializer: { externalData: { key: string; value: string }[] }[] };
    };
    m.graph.initializer[0]!.externalData[0]!.value = location;
    await fs.writeFile(file, Model.encode(m as never).finish());
    return { dir, file };
  };

  test('external data with an absolute path', async () => {
    const { file } = await withLocation('abs', '/etc/passwd');
    await expectRejected(file, 'ERR_UNSAFE_EXTERNAL_PATH', /'\/etc\/passwd', which is an absolute path/);
  });

  test("external data with '..'", async () => {
    const { file } = await withLocation('dotdot', '../outside.bin');
    await expectRejected(file, 'ERR_UNSAFE_EXTERNAL_PATH', /contains '\.\.'/);
  });

  test('external data through a symlink that leaves the folder', async () => {
    const outside = path.join(roots.dir, 'secret.bin');
    await fs.writeFile(outside, Buffer.alloc(32 * 32 * 4, 1));
    const { dir, file } = await withLocation('symlink', 'link.bin');
    await fs.symlink(outside, path.join(dir, 'link.bin'));
    await expectRejected(file, 'ERR_UNSAFE_EXTERNAL_PATH', /symlink to outside the model folder/);
  });

  test('missing and truncated external data', async () => {
    const { file } = await withLocation('missing', 'nope.bin');
    await expectRejected(file, 'ERR_MISSING_EXTERNAL_DATA', /'nope\.bin', which does not exist/);
    const dir = path.join(roots.dir, 'short');
    const f2 = await writeChain(dir, 'm', { width: 32, layers: 1 }, 'external-single');
    await fs.truncate(path.join(dir, 'm.data'), 100);
    await expectRejected(f2, 'ERR_INVALID_MODEL', /which has only 100 \(truncated\?\)/);
  });

  test('a missing model file and a folder', async () => {
    await expectRejected(path.join(roots.dir, 'none.onnx'), 'ERR_INVALID_ARGUMENT', /no such file/);
    await expectRejected(roots.dir, 'ERR_INVALID_ARGUMENT', /is a folder/);
  });

  test('invalid names and versions', async () => {
    const file = await writeChain(path.join(roots.dir, 'names'), 'm', { width: 32, layers: 1 });
    await assert.rejects(importModel(roots.repository, file, { name: '../evil' }), (e) =>
      isTensorshareError(e, 'ERR_INVALID_ARGUMENT'),
    );
    await assert.rejects(importModel(roots.repository, file, { name: 'ok', version: 'a/b' }), (e) =>
      isTensorshareError(e, 'ERR_INVALID_ARGUMENT'),
    );
  });
});

describe('concurrency and crashes', () => {
  let roots: TempRoots;
  before(async () => {
    roots = await tempRoots('crash');
  });
  after(async () => {
    await roots.cleanup();
  });

  const cli = path.resolve('bin/tensorshare.js');
  const runImport = (file: string, name: string) =>
    new Promise<{ code: number | null; out: string; err: string }>((resolve) => {
      const p = spawn(
        process.execPath,
        [cli, '--repository', roots.repository, 'import', file, '--name', name, '--no-fast-run', '--json'],
        { stdio: ['ignore', 'pipe', 'pipe'], env: testEnv() },
      );
      let out = '';
      let err = '';
      p.stdout.on('data', (d) => (out += d));
      p.stderr.on('data', (d) => (err += d));
      p.on('close', (code) => resolve({ code, out, err }));
    });

  test('two concurrent imports of the same model both succeed with one result', async () => {
    const file = await writeChain(path.join(roots.dir, 'conc'), 'm', { width: 256, layers: 6 });
    const [a, b] = await Promise.all([runImport(file, 'conc'), runImport(file, 'conc')]);
    assert.equal(a.code, 0, a.err);
    assert.equal(b.code, 0, b.err);
    const ra = JSON.parse(a.out);
    const rb = JSON.parse(b.out);
    assert.deepEqual([ra.outcome, rb.outcome].sort(), ['created', 'existing']);
    assert.equal(ra.manifest.digest, rb.manifest.digest);
    const models = await listModels(layout(roots.repository));
    assert.deepEqual(
      models.map((m) => `${m.name}:${m.version}`),
      ['conc:1'],
    );
    assert.deepEqual((await verify(layout(roots.repository))).problems, []);
  });

  test('a process killed mid-import leaves no model and its leftovers are cleaned by the next import', async () => {
    // Large enough (~200 MB) that the import is still running when killed.
    const file = await writeChain(path.join(roots.dir, 'kill'), 'm', { width: 2048, layers: 12 }, 'external-single');
    const l = layout(roots.repository);
    const p = spawn(
      process.execPath,
      [cli, '--repository', roots.repository, 'import', file, '--name', 'killed', '--no-fast-run'],
      { stdio: 'ignore', env: testEnv() },
    );
    // Kill once staging has started to fill.
    for (let i = 0; i < 400; i++) {
      const staged = await listFiles(l.tmp);
      if (staged.some((f) => /-t\d+$/.test(f))) break;
      await new Promise((r) => setTimeout(r, 10));
    }
    p.kill('SIGKILL');
    await new Promise((r) => p.on('close', r));
    assert.ok(!(await listModels(l)).some((m) => m.name === 'killed'), 'no manifest for the killed import');
    assert.ok((await listFiles(l.tmp)).length > 0, 'the killed import left staging behind');
    const again = await runImport(file, 'killed');
    assert.equal(again.code, 0, again.err);
    assert.deepEqual(await listFiles(l.tmp), [], 'leftovers removed');
    assert.deepEqual((await verify(l)).problems, []);
  });
});

describe('disk full', () => {
  let roots: TempRoots;
  let mnt: string;
  let small: SmallTmpfs;
  let mounted = false;
  before(async () => {
    roots = await tempRoots('enospc');
    mnt = path.join(roots.dir, 'small');
    small = await mountSmallTmpfs(mnt, '24m');
    mounted = small.mounted;
  });
  after(async () => {
    await small.unmount();
    await roots.cleanup();
  });

  test('ENOSPC gives a clean error, leaves no partial file visible, and the next import succeeds once space exists', async (t) => {
    if (!mounted) return t.skip('cannot mount a small tmpfs here (needs root)');
    const repo = path.join(mnt, 'repo');
    const filler = path.join(mnt, 'filler');
    await fs.writeFile(filler, Buffer.alloc(18 << 20));
    await assert.rejects(
      importModel(repo, FIXTURES.ocrRec, { name: 'rec' }),
      (e) => isTensorshareError(e, 'ERR_NO_SPACE') && /no space left/.test(e.message),
    );
    await assertNothingWritten(repo);
    await fs.rm(filler);
    const r = await importModel(repo, FIXTURES.ocrRec, { name: 'rec' });
    assert.equal(r.outcome, 'created');
    assert.deepEqual((await verify(layout(repo))).problems, []);
  });
});

describe('rm, gc, verify', () => {
  let roots: TempRoots;
  before(async () => {
    roots = await tempRoots('maint');
  });
  after(async () => {
    await roots.cleanup();
  });

  test('gc keeps tensors a remaining model shares and frees the rest', async () => {
    const l = layout(roots.repository);
    const a = await writeChain(path.join(roots.dir, 'g'), 'a', { width: 64, layers: 3, seed: 3 });
    const b = await writeChain(path.join(roots.dir, 'g'), 'b', {
      width: 64,
      layers: 3,
      seed: 3,
      tuned: { layers: [2], seed: 4 },
    });
    await importModel(roots.repository, a, { name: 'a' });
    const mb = (await importModel(roots.repository, b, { name: 'b' })).manifest;
    await removeModel(l, 'a');
    const r = await gc(l);
    assert.equal(r.filesRemoved, 2, "a's graph and its one exclusive tensor");
    assert.equal(r.bytesFreed >= 64 * 64 * 4, true);
    for (const t of mb.tensors) await fs.access(path.join(l.tensors, t.sha256));
    await assert.rejects(removeModel(l, 'a'), (e) => isTensorshareError(e, 'ERR_MODEL_NOT_FOUND'));
  });

  test('verify reports a corrupted tensor and the models using it', async () => {
    const l = layout(roots.repository);
    const m = await resolveModel(l, 'b');
    const victim = path.join(l.tensors, m.tensors[0]!.sha256);
    await fs.chmod(victim, 0o644);
    const fh = await fs.open(victim, 'r+');
    await fh.write(Buffer.from([0xff, 0xfe]), 0, 2, 100);
    await fh.close();
    const r = await verify(l);
    assert.equal(r.problems.length, 1);
    assert.equal(r.problems[0]!.kind, 'corrupt');
    assert.deepEqual(r.problems[0]!.models, ['b:1']);
    await fs.rm(victim, { force: true });
    const r2 = await verify(l);
    assert.deepEqual(
      r2.problems.map((p) => p.kind),
      ['missing'],
    );
  });
});
