import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { TensorValue } from '../tensor/index.js';
import { concatTensors, splitTensor, concatInputs, splitOutputs, isBatchable, shapeKey } from './tensor.js';
import { isTensorshareError } from '../errors.js';

test('concat/split roundtrip: FP32 with trailing dims', () => {
  const a: TensorValue = { datatype: 'FP32', shape: [1, 3], data: new Float32Array([1, 2, 3]) };
  const b: TensorValue = { datatype: 'FP32', shape: [2, 3], data: new Float32Array([4, 5, 6, 7, 8, 9]) };
  const { tensor, sizes } = concatTensors([a, b]);
  assert.deepEqual(tensor.shape, [3, 3]);
  assert.ok(tensor.data instanceof Float32Array);
  assert.deepEqual([...(tensor.data as Float32Array)], [1, 2, 3, 4, 5, 6, 7, 8, 9]);
  assert.deepEqual(sizes, [1, 2]);
  const [a2, b2] = splitTensor(tensor, sizes);
  assert.ok(a2 && b2);
  assert.deepEqual(a2.shape, [1, 3]);
  assert.deepEqual([...(a2.data as Float32Array)], [1, 2, 3]);
  assert.deepEqual(b2.shape, [2, 3]);
  assert.deepEqual([...(b2.data as Float32Array)], [4, 5, 6, 7, 8, 9]);
});

test('concat/split roundtrip: INT64 (BigInt64Array)', () => {
  const a: TensorValue = { datatype: 'INT64', shape: [1, 2], data: new BigInt64Array([1n, 2n]) };
  const b: TensorValue = { datatype: 'INT64', shape: [1, 2], data: new BigInt64Array([3n, 4n]) };
  const { tensor, sizes } = concatTensors([a, b]);
  assert.deepEqual([...(tensor.data as BigInt64Array)], [1n, 2n, 3n, 4n]);
  assert.deepEqual(
    splitTensor(tensor, sizes).map((t) => [...(t.data as BigInt64Array)]),
    [
      [1n, 2n],
      [3n, 4n],
    ],
  );
});

test('concat/split roundtrip: BYTES (string[]) including empty and multi-row parts', () => {
  const parts: TensorValue[] = [
    { datatype: 'BYTES', shape: [1], data: ['héllo'] },
    { datatype: 'BYTES', shape: [0], data: [] },
    { datatype: 'BYTES', shape: [2], data: ['', 'y'] },
  ];
  const { tensor, sizes } = concatTensors(parts, 'text');
  assert.deepEqual(tensor, { datatype: 'BYTES', shape: [3], data: ['héllo', '', 'y'] });
  const grid: TensorValue[] = [
    { datatype: 'BYTES', shape: [1, 2], data: ['a', 'b'] },
    { datatype: 'BYTES', shape: [2, 2], data: ['c', 'd', 'e', 'f'] },
  ];
  const joined = concatTensors(grid);
  assert.deepEqual(joined.tensor.shape, [3, 2]);
  assert.deepEqual(splitTensor(joined.tensor, joined.sizes), grid);
  assert.deepEqual(sizes, [1, 0, 2]);
  assert.deepEqual(splitTensor(tensor, sizes), parts);
});

test('concat rejects mismatched datatype, trailing dims and element count', () => {
  const f = (shape: number[], n: number): TensorValue => ({ datatype: 'FP32', shape, data: new Float32Array(n) });
  assert.throws(
    () => concatTensors([f([1, 2], 2), { datatype: 'FP64', shape: [1, 2], data: new Float64Array(2) }]),
    (e) => isTensorshareError(e, 'ERR_INVALID_ARGUMENT'),
  );
  assert.throws(() => concatTensors([f([1, 2], 2), f([1, 3], 3)], 'x'), /x \(part 1\) has shape \[1,3\]/);
  assert.throws(() => concatTensors([f([2, 2], 3)]), /has 3 elements/);
  assert.throws(
    () =>
      concatTensors([
        { datatype: 'BYTES', shape: [1], data: ['a'] },
        { datatype: 'BYTES', shape: [1], data: new Uint8Array(1) },
      ]),
    /stores its data/,
  );
  assert.throws(() => splitTensor(f([3], 3), [1, 1]), /cannot split/);
});

test('concatInputs/splitOutputs: every request gets its own rows back', () => {
  const reqs = [1, 2, 3].map((k) => ({
    ids: { datatype: 'INT32', shape: [k, 2], data: new Int32Array(2 * k).fill(k) } as TensorValue,
    text: { datatype: 'BYTES', shape: [k], data: Array.from({ length: k }, () => `r${k}`) } as TensorValue,
  }));
  const { inputs, sizes } = concatInputs(reqs);
  assert.deepEqual(sizes, [1, 2, 3]);
  assert.deepEqual(inputs.ids?.shape, [6, 2]);
  // An identity "model": outputs are the inputs.
  const back = splitOutputs(inputs, sizes);
  back.forEach((out, i) => {
    const req = reqs[i];
    assert.ok(req && out.ids && out.text);
    assert.deepEqual([...(out.ids.data as Int32Array)], [...(req.ids.data as Int32Array)]);
    assert.deepEqual(out.text.data, req.text.data);
  });
  const [r0, r1] = reqs;
  assert.ok(r0 && r1);
  assert.throws(() => concatInputs([r0, { ids: r1.ids }]), /has inputs \[ids\]/);
});

test('shapeKey ignores axis 0 and separates other shapes', () => {
  const t = (shape: number[]): TensorValue => ({
    datatype: 'FP32',
    shape,
    data: new Float32Array(shape.reduce((a, b) => a * b, 1)),
  });
  assert.equal(shapeKey({ x: t([1, 128]) }), shapeKey({ x: t([4, 128]) }));
  assert.notEqual(shapeKey({ x: t([1, 128]) }), shapeKey({ x: t([1, 64]) }));
});

test('isBatchable: dynamic first dim on all inputs and outputs', () => {
  const io = (...shapes: (number | string)[][]) => shapes.map((shape) => ({ shape }));
  assert.equal(isBatchable({ inputs: io(['batch', 128], [-1, 128]), outputs: io(['batch', 2]) }), true);
  assert.equal(isBatchable({ inputs: io([1, 3, 224, 224]), outputs: io([1, 1000]) }), false);
  assert.equal(isBatchable({ inputs: io(['N', 3]), outputs: io([1000]) }), false, 'output has a fixed first dim');
  assert.equal(isBatchable({ inputs: io([]), outputs: io(['N']) }), false, 'unknown rank');
  assert.equal(isBatchable({ inputs: [], outputs: io(['N']) }), false);
  // ONNX Runtime's metadata: tensor values carry a shape, non-tensor values (sequences, maps) none.
  const ortMeta = [{ name: 'x', isTensor: true as const, shape: ['batch', 4] }];
  const nonTensor = [{ name: 'y', isTensor: false as const }];
  assert.equal(isBatchable({ inputs: ortMeta, outputs: nonTensor }), false);
  assert.equal(isBatchable({ inputs: ortMeta, outputs: ortMeta }), true);
});
