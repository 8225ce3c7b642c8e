// Fine-tuned variants of one graph share the runtime check's verdict: their
// structure keys are equal (external weights and descriptions differ; width
// 256 puts even the biases, 1 KiB, outside the graph), a change that
// can decide a load (another width) gives another key, and a second check of
// the same key answers without a check (its files need not even exist).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import path from 'node:path';
import { createHash } from 'node:crypto';
import { fineTuned, mlp, writeModel } from '../gen/index.js';
import { splitModel, type TensorSink } from '../onnx/split.js';
import { graphStructureKey } from './import.js';
import { checkRunnableIsolated } from './runtime-process.js';
import { tempRoots } from '../testing/tmp.js';

/** A sink that only hashes (and keeps the bytes for a read-back). */
const newSink = async (): Promise<TensorSink> => {
  const h = createHash('sha256');
  const parts: Buffer[] = [];
  let bytes = 0;
  return {
    async write(b) {
      h.update(b);
      parts.push(b);
      bytes += b.length;
    },
    async finish() {
      return { sha256: h.digest('hex'), bytes };
    },
    async abort() {},
    async readBack() {
      return Buffer.concat(parts);
    },
  };
};

test("fine-tuned variants share a structure key, another width does not, and a known key's check is not run again", async () => {
  const roots = await tempRoots('ts-structure-key');
  try {
    const files: string[] = [];
    const specs = [
      ...fineTuned(mlp({ layers: 2, width: 256, seed: 0 }), { variants: 2, diffLayers: 1 }),
      mlp({ layers: 2, width: 264, seed: 0 }),
    ];
    for (const [i, s] of specs.entries()) {
      files.push(path.join(roots.dir, `m${i}.onnx`));
      await writeModel(s, files[i]!);
    }
    const splits = await Promise.all(files.map((f) => splitModel(f, { newSink })));
    assert.notEqual(splits[0]!.tensors.at(-1)!.sha256, splits[1]!.tensors.at(-1)!.sha256, 'the variants differ');
    const [a, b, c] = await Promise.all(splits.map((s) => graphStructureKey(s)));
    assert.equal(a, b);
    assert.notEqual(a, c);

    const io = { inputs: [], outputs: [] };
    const missing = path.join(roots.dir, 'no-such-graph.onnx');
    await assert.rejects(checkRunnableIsolated(missing, roots.dir, io, 'unkeyed'), /unkeyed/);
    // Seed the key with a real check of a real graph, then ask again for files that do not exist.
    const { importModel } = await import('./import.js');
    const m = await importModel(roots.repository, files[0]!, { name: 'v0' });
    const again = await checkRunnableIsolated(missing, roots.dir, io, 'keyed', a);
    assert.deepEqual(again, m.manifest.runtime);
  } finally {
    await roots.cleanup();
  }
});
