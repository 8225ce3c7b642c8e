// Nodes as network namespaces (one per node, on a bridge of their own), each
// with its own repository, tmpfs store, daemon and address, real HTTP between
// them: a fresh node warms up from a peer across the bridge, and a node whose
// peer is partitioned (its link down) warms up from the other peer. Needs
// root and `ip netns`; skipped with the reason otherwise (the loopback variant,
// cluster.test.ts, always runs).
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import path from 'node:path';
import { DaemonClient } from '../client/daemon-client.js';
import { importModel } from '../store/import.js';
import { uniqueTensors, type Manifest } from '../store/manifest.js';
import {
  checkTensors,
  stagingLeft,
  startNode,
  thinCopy,
  writeTokenFile,
  type ClusterNode,
} from '../testing/cluster.js';
import { killAll } from '../testing/daemon.js';
import { writeChain } from '../testing/models.js';
import { createNetwork, netnsUnavailable, type Network } from '../testing/netns.js';
import { tempRoots, type TempRoots } from '../testing/tmp.js';

after(killAll);

const why = netnsUnavailable();

describe('cluster in network namespaces', { skip: why }, () => {
  let roots: TempRoots;
  let net: Network;
  let manifest: Manifest;
  const nodes: ClusterNode[] = [];

  async function openOn(n: ClusterNode) {
    const c = new DaemonClient({ env: {}, socket: n.daemon.socket, name: 'netns-test' });
    try {
      return await c.open('chain');
    } finally {
      await c.disconnect();
    }
  }
  const warmUp = (n: ClusterNode) => n.daemon.logs.find((l) => l.msg === 'warm-up');
  async function assertClean(n: ClusterNode) {
    const files = await checkTensors(n.store);
    assert.ok(files.every((f) => f.ok));
    assert.deepEqual(
      files.map((f) => f.hash).sort(),
      uniqueTensors(manifest.tensors)
        .map((t) => t.sha256)
        .sort(),
    );
    assert.deepEqual(await stagingLeft(n.store), []);
  }

  before(async () => {
    roots = await tempRoots('ts-netns');
    net = createNetwork(3);
    const tokenFile = await writeTokenFile(roots.dir);
    const file = await writeChain(path.join(roots.dir, 'src'), 'chain', { width: 160, layers: 6 });
    manifest = (await importModel(roots.repository, file, { name: 'chain' })).manifest;
    const node = async (i: number, peers: string[]) => {
      const repository = i === 0 ? roots.repository : path.join(roots.dir, `repo-${i}`);
      if (i > 0) await thinCopy(roots.repository, repository);
      const n = await startNode({
        name: `node-${i}`,
        repository,
        store: path.join(roots.store, `n${i}`),
        tokenFile,
        host: net.nodes[i]!.address,
        peers,
        wrap: net.nodes[i]!.wrap,
      });
      nodes.push(n);
      return n;
    };
    const a = await node(0, []);
    await node(1, [a.agent]);
  });

  after(async () => {
    for (const n of nodes) await n.stop().catch(() => {});
    net?.remove();
    await roots?.cleanup();
  });

  test('a fresh node warms up from a peer in another namespace', async () => {
    const [a, b] = nodes;
    assert.match(a!.agent, /^10\.77\.0\.1:\d+$/);
    await openOn(a!);
    await openOn(b!);
    assert.deepEqual(Object.keys(warmUp(b!)?.bytesByPeer as object), ['node-0']);
    assert.equal(warmUp(b!)?.fromRepository, 0);
    await assertClean(b!);
  });

  test('with one peer partitioned (link down), the warm-up completes from the other', async () => {
    const [a, b] = nodes;
    const repository = path.join(roots.dir, 'repo-2');
    await thinCopy(roots.repository, repository);
    const c = await startNode({
      name: 'node-2',
      repository,
      store: path.join(roots.store, 'n2'),
      tokenFile: path.join(roots.dir, 'cluster.token'),
      host: net.nodes[2]!.address,
      peers: [a!.agent, b!.agent],
      wrap: net.nodes[2]!.wrap,
    });
    nodes.push(c);
    net.setLink(0, false);
    try {
      await openOn(c);
    } finally {
      net.setLink(0, true);
    }
    const w = warmUp(c);
    assert.deepEqual(Object.keys(w?.bytesByPeer as object), ['node-1']);
    assert.equal(w?.fromRepository, 0);
    assert.ok(c.daemon.logs.some((l) => l.msg === 'peer summary unavailable' && String(l.peer).includes('10.77.0.1')));
    await assertClean(c);
  });
});
