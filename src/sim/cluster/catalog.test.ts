import { test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { bert, mlp, resnet50, variedTensorNames } from '../../gen/index.js';
import { tensorBytes } from '../../gen/spec.js';
import { packageRoot } from '../../paths.js';
import { scoreNode } from '../../placement/scorer.js';
import { Xoshiro128 } from '../../prng.js';
import { buildCatalog } from './catalog.js';
import { costsFor, costsFromResults } from './costs.js';
import { trimsPredict, trimsRows } from './trims.js';

const catalog = buildCatalog({ functions: 30, familyFraction: 0.5, familySize: 5, diffLayers: 2, seed: 'cat' });

test('catalog: fine-tuned variants share all but their varied units, as the generator writes them', () => {
  const families = catalog.models.filter((m) => m.family >= 0);
  assert.ok(families.length >= 10);
  for (const f of new Set(families.map((m) => m.family))) {
    const [base, v] = families.filter((m) => m.family === f) as [(typeof families)[0], (typeof families)[0]];
    const shared = [...base.segments].filter((s) => v.segments.includes(s));
    const sharedBytes = shared.reduce((a, s) => a + catalog.segmentBytes[s]!, 0);
    const spec = { bert, resnet50, mlp }[base.kind]();
    const varied = new Set(variedTensorNames(spec, 2));
    const variedBytes = spec.initializers.filter((t) => varied.has(t.name)).reduce((a, t) => a + tensorBytes(t), 0);
    const inline = spec.initializers.filter((t) => tensorBytes(t) < 1024).reduce((a, t) => a + tensorBytes(t), 0);
    assert.equal(base.bytes, v.bytes);
    assert.equal(
      base.bytes - sharedBytes,
      variedBytes + inline,
      `${base.name}: only the varied units and the graph differ`,
    );
  }
  const unrelated = catalog.models.filter((m) => m.family < 0);
  assert.ok(unrelated.length >= 10);
  for (const a of unrelated)
    for (const b of unrelated)
      if (a !== b) assert.equal([...a.segments].filter((s) => b.segments.includes(s)).length, 0);
  assert.ok(catalog.uniqueBytes < catalog.logicalBytes);
});

test('catalog: scoring segments gives the bytes of scoring every tensor', () => {
  const rng = new Xoshiro128('score');
  for (let trial = 0; trial < 20; trial++) {
    // A node holding a random set of models: its tensors are those models' tensors.
    const held = catalog.models.map((_, i) => i).filter(() => rng.nextFloat() < 0.3);
    const heldSegs = new Set(held.flatMap((i) => [...catalog.models[i]!.segments].map((s) => catalog.segmentHash[s]!)));
    const heldTensors = new Set(held.flatMap((i) => catalog.tensorsOf(i).tensors.map((t) => t.hash)));
    const m = Math.floor(rng.nextFloat() * catalog.models.length);
    const bySeg = scoreNode(catalog.models[m]!.tensors, {
      node: 'n',
      freeBytes: 1e9,
      hasResident: (h) => heldSegs.has(h),
      hasInRepository: () => false,
    });
    const byTensor = scoreNode(catalog.tensorsOf(m), {
      node: 'n',
      freeBytes: 1e9,
      hasResident: (h) => heldTensors.has(h),
      hasInRepository: () => false,
    });
    assert.deepEqual(bySeg, byTensor);
  }
});

const results = JSON.parse(fs.readFileSync(path.join(packageRoot, 'docs', 'bench', 'results.json'), 'utf8'));

test('costs come from the benchmark results and interpolate in model bytes', () => {
  const c = costsFromResults(results);
  const bertPoint = c.points.find((p) => p.model === 'bert')!;
  const scen = results.coldStart.scenarios.find(
    (s: { model: string; id: string }) => s.model === 'bert' && s.id === 'ts-fast-open',
  );
  assert.ok(Math.abs(bertPoint.residentStartMs + bertPoint.execMs - scen.spawnToFirst.p50) < 1e-6);
  assert.ok(bertPoint.instanceBytes > 1e6 && bertPoint.instanceBytes < 200e6);
  assert.ok(c.repositoryBytesPerMs > 1e4, `${c.repositoryBytesPerMs} bytes/ms`);
  const at = costsFor(c, bertPoint.bytes);
  assert.equal(at.execMs, bertPoint.execMs);
  const [a, b] = c.points as [typeof bertPoint, typeof bertPoint];
  const mid = costsFor(c, (a.bytes + b.bytes) / 2);
  assert.ok(Math.abs(mid.residentStartMs - (a.residentStartMs + b.residentStartMs) / 2) < 1e-6);
  assert.throws(() => costsFromResults({ format: 'other' }), /format is other/);
});

test('TrIMS: rho = b/q - n(o+s), beside the measured benefit of the cold-start suite', () => {
  const m = { storageBytesPerMs: 1e6, readBytesPerMs: 2e6, shareMsPerObject: 0.01, mapMsPerObject: 0.04, detail: '' };
  assert.deepEqual(trimsPredict(5e8, 200, m), { loadMs: 500, sharingMs: 10, predictedMs: 490 });
  const rows = trimsRows(results, m);
  const bertRow = rows.find((r) => r.model === 'bert')!;
  assert.equal(bertRow.objects, 197);
  const openMsP50 = (id: string) =>
    results.coldStart.scenarios.find((s: { model: string; id: string }) => s.model === 'bert' && s.id === id).openMs
      .p50;
  assert.equal(bertRow.measuredVsPlainMs, openMsP50('plain-warm') - openMsP50('ts-fast-open'));
  assert.equal(bertRow.measuredVsRepositoryMs, openMsP50('ts-repo-fast-open') - openMsP50('ts-fast-open'));
});
