import { test } from 'node:test';
import assert from 'node:assert/strict';
import { decideBatch, checkBatchingConfig, type Pending } from './batcher.js';

const at = (...times: number[]): Pending[] => times.map((t) => ({ items: 1, enqueuedAt: t }));
const cfg = { maxBatchSize: 8, maxQueueDelayMs: 10 };

test('batcher: forms a batch as soon as the max size is reached', () => {
  assert.deepEqual(decideBatch(at(0, 0, 0, 0, 0, 0, 0, 0, 0, 0), cfg, 8, 0), { take: 8 });
  assert.deepEqual(decideBatch(at(0, 0, 0, 0, 0, 0, 0, 0), cfg, 8, 0), { take: 8 }, 'exactly full');
});

test("batcher: waits for the oldest request's max queue delay, then sends what fits", () => {
  assert.deepEqual(decideBatch(at(0, 3, 5), cfg, 8, 5), { waitUntil: 10 });
  assert.deepEqual(decideBatch(at(0, 3, 5), cfg, 8, 9.9), { waitUntil: 10 });
  assert.deepEqual(decideBatch(at(0, 3, 5), cfg, 8, 10), { take: 3 });
  assert.deepEqual(
    decideBatch(at(0), { maxBatchSize: 8, maxQueueDelayMs: 0 }, 8, 0),
    { take: 1 },
    'no delay: dispatch at once',
  );
});

test('batcher: a lone request that came long after the one before goes at once; one close behind it waits', () => {
  assert.deepEqual(decideBatch(at(100), cfg, 8, 100, 50), { take: 1 }, 'gap 50 > delay 10: nothing is likely to join');
  assert.deepEqual(decideBatch(at(100), cfg, 8, 100, 4), { waitUntil: 110 }, 'gap 4: another may come');
  assert.deepEqual(decideBatch(at(100), cfg, 8, 100, 10), { waitUntil: 110 }, 'gap equal to the delay: waits');
  assert.deepEqual(decideBatch(at(100), cfg, 8, 100), { waitUntil: 110 }, 'no gap known yet (first request): waits');
  assert.deepEqual(decideBatch(at(95, 100), cfg, 8, 100, 50), { waitUntil: 105 }, 'two queued: they wait for more');
});

test('batcher: multi-item requests count rows; a request that does not fit waits for the next batch', () => {
  const p: Pending[] = [
    { items: 3, enqueuedAt: 0 },
    { items: 4, enqueuedAt: 0 },
    { items: 2, enqueuedAt: 0 },
  ];
  assert.deepEqual(decideBatch(p, cfg, 8, 0), { take: 2 }, '3+4=7, +2 would exceed 8');
});

test('batcher: a reachable preferred size is sent at once, the largest one', () => {
  const c = { ...cfg, preferredBatchSizes: [2, 4] };
  assert.deepEqual(decideBatch(at(0), c, 8, 0), { waitUntil: 10 });
  assert.deepEqual(decideBatch(at(0, 1), c, 8, 1), { take: 2 });
  assert.deepEqual(decideBatch(at(0, 1, 2), c, 8, 2), { take: 2 }, 'three queued: send the preferred 2, not wait');
  assert.deepEqual(decideBatch(at(0, 1, 2, 3, 4), c, 8, 4), { take: 4 });
  assert.deepEqual(
    decideBatch(at(0, 1, 2), c, 8, 10),
    { take: 2 },
    'preferred beats a larger non-preferred batch even after the delay',
  );
  assert.deepEqual(
    decideBatch(at(0, 1, 2, 3, 4), { ...c, preferredBatchSizes: [4] }, 3, 4),
    { take: 3 },
    'preferred sizes above the cap are unreachable',
  );
});

test('batcher: the cap (AIMD) bounds batches; an oversize request runs alone', () => {
  assert.deepEqual(decideBatch(at(0, 0, 0, 0), cfg, 2, 0), { take: 2 });
  assert.deepEqual(
    decideBatch(
      [
        { items: 5, enqueuedAt: 0 },
        { items: 1, enqueuedAt: 0 },
      ],
      cfg,
      4,
      0,
    ),
    { take: 1 },
  );
});

test('batcher: unbatchable functions (config null) run one request at a time, without delay', () => {
  assert.deepEqual(decideBatch(at(0, 0, 0), null, 1, 0), { take: 1 });
});

test('batcher: config validation names the function', () => {
  assert.throws(
    () => checkBatchingConfig('bert', { maxBatchSize: 0, maxQueueDelayMs: 1 }),
    /function bert: maxBatchSize/,
  );
  assert.throws(
    () => checkBatchingConfig('bert', { maxBatchSize: 4, maxQueueDelayMs: 1, preferredBatchSizes: [8] }),
    /preferred batch size 8/,
  );
});
