// Output formats, determinism, the 2 GiB guard and streaming memory use.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { createHash } from 'node:crypto';
import { mkdir, readdir, readFile, stat } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { fileURLToPath } from 'node:url';
import ort from 'onnxruntime-node';
import { isTensorshareError } from '../errors.js';
import { bert, BERT_TINY } from './bert.js';
import { resnet50, RESNET_TINY } from './resnet.js';
import { mlp, MLP_BIG, MLP_TINY } from './mlp.js';
import { readInitializers } from '../testing/read-model.js';
import { OUTPUT_FORMATS, writeModel, type OutputFormat } from './writer.js';
import { withTempDir } from '../testing/tmp.js';
import type { ModelSpec } from './spec.js';
import { testEnv } from '../testing/env.js';

type Feeds = Record<string, ort.Tensor>;
const i64 = (vals: number[], dims: number[]) => new ort.Tensor('int64', BigInt64Array.from(vals, BigInt), dims);

const cases: Array<{ spec: ModelSpec; feeds: () => Feeds }> = [
  {
    spec: bert(BERT_TINY),
    feeds: () => ({
      input_ids: i64([2, 8, 13, 3], [1, 4]),
      attention_mask: i64([1, 1, 1, 1], [1, 4]),
      token_type_ids: i64([0, 0, 1, 1], [1, 4]),
    }),
  },
  {
    spec: resnet50(RESNET_TINY),
    feeds: () => ({
      input: new ort.Tensor(
        'float32',
        new Float32Array(3 * 32 * 32).map((_, i) => Math.sin(i)),
        [1, 3, 32, 32],
      ),
    }),
  },
  {
    spec: mlp(MLP_TINY),
    feeds: () => ({
      x: new ort.Tensor(
        'float32',
        new Float32Array(32).map((_, i) => i / 32),
        [1, 32],
      ),
    }),
  },
];

async function run(modelPath: string, feeds: Feeds): Promise<Float32Array> {
  const s = await ort.InferenceSession.create(modelPath);
  try {
    const o = await s.run(feeds);
    return o[s.outputNames[0]!]!.data as Float32Array;
  } finally {
    await s.release();
  }
}

test('all three formats load in ORT and give identical outputs and tensor bytes', async () => {
  await withTempDir(os.tmpdir(), async (dir) => {
    for (const { spec, feeds } of cases) {
      const outputs = new Map<OutputFormat, Float32Array>();
      const tensors = new Map<OutputFormat, Map<string, Uint8Array>>();
      for (const format of OUTPUT_FORMATS) {
        const sub = path.join(dir, `${spec.kind}-${format}`);
        await mkdir(sub);
        const r = await writeModel(spec, path.join(sub, 'model.onnx'), { format });
        // Every written file is reported, and nothing else is in the folder.
        assert.deepEqual((await readdir(sub)).sort(), r.files.map((f) => path.basename(f.path)).sort());
        for (const f of r.files) assert.equal((await stat(f.path)).size, f.bytes);
        const decoded = await readInitializers(r.model);
        assert.equal(decoded.size, r.tensorCount);
        for (const t of decoded.values()) {
          if (format === 'embedded' || !t.external) continue;
          assert.ok(!path.isAbsolute(t.external.location) && !t.external.location.includes('/'), 'relative file name');
          if (format === 'external-single') {
            assert.equal(t.external.location, 'model.onnx.data');
            assert.equal(t.external.offset % 64, 0);
          } else {
            assert.equal(t.external.offset, 0);
          }
        }
        if (format === 'external-per-tensor') {
          const externals = [...decoded.values()].filter((t) => t.external).length;
          assert.equal(r.files.length, 1 + externals);
          assert.ok(externals > 0 && externals === spec.initializers.filter((t) => t.fill.kind === 'uniform').length);
        }
        tensors.set(format, new Map([...decoded].map(([k, v]) => [k, v.data])));
        outputs.set(format, await run(r.model, feeds()));
      }
      const ref = outputs.get('embedded')!;
      assert.ok(ref.every(Number.isFinite));
      for (const format of OUTPUT_FORMATS) {
        assert.deepEqual(outputs.get(format), ref, `${spec.kind} ${format} output`);
        assert.deepEqual(tensors.get(format), tensors.get('embedded'), `${spec.kind} ${format} tensors`);
      }
    }
  });
});

test('same spec and seed give byte-identical files; another seed differs', async () => {
  await withTempDir(os.tmpdir(), async (dir) => {
    for (const { spec } of cases) {
      for (const format of OUTPUT_FORMATS) {
        const sums: string[][] = [];
        for (const run of ['a', 'b']) {
          const sub = path.join(dir, `${spec.kind}-${format}-${run}`);
          await mkdir(sub);
          const r = await writeModel(spec, path.join(sub, 'model.onnx'), { format, sha256: true });
          for (const f of r.files)
            assert.equal(
              f.sha256,
              createHash('sha256')
                .update(await readFile(f.path))
                .digest('hex'),
              'reported sha256 matches the file',
            );
          sums.push(r.files.map((f) => `${path.basename(f.path)} ${f.sha256}`));
        }
        assert.deepEqual(sums[0], sums[1], `${spec.kind} ${format}`);
      }
      const base = await writeModel(spec, path.join(dir, `${spec.kind}-0.onnx`), { sha256: true });
      const other = await writeModel({ ...spec, seed: spec.seed + 1 }, path.join(dir, `${spec.kind}-1.onnx`), {
        sha256: true,
      });
      assert.notEqual(other.files[0]!.sha256, base.files[0]!.sha256);
    }
  });
});

test('embedded output over 2 GiB is refused before anything is written', async () => {
  await withTempDir(os.tmpdir(), async (dir) => {
    const out = path.join(dir, 'big.onnx');
    await assert.rejects(
      writeModel(mlp(MLP_BIG), out),
      (e: unknown) => isTensorshareError(e, 'ERR_INVALID_ARGUMENT') && /2 GiB/.test(e.message),
    );
    assert.deepEqual(await readdir(dir), []);
  });
});

test('unknown format is ERR_INVALID_ARGUMENT', async () => {
  await assert.rejects(
    writeModel(mlp(MLP_TINY), path.join(os.tmpdir(), 'never.onnx'), { format: 'zip' as OutputFormat }),
    (e: unknown) => isTensorshareError(e, 'ERR_INVALID_ARGUMENT'),
  );
});

test('writing streams: peak memory stays far below the model size', async () => {
  // A child process, so the peak (VmHWM) measures the writer alone.
  const writer = path.join(path.dirname(fileURLToPath(import.meta.url)), 'writer.js');
  const mlpMod = path.join(path.dirname(fileURLToPath(import.meta.url)), 'mlp.js');
  await withTempDir('/dev/shm', async (dir) => {
    const script = `
      const { writeModel } = await import(${JSON.stringify(writer)});
      const { mlp } = await import(${JSON.stringify(mlpMod)});
      const r = await writeModel(mlp({ layers: 4, width: 4096 }), ${JSON.stringify(path.join(dir, 'm.onnx'))}, { sha256: true });
      const hwm = Number(/VmHWM:\\s+(\\d+)/.exec(require('node:fs').readFileSync('/proc/self/status', 'utf8'))[1]) * 1024;
      console.log(JSON.stringify({ bytes: r.totalBytes, hwm }));`;
    const { stdout } = await promisify(execFile)(
      process.execPath,
      ['--input-type=commonjs', '-e', `(async () => { ${script} })()`],
      { env: testEnv() },
    );
    const { bytes, hwm } = JSON.parse(stdout) as { bytes: number; hwm: number };
    assert.ok(bytes > 256 * 2 ** 20);
    assert.ok(hwm < 160 * 2 ** 20, `peak RSS ${hwm} bytes while writing ${bytes}`);
  });
});

test('big MLP (> 2 GiB, external data) loads and runs', {
  skip: process.env.BIG_TESTS !== '1' && 'set BIG_TESTS=1 (writes 3 GiB to /dev/shm)',
}, async () => {
  await withTempDir('/dev/shm', async (dir) => {
    const t0 = performance.now();
    const r = await writeModel(mlp(MLP_BIG), path.join(dir, 'big.onnx'), { format: 'external-single' });
    const written = performance.now() - t0;
    assert.ok(r.totalBytes > 3 * 2 ** 30);
    const y = await run(r.model, {
      x: new ort.Tensor('float32', new Float32Array(MLP_BIG.width).fill(0.5), [1, MLP_BIG.width]),
    });
    assert.equal(y.length, MLP_BIG.width);
    assert.ok(y.every(Number.isFinite));
    console.log(`big MLP: ${r.totalBytes} bytes written in ${written.toFixed(0)} ms`);
  });
});
