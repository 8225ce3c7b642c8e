// The background import queue: bounded, in scan order, held until its gate,
// and a promoted import starts at once and runs once.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createImportQueue } from './imports.js';

/** A run per name that finishes when the test says so. */
function runs() {
  const started: string[] = [];
  const finish = new Map<string, () => void>();
  return {
    started,
    run: (name: string) => {
      started.push(name);
      return new Promise<void>((r) => finish.set(name, r));
    },
    finish: async (name: string) => {
      finish.get(name)!();
      finish.delete(name);
      await new Promise((r) => setImmediate(r));
    },
  };
}

const tick = () => new Promise((r) => setImmediate(r));

test('at most `concurrency` imports at once, in the order queued; a promoted one starts beside them', async () => {
  const r = runs();
  const q = createImportQueue({ concurrency: 2, run: r.run });
  for (const n of ['a', 'b', 'c', 'd', 'e']) q.add(n);
  await tick();
  assert.deepEqual(r.started, ['a', 'b']);
  q.promote('e');
  q.promote('e');
  q.promote('a'); // already running: no second run
  assert.deepEqual(r.started, ['a', 'b', 'e']);
  await r.finish('e'); // a promoted import frees no bounded place
  assert.deepEqual(r.started, ['a', 'b', 'e']);
  await r.finish('a');
  assert.deepEqual(r.started, ['a', 'b', 'e', 'c']);
  assert.equal(q.pending(), 3);
  let idle = false;
  void q.idle().then(() => {
    idle = true;
  });
  await r.finish('b');
  await r.finish('c');
  assert.deepEqual(r.started, ['a', 'b', 'e', 'c', 'd']);
  assert.equal(idle, false);
  await r.finish('d');
  assert.equal(idle, true);
  assert.equal(q.pending(), 0);
});

test('held until `after` resolves, except what a request promotes; close drops what is queued', async () => {
  const r = runs();
  let openGate!: () => void;
  const q = createImportQueue({ concurrency: 1, run: r.run, after: new Promise<void>((o) => (openGate = o)) });
  for (const n of ['a', 'b', 'c']) q.add(n);
  await tick();
  assert.deepEqual(r.started, []);
  q.promote('c');
  assert.deepEqual(r.started, ['c']);
  openGate();
  await tick();
  assert.deepEqual(r.started, ['c', 'a']);
  q.close();
  await r.finish('a');
  await r.finish('c');
  assert.deepEqual(r.started, ['c', 'a'], 'b was dropped');
  assert.equal(q.pending(), 0);
});

test('promoted imports run at most `concurrency` at once too; the rest start next, in the order asked', async () => {
  const r = runs();
  let openGate!: () => void;
  const q = createImportQueue({ concurrency: 2, run: r.run, after: new Promise<void>((o) => (openGate = o)) });
  for (const n of ['a', 'b', 'c', 'd']) q.add(n);
  await tick();
  for (const n of ['d', 'c', 'b']) q.promote(n);
  assert.deepEqual(r.started, ['d', 'c']);
  let bDone = false;
  void q.done('b')!.then(() => {
    bDone = true;
  });
  assert.equal(q.done('x'), undefined, 'nothing queued for it');
  await r.finish('c');
  assert.deepEqual(r.started, ['d', 'c', 'b']);
  assert.equal(bDone, false, 'b waits for its own import, not for its place in a lane');
  await r.finish('b');
  assert.equal(bDone, true);
  openGate();
  await tick();
  assert.deepEqual(r.started, ['d', 'c', 'b', 'a'], 'the background lane has its own places');
  for (const n of ['a', 'd']) await r.finish(n);
  assert.equal(q.pending(), 0);
});

test('queued again while it runs (its files changed): one more run after this one', async () => {
  const r = runs();
  const q = createImportQueue({ concurrency: 1, run: r.run });
  q.add('a');
  await tick();
  q.add('a');
  q.add('a');
  assert.deepEqual(r.started, ['a']);
  await r.finish('a');
  assert.deepEqual(r.started, ['a', 'a']);
  await r.finish('a');
  assert.equal(q.pending(), 0);
});
