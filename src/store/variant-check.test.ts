import { test } from 'node:test';
import assert from 'node:assert/strict';
import ort from 'onnxruntime-node';
import { checkVariant } from './variant-check.js';
import { encodeTinyModel, Onnx } from '../gen/tiny-onnx.js';

const F = Onnx.FLOAT;
const io = (name: string) => ({ name, dataType: F, dims: [2] });
const model = (op: string, inputs = ['x']) =>
  encodeTinyModel({ name: op, inputs: inputs.map(io), outputs: [io('y')], nodes: [{ op, inputs, outputs: ['y'] }] });
const creator = (bytes: Buffer) => () => ort.InferenceSession.create(bytes, { logSeverityLevel: 4 });
const sizes = { modelBytes: 100, variantNewBytes: 100 };

test('a variant that computes the same outputs through the same interface passes', async () => {
  const ref = await creator(model('Relu'))();
  try {
    assert.deepEqual(await checkVariant(ort, ref, creator(model('Relu')), sizes), { probe: 'passed' });
  } finally {
    await ref.release();
  }
});

test('a variant with other inputs, other outputs on the probe, a load failure or a blow-up is refused with the reason', async () => {
  const ref = await creator(model('Relu'))();
  try {
    const moreInputs = await checkVariant(ort, ref, creator(model('Add', ['x', 'conv4_b_0__SHAPE'])), sizes);
    assert.match(
      moreInputs.problem!,
      /inputs differ.*model x: float32\[2\], variant x: float32\[2\]; conv4_b_0__SHAPE/,
    );
    const other = await checkVariant(ort, ref, creator(model('Neg')), sizes);
    assert.match(other.problem!, /computes something else on the probe input: output 'y' differs/);
    const broken = await checkVariant(ort, ref, () => Promise.reject(new Error('duplicate initializer')), sizes);
    assert.match(broken.problem!, /cannot load the variant it saved: duplicate initializer/);
    const huge = await checkVariant(ort, ref, creator(model('Relu')), {
      modelBytes: 1 << 20,
      variantNewBytes: 1 << 30,
    });
    assert.match(huge.problem!, /adds 1073741824 bytes of tensors for a model of 1048576/);
  } finally {
    await ref.release();
  }
});
