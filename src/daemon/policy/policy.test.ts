import { test } from 'node:test';
import assert from 'node:assert/strict';
import { gdsPriority, policy, POLICY_NAMES, type Candidate, type PolicyContext } from './index.js';

const MIB = 1024 * 1024;

/** A fake clock: tests move time by hand. */
function clock(start = 1_000_000) {
  let t = start;
  return {
    now: () => t,
    advance: (ms: number) => {
      t += ms;
      return t;
    },
  };
}

function cand(key: string, over: Partial<Candidate> = {}): Candidate {
  return { key, bytes: MIB, hits: 1, lastUse: 0, loadedAt: 0, lastRelease: 0, costMs: 10, priority: 0, ...over };
}

const ctx = (now: number, over: Partial<PolicyContext> = {}): PolicyContext => ({
  now,
  ttlMs: 30_000,
  inflation: 0,
  ...over,
});
const keys = (cs: Candidate[]) => cs.map((c) => c.key);

test('every named policy exists and unknown names are rejected', () => {
  for (const n of POLICY_NAMES) assert.equal(policy(n).name, n);
  assert.throws(() => policy('random'), { code: 'ERR_INVALID_ARGUMENT' });
});

test('lru evicts the least recently used first', () => {
  const c = clock();
  const a = cand('a', { lastUse: c.now(), loadedAt: c.now() });
  const b = cand('b', { lastUse: c.advance(10), loadedAt: c.now() });
  const cc = cand('c', { lastUse: c.advance(10), loadedAt: c.now() });
  const aUsedAgain = { ...a, lastUse: c.advance(10) };
  assert.deepEqual(keys(policy('lru').order([cc, aUsedAgain, b], ctx(c.now()))), ['b', 'c', 'a']);
  assert.equal(policy('lru').expired(a, ctx(c.advance(1e9))), false);
});

test('lfu evicts the least opened first, ties by recency', () => {
  const c = clock();
  const a = cand('a', { hits: 5, lastUse: c.now() });
  const b = cand('b', { hits: 1, lastUse: c.advance(10) });
  const d = cand('d', { hits: 1, lastUse: c.advance(-20) });
  assert.deepEqual(keys(policy('lfu').order([a, b, d], ctx(c.now()))), ['d', 'b', 'a']);
});

test('fifo evicts in load order regardless of use', () => {
  const c = clock();
  const a = cand('a', { loadedAt: c.now(), lastUse: c.advance(100), hits: 50 });
  const b = cand('b', { loadedAt: c.advance(10), lastUse: c.now() });
  assert.deepEqual(keys(policy('fifo').order([b, a], ctx(c.now()))), ['a', 'b']);
});

test('ttl expires a model only after its keep-alive window', () => {
  const c = clock();
  const p = policy('ttl');
  const a = cand('a', { lastRelease: c.now() });
  assert.equal(p.expired(a, ctx(c.advance(29_999))), false);
  assert.equal(p.expired(a, ctx(c.advance(1))), true);
  const b = cand('b', { lastRelease: a.lastRelease + 5 });
  assert.deepEqual(keys(p.order([b, a], ctx(c.now()))), ['a', 'b']);
});

test('eager expires every unreferenced model at once; never evicts nothing', () => {
  const c = clock();
  assert.equal(policy('eager').expired(cand('a', { lastRelease: c.now() }), ctx(c.now())), true);
  assert.deepEqual(policy('never').order([cand('a'), cand('b')], ctx(c.now())), []);
  assert.equal(policy('never').expired(cand('a'), ctx(c.advance(1e12))), false);
});

test('cost (GreedyDual-Size) keeps models expensive per byte, and ages the rest out', () => {
  const c = clock();
  const p = policy('cost');
  let context = ctx(c.now());
  // Same size; b took 10x longer to materialize per byte.
  const a = cand('a', { bytes: 10 * MIB, costMs: 10 });
  const b = cand('b', { bytes: 10 * MIB, costMs: 100 });
  // Big and cheap per byte vs small and dear per byte.
  const big = cand('big', { bytes: 100 * MIB, costMs: 50 });
  for (const x of [a, b, big]) x.priority = p.onAccess(x, context);
  assert.deepEqual(keys(p.order([a, b, big], context)), ['big', 'a', 'b']);
  // Evicting big inflates L to its H; a model accessed afterwards outranks
  // one with the same cost/size accessed before: recency still counts.
  context = { ...context, inflation: p.onEvict(big, context) };
  assert.equal(context.inflation, big.priority);
  const a2 = cand('a2', { bytes: 10 * MIB, costMs: 10 });
  a2.priority = p.onAccess(a2, context);
  assert.ok(a2.priority > a.priority);
  assert.deepEqual(keys(p.order([a2, a], context)), ['a', 'a2']);
  assert.equal(gdsPriority(cand('z', { bytes: 0, costMs: 0 }), context) > 0, true);
});
