import { test } from 'node:test';
import assert from 'node:assert/strict';
import { isTensorshareError } from '../errors.js';
import { modelFromJson, nodesFromJson } from './inventory.js';
import { rankNodes } from './scorer.js';

test('inventory: a store manifest (graph counted, repeated hashes once) and node inventories rank as the scorer does', () => {
  const model = modelFromJson(
    {
      format: 'tensorshare.manifest/v1',
      name: 'bert-ft1',
      version: '1',
      graph: { sha256: 'g', bytes: 10 },
      tensors: [
        { name: 'a', sha256: 'x', bytes: 100, dtype: 'float32', dims: [25] },
        { name: 'b', sha256: 'x', bytes: 100, dtype: 'float32', dims: [25] },
        { name: 'c', sha256: 'y', bytes: 50, dtype: 'float32', dims: [12] },
      ],
    },
    'm.json',
  );
  assert.deepEqual(model, {
    model: 'bert-ft1:1',
    tensors: [
      { hash: 'x', bytes: 100 },
      { hash: 'y', bytes: 50 },
      { hash: 'g', bytes: 10 },
    ],
  });
  const nodes = nodesFromJson(
    {
      nodes: [
        { node: 'a', freeBytes: 1000, resident: ['y'], repository: ['x'] },
        { node: 'b', freeBytes: 1000, resident: ['x'] },
        { node: 'c', freeBytes: 10, resident: [] },
      ],
    },
    'n.json',
  );
  assert.deepEqual(
    rankNodes(model, nodes).map((s) => [s.node, s.residentBytes, s.repositoryBytes]),
    [
      ['b', 100, 0],
      ['a', 50, 100],
    ],
  );
  assert.deepEqual(modelFromJson({ model: 'm', tensors: [{ hash: 'h', bytes: 1 }] }, 'x'), {
    model: 'm',
    tensors: [{ hash: 'h', bytes: 1 }],
  });
});

test('inventory: bad JSON names the file and the field', () => {
  const bad = (f: () => unknown, re: RegExp) =>
    assert.throws(f, (e) => isTensorshareError(e, 'ERR_INVALID_ARGUMENT') && re.test(e.message));
  bad(() => modelFromJson([], 'm.json'), /^m\.json: want an object/);
  bad(() => modelFromJson({ model: 'm' }, 'm.json'), /no 'tensors' array/);
  bad(() => modelFromJson({ model: 'm', tensors: [{ hash: 'h', bytes: -1 }] }, 'm.json'), /tensors\[0\]: bytes/);
  bad(
    () =>
      modelFromJson(
        {
          model: 'm',
          tensors: [
            { hash: 'h', bytes: 1 },
            { hash: 'h', bytes: 2 },
          ],
        },
        'm.json',
      ),
    /hash h appears with 1 and 2 bytes/,
  );
  bad(() => nodesFromJson({}, 'n.json'), /want an array/);
  bad(() => nodesFromJson([{ node: 'a' }], 'n.json'), /node 'a': freeBytes/);
  bad(() => nodesFromJson([{ node: 'a', freeBytes: 1, resident: [1] }], 'n.json'), /'resident' must be an array/);
});
