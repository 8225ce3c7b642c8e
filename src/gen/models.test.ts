// Each model kind loads in onnxruntime-node and computes finite outputs of the
// right shape; full-size configs match the real architectures' sizes.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import os from 'node:os';
import path from 'node:path';
import ort from 'onnxruntime-node';
import { bert, BERT_BASE, BERT_TINY } from './bert.js';
import { resnet50, RESNET_TINY } from './resnet.js';
import { mlp, MLP_DEFAULT, MLP_TINY } from './mlp.js';
import { paramCount, weightBytes, type ModelSpec } from './spec.js';
import { writeModel, modelFileSize, IR_VERSION, OPSET } from './writer.js';
import { readModelProto } from '../testing/read-model.js';
import { withTempDir } from '../testing/tmp.js';

function assertFinite(t: ort.Tensor, dims: number[]): Float32Array {
  assert.deepEqual(t.dims, dims);
  const data = t.data as Float32Array;
  assert.ok(data.every(Number.isFinite), 'all outputs finite');
  assert.ok(
    data.some((v) => v !== 0),
    'outputs not all zero',
  );
  return data;
}

const i64 = (vals: number[], dims: number[]) => new ort.Tensor('int64', BigInt64Array.from(vals, BigInt), dims);

async function runBert(modelPath: string, ids: number[][], mask?: number[][]): Promise<ort.Tensor> {
  const s = await ort.InferenceSession.create(modelPath);
  try {
    const b = ids.length,
      n = ids[0]!.length;
    const o = await s.run({
      input_ids: i64(ids.flat(), [b, n]),
      attention_mask: i64((mask ?? ids.map((r) => r.map(() => 1))).flat(), [b, n]),
      token_type_ids: i64(
        ids.flat().map(() => 0),
        [b, n],
      ),
    });
    return o.last_hidden_state!;
  } finally {
    await s.release();
  }
}

test('tiny BERT runs in ORT; padding masked out does not change other tokens', async () => {
  await withTempDir(os.tmpdir(), async (dir) => {
    const r = await writeModel(bert(BERT_TINY), path.join(dir, 'bert.onnx'));
    const model = await readModelProto(r.model);
    assert.equal(model.irVersion, IR_VERSION);
    assert.deepEqual(model.opsetImport, [{ domain: '', version: OPSET }]);

    const out = assertFinite(
      await runBert(
        r.model,
        [
          [2, 7, 9, 3],
          [2, 11, 3, 0],
        ],
        [
          [1, 1, 1, 1],
          [1, 1, 1, 0],
        ],
      ),
      [2, 4, 32],
    );
    // Row 2's first three tokens must equal the same sequence run unpadded:
    // the mask must turn the pad position into a -10000 attention bias.
    const alone = (await runBert(r.model, [[2, 11, 3]])).data as Float32Array;
    const padded = out.subarray(4 * 32, 4 * 32 + 3 * 32);
    for (let i = 0; i < alone.length; i++) assert.ok(Math.abs(alone[i]! - padded[i]!) < 1e-4, `token value ${i}`);
  });
});

test('tiny BERT with pooler has a pooler_output', async () => {
  await withTempDir(os.tmpdir(), async (dir) => {
    const r = await writeModel(bert({ ...BERT_TINY, pooler: true }), path.join(dir, 'bert.onnx'));
    const s = await ort.InferenceSession.create(r.model);
    assert.deepEqual(s.outputNames, ['last_hidden_state', 'pooler_output']);
    const o = await s.run({
      input_ids: i64([2, 5, 3], [1, 3]),
      attention_mask: i64([1, 1, 1], [1, 3]),
      token_type_ids: i64([0, 0, 1], [1, 3]),
    });
    assertFinite(o.pooler_output!, [1, 32]);
    await s.release();
  });
});

test('tiny ResNet runs in ORT', async () => {
  await withTempDir(os.tmpdir(), async (dir) => {
    const r = await writeModel(resnet50(RESNET_TINY), path.join(dir, 'resnet.onnx'));
    const s = await ort.InferenceSession.create(r.model);
    assert.deepEqual(s.inputNames, ['input']);
    const x = new Float32Array(2 * 3 * 32 * 32).map((_, i) => Math.sin(i * 0.37));
    const o = await s.run({ input: new ort.Tensor('float32', x, [2, 3, 32, 32]) });
    assertFinite(o.logits!, [2, 10]);
    await s.release();
  });
});

test('tiny MLP runs in ORT', async () => {
  await withTempDir(os.tmpdir(), async (dir) => {
    const r = await writeModel(mlp(MLP_TINY), path.join(dir, 'mlp.onnx'));
    const s = await ort.InferenceSession.create(r.model);
    const x = new Float32Array(3 * 32).map((_, i) => Math.cos(i));
    const o = await s.run({ x: new ort.Tensor('float32', x, [3, 32]) });
    assertFinite(o.y!, [3, 32]);
    await s.release();
  });
});

function shapes(spec: ModelSpec): Map<string, readonly number[]> {
  return new Map(spec.initializers.map((t) => [t.name, t.dims]));
}

test('BERT-base: shapes and parameter count of bert-base-uncased', () => {
  const spec = bert();
  const s = shapes(spec);
  assert.deepEqual(s.get('embeddings.word_embeddings.weight'), [30522, 768]);
  assert.deepEqual(s.get('embeddings.position_embeddings.weight'), [512, 768]);
  assert.deepEqual(s.get('embeddings.token_type_embeddings.weight'), [2, 768]);
  assert.deepEqual(s.get('encoder.layer.11.attention.self.query.weight'), [768, 768]);
  assert.deepEqual(s.get('encoder.layer.11.intermediate.dense.weight'), [768, 3072]);
  assert.deepEqual(s.get('encoder.layer.11.output.dense.weight'), [3072, 768]);
  assert.equal(s.has('encoder.layer.12.attention.self.query.weight'), false);
  // HF BertModel (bert-base-uncased) has 109,482,240 parameters, of which the
  // pooler is 768*768+768; the encoder-only export has the rest.
  assert.equal(paramCount(bert({ pooler: true })), 109_482_240);
  assert.equal(paramCount(spec), 109_482_240 - 590_592);
  assert.equal(spec.layerCount, BERT_BASE.layers);
  assert.ok(modelFileSize(spec) > 435e6 && modelFileSize(spec) < 436e6);
});

test('ResNet-50: shapes and parameter count of torchvision resnet50 with BN folded', () => {
  const spec = resnet50();
  const s = shapes(spec);
  assert.deepEqual(s.get('conv1.weight'), [64, 3, 7, 7]);
  assert.deepEqual(s.get('layer1.0.downsample.0.weight'), [256, 64, 1, 1]);
  assert.deepEqual(s.get('layer4.2.conv2.weight'), [512, 512, 3, 3]);
  assert.deepEqual(s.get('layer4.2.conv3.weight'), [2048, 512, 1, 1]);
  assert.deepEqual(s.get('fc.weight'), [1000, 2048]);
  const convs = spec.nodes.filter((n) => n.opType === 'Conv').length;
  assert.equal(convs, 53); // 1 stem + 16 blocks * 3 + 4 downsample
  // torchvision resnet50 has 25,557,032 parameters; folding BatchNorm turns
  // each BN's (gamma, beta) pair into one conv bias, removing one parameter
  // per BN channel (26,560 channels over the 53 BNs).
  const bnChannels = spec.initializers
    .filter((t) => t.name.endsWith('.bias') && t.name !== 'fc.bias')
    .reduce((n, t) => n + t.dims[0]!, 0);
  assert.equal(bnChannels, 26_560);
  assert.equal(paramCount(spec), 25_557_032 - 26_560);
  assert.equal(spec.layerCount, 17);
});

test('MLP default is 64 MiB of weights', () => {
  assert.equal(weightBytes(mlp()), MLP_DEFAULT.layers * (2048 * 2048 + 2048) * 4);
});

test('full-size BERT-base and ResNet-50 written to /dev/shm load and run', async () => {
  await withTempDir('/dev/shm', async (dir) => {
    const r = await writeModel(bert(), path.join(dir, 'bert.onnx'), { format: 'external-single' });
    assert.ok(r.weightBytes > 435e6);
    assertFinite(await runBert(r.model, [[101, 7592, 2088, 102]]), [1, 4, 768]);
  });
  await withTempDir('/dev/shm', async (dir) => {
    const r = await writeModel(resnet50(), path.join(dir, 'resnet.onnx'));
    const s = await ort.InferenceSession.create(r.model);
    const x = new Float32Array(3 * 224 * 224).map((_, i) => Math.sin(i * 0.01));
    const o = await s.run({ input: new ort.Tensor('float32', x, [1, 3, 224, 224]) });
    assertFinite(o.logits!, [1, 1000]);
    await s.release();
  });
});
