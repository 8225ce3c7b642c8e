// The density harness on a tiny model with N = 1, 2: real worker processes,
// real smaps. Asserts structure, never timings or sizes beyond sanity.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import path from 'node:path';
import { unsetTensorshareVars } from '../testing/env.js';
import { tempRoots, type TempRoots } from '../testing/tmp.js';
import { mlp, MLP_TINY, writeModel } from '../gen/index.js';
import { importModel } from '../store/import.js';
import { layout } from '../store/layout.js';
import { materialize } from '../store/materialize.js';
import { measureDensity, nextProcessEstimate, type DensityMode } from './density.js';
import { WorkerPool } from './procs.js';
import { treeBytes } from './fsbytes.js';
import type { InputSpec } from './protocol.js';

let roots: TempRoots;
let file: string;
let ref: string;
const inputs: InputSpec[] = [{ name: 'x', dtype: 'float32', shape: [1, MLP_TINY.width], fill: 'random' }];

before(async () => {
  roots = await tempRoots('bench-density');
  file = path.join(roots.dir, 'mlp.onnx');
  await writeModel(mlp({ ...MLP_TINY, width: 256 }), file); // 3 x 256^2 fp32 = 768 KiB, above the external-tensor threshold
  inputs[0]!.shape = [1, 256];
  const r = await importModel(roots.repository, file, { name: 'mlp' });
  ref = `${r.manifest.name}:${r.manifest.version}`;
  await materialize(layout(roots.repository), layout(roots.store), r.manifest);
});
after(async () => {
  await roots.cleanup();
});

test('nextProcessEstimate: guess, then the first point, then the marginal cost', () => {
  assert.equal(nextProcessEstimate([], 5), 5);
  assert.equal(nextProcessEstimate([{ n: 2, totalBytes: 100 << 20 }], 5), 50 << 20);
  assert.equal(
    nextProcessEstimate(
      [
        { n: 1, totalBytes: 100 << 20 },
        { n: 3, totalBytes: 160 << 20 },
      ],
      5,
    ),
    30 << 20,
  );
  assert.equal(
    nextProcessEstimate(
      [
        { n: 1, totalBytes: 100 << 20 },
        { n: 2, totalBytes: 100 << 20 },
      ],
      5,
    ),
    16 << 20,
    'never below 16 MiB',
  );
});

test('quick density harness, N = 1, 2: plain and tensorshare fast-open', async () => {
  const pool = new WorkerPool(unsetTensorshareVars());
  const unguard = pool.guard();
  try {
    const storeBytes = (await treeBytes(roots.store)).bytes;
    const modes: DensityMode[] = [
      {
        id: 'plain',
        label: 'plain',
        settings: 'plain',
        opener: { kind: 'plain', file, sessionOptions: { intraOpNumThreads: 1 } },
      },
      {
        id: 'fast-open',
        label: 'fast-open',
        settings: 'fast-open',
        opener: {
          kind: 'tensorshare',
          repository: roots.repository,
          store: roots.store,
          ref,
          mode: 'fast-open',
          sessionOptions: { intraOpNumThreads: 1 },
        },
        store: { tensorsDir: layout(roots.store).tensors, residentBytes: storeBytes },
      },
    ];
    const lines: string[] = [];
    const results = await measureDensity({
      pool,
      modes,
      inputs,
      counts: [1, 2],
      guessBytes: () => 64 << 20,
      settleMs: 50,
      log: (l) => lines.push(l),
    });
    assert.equal(results.length, 2);
    for (const r of results) {
      assert.equal(r.error, undefined, r.error);
      assert.equal(r.stopped, undefined);
      assert.deepEqual(
        r.points.map((p) => p.n),
        [1, 2],
      );
      for (const p of r.points) {
        assert.ok(p.sum.pss > 0 && p.totalBytes >= p.sum.pss);
        assert.equal(p.perProcessBytes, p.totalBytes / p.n);
      }
      assert.ok(Number.isFinite(r.openMs) && Number.isFinite(r.firstRunMs));
    }
    assert.equal(results[0]!.servedMode, 'plain');
    const fo = results[1]!;
    assert.equal(fo.servedMode, 'fast-open');
    // Where its private memory is: after imports, then after open + 1 run by mapping (V8's pages among the others).
    const parts = fo.privateParts!;
    assert.ok(parts.imported > 0 && parts.total > parts.imported, 'a session and a run add private memory');
    assert.ok(parts.heap > 0 && parts.jsHeap > 0 && parts.other >= parts.jsHeap * 0.5);
    for (const p of fo.points) {
      assert.ok(p.storePss > 0, 'tensorshare workers map store files');
      assert.equal(p.storeCopied, 0, 'no weight page copied on write');
      assert.equal(p.totalBytes, p.sum.pss + p.storeUnmapped);
    }
    assert.ok(lines.some((l) => l.includes('N=2')));
    assert.equal(pool.size, 0, 'every worker is gone afterwards');
  } finally {
    unguard();
    await pool.killAll();
  }
});

test('a step that does not fit in memory is skipped and says why', async () => {
  const pool = new WorkerPool(unsetTensorshareVars());
  try {
    const [r] = await measureDensity({
      pool,
      inputs,
      counts: [1, 2],
      guessBytes: () => 1 << 30,
      availableBytes: () => 2 ** 30,
      reserveBytes: 0,
      modes: [{ id: 'plain', label: 'plain', settings: '', opener: { kind: 'plain', file, sessionOptions: {} } }],
    });
    assert.equal(r!.points.length, 0);
    assert.equal(r!.stopped?.n, 1);
    assert.match(r!.stopped!.reason, /MiB/);
  } finally {
    await pool.killAll();
  }
});
