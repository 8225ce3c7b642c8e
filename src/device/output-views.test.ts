// Outputs of a device session as views of the executor's mapped segment (no
// copy), in a real executor process with the CPU provider standing in: a
// view stays intact while later runs go on (its connection carries none), a
// caller may write into it without harming the next answer, dispose() gives
// the connection back at once, and past the bound outputs are copied. Copied
// outputs that are disposed lend their buffers to the next runs' copies.
import { after, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import ort from 'onnxruntime-node';
import { startStandaloneExecutor } from '../bench/salus-executor.js';
import { writeMatMulChain } from '../bench/salus-models.js';

const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'ts-views-'));
after(() => fs.rmSync(dir, { recursive: true, force: true }));
const W = 64;
const input = (v: number) =>
  new ort.Tensor(
    'float32',
    Float32Array.from({ length: 2 * W }, (_, i) => v + i * 1e-3),
    [2, W],
  );

describe('device session outputs as views of shared memory', () => {
  test('views stay intact, survive writes and release; dispose frees the connection; past the bound they are copied', async () => {
    const m = await writeMatMulChain(path.join(dir, 'm.onnx'), { name: 'm', width: W, depth: 2 }, 3);
    const ref = await ort.InferenceSession.create(m.file, { executionProviders: ['cpu'] });
    const want = async (v: number) => Array.from((await ref.run({ x: input(v) })).y!.data as Float32Array);
    const ex = await startStandaloneExecutor({
      dir,
      device: { kind: 'fake', index: 0, totalBytes: 256 << 20 },
      provider: 'cpu',
      maxBatchSize: 8,
      policy: 'pack',
    });
    try {
      await ex.load(m);
      const s = await ex.open('m', { outputs: 'view' });
      const first = (await s.run({ x: input(0.1) })).y!;
      assert.equal(s.outputStats.views, 1, 'handed out as a view');
      const kept = Array.from(first.data as Float32Array);
      assert.deepEqual(kept, await want(0.1));
      // Later runs use other connections while `first` lives: its bytes are not written again.
      const second = (await s.run({ x: input(0.5) })).y!;
      assert.deepEqual(Array.from(second.data as Float32Array), await want(0.5));
      assert.deepEqual(Array.from(first.data as Float32Array), kept, 'the first view is intact');
      // A caller writing into its outputs (softmax in place, say) writes its own copy of the pages.
      (second.data as Float32Array).fill(-7);
      second.dispose();
      assert.throws(() => second.data, 'a disposed tensor has no data');
      // The connection it came from is free again and answers with the executor's bytes, not the writes.
      const third = (await s.run({ x: input(0.5) })).y!;
      assert.deepEqual(Array.from(third.data as Float32Array), await want(0.5));
      // Hold many: past the bound of lent connections outputs are copied, all of them right.
      const held = [first, third];
      for (let i = 0; i < 8; i++) held.push((await s.run({ x: input(i) })).y!);
      assert.equal(s.outputStats.views, 9, 'views until 8 connections are lent (one came back by dispose)');
      assert.equal(s.outputStats.copies, 2);
      for (let i = 0; i < 8; i++) assert.deepEqual(Array.from(held[2 + i]!.data as Float32Array), await want(i));
      // Released while views are out: they stay readable (the segment stays mapped until they go).
      await s.release();
      assert.deepEqual(Array.from(first.data as Float32Array), kept);
      for (const t of held) t.dispose();
      const copying = await ex.open('m');
      assert.deepEqual(Array.from((await copying.run({ x: input(0.3) })).y!.data as Float32Array), await want(0.3));
      assert.deepEqual(copying.outputStats, { views: 0, copies: 1 });
      // Copies: a disposed output's buffer takes the next output of its size, with that run's bytes; a kept one never.
      const a = (await copying.run({ x: input(0.7) })).y!;
      const aBuffer = (a.data as Float32Array).buffer;
      const kept7 = Array.from(a.data as Float32Array);
      const b = (await copying.run({ x: input(0.9) })).y!;
      assert.notEqual((b.data as Float32Array).buffer, aBuffer, 'a kept output is never reused');
      assert.deepEqual(Array.from(a.data as Float32Array), kept7);
      const bBuffer = (b.data as Float32Array).buffer;
      b.dispose();
      b.dispose();
      const c = (await copying.run({ x: input(0.2) })).y!;
      assert.equal((c.data as Float32Array).buffer, bBuffer, "the disposed output's buffer is reused");
      const d = (await copying.run({ x: input(0.4) })).y!;
      assert.deepEqual(Array.from(c.data as Float32Array), await want(0.2));
      assert.deepEqual(Array.from(d.data as Float32Array), await want(0.4));
      assert.notEqual((c.data as Float32Array).buffer, (d.data as Float32Array).buffer, 'disposed twice, lent once');
      assert.deepEqual(Array.from(a.data as Float32Array), kept7, 'the kept output is intact');
      await copying.release();
    } finally {
      await ex.stop();
      await ref.release();
    }
  });
});
