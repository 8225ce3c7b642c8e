// After a large request the gateway collects once, a moment later; small
// requests never trigger it; the collection itself frees what nothing holds.
import { test, mock } from 'node:test';
import assert from 'node:assert/strict';
import { fullCollection, LARGE_REQUEST_BYTES, largeRequestCollector } from './collector.js';

test('a burst of large requests gets one collection after the delay; small ones none', () => {
  mock.timers.enable({ apis: ['setTimeout'] });
  try {
    let runs = 0;
    const c = largeRequestCollector({ delayMs: 1000, collect: () => runs++ });
    c.note(LARGE_REQUEST_BYTES - 1);
    mock.timers.tick(5000);
    assert.equal(runs, 0, 'small requests trigger nothing');
    c.note(LARGE_REQUEST_BYTES);
    mock.timers.tick(600);
    c.note(10 * LARGE_REQUEST_BYTES);
    mock.timers.tick(600);
    assert.equal(runs, 0, 'each large request restarts the wait');
    mock.timers.tick(400);
    assert.equal(runs, 1);
    mock.timers.tick(5000);
    assert.equal(runs, 1, 'one collection for the burst');
    c.note(LARGE_REQUEST_BYTES);
    c.close();
    mock.timers.tick(5000);
    assert.equal(runs, 1, 'closing cancels a pending collection');
  } finally {
    mock.timers.reset();
  }
});

test('the full collection frees a large buffer nothing refers to', async () => {
  let big: Uint8Array | undefined = new Uint8Array(LARGE_REQUEST_BYTES);
  const weak = new WeakRef(big);
  big = undefined;
  // A WeakRef keeps its target until the job that made it ends.
  await new Promise((r) => setImmediate(r));
  fullCollection();
  assert.equal(weak.deref(), undefined);
});
