// The inventory annotation against a fake Kubernetes API server (a real local
// HTTP server, src/testing/fake-kube-api.ts): the publisher's rate limit and
// change detection on a fake clock, token rotation, a refused PATCH, the
// bound; a real daemon publishing its node's annotation; and the extender
// scoring from the annotations kube-scheduler passes, without asking agents.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs/promises';
import path from 'node:path';
import pino from 'pino';
import { DaemonClient } from '../client/daemon-client.js';
import { importModel } from '../store/import.js';
import { CLUSTER_TOKEN, startNode, writeTokenFile, type ClusterNode } from '../testing/cluster.js';
import { killAll } from '../testing/daemon.js';
import { startFakeKubeApi, type FakeKubeApi } from '../testing/fake-kube-api.js';
import { writeChain } from '../testing/models.js';
import { tempRoots, type TempRoots } from '../testing/tmp.js';
import { until } from '../testing/until.js';
import { agentDirectory } from './agent-directory.js';
import { createExtender } from './extender.js';
import { digestHashes } from './hash-set.js';
import { noWarmUps, type Summary } from './inventory.js';
import { createKubeApi } from './kube-api.js';
import {
  createPublisher,
  decodeInventory,
  encodeInventory,
  INVENTORY_ANNOTATION,
  MAX_ANNOTATION_BYTES,
} from './publish.js';
import { clusterToken } from './token.js';

after(killAll);

const hex = (i: number) => i.toString(16).padStart(64, '0');

function summary(node: string, models: [string, number][], resident: string[], freeBytes = 1000): Summary {
  return {
    format: 'tensorshare.summary/v1',
    node,
    capacity: { budgetBytes: 2000, usedBytes: 1000, reclaimableBytes: 0 },
    freeBytes,
    residentTensors: resident.length,
    residentBytes: resident.length * 10,
    resident: digestHashes(resident),
    repository: digestHashes(resident),
    models: models.map(([model, residentFraction]) => ({ model, digest: hex(1), bytes: 10, residentFraction })),
    modelsLeftOut: 0,
    warmUp: noWarmUps(),
  };
}

describe('inventory annotation', () => {
  let roots: TempRoots;
  let api: FakeKubeApi;
  let tokenFile: string;

  before(async () => {
    roots = await tempRoots('ts-publish');
    api = await startFakeKubeApi({ token: 'sa-token-1', nodes: ['node-p', 'node-q'] });
    tokenFile = path.join(roots.dir, 'sa-token');
    await fs.writeFile(tokenFile, 'sa-token-1\n');
  });
  after(async () => {
    await api?.close();
    await roots?.cleanup();
  });

  test('one PATCH per interval at most, only on change or when old; a rotated token is read again', async () => {
    let t = 0;
    let snap = summary('node-p', [['chain:1', 0.5]], [hex(2)]);
    const p = createPublisher({
      api: createKubeApi({ url: api.url, tokenFile }),
      node: 'node-p',
      snapshot: async () => ({ summary: snap, residentHashes: [hex(2)] }),
      minIntervalMs: 1000,
      refreshMs: 10_000,
      log: pino({ level: 'silent' }),
      now: () => t,
      date: () => new Date(1_700_000_000_000 + t),
    });
    const patches = () => api.requests.filter((r) => r.method === 'PATCH').length;
    assert.equal(await p.tick(), 'published');
    assert.equal(api.requests.at(-1)?.contentType, 'application/merge-patch+json');
    const first = decodeInventory(api.nodes.get('node-p')!.metadata.annotations[INVENTORY_ANNOTATION]!);
    assert.deepEqual(first.models, [['chain:1', 0.5]]);
    assert.equal(first.at, new Date(1_700_000_000_000).toISOString());
    snap = summary('node-p', [['chain:1', 1]], [hex(2)]);
    t = 500;
    assert.equal(await p.tick(), 'too-soon');
    t = 1500;
    await fs.writeFile(tokenFile, 'sa-token-2\n');
    api.token = 'sa-token-2';
    assert.equal(await p.tick(), 'published');
    assert.deepEqual(decodeInventory(api.nodes.get('node-p')!.metadata.annotations[INVENTORY_ANNOTATION]!).models, [
      ['chain:1', 1],
    ]);
    t = 3000;
    assert.equal(await p.tick(), 'unchanged');
    t = 12_000;
    assert.equal(await p.tick(), 'published', 'an unchanged inventory is refreshed once old');
    assert.equal(patches(), 3);
  });

  test("a PATCH of another node is refused with the API server's reason, and retried no sooner than the interval", async () => {
    api.mayPatch.delete('node-q');
    let t = 0;
    const lines: string[] = [];
    const log = pino({ level: 'warn' }, { write: (l: string) => lines.push(l) });
    const p = createPublisher({
      api: createKubeApi({ url: api.url, tokenFile }),
      node: 'node-q',
      snapshot: async () => ({ summary: summary('node-q', [], []), residentHashes: [] }),
      minIntervalMs: 1000,
      refreshMs: 10_000,
      log,
      now: () => t,
    });
    assert.equal(await p.tick(), 'failed');
    assert.equal(await p.tick(), 'too-soon');
    t = 1000;
    assert.equal(await p.tick(), 'failed');
    assert.equal(lines.length, 1, 'one warning per reason');
    assert.match(lines[0]!, /HTTP 403: nodes \\"node-q\\" is forbidden/);
    assert.deepEqual(p.counters(), { patches: 2, failures: 2 });
  });

  test('the annotation stays bounded for thousands of models and tensors, keeping the most resident', () => {
    const models = Array.from({ length: 5000 }, (_, i): [string, number] => [
      `model-${i}-${'x'.repeat(40)}`,
      1 - i / 5000,
    ]);
    const hashes = Array.from({ length: 13_000 }, (_, i) => hex(i + 10));
    const text = encodeInventory(summary('node-p', models, hashes), hashes, new Date());
    assert.ok(Buffer.byteLength(text) <= MAX_ANNOTATION_BYTES, `${Buffer.byteLength(text)} bytes`);
    const p = decodeInventory(text);
    assert.ok(p.models.length > 0 && p.models.length < 5000);
    assert.equal(p.models.length + p.modelsLeftOut, 5000);
    assert.equal(p.models[0]![0], models[0]![0]);
    assert.throws(() => decodeInventory('{"format":"x"}'), { code: 'ERR_INVALID_ARGUMENT' });
  });

  describe('a real daemon', () => {
    let node: ClusterNode;
    before(async () => {
      const file = await writeChain(path.join(roots.dir, 'src'), 'chain', { width: 64, layers: 3 });
      await importModel(roots.repository, file, { name: 'chain' });
      api.mayPatch.add('node-p');
      node = await startNode({
        name: 'node-p',
        repository: roots.repository,
        store: path.join(roots.store, 'p'),
        tokenFile: await writeTokenFile(roots.dir),
        host: '127.0.0.1',
        flags: ['--publish-inventory', '1s', '--kube-api', api.url, '--kube-token-file', tokenFile],
      });
    });
    after(async () => {
      await node?.stop().catch(() => {});
    });

    test("publishes its node's annotation, which the extender scores from without asking agents", async () => {
      const c = new DaemonClient({ env: {}, socket: node.daemon.socket, name: 'publish-test' });
      await c.open('chain');
      await c.disconnect();
      const published = await until(
        () => {
          const text = api.nodes.get('node-p')!.metadata.annotations[INVENTORY_ANNOTATION];
          return text && decodeInventory(text).models.some(([m, f]) => m === 'chain:1' && f === 1) && text;
        },
        15_000,
        'the annotation shows chain:1 resident',
      );
      const p = decodeInventory(published);
      // node-q has no agent at all: only its annotation can say that the model does not fit there.
      const q = encodeInventory(summary('node-q', [], [], 0), [], new Date(p.at));
      const stale = encodeInventory(summary('node-r', [], [], 0), [], new Date(Date.parse(p.at) - 120_000));
      const ext = createExtender({
        agents: agentDirectory([node.agent], { token: clusterToken(CLUSTER_TOKEN) }),
        log: pino({ level: 'silent' }),
        now: () => Date.parse(p.at) + 1000,
      });
      const items = [
        { metadata: { name: 'node-p', annotations: { [INVENTORY_ANNOTATION]: published } } },
        { metadata: { name: 'node-q', annotations: { [INVENTORY_ANNOTATION]: q } } },
        { metadata: { name: 'node-r', annotations: { [INVENTORY_ANNOTATION]: stale } } },
      ];
      const pod = { metadata: { name: 'x', annotations: { 'tensorshare.dev/model': 'chain' } } };
      const f = (await ext.app.inject({ method: 'POST', url: '/filter', payload: { pod, nodes: { items } } })).json();
      assert.deepEqual(
        f.nodes.items.map((n: { metadata: { name: string } }) => n.metadata.name),
        ['node-p', 'node-r'],
        'node-r: too old an annotation and no agent, so kept for the other filters',
      );
      assert.match(f.failedNodes['node-q'], /needs .* more in this node's store/);
      const pr = (
        await ext.app.inject({ method: 'POST', url: '/prioritize', payload: { pod, nodes: { items } } })
      ).json();
      assert.deepEqual(pr, [
        { host: 'node-p', score: 10 },
        { host: 'node-q', score: 0 },
        { host: 'node-r', score: 0 },
      ]);
    });
  });
});
