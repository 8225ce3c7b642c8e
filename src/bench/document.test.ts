// The report, charts and target verdicts are pure functions of a results
// document: pinned here on a fixed, made-up one.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { sampleResults } from '../testing/bench-results.js';
import { buildReport, mdTable } from './document.js';
import { buildCharts } from './figures.js';
import { evaluateTargets, incrementBeyondBaseline, slope, totalAt, TARGETS } from './targets.js';
import { latencyBatch } from './latency.js';
import { nestedErrors } from './run.js';

const MiB = 2 ** 20;
const opts = {
  command: 'tensorshare bench',
  resultsPath: 'bench/results.json',
  charts: { 'density-bert': 'bench/density-bert.svg', latency: 'bench/latency.svg' },
};

test('mdTable escapes pipes and aligns columns', () => {
  assert.equal(mdTable(['a', 'b'], [['x|y', 2]], ['l', 'r']), '| a | b |\n| --- | ---: |\n| x\\|y | 2 |');
});

test('slope and increment beyond the runtime baseline', () => {
  assert.equal(
    slope([
      { x: 1, y: 3 },
      { x: 2, y: 5 },
      { x: 4, y: 9 },
    ]),
    2,
  );
  assert.ok(Number.isNaN(slope([{ x: 1, y: 1 }])));
  const r = sampleResults();
  const fo = r.density!.models[0]!.modes.find((m) => m.id === 'fast-open')!;
  const inc = incrementBeyondBaseline(fo, r.density!.baseline);
  assert.ok(Math.abs(inc - 3 * MiB) < 1, `fixture adds 3 MiB per instance beyond the baseline, got ${inc}`);
});

test('totalAt extrapolates only past the last measured N, and says so', () => {
  const r = sampleResults();
  const plain = r.density!.models[0]!.modes[0]!;
  assert.deepEqual(totalAt(plain, 16), { bytes: plain.points.at(-1)!.totalBytes, extrapolated: false });
  const short = { ...plain, points: plain.points.slice(0, 4) }; // up to N=8
  const t = totalAt(short, 16)!;
  assert.equal(t.extrapolated, true);
  assert.ok(Math.abs(t.bytes - plain.points.at(-1)!.totalBytes) < 1);
  assert.equal(totalAt({ ...plain, points: plain.points.slice(0, 1) }, 16), undefined);
});

test('targets: all met on the good fixture, each missed one explained', () => {
  const good = evaluateTargets(sampleResults());
  assert.deepEqual(
    good.map((t) => [t.id, t.verdict]),
    [
      ['density', 'met'],
      ['increment', 'met'],
      ['peer', 'met'],
      ['coldstart', 'met'],
      ['latency', 'met'],
      ['import', 'met'],
      ['requestpath-c1', 'met'],
      ['requestpath-c4', 'met'],
      ['requestpath-binary', 'met'],
      ['requestpath-fixed', 'met'],
    ],
  );
  const bad = evaluateTargets(sampleResults({ scale: 20 }));
  const verdict = Object.fromEntries(bad.map((t) => [t.id, t.verdict]));
  assert.equal(verdict.density, 'missed');
  assert.equal(verdict.increment, 'missed');
  assert.equal(verdict.peer, 'missed');
  assert.equal(verdict.coldstart, 'missed');
  assert.equal(verdict.latency, 'missed');
  assert.equal(verdict.import, 'missed', 'tmpfs falls below the target even though disk meets it');
  for (const id of ['requestpath-c1', 'requestpath-c4', 'requestpath-binary', 'requestpath-fixed'])
    assert.equal(verdict[id], 'missed', id);
  const density = bad.find((t) => t.id === 'density')!;
  assert.match(density.measured, /missed by \d+%/);
  assert.ok(
    density.notes.some((n) => n.includes('runtime baseline')),
    'names the runtime baseline',
  );
  const cold = bad.find((t) => t.id === 'coldstart')!;
  assert.ok(cold.notes.some((n) => n.includes('open alone')));
});

test('targets: a run without a suite says "not measured"', () => {
  const r = sampleResults();
  delete r.latency;
  delete r.import;
  const t = evaluateTargets(r);
  assert.equal(t.find((x) => x.id === 'latency')!.verdict, 'not measured');
  assert.equal(t.find((x) => x.id === 'import')!.verdict, 'not measured');
});

test('quick runs are marked indicative', () => {
  const t = evaluateTargets(sampleResults({ quick: true }));
  assert.ok(t.every((x) => x.verdict === 'not measured' || x.notes.some((n) => n.startsWith('quick run'))));
  assert.match(buildReport(sampleResults({ quick: true }), opts), /quick mode/);
});

test('report: sections, tables, chart links, machine facts; same input gives the same text', () => {
  const r = sampleResults();
  const md = buildReport(r, opts);
  for (const h of [
    '# Benchmarks',
    '## Machine',
    '## Modes and settings',
    '## Targets',
    '## 1. Density',
    '## 2. Dedup',
    '## 3. Cold start',
    '## 4. Inference speed',
    '## 5. Import throughput',
  ]) {
    assert.ok(md.includes(h), `has ${h}`);
  }
  assert.ok(md.includes('![total memory vs N, bert](bench/density-bert.svg)'));
  // Where a process's private memory is: the parts as measured, the other mappings less V8's pages.
  assert.match(md, /\| runtime baseline \| 12\.0 \| 15\.0 \| 9\.0 \| 4\.0 \| 1\.5 \| 0\.5 \|/);
  assert.ok(md.includes('Test CPU') && md.includes('1.30.0'));
  assert.ok(md.includes('cannot drop caches'), 'a skipped scenario says why');
  assert.ok(!md.includes('NaN') && !md.includes('undefined'), 'no NaN/undefined leaks into the text');
  assert.equal(buildReport(r, opts), md);
  // Values survive a JSON round trip (NaN becomes null) without breaking the report.
  const roundTrip = JSON.parse(
    JSON.stringify({ ...r, density: { ...r.density!, baseline: { ...r.density!.baseline, openMs: NaN } } }),
  );
  assert.doesNotThrow(() => buildReport(roundTrip, opts));
});

test('report: errors are listed', () => {
  const r = sampleResults();
  r.errors.push({ suite: 'latency', message: 'worker exited' });
  assert.match(buildReport(r, opts), /## Errors\n\n- latency: worker exited/);
});

test('charts: one per density model and cold-start model, one for latency; valid SVG', () => {
  const charts = buildCharts(sampleResults());
  assert.deepEqual(Object.keys(charts).sort(), ['coldstart-bert', 'density-bert', 'latency']);
  for (const svg of Object.values(charts)) {
    assert.ok(svg.startsWith('<svg') && svg.trimEnd().endsWith('</svg>'));
    assert.ok(!svg.includes('NaN'));
  }
});

test('latency ratios come from the same rounds', () => {
  const b = latencyBatch(
    'm',
    1,
    { private: [10, 10, 12, 10], 'fast-run': [10, 10, 13, 10], 'fast-open': [20, 20, 24, 20] },
    { private: 'plain', 'fast-run': 'fast-run', 'fast-open': 'fast-open' },
  );
  assert.equal(b.rounds, 4);
  const fr = b.ratios.find((q) => q.mode === 'fast-run')!;
  const fo = b.ratios.find((q) => q.mode === 'fast-open')!;
  assert.equal(fr.ratioOfMedians, 1);
  assert.equal(fr.pairedMedian, 1);
  assert.equal(fo.ratioOfMedians, 2);
  assert.equal(fo.pairedIqr, 0);
  assert.ok(fr.ratioOfMedians <= TARGETS.latencyRatio);
});

test('nested suite errors are collected', () => {
  const r = sampleResults();
  r.latency!.models.push({ model: 'x', batches: [], error: 'boom' });
  r.density!.models[0]!.modes[0]!.error = 'died';
  assert.deepEqual(nestedErrors(r), [
    { suite: 'density', message: 'plain: died' },
    { suite: 'latency', message: 'x: boom' },
  ]);
});
