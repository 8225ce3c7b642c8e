// Salus lanes in a real executor process (the CPU provider standing in for
// the GPU, a fake device that books each run's memory and refuses what does
// not fit like CUDA), with real client sessions and shared memory: models in
// two lanes run at the same time, a model that fits no lane waits instead of
// running out of memory, realtime runs go ahead of besteffort ones.
import { after, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import ort from 'onnxruntime-node';
import { type StandaloneExecutor, startStandaloneExecutor } from '../bench/salus-executor.js';
import { type ChainModel, writeMatMulChain } from '../bench/salus-models.js';
import type { DeviceSession } from './device-session.js';
import type { RunPlacement } from './device-lanes.js';
import { until } from '../testing/until.js';

const MAX_BATCH = 64;
const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'ts-lanes-'));
after(() => fs.rmSync(dir, { recursive: true, force: true }));

const models: Record<string, Promise<ChainModel>> = {};
function chain(name: string, width: number, depth: number): Promise<ChainModel> {
  const have = models[name];
  if (have) return have;
  const made = writeMatMulChain(path.join(dir, `${name}.onnx`), { name, width, depth }, name.length);
  models[name] = made;
  return made;
}

const input = (width: number, rows = MAX_BATCH, v = 0.01) =>
  new ort.Tensor(
    'float32',
    Float32Array.from({ length: rows * width }, (_, i) => v + (i % 7) * 1e-3),
    [rows, width],
  );

/** The bytes the fake device books for a run of `rows`: inputs and an activation as large. */
const runBytes = (width: number, rows = MAX_BATCH) => 2 * rows * width * 4;

async function reference(m: ChainModel, x: ort.Tensor): Promise<Float32Array> {
  const s = await ort.InferenceSession.create(m.file, { executionProviders: ['cpu'] });
  try {
    return (await s.run({ x })).y!.data as Float32Array;
  } finally {
    await s.release();
  }
}

function assertClose(got: Float32Array, want: Float32Array, what: string): void {
  assert.equal(got.length, want.length, `${what}: length`);
  for (let i = 0; i < got.length; i++)
    assert.ok(
      Math.abs(got[i]! - want[i]!) <= 1e-4 * (1 + Math.abs(want[i]!)),
      `${what}[${i}]: ${got[i]} vs ${want[i]}`,
    );
}

async function run(s: DeviceSession, x: ort.Tensor): Promise<{ y: Float32Array; at: RunPlacement }> {
  const out = await s.run({ x });
  assert.ok(s.lastPlacement, 'the executor says where the run was');
  return { y: out.y!.data as Float32Array, at: s.lastPlacement };
}

const overlap = (a: RunPlacement, b: RunPlacement) => a.startedAt < b.endedAt && b.startedAt < a.endedAt;

/** A run's stages are nested intervals of one clock per process: each part fits inside the one around it. */
function assertStages(t: DeviceSession['lastTiming'], what: string): void {
  assert.ok(t, `${what}: the run says where its time went`);
  const eps = 1e-6;
  const show = JSON.stringify(t);
  for (const [k, v] of Object.entries(t)) assert.ok(Number.isFinite(v) && v >= 0, `${what}: ${k} >= 0: ${show}`);
  assert.ok(t.ortMs > 0 && t.ortMs <= t.runMs + eps, `${what}: ORT's call inside the device run: ${show}`);
  assert.ok(t.readMs + t.queuedMs + t.runMs <= t.executorMs + eps, `${what}: stages inside the executor: ${show}`);
  assert.ok(t.writeMs + t.executorMs + t.outMs <= t.totalMs + eps, `${what}: the executor inside run(): ${show}`);
}

async function withExecutor(
  o: { policy: 'fifo' | 'pack'; deviceBytes: number; laneBytes?: number },
  fn: (ex: StandaloneExecutor) => Promise<void>,
): Promise<void> {
  const ex = await startStandaloneExecutor({
    dir,
    device: { kind: 'fake', index: 0, totalBytes: o.deviceBytes, runBytes: true },
    provider: 'cpu',
    maxBatchSize: MAX_BATCH,
    policy: o.policy,
    laneBudget: o.laneBytes === undefined ? undefined : { bytes: o.laneBytes },
  });
  try {
    await fn(ex);
  } finally {
    await ex.stop();
  }
}

describe('lanes in the device executor (CPU provider standing in)', () => {
  test('pack: two models in two lanes run at the same time, with the right outputs; fifo (sessions on the executor thread) runs them one after the other', async () => {
    const a = await chain('a', 512, 12);
    const b = await chain('b', 512, 12);
    const xa = input(512, MAX_BATCH, 0.01);
    const xb = input(512, MAX_BATCH, 0.02);
    const [wantA, wantB] = [await reference(a, xa), await reference(b, xb)];
    for (const policy of ['pack', 'fifo'] as const)
      await withExecutor({ policy, deviceBytes: 256 << 20 }, async (ex) => {
        const measured = await ex.load(a);
        await ex.load(b);
        assert.equal(measured.persistentBytes, a.weightBytes, 'P: the weights the fake device booked');
        assert.equal(measured.ephemeralBytes, runBytes(512), 'E: measured at a run at the largest batch');
        const [sa, sb] = [await ex.open('a'), await ex.open('b')];
        await Promise.all([sa.run({ x: xa }), sb.run({ x: xb })]); // warm both
        // Two runs sent together overlap only if both reach the executor within one run's time (a few ms); on a busy
        // machine one may arrive late, so pack gets a bounded number of pairs to show an overlap (fifo never may).
        let [ra, rb] = await Promise.all([run(sa, xa), run(sb, xb)]);
        for (let i = 0; policy === 'pack' && !overlap(ra.at, rb.at) && i < 20; i++)
          [ra, rb] = await Promise.all([run(sa, xa), run(sb, xb)]);
        assertClose(ra.y, wantA, `${policy} a`);
        assertClose(rb.y, wantB, `${policy} b`);
        // pack: sessions in worker threads; fifo: on the executor's own thread. Both report the same stages.
        assertStages(sa.lastTiming, `${policy} a`);
        assertStages(sb.lastTiming, `${policy} b`);
        if (policy === 'pack') {
          assert.notEqual(ra.at.lane, rb.at.lane, 'two lanes');
          assert.ok(overlap(ra.at, rb.at), `runs overlap: a ${JSON.stringify(ra.at)}, b ${JSON.stringify(rb.at)}`);
          assert.equal(Math.max(ra.at.concurrent, rb.at.concurrent), 2);
          await until(
            () => (ex.stats()?.lanes?.peakConcurrent ?? 0) >= 2,
            10_000,
            'the executor reports two runs at once',
          );
        } else {
          assert.ok(
            !overlap(ra.at, rb.at),
            `fifo: one run at a time: a ${JSON.stringify(ra.at)}, b ${JSON.stringify(rb.at)}`,
          );
          // Stats come every second: wait for one sent after the runs.
          await until(() => (ex.stats()?.lanes?.peakConcurrent ?? 0) >= 1, 10_000, 'stats after the runs');
          assert.equal(ex.stats()!.lanes!.peakConcurrent, 1);
        }
        await sa.release();
        await sb.release();
      });
  });

  test('a model that fits no lane waits for one and never runs out of device memory; without lanes it would', async () => {
    const a = await chain('a', 512, 12);
    const b = await chain('b', 512, 12);
    const e = runBytes(512);
    // Room for both models' weights and one and a half runs: one lane at a time.
    const deviceBytes = a.weightBytes + b.weightBytes + e + e / 2;
    const xa = input(512);
    const xb = input(512, MAX_BATCH, 0.03);
    await withExecutor({ policy: 'pack', deviceBytes }, async (ex) => {
      await ex.load(a);
      await ex.load(b);
      const [sa, sb] = [await ex.open('a'), await ex.open('b')];
      for (let round = 0; round < 3; round++) {
        const [ra, rb] = await Promise.all([run(sa, xa), run(sb, xb)]);
        assert.equal(ra.at.lane, rb.at.lane, 'b was put in the lane a holds (the best-matching existing lane)');
        assert.ok(!overlap(ra.at, rb.at), `the second waited for the first: ${JSON.stringify([ra.at, rb.at])}`);
      }
      await sa.release();
      await sb.release();
    });
    // The control: lanes told the device is larger than it is start both runs at once, and the device refuses one.
    await withExecutor({ policy: 'pack', deviceBytes, laneBytes: deviceBytes + e }, async (ex) => {
      await ex.load(a);
      await ex.load(b);
      const [sa, sb] = [await ex.open('a'), await ex.open('b')];
      const results = await Promise.allSettled([sa.run({ x: xa }), sb.run({ x: xb })]);
      const failed = results.filter((r) => r.status === 'rejected');
      assert.equal(failed.length, 1, 'one of two runs at once does not fit the device');
      assert.equal((failed[0] as PromiseRejectedResult).reason.code, 'ERR_RESOURCE_EXHAUSTED');
      await sa.release();
      await sb.release();
    });
  });

  test('realtime runs go ahead of besteffort runs queued before them', async () => {
    const m = await chain('long', 1024, 32);
    const x = input(1024);
    await withExecutor({ policy: 'pack', deviceBytes: 512 << 20 }, async (ex) => {
      await ex.load(m);
      const be = await ex.open('long', { priority: 'besteffort' });
      const be2 = await ex.open('long', { priority: 'besteffort' });
      const rt = await ex.open('long', { priority: 'realtime' });
      await rt.run({ x });
      // One besteffort run on the device (4 GFLOP: hundreds of ms on the CPU), then another besteffort request and a
      // realtime one queue while it runs (checked below, so the order is not decided by a run that already ended).
      const first = run(be, x);
      await new Promise((r) => setTimeout(r, 10));
      const second = run(be2, x);
      await new Promise((r) => setTimeout(r, 10));
      const urgent = run(rt, x);
      const [f, s, u] = await Promise.all([first, second, urgent]);
      assert.ok(s.at.queuedMs > 0 && u.at.queuedMs > 0, 'both waited for the first run');
      assert.ok(f.at.endedAt > u.at.startedAt - u.at.queuedMs, 'the realtime request arrived while the first ran');
      assert.ok(
        u.at.startedAt < s.at.startedAt,
        `realtime first: ${JSON.stringify({ besteffort: s.at, realtime: u.at })}`,
      );
      for (const s_ of [be, be2, rt]) await s_.release();
    });
  });

  test("a session's own policy travels with its runs: srtf runs the shorter of two queued runs first; a bad one is refused", async () => {
    const m = await chain('long', 1024, 32);
    const x = input(1024);
    const small = input(1024, 1);
    // pack, not fifo: a fifo executor runs sessions on its own thread and reads no request while one runs.
    await withExecutor({ policy: 'pack', deviceBytes: 512 << 20 }, async (ex) => {
      await ex.load(m);
      const order = async (policy: 'srtf' | undefined) => {
        const opts = { priority: 'besteffort' as const, ...(policy ? { policy } : {}) };
        const [busy, big, short] = [
          await ex.open('long', opts),
          await ex.open('long', opts),
          await ex.open('long', opts),
        ];
        await busy.run({ x });
        await short.run({ x: small }); // the profile learns both sizes
        // One run on the device, then a 64-row and a 1-row request queue behind it (too many rows to join one run).
        const first = run(busy, x);
        await new Promise((r) => setTimeout(r, 10));
        const b = run(big, x);
        await new Promise((r) => setTimeout(r, 10));
        const sh = run(short, small);
        const [f, rb, rs] = await Promise.all([first, b, sh]);
        assert.ok(rb.at.queuedMs > 0 && rs.at.queuedMs > 0, 'both waited for the first run');
        assert.ok(f.at.endedAt > rs.at.startedAt - rs.at.queuedMs, 'the short request arrived while the first ran');
        for (const s_ of [busy, big, short]) await s_.release();
        return rs.at.startedAt < rb.at.startedAt ? 'short first' : 'big first';
      };
      assert.equal(await order(undefined), 'big first', "the executor's pack: oldest first among one model's runs");
      assert.equal(await order('srtf'), 'short first', "the session's srtf: the shorter run first");
      const bad = await ex.open('long', { policy: 'lifo' as never });
      await assert.rejects(bad.run({ x: small }), (e: Error & { code?: string }) => {
        assert.equal(e.code, 'ERR_INVALID_ARGUMENT');
        assert.match(e.message, /"lifo" is not one of fifo, pack, srtf, fair/);
        return true;
      });
      await bad.release();
    });
  });
});
