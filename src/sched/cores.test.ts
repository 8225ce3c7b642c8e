import { test } from 'node:test';
import assert from 'node:assert/strict';
import { availableParallelism } from 'node:os';
import { createCoreBudget } from './cores.js';
import { isTensorshareError } from '../errors.js';

test('core budget: reservations never exceed the total; refusal says what is left', () => {
  const b = createCoreBudget({ total: 8 });
  const r1 = b.reserve('bert#1', 4);
  const r2 = b.reserve('resnet#1', 3);
  assert.equal(b.used(), 7);
  assert.equal(b.available(), 1);
  assert.throws(
    () => b.reserve('bert#2', 2),
    (e) =>
      isTensorshareError(e, 'ERR_RESOURCE_EXHAUSTED') &&
      /bert#2: asked for 2 intra-op threads, 1 of 8 cores free/.test(e.message),
  );
  assert.equal(b.used(), 7, 'a refusal reserves nothing');
  r1.release();
  r1.release();
  assert.equal(b.used(), 3, 'release is idempotent');
  assert.deepEqual(b.holders(), [{ owner: 'resnet#1', threads: 3 }]);
  r2.release();
  assert.equal(b.available(), 8);
});

test('core budget: with a minimum, grants what is free down to that minimum', () => {
  const b = createCoreBudget({ total: 4 });
  b.reserve('a', 3);
  assert.equal(b.reserve('b', 4, { min: 1 }).threads, 1);
  assert.throws(() => b.reserve('c', 4, { min: 1 }), /c: asked for 1..4 intra-op threads, 0 of 4 cores free/);
  assert.throws(
    () => b.reserve('d', 0),
    (e) => isTensorshareError(e, 'ERR_INVALID_ARGUMENT'),
  );
});

test('core budget: defaults to os.availableParallelism()', () => {
  assert.equal(createCoreBudget().total, availableParallelism());
});

test('core budget: normal reservations take the cores of yielding (idle-priority) ones; each tier stays within the total', () => {
  const b = createCoreBudget({ total: 2 });
  const be1 = b.reserve('be#1', 1, { yielding: true });
  b.reserve('be#2', 1, { yielding: true });
  assert.equal(be1.yielding, true);
  assert.throws(
    () => b.reserve('be#3', 1, { yielding: true }),
    (e) =>
      isTensorshareError(e, 'ERR_RESOURCE_EXHAUSTED') &&
      e.details.yielding === true &&
      /be#3: asked for 1 intra-op threads, 0 of 2 cores free to idle-priority instances/.test(e.message),
  );
  // Realtime demand is not refused because besteffort holds every core: the kernel gives those cores back.
  const rt1 = b.reserve('rt#1', 1);
  assert.equal(rt1.yielding, false);
  assert.equal(b.reserve('rt#2', 2, { min: 1 }).threads, 1);
  assert.equal(b.used(), 2);
  assert.equal(b.yielding(), 2);
  assert.equal(b.available(), 0);
  assert.throws(() => b.reserve('rt#3', 1), /rt#3: asked for 1 intra-op threads, 0 of 2 cores free$/);
  assert.deepEqual(
    b.holders().map((h) => `${h.owner}:${h.threads}${h.yielding ? ' yielding' : ''}`),
    ['be#1:1 yielding', 'be#2:1 yielding', 'rt#1:1', 'rt#2:1'],
  );
  be1.release();
  assert.equal(b.yielding(), 1);
  assert.equal(b.used(), 2, 'a yielding release frees nothing of the normal tier');
  assert.equal(b.reserve('be#4', 1, { yielding: true }).threads, 1);
});
