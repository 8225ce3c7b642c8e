import { test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import { processState, readProcStat } from './process-check.js';
import { tokenDigest, type TenantSpec } from './settings.js';
import { authenticate, bearerToken, namespaces, readable, scopeRef, writable } from './tenants.js';

const tenants: TenantSpec[] = [
  { name: 'alice', tokenSha256: tokenDigest('alice-token-0123456789'), publish: true },
  { name: 'bob', tokenSha256: tokenDigest('bob-token-0123456789'), publish: false },
];

test('tokens identify tenants; wrong, empty and prefix tokens do not', () => {
  assert.equal(authenticate(tenants, 'alice-token-0123456789')?.tenant, 'alice');
  assert.deepEqual(authenticate(tenants, 'bob-token-0123456789')?.visible, ['bob', 'public']);
  assert.equal(authenticate(tenants, 'alice-token-012345678'), undefined);
  assert.equal(authenticate(tenants, ''), undefined);
  assert.equal(authenticate(tenants, undefined), undefined);
  assert.equal(authenticate([], undefined)?.tenant, 'default');
  assert.equal(bearerToken('Bearer abc'), 'abc');
  assert.equal(bearerToken('Basic abc'), undefined);
});

test("namespaces: a tenant reads its own and public, never another tenant's", () => {
  const nss = namespaces({ repository: '/r', store: '/s', tenants, dedupAcrossTenants: false });
  assert.deepEqual([...nss.keys()], ['alice', 'bob', 'public']);
  assert.equal(nss.get('bob')!.store.tensors, '/s/tenants/bob/tensors');
  const bob = authenticate(tenants, 'bob-token-0123456789')!;
  assert.equal(readable(nss, bob, scopeRef(bob, 'public/m:1'), 'public/m:1').name, 'public');
  // There is no syntax to name another tenant's namespace: 'alice/m' is just an invalid name.
  assert.throws(() => scopeRef(bob, 'alice/m'), { code: 'ERR_INVALID_ARGUMENT' });
  assert.throws(() => writable(nss, bob, 'public'), { code: 'ERR_PERMISSION_DENIED' });
  const dedup = namespaces({ repository: '/r', store: '/s', tenants, dedupAcrossTenants: true });
  assert.equal(dedup.get('bob')!.store.tensors, '/s/tensors');
  assert.equal(dedup.get('alice')!.store.tensors, '/s/tensors');
});

test('process checks tell live processes from dead ones and reused pids', () => {
  const me = readProcStat(process.pid)!;
  assert.ok(me.startTime);
  assert.equal(processState(process.pid, me.startTime), 'alive');
  assert.equal(processState(process.pid, String(Number(me.startTime) + 1)), 'dead');
  assert.equal(processState(process.pid, undefined), 'unknown');
  let dead = 4_000_000;
  while (fs.existsSync(`/proc/${dead}`)) dead++;
  assert.equal(processState(dead, '1'), 'dead');
});
