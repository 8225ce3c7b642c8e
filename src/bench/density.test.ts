import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { pathToFileURL } from 'node:url';
import os from 'node:os';
import path from 'node:path';
import { isTensorshareError } from '../errors.js';
import { listProcessTree } from '../proc/smaps.js';
import { estimatePss, plainMode, plainNoPrepackMode, runDensity, type DensityStep } from './density.js';
import { writeMatMulModel } from './tinymodel.js';

const MiB = 2 ** 20;
const noWorkersLeft = () => assert.deepEqual(listProcessTree(process.pid).slice(1), [], 'workers left behind');

test('runDensity: plain and plain-noprepack at N=1,2 with a runtime baseline', async () => {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'tensorshare-density-'));
  try {
    // 4 x 256x256 float32 = 1 MiB of weights, embedded in the .onnx file.
    const model = writeMatMulModel({ dir, dim: 256, layers: 4, weights: 'embedded' });
    const r = await runDensity({ model: model.modelPath, modes: [plainMode(), plainNoPrepackMode()], counts: [1, 2], feeds: { dims: { N: 2 } }, settleMs: 50 });
    assert.equal(r.kind, 'density');
    assert.deepEqual(r.counts, [1, 2]);
    assert.deepEqual(r.skipped, []);
    assert.deepEqual(r.steps.map((s) => `${s.mode}:${s.n}`), ['plain:1', 'plain:2', 'plain-noprepack:1', 'plain-noprepack:2']);
    const base = r.baseline!;
    assert.equal(base.mode, 'runtime-baseline');
    // Node + onnxruntime alone: some MiB, well under a GiB.
    assert.ok(base.total.pss > 5 * MiB && base.total.pss < 1024 * MiB, `baseline PSS ${base.total.pss}`);
    for (const s of r.steps) {
      assert.equal(s.children.length, s.n);
      assert.equal(s.perProcessPss.length, s.n);
      assert.ok(s.perProcessPss.every((p) => p > 0 && p < 2048 * MiB));
      assert.equal(s.total.pss, s.perProcessPss.reduce((a, b) => a + b, 0));
      assert.ok(s.total.pss <= s.total.rss && s.total.pssAnon > 0);
      // Each worker holds at least the runtime and the weights' worth of something beyond nothing.
      assert.ok(s.meanPss > base.total.pss * 0.5);
      assert.equal(s.loadMs.n, s.n);
      assert.equal(s.firstRunMs.n, s.n);
      assert.deepEqual(s.outputs.map((o) => [o.name, o.dims]), [['Y', [2, 256]]]);
      assert.equal(s.n === 1, s.marginalPss === null);
      assert.ok(new Set(s.children.map((c) => c.pid)).size === s.n);
    }
    const [p1, p2, q1] = r.steps;
    assert.ok(p2!.total.pss > p1!.total.pss, 'two plain processes cost more than one');
    // Same inference in every mode (prepacking changes float rounding only).
    assert.ok(Math.abs(p1!.outputs[0]!.checksum! - q1!.outputs[0]!.checksum!) < 1e-3);
    noWorkersLeft();
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('runDensity stops before the memory estimate exceeds the budget', async () => {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'tensorshare-density-'));
  try {
    const model = writeMatMulModel({ dir, dim: 64, layers: 1, weights: 'embedded' });
    const r = await runDensity({
      model: model.modelPath,
      modes: [plainMode()],
      counts: [1, 2, 4],
      baseline: false,
      settleMs: 0,
      memAvailable: () => 100 * MiB, // budget 70 MiB: N=1 fits, the N=2 estimate does not
    });
    assert.equal(r.baseline, null);
    assert.deepEqual(r.steps.map((s) => s.n), [1]);
    assert.deepEqual(r.skipped.map((s) => s.n), [2, 4]);
    assert.ok(r.skipped.every((s) => s.estimatedPss > s.budget && s.budget === 70 * MiB));
    noWorkersLeft();
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('runDensity reports worker failures and timeouts as typed errors and leaves no workers', async () => {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'tensorshare-density-'));
  try {
    await assert.rejects(
      runDensity({ model: path.join(dir, 'missing.onnx'), modes: [plainMode()], counts: [1, 2], baseline: false }),
      (e) => isTensorshareError(e, 'ERR_INTERNAL') && /missing\.onnx/.test(e.message),
    );
    noWorkersLeft();
    const silent = path.join(dir, 'silent-worker.mjs');
    writeFileSync(silent, "process.on('message', () => {}); process.on('disconnect', () => process.exit(0));\n");
    await assert.rejects(
      runDensity({ model: 'x', modes: [{ name: 'silent', worker: silent, args: [] }], counts: [2], baseline: false, readyTimeoutMs: 300 }),
      (e) => isTensorshareError(e, 'ERR_TIMEOUT'),
    );
    noWorkersLeft();
    await assert.rejects(runDensity({ model: 'x', modes: [plainMode()], counts: [2, 1] }), (e) => isTensorshareError(e, 'ERR_INVALID_ARGUMENT'));
    await assert.rejects(runDensity({ model: 'x', modes: [plainMode(), plainMode()] }), (e) => isTensorshareError(e, 'ERR_INVALID_ARGUMENT'));
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('estimatePss extrapolates from the marginal cost', () => {
  const step = (n: number, pss: number, rss: number, marginalPss: number | null) => ({ n, total: { pss, rss }, marginalPss }) as unknown as DensityStep;
  assert.equal(estimatePss([], 4), null);
  // One step: pessimistic, Rss per process.
  assert.equal(estimatePss([step(1, 60, 100, null)], 4), 60 + 3 * 100);
  // Two steps: last total + marginal per extra process.
  assert.equal(estimatePss([step(1, 60, 100, null), step(2, 80, 180, 20)], 8), 80 + 6 * 20);
});

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
/** Running (a zombie waiting for init to reap it counts as gone). */
const alive = (pid: number) => {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return stat.slice(stat.lastIndexOf(')') + 2)[0] !== 'Z';
  } catch {
    return false;
  }
};

/** Runs runDensity in a separate parent process that holds 2 ready workers (long settle), then hits the parent with `signal`. */
async function workersDieWithParent(signal: NodeJS.Signals): Promise<void> {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'tensorshare-density-'));
  try {
    const model = writeMatMulModel({ dir, dim: 16, layers: 1, weights: 'embedded' });
    const density = pathToFileURL(path.join(import.meta.dirname ?? path.dirname(new URL(import.meta.url).pathname), 'density.js')).href;
    const script = `import { runDensity, plainMode } from ${JSON.stringify(density)};
      await runDensity({ model: ${JSON.stringify(model.modelPath)}, modes: [plainMode()], counts: [2], baseline: false, settleMs: 60000 });`;
    const parent = spawn(process.execPath, ['--input-type=module', '-e', script], { stdio: 'inherit' });
    const exited = once(parent, 'exit');
    let workers: number[] = [];
    for (let i = 0; i < 200 && workers.length < 2; i++) {
      await sleep(50);
      workers = listProcessTree(parent.pid!).slice(1);
    }
    assert.equal(workers.length, 2, 'parent did not start 2 workers');
    await sleep(700); // let them load and report ready
    parent.kill(signal);
    await exited;
    for (let i = 0; i < 100 && workers.some(alive); i++) await sleep(50);
    assert.deepEqual(workers.filter(alive), [], `workers outlived a ${signal} of their parent`);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

test('workers die when the parent gets SIGINT (handler) or SIGKILL (IPC disconnect)', async () => {
  await workersDieWithParent('SIGINT');
  await workersDieWithParent('SIGKILL');
});
