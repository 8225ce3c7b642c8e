// Tenants against a real daemon: a tenant cannot list, open, pin, evict or
// learn of another tenant's models (NOT_FOUND, same message as for models
// that do not exist); the public namespace is shared on purpose; tokens are
// required; no cross-tenant dedup by default.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs/promises';
import path from 'node:path';
import { DaemonClient } from '../client/daemon-client.js';
import { killAll, spawnDaemon, type DaemonProc } from '../testing/daemon.js';
import { writeMatMulChain } from '../testing/models.js';
import { tempRoots, type TempRoots } from '../testing/tmp.js';

after(killAll);

const ALICE = 'alice-token-0123456789abcdef';
const BOB = 'bob-token-0123456789abcdef';

let roots: TempRoots;
let d: DaemonProc;
let alice: DaemonClient;
let bob: DaemonClient;
let model: Buffer;

const failure = async (p: Promise<unknown>) =>
  p.then(
    () => {
      throw new Error('expected a failure');
    },
    (e: Error & { code: string }) => e,
  );

before(async () => {
  roots = await tempRoots();
  const config = path.join(roots.dir, 'daemon.json');
  await fs.writeFile(path.join(roots.dir, 'bob.token'), `${BOB}\n`);
  await fs.writeFile(
    config,
    JSON.stringify({
      repository: 'repo',
      store: roots.store,
      tenants: { alice: { token: ALICE, publish: true }, bob: { tokenFile: 'bob.token' } },
    }),
  );
  d = await spawnDaemon(['--config', config]);
  alice = new DaemonClient({ env: {}, socket: d.socket, token: ALICE });
  bob = new DaemonClient({ env: {}, socket: d.socket, token: BOB });
  model = await fs.readFile(
    await writeMatMulChain(path.join(roots.dir, 'm.onnx'), [{ rows: 64, cols: 256, seed: 42 }]),
  );
});

after(async () => {
  await alice.disconnect();
  await bob.disconnect();
  await d.stop();
  await roots.cleanup();
});

test("another tenant's model is indistinguishable from a missing one", async () => {
  const beforeOpen = await failure(bob.open('secret'));
  const beforePin = await failure(bob.pin('secret:1'));
  await alice.upload(model, 'secret');
  const lease = await alice.open('secret');
  // Each call starts only when its failure is awaited: a rejection nobody awaits yet fails the test.
  for (const [call, before] of [
    [() => bob.open('secret'), beforeOpen],
    [() => bob.pin('secret:1'), beforePin],
  ] as const) {
    const after_ = await failure(call());
    assert.equal(after_.code, 'ERR_MODEL_NOT_FOUND');
    assert.equal(after_.message, before.message);
  }
  assert.equal((await failure(bob.evict('secret'))).message, "model 'secret' not found");
  assert.deepEqual(await bob.list(), []);
  const bs = await bob.stats({ includeTensors: true });
  assert.deepEqual([bs.models, bs.tensors, bs.leases], [[], [], []]);
  // Lease ids are per tenant too: bob cannot close alice's lease.
  const stub = (bob as unknown as { stub: Record<string, (...a: unknown[]) => void> }).stub;
  const md = (bob as unknown as { metadata(): unknown }).metadata();
  const closeErr = await new Promise<{ code: number }>((r) =>
    stub.close!.call(stub, { leaseId: lease.leaseId }, md, (e: { code: number }) => r(e)),
  );
  assert.equal(closeErr.code, 5); // NOT_FOUND
  assert.equal((await alice.stats()).totals.leases, 1);
  // Alice's files live in her namespace; namespace folders cannot be listed by others.
  assert.ok(lease.tensorsDir.startsWith(path.join(roots.store, 'tenants', 'alice')));
  assert.equal((await fs.stat(path.join(roots.store, 'tenants'))).mode & 0o777, 0o711);
  assert.equal((await fs.stat(path.join(roots.store, 'tenants', 'alice', 'tensors'))).mode & 0o777, 0o711);
  assert.equal((await fs.stat(path.join(roots.store, 'tenants', 'alice', 'models'))).mode & 0o777, 0o700);
  await alice.close(lease.leaseId);
});

test('public models are shared on purpose; only publishing tenants write them', async () => {
  await alice.upload(model, 'public/shared');
  const l = await bob.open('public/shared');
  assert.equal(l.model, 'public/shared:1');
  assert.ok((await bob.list()).some((m) => m.model === 'public/shared:1'));
  assert.equal((await failure(bob.upload(model, 'public/mine'))).code, 'ERR_PERMISSION_DENIED');
  await bob.close(l.leaseId);
});

test('same bytes in two tenants are two copies (no cross-tenant dedup by default)', async () => {
  await bob.upload(model, 'mine');
  const lb = await bob.open('mine');
  const la = await alice.open('secret');
  assert.notEqual(lb.tensorsDir, la.tensorsDir);
  const sha = lb.manifest.tensors[0]!.sha256;
  assert.equal(sha, la.manifest.tensors[0]!.sha256);
  await fs.access(path.join(lb.tensorsDir, sha));
  await fs.access(path.join(la.tensorsDir, sha));
  await bob.close(lb.leaseId);
  await alice.close(la.leaseId);
});

test('tokens are required; path import is off with tenants', async () => {
  for (const token of [undefined, 'wrong-token-0123456789abcdef', ALICE.slice(0, -1)]) {
    const c = new DaemonClient({ env: {}, socket: d.socket, token, connectTimeoutMs: 3000 });
    assert.equal((await failure(c.list())).code, 'ERR_UNAUTHENTICATED');
    await c.disconnect();
  }
  assert.equal((await failure(alice.import(path.join(roots.dir, 'm.onnx'), 'x'))).code, 'ERR_PERMISSION_DENIED');
});
