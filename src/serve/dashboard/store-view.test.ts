// The sharing matrix: bytes of distinct files each pair of model versions has in common.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { Manifest } from '../../store/manifest.js';
import { MAX_SHARING_MODELS, sharingMatrix } from './store-view.js';

const manifest = (name: string, graph: string, tensors: [string, number][]): Manifest =>
  ({
    name,
    version: '1',
    graph: { sha256: graph, bytes: 10 },
    tensors: tensors.map(([sha256, bytes], i) => ({ name: `t${i}`, sha256, bytes, dtype: 'float32', dims: [] })),
  }) as unknown as Manifest;

test('a fine-tuned family shares its common tensors; a repeated tensor counts once', () => {
  const m = sharingMatrix([
    manifest('ft', 'g2', [
      ['base1', 100],
      ['base2', 200],
      ['head-ft', 5],
    ]),
    manifest('base', 'g1', [
      ['base1', 100],
      ['base2', 200],
      ['head', 5],
      ['base1', 100],
    ]),
    manifest('other', 'g3', [['x', 50]]),
  ]);
  assert.deepEqual(m.refs, ['base:1', 'ft:1', 'other:1']);
  assert.deepEqual(m.bytes, [
    [315, 300, 0],
    [300, 315, 0],
    [0, 0, 60],
  ]);
});

test('the matrix keeps the largest versions when there are too many', () => {
  const many = Array.from({ length: MAX_SHARING_MODELS + 3 }, (_, i) =>
    manifest(`m${String(i).padStart(2, '0')}`, `g${i}`, [[`t${i}`, i]]),
  );
  const m = sharingMatrix(many);
  assert.equal(m.refs.length, MAX_SHARING_MODELS);
  assert.ok(!m.refs.includes('m00:1') && m.refs.includes(`m${MAX_SHARING_MODELS + 2}:1`));
});
