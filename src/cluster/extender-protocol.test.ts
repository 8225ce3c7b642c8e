import { test } from 'node:test';
import assert from 'node:assert/strict';
import { candidateNodes, extenderArgs } from './extender-protocol.js';

test("extender arguments in kube-scheduler's casing (Go fields without JSON tags) read like lowercase ones", () => {
  const pod = { metadata: { name: 'p', annotations: { 'tensorshare.dev/model': 'm' } } };
  const nodes = { items: [{ metadata: { name: 'a' } }, { metadata: { name: 'b' } }] };
  const goCase = extenderArgs({ Pod: pod, Nodes: nodes, NodeNames: null });
  assert.deepEqual(goCase.pod, pod);
  assert.deepEqual(candidateNodes(goCase), ['a', 'b']);
  assert.deepEqual(candidateNodes(extenderArgs({ pod, nodenames: ['c'] })), ['c']);
  assert.throws(() => extenderArgs([1]), /must be a JSON object/);
  assert.throws(() => candidateNodes(extenderArgs({ Nodes: nodes })), /need a pod/);
});
