// What import changes in a graph besides moving tensors out (split.ts):
// initializer-backed graph inputs dropped, shape-like tensors kept inline.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs/promises';
import path from 'node:path';
import ort from 'onnxruntime-node';
import { importModel } from './import.js';
import { graphPath, layout } from './layout.js';
import { onnxTypes, TO_OBJECT } from '../onnx/schema.js';
import { compatCorpus } from '../gen/compat-corpus.js';
import { tempRoots } from '../testing/tmp.js';

test('an IR 3 model imported at a 1-byte threshold: same inputs as plain ORT reports, shape tensors inline, weights in the store', async () => {
  const roots = await tempRoots('normalize');
  try {
    const file = path.join(roots.dir, 'ir3-cnn.onnx');
    await fs.writeFile(file, compatCorpus().find((m) => m.name === 'ir3-cnn')!.bytes);
    const plain = await ort.InferenceSession.create(file, { logSeverityLevel: 4 });
    const plainInputs = [...plain.inputNames];
    await plain.release();

    const { manifest } = await importModel(roots.repository, file, { name: 'cnn', minExternalBytes: 1 });
    assert.deepEqual(
      manifest.inputs.map((i) => i.name),
      plainInputs,
    );
    const { Model } = onnxTypes();
    const g = (
      Model.toObject(
        Model.decode(await fs.readFile(graphPath(layout(roots.repository), manifest.graph.sha256))),
        TO_OBJECT,
      ) as {
        graph: { input: { name: string }[]; initializer: { name: string; dataLocation?: number }[] };
      }
    ).graph;
    assert.deepEqual(
      g.input.map((i) => i.name),
      plainInputs,
    );
    const where = new Map(g.initializer.map((t) => [t.name, t.dataLocation === 1 ? 'store' : 'graph']));
    assert.equal(where.get('flat_SHAPE'), 'graph'); // Reshape's shape
    assert.equal(where.get('conv2_b_0__SHAPE'), 'graph'); // ConstantOfShape's input
    assert.equal(where.get('conv1_w'), 'store');
    assert.equal(where.get('bn_var'), 'store');
    assert.deepEqual(
      manifest.tensors.map((t) => t.name).filter((n) => n.endsWith('SHAPE')),
      [],
    );
  } finally {
    await roots.cleanup();
  }
});
