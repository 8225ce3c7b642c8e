import { test } from 'node:test';
import assert from 'node:assert/strict';
import { policy } from './policy/index.js';
import {
  addResident,
  candidates,
  exclusiveBytes,
  fastRunResident,
  freedBy,
  newResidency,
  newUnit,
  planEviction,
  removeResident,
  usedBytes,
  type Residency,
  type Unit,
} from './residency.js';

const file = (name: string, bytes: number) => ({
  path: `/s/tensors/${name}`,
  sha256: name,
  bytes,
  kind: 'tensor' as const,
});

function unit(r: Residency, key: string, files: ReturnType<typeof file>[], now: number): Unit {
  const u = newUnit(
    {
      key,
      ns: 'default',
      mode: 'fast-open',
      name: key,
      version: '1',
      digest: key,
      manifestFile: `/s/models/${key}`,
      graphPath: `/s/graphs/${key}`,
      files,
    },
    now,
  );
  r.units.set(key, u);
  addResident(r, u, now);
  u.lastUse = now;
  return u;
}

const ctx = { now: 100, ttlMs: 0, inflation: 0 };

test('a tensor shared by two models stays while either is resident', () => {
  const r = newResidency();
  const shared = file('shared', 100);
  const a = unit(r, 'a', [shared, file('a1', 10)], 1);
  const b = unit(r, 'b', [shared, file('b1', 20)], 2);
  assert.equal(usedBytes(r), 130);
  assert.equal(exclusiveBytes(r, a), 10);
  assert.deepEqual(
    removeResident(r, a).map((f) => f.sha256),
    ['a1'],
  );
  assert.equal(r.files.get(shared.path)!.users.size, 1);
  assert.deepEqual(
    removeResident(r, b)
      .map((f) => f.sha256)
      .sort(),
    ['b1', 'shared'],
  );
  assert.equal(usedBytes(r), 0);
});

test('referenced and pinned units are never candidates; their shared files are not freed', () => {
  const r = newResidency();
  const shared = file('shared', 100);
  const a = unit(r, 'a', [shared, file('a1', 10)], 1);
  const b = unit(r, 'b', [shared, file('b1', 20)], 2);
  const c = unit(r, 'c', [file('c1', 30)], 3);
  a.leases = 1;
  c.pinned = true;
  assert.deepEqual(
    candidates(r).map((u) => u.key),
    ['b'],
  );
  // Evicting b frees only its own tensor: the shared one is in use by a.
  assert.equal(freedBy(r, new Set(['b'])), 20);
  const plan = planEviction(r, policy('lru'), ctx, 200, 200);
  assert.equal(plan.ok, false);
  assert.equal(!plan.ok && plan.reclaimable, 20);
  assert.ok(b);
});

test('planEviction follows the policy and evicts no more than needed', () => {
  const r = newResidency();
  const a = unit(r, 'a', [file('a', 40)], 1);
  const b = unit(r, 'b', [file('b', 40)], 2);
  unit(r, 'c', [file('c', 40)], 3);
  a.lastUse = 10; // a used most recently: b goes first under LRU
  b.lastUse = 1;
  const plan = planEviction(r, policy('lru'), ctx, 50, 150);
  assert.ok(plan.ok);
  assert.deepEqual(
    plan.victims.map((u) => u.key),
    ['b'],
  );
  assert.equal(plan.freed, 40);
  const none = planEviction(r, policy('never'), ctx, 50, 150);
  assert.equal(none.ok, false);
});

test('a victim sharing all its files with a later victim is dropped from the plan when not needed', () => {
  const r = newResidency();
  const s = file('s', 50);
  const a = unit(r, 'a', [s], 1); // frees nothing alone
  const b = unit(r, 'b', [s, file('b', 60)], 2);
  a.lastUse = 1;
  b.lastUse = 2;
  // Need 60 with 0 available: b alone frees 60 (s stays for a) -- a need not go.
  const plan = planEviction(r, policy('lru'), ctx, 60, 110);
  assert.ok(plan.ok);
  assert.deepEqual(
    plan.victims.map((u) => u.key),
    ['b'],
  );
  // Need 110: both must go.
  const both = planEviction(r, policy('lru'), ctx, 110, 110);
  assert.ok(both.ok);
  assert.deepEqual(both.victims.map((u) => u.key).sort(), ['a', 'b']);
});

test('files the incoming unit needs are protected', () => {
  const r = newResidency();
  const s = file('s', 50);
  unit(r, 'a', [s, file('a', 10)], 1);
  const protect = new Set([s.path]);
  const plan = planEviction(r, policy('lru'), ctx, 30, 60, protect);
  assert.equal(plan.ok, false);
  assert.equal(!plan.ok && plan.reclaimable, 10);
});

test('used bytes and resident fast-run digests are kept as totals through adds and removes', () => {
  const r = newResidency();
  const shared = file('shared', 100);
  const a = unit(r, 'a', [shared, file('a1', 10)], 1);
  const v = newUnit(
    {
      key: 'v',
      ns: 'default',
      mode: 'fast-run',
      name: 'a',
      version: '1',
      digest: 'a',
      manifestFile: '/s/variants/a',
      graphPath: '/s/graphs/v',
      files: [shared, file('v1', 5)],
    },
    1,
  );
  r.units.set('v', v);
  assert.equal(fastRunResident(r, a), false);
  addResident(r, v, 2);
  addResident(r, v, 3); // again: counted once
  assert.equal(fastRunResident(r, a), true);
  assert.equal(fastRunResident(r, { ns: 'other', digest: 'a' }), false, 'per namespace');
  const walked = () => [...r.files.values()].reduce((n, f) => n + f.bytes, 0);
  assert.equal(usedBytes(r), walked());
  assert.equal(usedBytes(r), 115);
  removeResident(r, v);
  removeResident(r, v); // again: no change
  assert.equal(fastRunResident(r, a), false);
  assert.equal(usedBytes(r), 110);
  removeResident(r, a);
  assert.equal(usedBytes(r), 0);
  assert.equal(r.fastRun.size, 0);
});
