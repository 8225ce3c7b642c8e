// Fine-tuned variants share every tensor byte-for-byte except the last K units'.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import os from 'node:os';
import path from 'node:path';
import ort from 'onnxruntime-node';
import { isTensorshareError } from '../errors.js';
import { bert, BERT_TINY } from './bert.js';
import { resnet50, RESNET_TINY } from './resnet.js';
import { mlp, MLP_TINY } from './mlp.js';
import { readInitializers } from '../testing/read-model.js';
import { fineTuned, variedTensorNames, variantPath } from './variants.js';
import { writeModel } from './writer.js';
import { withTempDir } from '../testing/tmp.js';
import type { ModelSpec } from './spec.js';

const M = 3;
const cases: Array<{ spec: ModelSpec; k: number; expectVaried: (name: string) => boolean }> = [
  // BERT_TINY has 2 encoder layers: K=1 varies layer 1 only.
  { spec: bert(BERT_TINY), k: 1, expectVaried: (n) => n.startsWith('encoder.layer.1.') },
  // 5 blocks + fc: K=2 varies the last block (layer4.0) and fc.
  { spec: resnet50(RESNET_TINY), k: 2, expectVaried: (n) => n.startsWith('layer4.0.') || n.startsWith('fc.') },
  { spec: mlp(MLP_TINY), k: 2, expectVaried: (n) => n.startsWith('layers.1.') || n.startsWith('layers.2.') },
];

const same = (a: Uint8Array, b: Uint8Array) => Buffer.compare(a, b) === 0;

for (const { spec, k, expectVaried } of cases) {
  test(`${spec.kind}: ${M} variants differ exactly in the last ${k} units`, async () => {
    await withTempDir(os.tmpdir(), async (dir) => {
      const out = path.join(dir, `${spec.kind}.onnx`);
      const base = await readInitializers((await writeModel(spec, out)).model);
      const results = [];
      for (const v of fineTuned(spec, { variants: M, diffLayers: k, seed: 5 }))
        results.push(await writeModel(v, variantPath(out, v.variant!.index), { format: 'external-single' }));
      assert.deepEqual(
        results.map((r) => r.model),
        [1, 2, 3].map((i) => variantPath(out, i)),
      );
      const variants = await Promise.all(results.map((r) => readInitializers(r.model)));

      const varied = new Set(variedTensorNames(spec, k));
      assert.ok(varied.size > 0);
      for (const name of base.keys()) assert.equal(varied.has(name), expectVaried(name), name);

      for (const [name, t] of base) {
        const all = [t, ...variants.map((v) => v.get(name)!)];
        for (const v of all) assert.deepEqual(v.dims, t.dims);
        if (varied.has(name)) {
          // Base and each variant pairwise different.
          for (let i = 0; i < all.length; i++)
            for (let j = i + 1; j < all.length; j++)
              assert.ok(!same(all[i]!.data, all[j]!.data), `${name} ${i} vs ${j}`);
        } else {
          for (const v of all) assert.ok(same(v.data, t.data), `${name} shared`);
        }
      }

      // A variant is a working model too.
      const s = await ort.InferenceSession.create(results[0]!.model);
      assert.deepEqual(
        s.inputNames,
        spec.inputs.map((i) => i.name),
      );
      await s.release();
    });
  });
}

test('variants are deterministic in (base, seed, index) and differ across variant seeds', () => {
  const spec = mlp(MLP_TINY);
  const a = fineTuned(spec, { variants: 2, diffLayers: 1, seed: 1 });
  const b = fineTuned(spec, { variants: 2, diffLayers: 1, seed: 1 });
  const c = fineTuned(spec, { variants: 2, diffLayers: 1, seed: 2 });
  assert.deepEqual(a, b);
  const last = (s: ModelSpec) => s.initializers.find((t) => t.name === 'layers.2.weight')!.salt;
  assert.notEqual(last(a[0]!), last(c[0]!));
  assert.equal(a[0]!.name, 'mlp-ft1');
});

test('diffLayers outside 1..layerCount is ERR_INVALID_ARGUMENT', () => {
  const spec = mlp(MLP_TINY);
  assert.throws(
    () => fineTuned(spec, { variants: 1, diffLayers: 4 }),
    (e: unknown) => isTensorshareError(e, 'ERR_INVALID_ARGUMENT'),
  );
  assert.throws(
    () => fineTuned(spec, { variants: 1, diffLayers: 0 }),
    (e: unknown) => isTensorshareError(e, 'ERR_INVALID_ARGUMENT'),
  );
  assert.throws(
    () => fineTuned(spec, { variants: 0, diffLayers: 1 }),
    (e: unknown) => isTensorshareError(e, 'ERR_INVALID_ARGUMENT'),
  );
});
