import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { isTensorshareError } from '../errors.js';
import {
  formatValue,
  groupedBarChart,
  latencyThroughputChart,
  lineChart,
  makeAxis,
  niceStep,
  ratioBarChart,
  writeSvg,
} from './charts.js';

const MiB = 2 ** 20;
const invalid = (e: unknown) => isTensorshareError(e, 'ERR_INVALID_ARGUMENT');
const count = (s: string, re: RegExp) => (s.match(re) ?? []).length;

/** Cheap well-formedness check: every opened element is closed in order. */
function assertBalanced(svg: string): void {
  const stack: string[] = [];
  for (const m of svg.matchAll(/<(\/?)([a-zA-Z]+)[^>]*?(\/?)>/g)) {
    const [, close, name, selfClose] = m;
    if (selfClose) continue;
    if (close) assert.equal(stack.pop(), name, `unbalanced </${name}>`);
    else stack.push(name!);
  }
  assert.deepEqual(stack, []);
}

test('axes: nice linear ticks, log2 powers, log10 1-2-5, byte units', () => {
  const lin = makeAxis([0, 93], 'linear', 'number', { zero: true, what: 't' });
  assert.deepEqual(lin.ticks, [0, 20, 40, 60, 80, 100]);
  const l2 = makeAxis([1, 2, 4, 8, 16, 32], 'log2', 'number', { what: 't' });
  assert.deepEqual(l2.ticks, [1, 2, 4, 8, 16, 32]);
  assert.equal(l2.frac(1), 0);
  assert.equal(l2.frac(32), 1);
  const l10 = makeAxis([30, 700], 'log10', 'ms', { what: 't' });
  assert.deepEqual(l10.ticks, [20, 50, 100, 200, 500, 1000]);
  const bytes = makeAxis([0, 900 * MiB], 'linear', 'bytes', { zero: true, what: 't' });
  assert.equal(bytes.unit.suffix, ' MiB');
  assert.ok(bytes.ticks.every((t) => (t / MiB) % 100 === 0 || (t / MiB) % 200 === 0));
  assert.throws(() => makeAxis([0, 1], 'log10', 'number', { what: 't' }), invalid);
  assert.throws(() => makeAxis([], 'linear', 'number', { what: 't' }), invalid);
  assert.equal(formatValue(1536 * MiB, 'bytes'), '1.5 GiB');
  assert.equal(formatValue(12.345, 'ms'), '12.3 ms');
  assert.equal(formatValue(1.234, 'ms'), '1.23 ms');
  assert.equal(formatValue(2.5, 'ratio'), '2.5×');
});

test('lineChart has title, axis labels, legend and one marker per point; output is deterministic', () => {
  const spec = {
    title: 'Total PSS <vs> N',
    xLabel: 'processes (N)',
    yLabel: 'total PSS',
    xScale: 'log2' as const,
    yFormat: 'bytes' as const,
    series: [
      { name: 'plain', points: [1, 2, 4].map((n) => ({ x: n, y: n * 100 * MiB })) },
      {
        name: 'plain-noprepack',
        points: [
          { x: 1, y: 90 * MiB },
          { x: 2, y: null },
          { x: 4, y: 350 * MiB },
        ],
      },
    ],
  };
  const svg = lineChart(spec);
  assertBalanced(svg);
  assert.ok(svg.startsWith('<svg xmlns="http://www.w3.org/2000/svg"'));
  assert.ok(svg.includes('Total PSS &lt;vs&gt; N'));
  for (const s of ['processes (N)', 'total PSS', 'plain-noprepack', '400 MiB']) assert.ok(svg.includes(`>${s}<`), s);
  assert.equal(count(svg, /<circle [^>]*r="3.5" fill="[^"]+"><title>/g), 5); // null makes no marker
  assert.equal(count(svg, /<polyline/g), 1); // the second series is two single points around a gap
  assert.equal(lineChart(spec), svg);
});

// From the scheduling benchmark's chart (its renderer, svg-chart.ts, merged into this one).
test('lineChart: one polyline per series, dashed series, SLO line, y axis clipped at yMax, escaped text, deterministic', () => {
  const c = {
    title: 'p99 <vs> throughput',
    xLabel: 'req/s',
    yLabel: 'ms',
    series: [
      {
        name: 'nobatch',
        points: [
          { x: 10, y: 20 },
          { x: 50, y: 90 },
          { x: 30, y: 40 },
        ],
      },
      {
        name: 'aimd',
        points: [
          { x: 10, y: 15 },
          { x: 120, y: 80 },
        ],
        dashed: true,
      },
    ],
    references: [{ y: 100, label: 'SLO 100 ms' }],
  };
  const svg = lineChart(c);
  assertBalanced(svg);
  assert.equal(svg, lineChart(c));
  assert.ok(svg.startsWith('<svg xmlns="http://www.w3.org/2000/svg"'));
  assert.equal(count(svg, /<polyline /g), 2);
  assert.equal(count(svg, /<circle [^>]*><title>/g), 5); // one marker per point
  assert.match(svg, /p99 &lt;vs&gt; throughput/);
  assert.match(svg, />SLO 100 ms</);
  assert.equal(count(svg, /<polyline [^>]*stroke-dasharray="5 3"/g), 1);
  assert.deepEqual([niceStep(100), niceStep(7), niceStep(0.3)], [20, 2, 0.1]);
  const clipped = lineChart({ ...c, yMax: 50 });
  const ticks = [...clipped.matchAll(/font-size="11" fill="#222" text-anchor="end">([^<]+)</g)].map((m) => m[1]);
  assert.equal(ticks.at(-1), '50', `y ticks ${ticks.join(' ')}`); // the 90 point and the SLO line no longer stretch the axis
});

test('groupedBarChart draws one bar per value and n/a for null; checks lengths', () => {
  const svg = groupedBarChart({
    title: 'Cold start',
    xLabel: 'scenario',
    yLabel: 'time to first inference',
    yFormat: 'ms',
    yScale: 'log10',
    categories: ['cold', 'warm', 'store hit'],
    series: [
      { name: 'plain', values: [2400, 900, null] },
      { name: 'tensorshare', values: [2500, 120, 30] },
    ],
  });
  assertBalanced(svg);
  assert.equal(count(svg, /<rect x=[^>]*><title>/g), 5);
  assert.equal(count(svg, />n\/a</g), 1);
  assert.ok(svg.includes('>tensorshare<') && svg.includes('>scenario<'));
  assert.throws(
    () =>
      groupedBarChart({
        title: 't',
        xLabel: 'x',
        yLabel: 'y',
        categories: ['a'],
        series: [{ name: 's', values: [1, 2] }],
      }),
    invalid,
  );
  assert.throws(
    () =>
      groupedBarChart({ title: '', xLabel: 'x', yLabel: 'y', categories: ['a'], series: [{ name: 's', values: [1] }] }),
    invalid,
  );
});

test('ratioBarChart has a dashed reference line at 1.0; latencyThroughputChart labels points', () => {
  const svg = ratioBarChart({
    title: 'Saving',
    xLabel: 'model',
    yLabel: 'plain / tensorshare',
    bars: [
      { label: 'bert', value: 7.5 },
      { label: 'tiny', value: 0.9 },
    ],
  });
  assertBalanced(svg);
  assert.equal(count(svg, /stroke-dasharray="6 4"/g), 1);
  assert.ok(svg.includes('>7.5×<') && svg.includes('>1× (parity)<'));
  const lt = latencyThroughputChart({
    title: 'Latency vs throughput',
    series: [
      {
        name: 'plain',
        points: [
          { throughput: 100, latencyMs: 5, label: 'c=1' },
          { throughput: 180, latencyMs: 11, label: 'c=2' },
        ],
      },
    ],
  });
  assertBalanced(lt);
  assert.ok(lt.includes('>c=2<') && lt.includes('>throughput (requests/s)<') && lt.includes('>latency (ms)<'));
});

test('writeSvg creates the folder', () => {
  const dir = mkdtempSync(path.join(tmpdir(), 'tensorshare-charts-'));
  try {
    const file = path.join(dir, 'a', 'b.svg');
    writeSvg(file, '<svg/>');
    assert.equal(readFileSync(file, 'utf8'), '<svg/>');
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
