// Tenants' rights on peer traffic, between two real daemons with the same
// tenants on loopback (real HTTP): a node warming a tenant's model asks its
// peer with that tenant's own token, and another tenant's token (or none)
// gets none of the tenant's tensors; public models warm up for anyone; a
// fast-run variant's files warm up from the peer, verified like a model's.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import fs from 'node:fs/promises';
import path from 'node:path';
import { DaemonClient } from '../client/daemon-client.js';
import { layout } from '../store/layout.js';
import { uniqueTensors } from '../store/manifest.js';
import { readManifest } from '../store/repository.js';
import {
  CLUSTER_TOKEN,
  checkTensors,
  stagingLeft,
  startNode,
  thinCopy,
  writeTokenFile,
  type ClusterNode,
} from '../testing/cluster.js';
import { killAll } from '../testing/daemon.js';
import { writeMatMulChain } from '../testing/models.js';
import { tempRoots, type TempRoots } from '../testing/tmp.js';
import { until } from '../testing/until.js';
import { createAgentClient } from './agent-client.js';
import { hashSetLookup } from './hash-set.js';
import { clusterToken } from './token.js';

after(killAll);

const ALICE = 'alice-token-for-peers-0123456789';
const BOB = 'bob-token-for-peers-0123456789ab';
const HOST = '127.0.0.1';

describe('tenants on peer traffic', () => {
  let roots: TempRoots;
  let a: ClusterNode;
  let b: ClusterNode;
  let repoB: string;
  const clients: DaemonClient[] = [];
  const client = (n: ClusterNode, token: string) => {
    const c = new DaemonClient({ env: {}, socket: n.daemon.socket, token, name: 'tenant-peers-test' });
    clients.push(c);
    return c;
  };
  const warmUps = (n: ClusterNode) => n.daemon.logs.filter((l) => l.msg === 'warm-up');
  const agentA = () => createAgentClient(a.agent, { token: clusterToken(CLUSTER_TOKEN) });

  before(async () => {
    roots = await tempRoots('ts-tenant-peers');
    const tokenFile = await writeTokenFile(roots.dir);
    const config = path.join(roots.dir, 'tenants.json');
    await fs.writeFile(
      config,
      JSON.stringify({ tenants: { alice: { token: ALICE, publish: true }, bob: { token: BOB } } }),
    );
    repoB = path.join(roots.dir, 'repo-b');
    const node = (name: string, repository: string, peers: string[] = []) =>
      startNode({
        name,
        repository,
        store: path.join(roots.store, name),
        tokenFile,
        host: HOST,
        peers,
        flags: ['--config', config],
      });
    a = await node('node-a', roots.repository);
    b = await node('node-b', repoB, [a.agent]);
    const alice = client(a, ALICE);
    const file = (n: string, seed: number) =>
      writeMatMulChain(path.join(roots.dir, `${n}.onnx`), [
        { rows: 64, cols: 256, seed },
        { rows: 256, cols: 64, seed: seed + 1 },
      ]);
    await alice.upload(await fs.readFile(await file('secret', 11)), 'secret');
    await alice.upload(await fs.readFile(await file('shared', 21)), 'public/shared');
    // Resident on node-a (the leases stay open, so nothing is evicted under the tests).
    await alice.open('secret', { mode: 'fast-open' });
    await alice.open('public/shared', { mode: 'fast-open' });
    // node-b's repository has the manifests and graphs, no tensor file: what it opens comes from node-a.
    for (const sub of ['tenants/alice', 'public'])
      await thinCopy(path.join(roots.repository, sub), path.join(repoB, sub));
  });

  after(async () => {
    for (const c of clients) await c.disconnect().catch(() => {});
    for (const n of [a, b]) await n?.stop().catch(() => {});
    await roots?.cleanup();
  });

  /** Every tensor file in a namespace's store hashes to its name, and staging is empty. */
  async function assertClean(n: ClusterNode, sub: string, want: string[]) {
    const files = await checkTensors(path.join(n.store, sub));
    assert.deepEqual(
      files.filter((f) => !f.ok),
      [],
    );
    for (const h of want)
      assert.ok(
        files.some((f) => f.hash === h),
        `tensor ${h.slice(0, 12)} landed`,
      );
    assert.deepEqual(await stagingLeft(path.join(n.store, sub)), []);
  }

  test("a tenant's model warms up from a peer with that tenant's own token", async () => {
    const lease = await client(b, ALICE).open('secret', { mode: 'fast-open' });
    const hashes = uniqueTensors(lease.manifest.tensors).map((t) => t.sha256);
    const w = warmUps(b).find((l) => l.ns === 'alice');
    assert.equal(w?.fromPeers, hashes.length);
    assert.equal(w?.fromRepository, 0);
    assert.deepEqual(Object.keys(w?.bytesByPeer as object), ['node-a']);
    await assertClean(b, 'tenants/alice', hashes);
  });

  test("over real HTTP, another tenant's token or none gets none of a tenant's tensors", async () => {
    const m = await readManifest(layout(path.join(roots.repository, 'tenants/alice')), 'secret', '1');
    const hash = m.tensors[0]!.sha256;
    const peer = agentA();
    const read = async (ns: string, tenant?: string) => {
      const s = await peer.tensor(hash, ns, AbortSignal.timeout(5000), tenant);
      const h = createHash('sha256');
      for await (const c of s.body) h.update(c);
      return h.digest('hex');
    };
    assert.equal(await read('alice', ALICE), hash);
    for (const [ns, tenant] of [
      ['alice', BOB],
      ['alice', undefined],
      ['alice', 'not-a-tenant-token-0123456789'],
      ['public', undefined],
      ['bob', BOB],
    ] as const)
      await assert.rejects(read(ns, tenant), { code: 'ERR_MODEL_NOT_FOUND' }, `${ns} as ${tenant}`);
    const asBob = await createAgentClient(a.agent, {
      token: clusterToken(CLUSTER_TOKEN),
      tenantToken: BOB,
    }).inventory();
    assert.deepEqual(asBob.models.map((x) => x.model).sort(), ['public/shared:1']);
    assert.equal(
      asBob.resident.some((t) => t.ns === 'alice' || t.hash === hash),
      false,
    );
    const asAlice = await createAgentClient(a.agent, {
      token: clusterToken(CLUSTER_TOKEN),
      tenantToken: ALICE,
    }).inventory();
    assert.ok(asAlice.resident.some((t) => t.ns === 'alice' && t.hash === hash));
    assert.deepEqual(
      (await peer.summary()).models.map((x) => x.model),
      ['public/shared:1'],
    );
  });

  test('a public model warms up from a peer for another tenant, without any tenant rights', async () => {
    const lease = await client(b, BOB).open('public/shared', { mode: 'fast-open' });
    const hashes = uniqueTensors(lease.manifest.tensors).map((t) => t.sha256);
    const w = warmUps(b).find((l) => l.ns === 'public');
    assert.equal(w?.fromPeers, hashes.length);
    assert.equal(w?.fromRepository, 0);
    await assertClean(b, 'public', hashes);
  });

  test("a fast-run variant's files warm up from a peer, verified like a model's", async () => {
    const built = await client(a, ALICE).open('secret', { mode: 'fast-run' });
    assert.equal(built.mode, 'fast-run');
    const v = built.variant!;
    assert.ok(
      v.tensors.some((t) => t.prepacked > 0),
      'the variant prepacks a weight (a file the fast-open model lacks)',
    );
    // node-b learns of the variant (manifest and graph), not its tensor files.
    for (const sub of ['variants', 'graphs'])
      await fs.cp(path.join(roots.repository, 'tenants/alice', sub), path.join(repoB, 'tenants/alice', sub), {
        recursive: true,
        force: false,
        errorOnExist: false,
      });
    const prepacked = v.tensors.filter((t) => t.prepacked > 0).map((t) => t.sha256);
    // node-a's summary is rebuilt at most once a second: wait until it names the variant's files.
    await until(
      async () => {
        const held = hashSetLookup((await agentA().summary()).resident);
        return prepacked.every(held);
      },
      10_000,
      'node-a reports the variant resident',
    );
    const lease = await client(b, ALICE).open('secret', { mode: 'fast-run' });
    assert.equal(lease.mode, 'fast-run');
    const w = warmUps(b).find((l) => l.ns === 'alice' && typeof l.variant === 'string');
    assert.ok((w?.fromPeers as number) >= prepacked.length, 'the prepacked files came from node-a');
    assert.equal(w?.fromRepository, 0);
    await assertClean(b, 'tenants/alice', prepacked);
  });
});
