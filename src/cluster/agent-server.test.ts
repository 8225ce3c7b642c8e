// The agent API's rules with tenants, over fastify's inject (no daemon needed:
// a NodeView over real roots on disk, laid out as --dedup-across-tenants does):
// the cluster token on every /v1 call, a tenant's tensors only with that
// tenant's token and only when its models name them, answering exactly like
// a tensor the node lacks otherwise; public tensors for any node.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import fs from 'node:fs/promises';
import path from 'node:path';
import pino from 'pino';
import { tokenDigest, type TenantSpec } from '../daemon/settings.js';
import { layout, type Layout } from '../store/layout.js';
import { tempRoots, type TempRoots } from '../testing/tmp.js';
import { createAgentServer } from './agent-server.js';
import { type Inventory, type NodeView, type Summary, noWarmUps } from './inventory.js';
import { clusterToken } from './token.js';

const token = clusterToken('agent-server-test-cluster-token');
const tenants: TenantSpec[] = [
  { name: 'alice', tokenSha256: tokenDigest('alice-token-0123456789'), publish: false },
  { name: 'bob', tokenSha256: tokenDigest('bob-token-0123456789ab'), publish: false },
];
const sha = (b: Buffer) => createHash('sha256').update(b).digest('hex');
const bytes = Buffer.from('alice secret weights');
const hash = sha(bytes);
const publicBytes = Buffer.from('public weights everyone may read');
const publicHash = sha(publicBytes);
let roots: TempRoots;
let app: ReturnType<typeof createAgentServer>;

/** A manifest naming the tensors (the fields readers check), written where listModels finds it. */
async function writeManifest(root: Layout, name: string, tensors: Buffer[]) {
  const m = {
    format: 'tensorshare.model/v1',
    name,
    version: '1',
    digest: sha(Buffer.from(name)),
    graph: { sha256: sha(Buffer.from(`${name} graph`)), bytes: 1 },
    tensors: tensors.map((t, i) => ({ name: `w${i}`, sha256: sha(t), bytes: t.length, dtype: 'float32', dims: [] })),
  };
  await fs.mkdir(path.join(root.models, name), { recursive: true });
  await fs.writeFile(path.join(root.models, name, '1.json'), JSON.stringify(m));
}

before(async () => {
  roots = await tempRoots('ts-agent');
  // As --dedup-across-tenants lays them out: one tensors folder for every namespace's store.
  const shared = layout(roots.store).tensors;
  const ns = (n: string, sub: string) => ({
    ns: n,
    store: { ...layout(path.join(roots.store, sub)), tensors: shared },
    repo: layout(path.join(roots.repository, sub)),
  });
  const alice = ns('alice', 'tenants/alice');
  const pub = ns('public', 'public');
  const view: NodeView = {
    node: 'n1',
    roots: [alice, ns('bob', 'tenants/bob'), pub],
    models: async () => [],
    capacity: () => ({ budgetBytes: 1000, usedBytes: 100, reclaimableBytes: 50 }),
    warmUp: noWarmUps,
  };
  await fs.mkdir(shared, { recursive: true });
  for (const b of [bytes, publicBytes]) await fs.writeFile(path.join(shared, sha(b)), b, { mode: 0o444 });
  await writeManifest(alice.repo, 'secret', [bytes, publicBytes]);
  await writeManifest(pub.repo, 'open', [publicBytes]);
  app = createAgentServer({ view, token, tenants, log: pino({ level: 'silent' }), inventoryTtlMs: 0 });
});
after(async () => {
  await app?.close();
  await roots?.cleanup();
});

const get = (url: string, headers: Record<string, string> = {}) =>
  app.inject({ method: 'GET', url, headers: { authorization: token.header, ...headers } });
const ALICE = { 'x-tensorshare-tenant-token': 'Bearer alice-token-0123456789' };
const BOB = { 'x-tensorshare-tenant-token': 'Bearer bob-token-0123456789ab' };

test("a tenant's tensor needs that tenant's token; others get the answer a missing tensor gets", async () => {
  const own = await get(`/v1/tensors/${hash}?ns=alice`, ALICE);
  assert.equal(own.statusCode, 200);
  assert.equal(own.rawPayload.toString(), bytes.toString());
  assert.equal(own.headers['content-length'], String(bytes.length));
  const missing = await get(`/v1/tensors/${'0'.repeat(64)}?ns=alice`, ALICE);
  const asBob = await get(`/v1/tensors/${hash}?ns=alice`, BOB);
  const noTenant = await get(`/v1/tensors/${hash}?ns=alice`);
  // The file is in the shared folder, but only alice's model names it: not a public tensor.
  const asPublic = await get(`/v1/tensors/${hash}?ns=public`);
  const asPublicByBob = await get(`/v1/tensors/${hash}?ns=public`, BOB);
  const asBobsOwn = await get(`/v1/tensors/${hash}?ns=bob`, BOB);
  for (const r of [missing, asBob, noTenant, asPublic, asPublicByBob, asBobsOwn]) {
    assert.equal(r.statusCode, 404);
    assert.equal(r.body, missing.body);
  }
  const noCluster = await app.inject({ method: 'GET', url: `/v1/tensors/${hash}?ns=alice`, headers: ALICE });
  assert.equal(noCluster.statusCode, 401);
  assert.equal((await get('/v1/tensors/not-a-hash?ns=alice')).statusCode, 400);
});

test("a public model's tensors are shareable with any node of the cluster, no tenant's token needed", async () => {
  for (const h of [{}, BOB, ALICE]) {
    const r = await get(`/v1/tensors/${publicHash}?ns=public`, h);
    assert.equal(r.statusCode, 200);
    assert.equal(r.rawPayload.toString(), publicBytes.toString());
  }
});

test("the inventory shows a tenant's tensors and models to that tenant only; the summary names no tenant's model", async () => {
  const view = async (h: Record<string, string>) => {
    const inv = (await get('/v1/inventory', h)).json() as Inventory;
    return inv.resident.map((t) => `${t.ns} ${t.hash.slice(0, 8)}`).sort();
  };
  const pub = `public ${publicHash.slice(0, 8)}`;
  assert.deepEqual(await view({}), [pub]);
  assert.deepEqual(await view(BOB), [pub]);
  // The public file is alice's too: she sees it under her namespace (the first she may read that names it).
  assert.deepEqual(await view(ALICE), [`alice ${hash.slice(0, 8)}`, `alice ${publicHash.slice(0, 8)}`].sort());
  const s = (await get('/v1/summary')).json() as Summary;
  assert.equal(s.residentTensors, 2);
  assert.deepEqual(s.models, []);
});

test('the summary reports capacity and free bytes (budget - used + reclaimable) and the resident digest', async () => {
  const s = (await get('/v1/summary')).json();
  assert.equal(s.node, 'n1');
  assert.equal(s.freeBytes, 950);
  assert.equal(s.residentTensors, 2);
  assert.equal(s.residentBytes, bytes.length + publicBytes.length);
});
