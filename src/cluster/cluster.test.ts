// Several real nodes (daemon + agent, own repository and tmpfs store) on
// loopback addresses, real HTTP between them: warm-up from a peer, a peer
// process killed mid-transfer, a clear error when nothing can deliver,
// authentication, and the extender over the nodes' real summaries. Wrong
// bytes and stalled peers: peer-fetch.test.ts (in-process servers, real
// HTTP and files); network namespaces and partitions: cluster-netns.test.ts.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import path from 'node:path';
import pino from 'pino';
import { DaemonClient } from '../client/daemon-client.js';
import { importModel } from '../store/import.js';
import { uniqueTensors, type Manifest } from '../store/manifest.js';
import {
  checkTensors,
  CLUSTER_TOKEN,
  stagingLeft,
  startNode,
  thinCopy,
  writeTokenFile,
  type ClusterNode,
} from '../testing/cluster.js';
import { killAll, spawnScriptWorker, type WorkerProc } from '../testing/daemon.js';
import { writeChain } from '../testing/models.js';
import { tempRoots, type TempRoots } from '../testing/tmp.js';
import { createAgentClient } from './agent-client.js';
import { agentDirectory } from './agent-directory.js';
import { createExtender } from './extender.js';
import { clusterToken } from './token.js';

after(killAll);

const HOST = '127.0.0.1';

describe('cluster on loopback', () => {
  let roots: TempRoots;
  let tokenFile: string;
  let manifest: Manifest;
  let a: ClusterNode;
  let b: ClusterNode;
  let d: ClusterNode;
  let f: ClusterNode;
  let g: ClusterNode;
  let dying: { w: WorkerProc; address: string };
  const nodes: ClusterNode[] = [];
  const hostile: WorkerProc[] = [];

  /** A fresh node with a thin repository (no tensor files): what it opens must come from peers. */
  async function freshNode(name: string, peers: string[], flags: string[] = []): Promise<ClusterNode> {
    const repository = path.join(roots.dir, `repo-${name}`);
    await thinCopy(roots.repository, repository);
    const n = await startNode({
      name,
      repository,
      store: path.join(roots.store, name),
      tokenFile,
      host: HOST,
      peers,
      flags,
    });
    nodes.push(n);
    return n;
  }

  async function hostilePeer(mode: 'corrupt' | 'half' | 'stall'): Promise<{ w: WorkerProc; address: string }> {
    const tensors = uniqueTensors(manifest.tensors).map((t) => ({ hash: t.sha256, bytes: t.bytes }));
    const w = spawnScriptWorker('hostile-peer.js', { mode, node: `liar-${mode}`, host: HOST, tensors });
    hostile.push(w);
    const ev = await w.waitFor((e) => e.event === 'listening');
    return { w, address: ev.address as string };
  }

  async function openOn(n: ClusterNode) {
    const c = new DaemonClient({ env: {}, socket: n.daemon.socket, name: 'cluster-test' });
    try {
      return await c.open('chain');
    } finally {
      await c.disconnect();
    }
  }

  const warmUps = (n: ClusterNode) => n.daemon.logs.filter((l) => l.msg === 'warm-up');
  const allTensors = () =>
    uniqueTensors(manifest.tensors)
      .map((t) => t.sha256)
      .sort();

  /** The store holds exactly the model's tensors, each hashing to its name, and no staging leftovers. */
  async function assertClean(n: ClusterNode) {
    const files = await checkTensors(n.store);
    assert.deepEqual(
      files.filter((f) => !f.ok),
      [],
      'a tensor file whose bytes do not hash to its name',
    );
    assert.deepEqual(files.map((f) => f.hash).sort(), allTensors());
    assert.deepEqual(await stagingLeft(n.store), []);
  }

  before(async () => {
    roots = await tempRoots('ts-cluster');
    tokenFile = await writeTokenFile(roots.dir);
    const file = await writeChain(path.join(roots.dir, 'src'), 'chain', { width: 192, layers: 8 });
    manifest = (await importModel(roots.repository, file, { name: 'chain' })).manifest;
    assert.ok(uniqueTensors(manifest.tensors).length >= 8);
    a = await startNode({
      name: 'node-a',
      repository: roots.repository,
      store: path.join(roots.store, 'a'),
      tokenFile,
      host: HOST,
    });
    nodes.push(a);
    await openOn(a);
    dying = await hostilePeer('half');
    const liar = await hostilePeer('corrupt');
    // Started together: most of a test's time is daemons starting.
    [b, d, f, g] = await Promise.all([
      freshNode('node-b', [a.agent]),
      freshNode('node-d', [dying.address, a.agent], ['--peer-parallel', '1', '--peer-idle-timeout', '30s']),
      freshNode('node-f', [liar.address]),
      freshNode('node-g', [], ['--budget', '64KiB']),
    ]);
  });

  after(async () => {
    for (const w of hostile) w.proc.kill('SIGKILL');
    for (const n of nodes) await n.stop().catch(() => {});
    await roots?.cleanup();
  });

  test('a fresh node warms up from a peer: every tensor verified, none from its (empty) repository', async () => {
    await openOn(b);
    const [w] = warmUps(b);
    assert.equal(w?.fromPeers, allTensors().length);
    assert.equal(w?.fromRepository, 0);
    assert.deepEqual(Object.keys(w?.bytesByPeer as object), ['node-a']);
    await assertClean(b);
  });

  test('a peer killed mid-transfer costs a retry elsewhere; no partial tensor lands', async () => {
    const opened = openOn(d);
    await dying.w.waitFor((e) => e.event === 'half');
    dying.w.proc.kill('SIGKILL');
    await opened;
    const w = warmUps(d)[0]!;
    assert.equal(w.fromPeers, allTensors().length);
    assert.equal(w.failures, 1);
    await assertClean(d);
  });

  test('with no peer that delivers and a thin repository, the Open fails clearly and nothing lands', async () => {
    await assert.rejects(openOn(f), (err: Error & { code?: string }) => {
      assert.equal(err.code, 'ERR_UNAVAILABLE');
      assert.match(err.message, /is on no reachable peer .*SHA-256.* and not in the repository/);
      return true;
    });
    assert.deepEqual(await checkTensors(f.store), []);
    assert.deepEqual(await stagingLeft(f.store), []);
  });

  test('the agent API needs the cluster token; health does not', async () => {
    const base = `http://${a.agent}`;
    assert.equal((await fetch(`${base}/v1/summary`)).status, 401);
    assert.equal(
      (await fetch(`${base}/v1/summary`, { headers: { authorization: 'Bearer wrong-token-0123456789' } })).status,
      401,
    );
    const hash = allTensors()[0]!;
    assert.equal((await fetch(`${base}/v1/tensors/${hash}`)).status, 401);
    assert.equal((await fetch(`${base}/healthz`)).status, 200);
    const client = createAgentClient(a.agent, { token: clusterToken(CLUSTER_TOKEN) });
    const s = await client.summary();
    assert.equal(s.node, 'node-a');
    assert.equal(s.models[0]?.model, 'chain:1');
    assert.equal(s.models[0]?.residentFraction, 1);
    const inv = await client.inventory();
    assert.deepEqual([...new Set(inv.resident.map((t) => t.hash))].sort(), allTensors());
    const bad = createAgentClient(a.agent, { token: clusterToken('not-the-cluster-token') });
    await assert.rejects(bad.summary(), { code: 'ERR_UNAUTHENTICATED' });
  });

  test('the extender prefers nodes where the model is resident and filters out a node whose budget cannot take it', async () => {
    const token = clusterToken(CLUSTER_TOKEN);
    const ext = createExtender({
      agents: agentDirectory(
        [a, b, f, g].map((n) => n.agent),
        { token },
      ),
      log: pino({ level: 'silent' }),
    });
    const pod = { metadata: { name: 'p', annotations: { 'tensorshare.dev/model': 'chain' } } };
    const names = ['node-a', 'node-b', 'node-f', 'node-g', 'node-unknown'];
    const filtered = await ext.app.inject({
      method: 'POST',
      url: '/scheduler/filter',
      payload: { pod, nodenames: names },
    });
    assert.equal(filtered.statusCode, 200);
    const fr = filtered.json() as { nodenames: string[]; failedNodes: Record<string, string> };
    assert.deepEqual(fr.nodenames, ['node-a', 'node-b', 'node-f', 'node-unknown']);
    assert.match(fr.failedNodes['node-g']!, /needs .* more in this node's store/);
    const items = names.map((n) => ({ metadata: { name: n }, spec: { x: 1 } }));
    const asNodes = (
      await ext.app.inject({ method: 'POST', url: '/filter', payload: { pod, nodes: { items } } })
    ).json();
    assert.deepEqual(
      asNodes.nodes.items.map((n: { metadata: { name: string } }) => n.metadata.name),
      ['node-a', 'node-b', 'node-f', 'node-unknown'],
    );
    const pr = await ext.app.inject({ method: 'POST', url: '/prioritize', payload: { pod, nodenames: names } });
    assert.deepEqual(pr.json(), [
      { host: 'node-a', score: 10 },
      { host: 'node-b', score: 10 },
      { host: 'node-f', score: 0 },
      { host: 'node-g', score: 0 },
      { host: 'node-unknown', score: 0 },
    ]);
    const plain = { metadata: { name: 'q' } };
    const untouched = (
      await ext.app.inject({ method: 'POST', url: '/filter', payload: { pod: plain, nodenames: names } })
    ).json();
    assert.deepEqual(untouched.nodenames, names);
    const missing = { metadata: { annotations: { 'tensorshare.dev/model': 'nope' } } };
    const mf = (
      await ext.app.inject({ method: 'POST', url: '/filter', payload: { pod: missing, nodenames: ['node-a'] } })
    ).json();
    assert.deepEqual(mf.nodenames, []);
    assert.match(mf.failedNodes['node-a'], /model 'nope' .* is in no agent's repository/);
    const bad = await ext.app.inject({ method: 'POST', url: '/filter', payload: { nodenames: names } });
    assert.equal(bad.statusCode, 400);
  });
});
