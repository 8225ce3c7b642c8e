import { test } from 'node:test';
import assert from 'node:assert/strict';
import { isTensorshareError } from '../errors.js';
import { type ModelTensors, type NodeHoldings, rankNodes, scoreNode } from './scorer.js';

function node(name: string, freeBytes: number, resident: string[], repository: string[] = []): NodeHoldings {
  const r = new Set(resident);
  const p = new Set(repository);
  return { node: name, freeBytes, hasResident: (h) => r.has(h), hasInRepository: (h) => p.has(h) };
}

// A fine-tuned variant: shares the base's encoder (a, b), has its own head (h).
const variant: ModelTensors = {
  model: 'bert-ft',
  tensors: [
    { hash: 'a', bytes: 600 },
    { hash: 'b', bytes: 300 },
    { hash: 'h', bytes: 100 },
  ],
};

test('scoreNode splits the bytes into resident, repository-only and missing; needBytes is what the store adds', () => {
  const s = scoreNode(variant, node('n1', 400, ['a'], ['a', 'b']));
  assert.deepEqual(s, {
    node: 'n1',
    residentBytes: 600,
    repositoryBytes: 300,
    missingBytes: 100,
    needBytes: 400,
    fits: true,
  });
  assert.equal(scoreNode(variant, node('n1', 399, ['a'], ['a', 'b'])).fits, false, 'one byte short does not fit');
  const empty = scoreNode(variant, node('n2', 0, []));
  assert.deepEqual([empty.residentBytes, empty.missingBytes, empty.needBytes, empty.fits], [0, 1000, 1000, false]);
  const all = scoreNode(variant, node('n3', 0, ['a', 'b', 'h']));
  assert.deepEqual([all.needBytes, all.fits], [0, true], 'a fully resident model fits on a full node');
});

test('rankNodes: fitting nodes only, resident bytes first, then repository bytes, then name', () => {
  const nodes = [
    node('d', 10_000, []),
    node('c', 10_000, ['b'], ['a', 'b', 'h']),
    node('b', 10_000, ['a']),
    node('a', 10_000, ['a'], ['b']),
    node('full', 100, ['b']),
    node('e', 10_000, []),
  ];
  const ranked = rankNodes(variant, nodes);
  assert.deepEqual(
    ranked.map((s) => s.node),
    ['a', 'b', 'c', 'd', 'e'],
  );
  assert.deepEqual(
    ranked.map((s) => [s.residentBytes, s.repositoryBytes]),
    [
      [600, 300],
      [600, 0],
      [300, 700],
      [0, 0],
      [0, 0],
    ],
  );
  assert.deepEqual(rankNodes(variant, []), []);
});

test('bad input names the problem', () => {
  const dup: ModelTensors = {
    model: 'm',
    tensors: [
      { hash: 'x', bytes: 1 },
      { hash: 'x', bytes: 1 },
    ],
  };
  assert.throws(
    () => scoreNode(dup, node('n', 1, [])),
    (e) => isTensorshareError(e, 'ERR_INVALID_ARGUMENT') && /tensor x twice/.test(e.message),
  );
  const neg: ModelTensors = { model: 'm', tensors: [{ hash: 'x', bytes: -1 }] };
  assert.throws(
    () => scoreNode(neg, node('n', 1, [])),
    (e) => isTensorshareError(e, 'ERR_INVALID_ARGUMENT') && /bytes -1/.test(e.message),
  );
  assert.throws(
    () => rankNodes(variant, [node('n', 1, []), node('n', 2, [])]),
    (e) => isTensorshareError(e, 'ERR_INVALID_ARGUMENT') && /'n' is listed twice/.test(e.message),
  );
  assert.throws(
    () => scoreNode(variant, node('n', Number.NaN, [])),
    (e) => isTensorshareError(e, 'ERR_INVALID_ARGUMENT') && /freeBytes NaN/.test(e.message),
  );
});
