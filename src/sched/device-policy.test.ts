// The order each device policy gives waiting models.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { type Candidate, type RankContext, colocates, parseDevicePolicy, rankCandidates } from './device-policy.js';

const ctx = (over: Partial<RankContext> = {}): RankContext => ({
  now: 1000,
  agingRate: 0.5,
  usedMs: () => 0,
  weight: () => 1,
  ...over,
});

const c = (key: string, over: Partial<Candidate> = {}): Candidate => ({
  key,
  priority: 'besteffort',
  enqueuedAt: 0,
  predictedMs: 10,
  tenant: key,
  ...over,
});

const keys = (xs: Candidate[]) => xs.map((x) => x.key);

test('fifo and pack: oldest request first; fifo runs alone, the others co-locate', () => {
  const cands = [c('b', { enqueuedAt: 20 }), c('a', { enqueuedAt: 10 }), c('c', { enqueuedAt: 30 })];
  assert.deepEqual(keys(rankCandidates('fifo', cands, ctx())), ['a', 'b', 'c']);
  assert.deepEqual(keys(rankCandidates('pack', cands, ctx())), ['a', 'b', 'c']);
  assert.equal(colocates('fifo'), false);
  for (const p of ['pack', 'srtf', 'fair'] as const) assert.equal(colocates(p), true);
});

test('realtime ahead of besteffort under every policy', () => {
  const cands = [
    c('be-old', { enqueuedAt: 0, predictedMs: 1 }),
    c('rt-new', { priority: 'realtime', enqueuedAt: 900, predictedMs: 500, tenant: 'rich' }),
  ];
  for (const p of ['fifo', 'pack', 'srtf', 'fair'] as const)
    assert.deepEqual(
      keys(rankCandidates(p, cands, ctx({ usedMs: (t) => (t === 'rich' ? 1e6 : 0) }))),
      ['rt-new', 'be-old'],
      p,
    );
});

test('srtf: shortest predicted run first, aged by waiting time', () => {
  const cands = [c('long', { predictedMs: 100, enqueuedAt: 1000 }), c('short', { predictedMs: 5, enqueuedAt: 1000 })];
  assert.deepEqual(keys(rankCandidates('srtf', cands, ctx())), ['short', 'long']);
  // long waited 300 ms: 100 - 0.5 * 300 = -50 < 5 - 0 = 5.
  const aged = [c('long', { predictedMs: 100, enqueuedAt: 700 }), c('short', { predictedMs: 5, enqueuedAt: 1000 })];
  assert.deepEqual(keys(rankCandidates('srtf', aged, ctx())), ['long', 'short']);
  // With aging off, pure SRTF.
  assert.deepEqual(keys(rankCandidates('srtf', aged, ctx({ agingRate: 0 }))), ['short', 'long']);
});

test('fair: least device time per weight first', () => {
  const used: Record<string, number> = { t1: 300, t2: 200, t3: 500 };
  const cands = [c('a', { tenant: 't1' }), c('b', { tenant: 't2' }), c('c', { tenant: 't3', enqueuedAt: -5 })];
  assert.deepEqual(keys(rankCandidates('fair', cands, ctx({ usedMs: (t) => used[t]! }))), ['b', 'a', 'c']);
  // t3 has weight 4: 500 / 4 = 125 is the least share.
  assert.deepEqual(
    keys(rankCandidates('fair', cands, ctx({ usedMs: (t) => used[t]!, weight: (t) => (t === 't3' ? 4 : 1) }))),
    ['c', 'b', 'a'],
  );
});

test('ties: older first, then by key, so the order is total', () => {
  const cands = [c('b', { enqueuedAt: 5 }), c('a', { enqueuedAt: 5 }), c('z', { enqueuedAt: 4 })];
  assert.deepEqual(keys(rankCandidates('fair', cands, ctx())), ['z', 'a', 'b']);
});

test('parseDevicePolicy names the allowed values', () => {
  assert.equal(parseDevicePolicy('srtf'), 'srtf');
  assert.throws(
    () => parseDevicePolicy('lifo', 'gpuPolicy'),
    (e: Error & { code?: string }) =>
      e.code === 'ERR_INVALID_ARGUMENT' && e.message === 'gpuPolicy: "lifo" is not one of fifo, pack, srtf, fair',
  );
  assert.throws(() => parseDevicePolicy(3), /3 is not one of/);
});
