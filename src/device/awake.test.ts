// Keeping an event loop awake for an answer (awake.ts): holds end when
// released or at their bound, on a fake clock; timers and I/O keep running
// meanwhile; and in a real executor process with spinning on, clients learn
// to stay awake for their answers (hello's awakeMs) and get the same outputs.
import { after, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import ort from 'onnxruntime-node';
import { startStandaloneExecutor } from '../bench/salus-executor.js';
import { writeMatMulChain } from '../bench/salus-models.js';
import { createAwake } from './awake.js';

/** Lets the loop turn a few times (the hold's immediates run in between). */
async function turns(n = 3): Promise<void> {
  for (let i = 0; i < n; i++) await new Promise((r) => setImmediate(r));
}

describe('createAwake', () => {
  test('a hold keeps the loop awake until released; a released hold ends at the next turn', async () => {
    const t = 0;
    const awake = createAwake(() => t);
    assert.equal(awake.active, false);
    const end = awake.hold(100);
    assert.equal(awake.active, true);
    await turns();
    assert.equal(awake.active, true, 'still held');
    end();
    await turns();
    assert.equal(awake.active, false);
    end(); // twice is harmless
    assert.equal(awake.hold(0)(), undefined, 'a hold of 0 ms is none');
    assert.equal(awake.active, false);
  });

  test('a hold ends at its bound; linger keeps the loop awake for its time; overlapping holds end with the last', async () => {
    let t = 0;
    const awake = createAwake(() => t);
    awake.hold(10);
    const long = awake.hold(50);
    t = 20;
    await turns();
    assert.equal(awake.active, true, 'the 50 ms hold is still on');
    long();
    await turns();
    assert.equal(awake.active, false, 'the 10 ms hold ended at its bound');
    awake.linger(5);
    await turns();
    assert.equal(awake.active, true);
    t = 26;
    await turns();
    assert.equal(awake.active, false);
    awake.linger(-1);
    awake.linger(Number.NaN);
    assert.equal(awake.active, false);
  });

  test('timers and I/O run while the loop is kept awake', async () => {
    const awake = createAwake();
    const end = awake.hold(10_000);
    try {
      await new Promise((r) => setTimeout(r, 5));
      const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'ts-awake-'));
      try {
        await fs.promises.writeFile(path.join(dir, 'f'), 'x');
        assert.equal(await fs.promises.readFile(path.join(dir, 'f'), 'utf8'), 'x');
      } finally {
        fs.rmSync(dir, { recursive: true, force: true });
      }
      assert.equal(awake.active, true);
    } finally {
      end();
    }
  });
});

describe('clients stay awake for the answers of an executor that does', () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'ts-awake-exec-'));
  after(() => fs.rmSync(dir, { recursive: true, force: true }));
  /** An executor on a fake device of 1 GiB, the CPU provider standing in. */
  const executor = (o: { spinMs: number; policy: 'pack' | 'fifo'; maxBatchSize: number }) =>
    startStandaloneExecutor({
      dir: fs.mkdtempSync(path.join(dir, 'ex-')),
      device: { kind: 'fake', index: 0, totalBytes: 2 ** 30 },
      provider: 'cpu',
      ...o,
    });

  for (const spinMs of [2, 0])
    test(`executor with spinMs ${spinMs}: the session's runs ${spinMs ? 'stay awake 20 ms by default (4 CPUs or more)' : 'sleep'}, outputs as a private session's`, async () => {
      const model = await writeMatMulChain(path.join(dir, `m${spinMs}.onnx`), { name: 'm', width: 64, depth: 3 }, 7);
      const ex = await executor({ spinMs, policy: 'pack', maxBatchSize: 8 });
      try {
        await ex.load(model);
        const s = await ex.open('m');
        const own = await ex.open('m', { awakeMs: 5 });
        // On fewer than 4 CPUs a client does not stay awake by default (device-session.ts, awakeMs).
        assert.equal(s.awakeMs, spinMs && os.availableParallelism() >= 4 ? 20 : 0);
        assert.equal(own.awakeMs, 5, 'the option overrides the default');
        const x = new ort.Tensor(
          'float32',
          Float32Array.from({ length: 2 * 64 }, (_, i) => (i % 5) * 0.01),
          [2, 64],
        );
        const plain = await ort.InferenceSession.create(model.file);
        const want = (await plain.run({ x })).y!.data as Float32Array;
        await plain.release();
        // Concurrent runs from two sessions, then one after the other.
        const [a, b] = await Promise.all([s.run({ x }), own.run({ x })]);
        for (const got of [a, b, await s.run({ x }), await own.run({ x })])
          assert.deepEqual(Array.from(got.y!.data as Float32Array), Array.from(want));
        assert.equal(s.lastOthers, 0, 'a run alone on the executor');
        await s.release();
        await own.release();
        await assert.rejects(ex.open('m', { awakeMs: -1 }), { code: 'ERR_INVALID_ARGUMENT', message: /awakeMs/ });
      } finally {
        await ex.stop();
      }
    });

  test('runs that arrive while others are in flight are told so (their next run waits asleep)', async () => {
    const model = await writeMatMulChain(path.join(dir, 'big.onnx'), { name: 'big', width: 512, depth: 12 }, 3);
    const ex = await executor({ spinMs: 2, policy: 'fifo', maxBatchSize: 1 });
    try {
      await ex.load(model);
      const sessions = await Promise.all([0, 1, 2, 3].map(() => ex.open('big')));
      const x = new ort.Tensor('float32', new Float32Array(64 * 512).fill(0.01), [64, 512]);
      // fifo, one row per batch: the four runs go one after the other, so the later ones arrive behind the first.
      await Promise.all(sessions.map((s) => s.run({ x })));
      const seen = sessions.map((s) => s.lastOthers).sort();
      assert.equal(seen[0], 0, `the first to arrive found none: ${seen}`);
      assert.ok(seen[3]! >= 1, `a later one found others in flight: ${seen}`);
      // Alone again: the count goes back to 0.
      await sessions[3]!.run({ x });
      assert.equal(sessions[3]!.lastOthers, 0);
      await Promise.all(sessions.map((s) => s.release()));
    } finally {
      await ex.stop();
    }
  });
});
