// The agent API's rules with tenants, over fastify's inject (no daemon needed:
// a NodeView over real roots on disk): the cluster token on every /v1 call,
// and a tenant's tensors only with that tenant's token, answering exactly like
// a tensor the node lacks otherwise.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import fs from 'node:fs/promises';
import path from 'node:path';
import pino from 'pino';
import { tokenDigest, type TenantSpec } from '../daemon/settings.js';
import { layout } from '../store/layout.js';
import { tempRoots, type TempRoots } from '../testing/tmp.js';
import { createAgentServer } from './agent-server.js';
import { type NodeView, noWarmUps } from './inventory.js';
import { clusterToken } from './token.js';

const token = clusterToken('agent-server-test-cluster-token');
const tenants: TenantSpec[] = [
  { name: 'alice', tokenSha256: tokenDigest('alice-token-0123456789'), publish: false },
  { name: 'bob', tokenSha256: tokenDigest('bob-token-0123456789ab'), publish: false },
];
const bytes = Buffer.from('alice secret weights');
const hash = createHash('sha256').update(bytes).digest('hex');
let roots: TempRoots;
let app: ReturnType<typeof createAgentServer>;

before(async () => {
  roots = await tempRoots('ts-agent');
  const ns = (n: string) => ({
    ns: n,
    store: layout(path.join(roots.store, 'tenants', n)),
    repo: layout(path.join(roots.repository, 'tenants', n)),
  });
  const view: NodeView = {
    node: 'n1',
    roots: [ns('alice'), ns('bob')],
    models: async () => [],
    capacity: () => ({ budgetBytes: 1000, usedBytes: 100, reclaimableBytes: 50 }),
    warmUp: noWarmUps,
  };
  await fs.mkdir(view.roots[0]!.store.tensors, { recursive: true });
  await fs.writeFile(path.join(view.roots[0]!.store.tensors, hash), bytes, { mode: 0o444 });
  app = createAgentServer({ view, token, tenants, log: pino({ level: 'silent' }) });
});
after(async () => {
  await app?.close();
  await roots?.cleanup();
});

const get = (url: string, headers: Record<string, string> = {}) =>
  app.inject({ method: 'GET', url, headers: { authorization: token.header, ...headers } });

test("a tenant's tensor needs that tenant's token; others get the answer a missing tensor gets", async () => {
  const own = await get(`/v1/tensors/${hash}?ns=alice`, {
    'x-tensorshare-tenant-token': 'Bearer alice-token-0123456789',
  });
  assert.equal(own.statusCode, 200);
  assert.equal(own.rawPayload.toString(), bytes.toString());
  assert.equal(own.headers['content-length'], String(bytes.length));
  const missing = await get(`/v1/tensors/${'0'.repeat(64)}?ns=alice`, {
    'x-tensorshare-tenant-token': 'Bearer alice-token-0123456789',
  });
  const asBob = await get(`/v1/tensors/${hash}?ns=alice`, {
    'x-tensorshare-tenant-token': 'Bearer bob-token-0123456789ab',
  });
  const noTenant = await get(`/v1/tensors/${hash}?ns=alice`);
  for (const r of [missing, asBob, noTenant]) {
    assert.equal(r.statusCode, 404);
    assert.equal(r.body, missing.body);
  }
  const noCluster = await app.inject({
    method: 'GET',
    url: `/v1/tensors/${hash}?ns=alice`,
    headers: { 'x-tensorshare-tenant-token': 'Bearer alice-token-0123456789' },
  });
  assert.equal(noCluster.statusCode, 401);
  assert.equal((await get('/v1/tensors/not-a-hash?ns=alice')).statusCode, 400);
});

test('the summary reports capacity and free bytes (budget - used + reclaimable) and the resident digest', async () => {
  const s = (await get('/v1/summary')).json();
  assert.equal(s.node, 'n1');
  assert.equal(s.freeBytes, 950);
  assert.equal(s.residentTensors, 1);
  assert.equal(s.residentBytes, bytes.length);
});
