import { test } from 'node:test';
import assert from 'node:assert/strict';
import path from 'node:path';
import { packageRoot } from '../../paths.js';
import { isTensorshareError } from '../../errors.js';
import { createBfc } from './bfc.js';
import { createBuddy } from './buddy.js';
import { createCaching } from './caching.js';
import { COST_MODELS, createDevice, H200_CUDA_MALLOC, tableCost } from './device.js';
import { learnArenaProfile } from './learned-arena.js';
import { readTrace } from './load.js';
import { ALLOCATORS, replay } from './replay.js';
import { simulateAlloc } from './report.js';
import { synthTrace } from './synth.js';
import { traceStats } from './trace.js';

const KiB = 1024;
const MiB = 2 ** 20;
const TRACES = path.join(packageRoot, 'traces', 'alloc');
const device = () => createDevice(COST_MODELS.h200!);

test('every allocator keeps live blocks apart and inside device segments, and accounts bytes exactly', () => {
  const traces = [
    synthTrace({ events: 10_000, seed: 7 }),
    readTrace(path.join(TRACES, 'resnet50-infer-mixed.json.gz')),
  ];
  for (const t of traces) {
    const stats = traceStats(t);
    const profile = learnArenaProfile(t);
    for (const a of ALLOCATORS) {
      // check: true throws on any overlap, double hand-out or block outside a segment.
      const r = replay(t, a, { check: true, profile });
      assert.equal(r.error, undefined, `${a} on ${t.name}`);
      assert.equal(r.peakRequested, stats.peakRequested);
      assert.equal(r.liveAtEnd, stats.liveAtEnd);
      assert.ok(r.peakReserved >= r.peakRequested, `${a} on ${t.name}: reserved below requested`);
      assert.ok(r.reservedAtEnd >= r.liveAtEnd, `${a} on ${t.name}: holds less than is live`);
    }
  }
});

test('direct pays one device call per tensor and holds exactly the live tensors', () => {
  const t = synthTrace({ events: 5000, seed: 1 });
  const r = replay(t, 'direct');
  const frees = t.length - traceStats(t).allocations;
  assert.equal(r.deviceMallocs, traceStats(t).allocations);
  assert.equal(r.deviceFrees, frees);
  let live = 0;
  const freed = new Set<number>();
  for (let i = t.length - 1; i >= 0; i--) if (t.ops[i] === 1) freed.add(t.ids[i]!);
  for (let id = 0; id < t.idBytes.length; id++)
    if (!freed.has(id)) live += Math.ceil(Math.max(t.idBytes[id]!, 1) / 512) * 512;
  assert.equal(r.reservedAtEnd, live);
});

test('caching: small requests share a 2 MiB segment, freed neighbours merge, nothing goes back', () => {
  const d = device();
  const c = createCaching(d);
  const blocks = [0, 1, 2, 3].map(() => c.malloc(256 * KiB));
  assert.equal(d.stats().mallocCalls, 1);
  assert.equal(d.stats().reserved, 2 * MiB);
  assert.deepEqual(
    blocks.map((b) => b - blocks[0]!),
    [0, 256 * KiB, 512 * KiB, 768 * KiB],
  );
  c.free(blocks[1]!);
  c.free(blocks[2]!);
  // The two freed neighbours are one 512 KiB block now: best fit puts the request there.
  assert.equal(c.malloc(512 * KiB), blocks[1]);
  // 1 MiB + 1 byte is a large-pool request: a 20 MiB segment, split (the rest is > 1 MiB).
  const big = c.malloc(MiB + 1);
  assert.equal(d.stats().mallocCalls, 2);
  assert.equal(d.stats().reserved, 22 * MiB);
  assert.equal(c.malloc(8 * MiB), big + MiB + 512);
  c.free(big);
  assert.equal(d.stats().freeCalls, 0);
});

test('caching gives whole free segments back when cudaMalloc fails, then retries', () => {
  const d = createDevice(COST_MODELS.h200!, 40 * MiB);
  const c = createCaching(d);
  c.free(c.malloc(15 * MiB));
  assert.equal(d.stats().reserved, 16 * MiB);
  c.malloc(30 * MiB);
  assert.equal(d.stats().freeCalls, 1);
  assert.equal(d.stats().reserved, 30 * MiB);
  assert.throws(
    () => c.malloc(30 * MiB),
    (e: unknown) => isTensorshareError(e, 'ERR_RESOURCE_EXHAUSTED'),
  );
  const r = replay(synthTrace({ events: 2000, seed: 1 }), 'bfc', { capacity: 8 * MiB });
  assert.equal(r.error?.code, 'ERR_RESOURCE_EXHAUSTED');
});

test('bfc: regions double, chunks split only when at least twice the request, frees coalesce', () => {
  const d = device();
  const b = createBfc(d);
  const x = b.malloc(1000); // rounded to 1024; the first region is 2 MiB
  assert.equal(d.stats().reserved, 2 * MiB);
  const y = b.malloc(1024);
  assert.equal(y, x + 1024);
  const z = b.malloc(3 * MiB); // no fit: the region size doubles to 4 MiB, which fits
  assert.equal(d.stats().mallocCalls, 2);
  assert.equal(d.stats().reserved, 6 * MiB);
  b.free(x);
  b.free(y);
  // x, y and the rest of the first region are one 2 MiB chunk again.
  assert.equal(b.malloc(2 * MiB), x);
  // 1.5 MiB from the 4 MiB region's 1 MiB rest does not fit; a new region of 8 MiB (doubled after the unchanged one).
  b.malloc(1.5 * MiB);
  assert.equal(d.stats().reserved, 14 * MiB);
  b.free(z);
  assert.equal(d.stats().freeCalls, 0);
  // A 700-byte request (768 rounded) in a 1024-byte chunk is not split: less than twice.
  const d2 = device();
  const b2 = createBfc(d2);
  const [p, q, r] = [b2.malloc(1024), b2.malloc(1024), b2.malloc(1024)];
  b2.free(q);
  assert.equal(b2.malloc(700), q);
  assert.equal(b2.malloc(256), r + 1024);
  b2.free(p);
});

test('buddy: power-of-two blocks, buddies merge back up to the whole arena', () => {
  const d = device();
  const b = createBuddy(d);
  const x = b.malloc(300); // 512 B
  const y = b.malloc(512);
  assert.equal(y, x + 512);
  const z = b.malloc(3000); // 4 KiB block at the next 4 KiB boundary
  assert.equal(z, x + 4096);
  b.free(x);
  assert.notEqual(b.malloc(1024), x); // x's buddy y is live: no 1 KiB block at x
  b.free(y);
  b.free(z);
  // Everything but the 1 KiB block is free; freeing it too leaves one 64 MiB block.
  const arena = [...d.segments.keys()][0]!;
  b.free(arena + 1024);
  assert.equal(b.malloc(64 * MiB), arena);
  assert.equal(d.stats().mallocCalls, 1);
  // A request larger than the arena gets its own power-of-two arena.
  b.malloc(100 * MiB);
  assert.equal(d.stats().reserved, 64 * MiB + 128 * MiB);
});

test('learned-arena: two device calls when the profile fits, spills when it does not, BFC without one', () => {
  const mixed = readTrace(path.join(TRACES, 'resnet50-infer-mixed.json.gz'));
  const own = replay(mixed, 'learned-arena', { profile: learnArenaProfile(mixed), check: true });
  assert.equal(own.deviceMallocs, 2);
  assert.equal(own.spills, 0);
  const p = learnArenaProfile(mixed);
  assert.equal(own.peakReserved, p.weightsBytes + p.arenaBytes);
  // Learned on batch 8 only, the batch-32 requests of the mixed trace do not fit the arena.
  const small = learnArenaProfile(readTrace(path.join(TRACES, 'resnet50-infer-b8.json.gz')));
  const spilled = replay(mixed, 'learned-arena', { profile: small, check: true });
  assert.ok(spilled.spills! > 0);
  assert.ok(spilled.deviceMallocs > 2);
  const cold = replay(mixed, 'learned-arena', { check: true });
  const bfc = replay(mixed, 'bfc');
  assert.equal(cold.deviceMallocs, bfc.deviceMallocs);
  assert.equal(cold.peakReserved, bfc.peakReserved);
});

test('the simulated caching allocator asks the device what the real PyTorch allocator asked, trace by trace', () => {
  for (const name of ['resnet50-infer-b1', 'resnet50-train-b32', 'bert-infer-b8', 'bert-train-b16']) {
    const t = readTrace(path.join(TRACES, `${name}.json.gz`));
    const real = t.meta.observed as { segmentAllocs: number; peakReserved: number };
    const r = replay(t, 'caching');
    // Within one small (2 MiB) segment: the trace starts after the CUDA context and a few library buffers exist.
    assert.ok(
      Math.abs(r.deviceMallocs - real.segmentAllocs) <= 1,
      `${name}: ${r.deviceMallocs} vs ${real.segmentAllocs}`,
    );
    assert.ok(
      Math.abs(r.peakReserved - real.peakReserved) <= 2 * MiB,
      `${name}: ${r.peakReserved} vs ${real.peakReserved}`,
    );
  }
});

test('the cost model interpolates the measured points and grows with size at the top', () => {
  const m = tableCost('t', 'test', H200_CUDA_MALLOC);
  for (const [bytes, malloc, free] of H200_CUDA_MALLOC) {
    assert.ok(Math.abs(m.mallocUs(bytes) - malloc) < 1e-9);
    assert.ok(Math.abs(m.freeUs(bytes) - free) < 1e-9);
  }
  assert.equal(m.mallocUs(1), H200_CUDA_MALLOC[0]![1]);
  assert.ok(m.mallocUs(2 ** 35) > m.mallocUs(2 ** 34));
  assert.ok(m.freeUs(2 ** 30) > m.freeUs(2 ** 20) * 5);
});

test('a report is a function of the traces and the seed', () => {
  const run = (seed: number) => {
    const { timing, ...rest } = simulateAlloc([synthTrace({ events: 20_000, seed })]);
    assert.equal(timing.length, ALLOCATORS.length);
    return rest;
  };
  assert.deepEqual(run(5), run(5));
  assert.notDeepEqual(run(5).results, run(6).results);
  const w = run(5).winners[0]!;
  assert.equal(w.deviceCalls, 'learned-arena');
  assert.equal(w.reservedAtEnd, 'direct');
});
