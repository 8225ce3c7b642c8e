// The per-model shortcuts of import and materialization: a sink that does not
// stage a tensor the repository stores (and still can when the commit needs
// it), ensureLayout verifying a root once and again when a folder of it is
// replaced, and withLock's in-process queue (one holder at a time, an error
// passes the lock on, a burst takes the lock file once).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { isTensorshareError } from '../errors.js';
import { withTempDir } from '../testing/tmp.js';
import { ensureLayout, layout } from './layout.js';
import { LINGER_MS, withLock } from './lock.js';
import { fileSink } from './staging.js';

/** Polls until the lock folder has gone: a holder nobody followed gives it back after LINGER_MS. */
async function released(lockDir: string): Promise<void> {
  for (let i = 0; i < 200 && (await exists(lockDir)); i++) await new Promise((r) => setTimeout(r, LINGER_MS));
  assert.equal(await exists(lockDir), false, 'released after the last holder');
}

const sha = (b: Buffer) => createHash('sha256').update(b).digest('hex');
const exists = (p: string) =>
  fs.access(p).then(
    () => true,
    () => false,
  );

test('a sink does not stage a tensor that is stored, keeps its bytes, and writes them when asked', () =>
  withTempDir(os.tmpdir(), async (dir) => {
    const stored = Buffer.from('stored tensor bytes');
    const fresh = Buffer.from('a tensor of its own');
    const newSink = fileSink((name) => path.join(dir, name), 0, undefined, { stored: (h) => h === sha(stored) });
    const a = await newSink();
    // Written in two chunks from one buffer the caller reuses: the sink keeps copies.
    const reused = Buffer.from(stored);
    await a.write(reused.subarray(0, 6));
    await a.write(reused.subarray(6));
    reused.fill(0);
    assert.deepEqual(await a.finish(), { sha256: sha(stored), bytes: stored.length });
    assert.equal(await exists(a.path), false, 'stored: no staged file');
    assert.deepEqual(await a.readBack(), stored);
    await a.ensureWritten();
    assert.deepEqual(await fs.readFile(a.path), stored, 'written on demand, whole');

    const b = await newSink();
    await b.write(fresh);
    assert.equal((await b.finish()).sha256, sha(fresh));
    assert.deepEqual(await fs.readFile(b.path), fresh, 'not stored: staged at finish');
    await b.discard();
    assert.equal(await exists(b.path), false);

    const c = await newSink();
    await c.write(stored);
    await c.finish();
    await c.discard(); // never written: nothing to remove, no error
    assert.deepEqual((await fs.readdir(dir)).sort(), [path.basename(a.path)]);
  }));

test("a sink past its factory's memory budget streams to its file", () =>
  withTempDir(os.tmpdir(), async (dir) => {
    const bytes = Buffer.alloc(3000, 7);
    const newSink = fileSink((name) => path.join(dir, name), 0, undefined, { stored: () => true, keepBytes: 2048 });
    const s = await newSink();
    for (let i = 0; i < 3; i++) await s.write(bytes.subarray(i * 1000, (i + 1) * 1000));
    assert.equal((await s.finish()).sha256, sha(bytes));
    assert.deepEqual(await fs.readFile(s.path), bytes, 'staged although stored: its bytes were not all kept');
    const t = await newSink();
    await t.write(Buffer.alloc(100)); // more than the 48 bytes left
    await t.finish();
    assert.equal(await exists(t.path), true, 'the budget is for the whole factory');
  }));

test('ensureLayout verifies a root once, and in full again when one of its folders was replaced', () =>
  withTempDir('/dev/shm', async (dir) => {
    const l = layout(path.join(dir, 'root'));
    await ensureLayout(l);
    await ensureLayout(l); // verified: only looked at
    // Replaced by a symlink (only this user could, but it must still be caught): a full check refuses it.
    await fs.rm(l.tensors, { recursive: true });
    const elsewhere = path.join(dir, 'elsewhere');
    await fs.mkdir(elsewhere);
    await fs.symlink(elsewhere, l.tensors);
    await assert.rejects(ensureLayout(l), (e) => isTensorshareError(e, 'ERR_PERMISSION_DENIED'));
    // Removed: made again.
    await fs.rm(l.tensors);
    await ensureLayout(l);
    assert.equal((await fs.lstat(l.tensors)).isDirectory(), true);
  }));

test('withLock: holders of one process take turns, and a failing holder passes the lock on', () =>
  withTempDir('/dev/shm', async (dir) => {
    const l = layout(dir);
    let inside = 0;
    let most = 0;
    const order: number[] = [];
    const hold = (i: number) =>
      withLock(l, async () => {
        inside++;
        most = Math.max(most, inside);
        await new Promise((r) => setImmediate(r));
        order.push(i);
        inside--;
        if (i === 1) throw new Error('holder 1 fails');
        return i;
      });
    const results = await Promise.allSettled([0, 1, 2, 3].map(hold));
    assert.equal(most, 1);
    assert.deepEqual(order, [0, 1, 2, 3], 'in the order asked');
    assert.equal(results[1]!.status, 'rejected');
    assert.deepEqual(
      results.filter((r) => r.status === 'fulfilled').map((r) => (r as PromiseFulfilledResult<number>).value),
      [0, 2, 3],
    );
    await released(path.join(dir, '.commit.lock'));
  }));

test('withLock: a burst of holders of one process takes the lock file once, and another process gets it after', () =>
  withTempDir(os.tmpdir(), async (dir) => {
    const l = layout(dir);
    const lockDir = path.join(dir, '.commit.lock');
    // The lock folder each holder saw: the same folder (inode and birth time) means it was handed on, not taken again.
    const seen: string[] = [];
    const hold = () =>
      withLock(l, async () => {
        const st = await fs.stat(lockDir);
        seen.push(`${st.ino}:${st.birthtimeMs}`);
      });
    await Promise.all([hold(), hold(), hold(), hold()]);
    assert.equal(seen.length, 4);
    assert.equal(new Set(seen).size, 1, `one lock folder for the burst: ${seen.join(', ')}`);
    await released(lockDir);
    // Given back, the next holder takes the lock file again.
    await hold();
    assert.notEqual(seen[4], seen[0], 'a new lock folder after the release');
    await released(lockDir);
  }));

test("withLock: a holder's own nested call runs at once; work it left behind takes the lock again", () =>
  withTempDir(os.tmpdir(), async (dir) => {
    const l = layout(dir);
    const order: string[] = [];
    let later!: Promise<void>;
    let openGate!: () => void;
    const gate = new Promise<void>((r) => {
      openGate = r;
    });
    await withLock(l, async () => {
      order.push('outer');
      // Queued behind the outer hold, this would wait for it forever.
      await withLock(l, async () => {
        order.push('nested');
      });
      // Started inside the hold, run after it: it must take the lock like any other caller.
      later = gate.then(() =>
        withLock(l, async () => {
          order.push('later');
        }),
      );
      order.push('outer done');
    });
    // Someone else holds the lock when the left-behind work starts: that work waits for them.
    let release!: () => void;
    const blocker = withLock(l, async () => {
      order.push('blocker');
      await new Promise<void>((r) => {
        release = r;
      });
      order.push('blocker done');
    });
    while (!release) await new Promise((r) => setImmediate(r));
    openGate();
    for (let i = 0; i < 5; i++) await new Promise((r) => setImmediate(r));
    release();
    await Promise.all([blocker, later]);
    assert.deepEqual(order, ['outer', 'nested', 'outer done', 'blocker', 'blocker done', 'later']);
  }));
