// Benchmark charts as standalone SVG text: a small hand-written renderer
// (no dependencies, byte-for-byte deterministic output, so re-running a suite
// on the same numbers changes nothing in git). Four kinds:
//   lineChart             one line per series (memory vs N; log2 x axis)
//   groupedBarChart       categories x series (cold start per scenario per mode)
//   ratioBarChart         one bar per label with a reference line at 1.0
//   latencyThroughputChart  latency (y) against throughput (x), one line per mode
// Every chart has a title, axis labels and a legend (when it has series).
import { mkdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { byteUnit, trimNumber } from '../bytes.js';
import { TensorshareError } from '../errors.js';

export type ScaleKind = 'linear' | 'log2' | 'log10';
/** How axis values print: bytes use binary units (KiB, MiB, GiB), ms switches to s above 10 s. */
export type ValueFormat = 'number' | 'bytes' | 'ms' | 'ratio' | 'percent';

export interface ChartFrame {
  title: string;
  subtitle?: string;
  xLabel: string;
  yLabel: string;
  /** Pixels; default 760 x 440. */
  width?: number;
  height?: number;
}

export interface Point {
  x: number;
  /** null leaves a gap in the line. */
  y: number | null;
  /** Printed beside the marker (e.g. the concurrency of a latency/throughput point). */
  label?: string;
}

export interface LineSeries {
  name: string;
  /** Drawn in the given order (a curve may bend back, e.g. throughput past saturation). */
  points: readonly Point[];
  /** Dashed line, no markers in the legend (e.g. a baseline). */
  dashed?: boolean;
}

export interface LineChartSpec extends ChartFrame {
  series: readonly LineSeries[];
  xScale?: ScaleKind;
  yScale?: ScaleKind;
  xFormat?: ValueFormat;
  yFormat?: ValueFormat;
  /** Start a linear y axis at 0 (default true). */
  yZero?: boolean;
  /** Dashed horizontal reference lines. */
  references?: readonly { y: number; label: string }[];
  /** Top of the y axis: larger values are drawn at the top edge (clipped), so one outlier does not flatten the rest. */
  yMax?: number;
}

export interface BarSeries {
  name: string;
  /** One value per category; null draws nothing (and "n/a"). */
  values: readonly (number | null)[];
}

export interface GroupedBarChartSpec extends ChartFrame {
  categories: readonly string[];
  series: readonly BarSeries[];
  yScale?: 'linear' | 'log10';
  yFormat?: ValueFormat;
  /** Print each bar's value above it (default true). */
  valueLabels?: boolean;
}

export interface RatioBarChartSpec extends ChartFrame {
  bars: readonly { label: string; value: number }[];
  /** Reference line, default 1.0. */
  reference?: number;
  referenceLabel?: string;
  yScale?: 'linear' | 'log10';
  /** Legend text of the bars (default the y label). */
  seriesName?: string;
}

export interface LatencyThroughputSpec extends Omit<ChartFrame, 'xLabel' | 'yLabel'> {
  xLabel?: string;
  yLabel?: string;
  series: readonly { name: string; points: readonly { throughput: number; latencyMs: number; label?: string }[] }[];
  yScale?: 'linear' | 'log10';
}

// Tableau 10: distinguishable, colour-blind-friendlier than the defaults.
export const PALETTE = [
  '#4e79a7',
  '#f28e2b',
  '#e15759',
  '#76b7b2',
  '#59a14f',
  '#edc948',
  '#b07aa1',
  '#ff9da7',
  '#9c755f',
  '#bab0ac',
];
const FONT = 'DejaVu Sans, Helvetica, Arial, sans-serif';
const TEXT = '#222';
const GRID = '#e3e3e3';
const AXIS = '#888';
// White outline behind small labels so they stay readable over lines and grid.
const HALO = { stroke: '#fff', 'stroke-width': 3, 'paint-order': 'stroke', 'stroke-linejoin': 'round' };

// ---------- numbers and formats ----------

/** Rounds a coordinate to 0.1 px so output is short and stable. */
function px(v: number): string {
  return String(Math.round(v * 10) / 10);
}

interface Unit {
  div: number;
  suffix: string;
}

/** The unit an axis prints in, chosen from the largest value on it. */
export function unitFor(format: ValueFormat, maxValue: number): Unit {
  const m = Math.abs(maxValue);
  switch (format) {
    case 'bytes': {
      const u = byteUnit(m);
      return { div: u.div, suffix: ` ${u.suffix}` };
    }
    case 'ms':
      return m >= 10_000 ? { div: 1000, suffix: ' s' } : { div: 1, suffix: ' ms' };
    case 'ratio':
      return { div: 1, suffix: '×' };
    case 'percent':
      return { div: 0.01, suffix: '%' };
    case 'number':
      if (m >= 1e9) return { div: 1e9, suffix: 'G' };
      if (m >= 1e6) return { div: 1e6, suffix: 'M' };
      if (m >= 1e4) return { div: 1e3, suffix: 'k' };
      return { div: 1, suffix: '' };
  }
}

/** Formats one value in its own best unit (for value labels and tables). */
export function formatValue(v: number, format: ValueFormat = 'number'): string {
  const u = unitFor(format, v);
  return trimNumber(v / u.div) + u.suffix;
}

/** Round tick step for a span: 1, 2, 2.5 or 5 times a power of ten, about `count` ticks. */
export function niceStep(span: number, count = 5): number {
  const raw = span / count;
  const mag = 10 ** Math.floor(Math.log10(raw));
  const n = raw / mag;
  return (n <= 1 ? 1 : n <= 2 ? 2 : n <= 2.5 ? 2.5 : n <= 5 ? 5 : 10) * mag;
}

interface Axis {
  kind: ScaleKind;
  lo: number;
  hi: number;
  ticks: number[];
  unit: Unit;
  /** Maps a value to [0, 1] along the axis. */
  frac(v: number): number;
}

/** Builds a scale covering `values` (and `extra`, e.g. reference lines) with nice ticks. */
export function makeAxis(
  values: readonly number[],
  kind: ScaleKind,
  format: ValueFormat,
  opts: { zero?: boolean; what: string },
): Axis {
  const vs = values.filter((v) => Number.isFinite(v));
  if (vs.length === 0)
    throw new TensorshareError('ERR_INVALID_ARGUMENT', `chart ${opts.what} axis has no finite values`);
  let dataLo = Math.min(...vs);
  let dataHi = Math.max(...vs);
  const unit = unitFor(format, Math.max(Math.abs(dataLo), Math.abs(dataHi)));
  if (kind === 'linear') {
    if (opts.zero) {
      dataLo = Math.min(0, dataLo);
      dataHi = Math.max(0, dataHi);
    }
    let lo = dataLo / unit.div;
    let hi = dataHi / unit.div;
    if (lo === hi) {
      const pad = lo === 0 ? 1 : Math.abs(lo) * 0.1;
      lo -= opts.zero && lo === 0 ? 0 : pad;
      hi += pad;
    }
    const step = niceStep(hi - lo, 5);
    const start = Math.floor(lo / step + 1e-9) * step;
    const end = Math.ceil(hi / step - 1e-9) * step;
    const ticks: number[] = [];
    for (let t = start; t <= end + step * 1e-6; t += step) ticks.push(Number((t * unit.div).toPrecision(12)));
    const [a, b] = [start * unit.div, end * unit.div];
    return { kind, lo: a, hi: b, ticks, unit, frac: (v) => (v - a) / (b - a) };
  }
  if (dataLo <= 0)
    throw new TensorshareError(
      'ERR_INVALID_ARGUMENT',
      `chart ${opts.what} axis is logarithmic but has a value <= 0 (${dataLo})`,
    );
  const base = kind === 'log2' ? 2 : 10;
  const log = (v: number) => Math.log(v) / Math.log(base);
  const e0 = Math.floor(log(dataLo) + 1e-9);
  const e1 = Math.max(e0 + 1, Math.ceil(log(dataHi) - 1e-9));
  const every = Math.max(1, Math.ceil((e1 - e0) / 10));
  let candidates: number[] = [];
  for (let e = e0; e <= e1; e += every) candidates.push(base ** e);
  let lo = base ** e0;
  let hi = base ** e1;
  if (kind === 'log10' && e1 - e0 <= 2) {
    // Few decades: add 2 and 5 ticks, and let the domain end at the nearest 1-2-5 value.
    for (let e = e0; e < e1; e++) candidates.push(2 * 10 ** e, 5 * 10 ** e);
    candidates.sort((a, b) => a - b);
    lo = Math.max(...candidates.filter((t) => t <= dataLo * 1.0001));
    hi = Math.min(...candidates.filter((t) => t >= dataHi / 1.0001));
    if (hi <= lo) hi = Math.min(...candidates.filter((t) => t > lo)); // every value equal: leave one step of room
    candidates = candidates.filter((t) => t >= lo && t <= hi);
  }
  const l0 = log(lo);
  const l1 = log(hi);
  return {
    kind,
    lo,
    hi,
    ticks: candidates.map((t) => Number(t.toPrecision(12))),
    unit,
    frac: (v) => (log(v) - l0) / (l1 - l0),
  };
}

function tickLabel(axis: Axis, v: number): string {
  return trimNumber(v / axis.unit.div) + axis.unit.suffix;
}

// ---------- SVG pieces ----------

function esc(s: string): string {
  return s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;');
}

/** Approximate text width (DejaVu Sans averages ~0.6 em per character). */
function textWidth(s: string, size: number): number {
  return s.length * size * 0.6;
}

function text(x: number, y: number, s: string, attrs: Record<string, string | number> = {}): string {
  const a = Object.entries({ 'font-size': 12, fill: TEXT, ...attrs })
    .map(([k, v]) => `${k}="${esc(String(v))}"`)
    .join(' ');
  return `<text x="${px(x)}" y="${px(y)}" ${a}>${esc(s)}</text>`;
}

interface Layout {
  width: number;
  height: number;
  left: number;
  top: number;
  right: number;
  bottom: number;
}

function layout(
  frame: ChartFrame,
  legendNames: readonly string[],
  yTickLabels: readonly string[],
  rotateX: boolean,
  xTickLabels: readonly string[],
): Layout {
  const width = frame.width ?? 760;
  const height = frame.height ?? 440;
  const legendW = legendNames.length ? Math.max(...legendNames.map((n) => textWidth(n, 12))) + 44 : 0;
  const yTickW = Math.max(0, ...yTickLabels.map((s) => textWidth(s, 11)));
  const xTickH = rotateX ? Math.min(120, Math.max(...xTickLabels.map((s) => textWidth(s, 11))) * 0.6 + 14) : 18;
  return {
    width,
    height,
    left: 22 + yTickW + 14,
    top: frame.subtitle ? 60 : 44,
    right: width - 16 - legendW,
    bottom: height - (30 + xTickH),
  };
}

function header(frame: ChartFrame, l: Layout): string[] {
  const out = [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${l.width}" height="${l.height}" viewBox="0 0 ${l.width} ${l.height}" font-family="${FONT}">`,
    `<title>${esc(frame.title)}</title>`,
    `<rect width="${l.width}" height="${l.height}" fill="#fff"/>`,
    text(l.left, 24, frame.title, { 'font-size': 16, 'font-weight': 'bold' }),
  ];
  if (frame.subtitle) out.push(text(l.left, 44, frame.subtitle, { 'font-size': 12, fill: '#555' }));
  return out;
}

function axisTitles(frame: ChartFrame, l: Layout): string[] {
  const cx = (l.left + l.right) / 2;
  const cy = (l.top + l.bottom) / 2;
  return [
    text(cx, l.height - 10, frame.xLabel, { 'text-anchor': 'middle', 'font-size': 13 }),
    text(16, cy, frame.yLabel, { 'text-anchor': 'middle', 'font-size': 13, transform: `rotate(-90 16 ${px(cy)})` }),
  ];
}

function yAxis(axis: Axis, l: Layout): { svg: string[]; y: (v: number) => number } {
  const y = (v: number) => l.bottom - axis.frac(v) * (l.bottom - l.top);
  const svg: string[] = [];
  for (const t of axis.ticks) {
    const ty = y(t);
    svg.push(`<line x1="${px(l.left)}" y1="${px(ty)}" x2="${px(l.right)}" y2="${px(ty)}" stroke="${GRID}"/>`);
    svg.push(text(l.left - 6, ty + 4, tickLabel(axis, t), { 'text-anchor': 'end', 'font-size': 11 }));
  }
  svg.push(`<line x1="${px(l.left)}" y1="${px(l.top)}" x2="${px(l.left)}" y2="${px(l.bottom)}" stroke="${AXIS}"/>`);
  svg.push(`<line x1="${px(l.left)}" y1="${px(l.bottom)}" x2="${px(l.right)}" y2="${px(l.bottom)}" stroke="${AXIS}"/>`);
  return { svg, y };
}

function legend(
  entries: readonly { name: string; color: string; kind: 'line' | 'bar' | 'dash' }[],
  l: Layout,
): string[] {
  if (entries.length === 0) return [];
  const x = l.right + 16;
  const out = [`<g class="legend">`];
  entries.forEach((e, i) => {
    const y = l.top + 8 + i * 20;
    if (e.kind === 'bar') out.push(`<rect x="${px(x)}" y="${px(y - 6)}" width="14" height="12" fill="${e.color}"/>`);
    else {
      const dash = e.kind === 'dash' ? ' stroke-dasharray="5 3"' : '';
      out.push(
        `<line x1="${px(x)}" y1="${px(y)}" x2="${px(x + 18)}" y2="${px(y)}" stroke="${e.color}" stroke-width="2.5"${dash}/>`,
      );
      if (e.kind === 'line') out.push(`<circle cx="${px(x + 9)}" cy="${px(y)}" r="3.5" fill="${e.color}"/>`);
    }
    out.push(text(x + 24, y + 4, e.name));
  });
  out.push('</g>');
  return out;
}

function color(i: number): string {
  return PALETTE[i % PALETTE.length]!;
}

/** Dashed horizontal line; `label` is printed at its right end (omit it when the legend names the line). */
function referenceLine(y: number, label: string | undefined, l: Layout): string[] {
  const out = [
    `<line x1="${px(l.left)}" y1="${px(y)}" x2="${px(l.right)}" y2="${px(y)}" stroke="#333" stroke-width="1.2" stroke-dasharray="6 4"/>`,
  ];
  if (label)
    out.push(text(l.right - 4, y - 5, label, { 'text-anchor': 'end', 'font-size': 11, fill: '#333', ...HALO }));
  return out;
}

function checkFrame(frame: ChartFrame): void {
  for (const k of ['title', 'xLabel', 'yLabel'] as const) {
    if (!frame[k]) throw new TensorshareError('ERR_INVALID_ARGUMENT', `chart needs a ${k}`);
  }
}

// ---------- charts ----------

export function lineChart(spec: LineChartSpec): string {
  checkFrame(spec);
  if (spec.series.length === 0)
    throw new TensorshareError('ERR_INVALID_ARGUMENT', `line chart "${spec.title}" has no series`);
  const xKind = spec.xScale ?? 'linear';
  const yKind = spec.yScale ?? 'linear';
  const xs = spec.series.flatMap((s) => s.points.map((p) => p.x));
  const yMax = spec.yMax;
  const clip = (y: number) => (yMax === undefined || !Number.isFinite(yMax) ? y : Math.min(y, yMax));
  const ys = spec.series.flatMap((s) => s.points.flatMap((p) => (p.y === null ? [] : [clip(p.y)])));
  for (const r of spec.references ?? []) ys.push(clip(r.y));
  const xAxis = makeAxis(xs, xKind, spec.xFormat ?? 'number', { what: `"${spec.title}" x` });
  const yAx = makeAxis(ys, yKind, spec.yFormat ?? 'number', { zero: spec.yZero ?? true, what: `"${spec.title}" y` });
  const names = spec.series.map((s) => s.name);
  const l = layout(
    spec,
    names,
    yAx.ticks.map((t) => tickLabel(yAx, t)),
    false,
    [],
  );
  const x = (v: number) => l.left + xAxis.frac(v) * (l.right - l.left);
  const out = header(spec, l);
  const ya = yAxis(yAx, l);
  out.push(...ya.svg);
  for (const t of xAxis.ticks) {
    const tx = x(t);
    out.push(`<line x1="${px(tx)}" y1="${px(l.top)}" x2="${px(tx)}" y2="${px(l.bottom)}" stroke="${GRID}"/>`);
    out.push(`<line x1="${px(tx)}" y1="${px(l.bottom)}" x2="${px(tx)}" y2="${px(l.bottom + 4)}" stroke="${AXIS}"/>`);
    out.push(text(tx, l.bottom + 17, tickLabel(xAxis, t), { 'text-anchor': 'middle', 'font-size': 11 }));
  }
  for (const r of spec.references ?? []) out.push(...referenceLine(ya.y(clip(r.y)), r.label, l));
  spec.series.forEach((s, i) => {
    const c = color(i);
    out.push(`<g class="series" data-name="${esc(s.name)}">`);
    // Split into runs at null values.
    let run: string[] = [];
    const flush = () => {
      if (run.length > 1)
        out.push(
          `<polyline fill="none" stroke="${c}" stroke-width="2.5" stroke-linejoin="round"${s.dashed ? ' stroke-dasharray="5 3"' : ''} points="${run.join(' ')}"/>`,
        );
      run = [];
    };
    for (const p of s.points) {
      if (p.y === null) flush();
      else run.push(`${px(x(p.x))},${px(ya.y(clip(p.y)))}`);
    }
    flush();
    for (const p of s.points) {
      if (p.y === null) continue;
      const cx = x(p.x);
      const cy = ya.y(clip(p.y));
      out.push(
        `<circle cx="${px(cx)}" cy="${px(cy)}" r="3.5" fill="${c}"><title>${esc(`${s.name}: ${tickLabel(xAxis, p.x)}, ${tickLabel(yAx, p.y)}`)}</title></circle>`,
      );
      if (p.label) out.push(text(cx + 6, cy - 6, p.label, { 'font-size': 10, fill: c, ...HALO }));
    }
    out.push('</g>');
  });
  out.push(...axisTitles(spec, l));
  out.push(
    ...legend(
      [
        ...spec.series.map((s, i) => ({
          name: s.name,
          color: color(i),
          kind: s.dashed ? ('dash' as const) : ('line' as const),
        })),
      ],
      l,
    ),
  );
  out.push('</svg>');
  return `${out.join('\n')}\n`;
}

export function groupedBarChart(spec: GroupedBarChartSpec): string {
  checkFrame(spec);
  const cats = spec.categories;
  if (cats.length === 0 || spec.series.length === 0)
    throw new TensorshareError('ERR_INVALID_ARGUMENT', `bar chart "${spec.title}" needs categories and series`);
  for (const s of spec.series) {
    if (s.values.length !== cats.length) {
      throw new TensorshareError(
        'ERR_INVALID_ARGUMENT',
        `bar chart "${spec.title}": series "${s.name}" has ${s.values.length} values for ${cats.length} categories`,
      );
    }
  }
  const yKind = spec.yScale ?? 'linear';
  const ys = spec.series.flatMap((s) => s.values.filter((v): v is number => v !== null));
  const yAx = makeAxis(ys, yKind, spec.yFormat ?? 'number', { zero: true, what: `"${spec.title}" y` });
  const width = spec.width ?? 760;
  const approxBand = (width - 200) / cats.length;
  const rotate = cats.some((c) => textWidth(c, 11) > approxBand - 6);
  const l = layout(
    spec,
    spec.series.map((s) => s.name),
    yAx.ticks.map((t) => tickLabel(yAx, t)),
    rotate,
    cats,
  );
  const out = header(spec, l);
  const ya = yAxis(yAx, l);
  out.push(...ya.svg);
  const band = (l.right - l.left) / cats.length;
  const inner = band * 0.8;
  const barW = inner / spec.series.length;
  const base = yKind === 'linear' ? ya.y(Math.max(yAx.lo, Math.min(0, yAx.hi))) : l.bottom;
  const showValues = (spec.valueLabels ?? true) && barW >= 18;
  cats.forEach((cat, ci) => {
    const gx = l.left + ci * band + (band - inner) / 2;
    spec.series.forEach((s, si) => {
      const v = s.values[ci]!;
      const bx = gx + si * barW;
      if (v === null) {
        out.push(text(bx + barW / 2, l.bottom - 4, 'n/a', { 'text-anchor': 'middle', 'font-size': 9, fill: '#999' }));
        return;
      }
      const vy = ya.y(v);
      const top = Math.min(vy, base);
      const h = Math.abs(base - vy);
      out.push(
        `<rect x="${px(bx + 1)}" y="${px(top)}" width="${px(Math.max(1, barW - 2))}" height="${px(h)}" fill="${color(si)}"><title>${esc(`${cat} / ${s.name}: ${formatValue(v, spec.yFormat)}`)}</title></rect>`,
      );
      if (showValues)
        out.push(
          text(bx + barW / 2, top - 3, formatValue(v, spec.yFormat), {
            'text-anchor': 'middle',
            'font-size': 9,
            ...HALO,
          }),
        );
    });
    const cx = l.left + ci * band + band / 2;
    if (rotate)
      out.push(
        text(cx, l.bottom + 14, cat, {
          'text-anchor': 'end',
          'font-size': 11,
          transform: `rotate(-35 ${px(cx)} ${px(l.bottom + 14)})`,
        }),
      );
    else out.push(text(cx, l.bottom + 17, cat, { 'text-anchor': 'middle', 'font-size': 11 }));
  });
  out.push(...axisTitles(spec, l));
  out.push(
    ...legend(
      spec.series.map((s, i) => ({ name: s.name, color: color(i), kind: 'bar' as const })),
      l,
    ),
  );
  out.push('</svg>');
  return `${out.join('\n')}\n`;
}

export function ratioBarChart(spec: RatioBarChartSpec): string {
  checkFrame(spec);
  if (spec.bars.length === 0)
    throw new TensorshareError('ERR_INVALID_ARGUMENT', `ratio chart "${spec.title}" has no bars`);
  const ref = spec.reference ?? 1;
  const yKind = spec.yScale ?? 'linear';
  const yAx = makeAxis([...spec.bars.map((b) => b.value), ref], yKind, 'ratio', {
    zero: true,
    what: `"${spec.title}" y`,
  });
  const cats = spec.bars.map((b) => b.label);
  const width = spec.width ?? 760;
  const rotate = cats.some((c) => textWidth(c, 11) > (width - 200) / cats.length - 6);
  const name = spec.seriesName ?? spec.yLabel;
  const refLabel = spec.referenceLabel ?? `${trimNumber(ref)}× (parity)`;
  const l = layout(
    spec,
    [name, refLabel],
    yAx.ticks.map((t) => tickLabel(yAx, t)),
    rotate,
    cats,
  );
  const out = header(spec, l);
  const ya = yAxis(yAx, l);
  out.push(...ya.svg);
  const band = (l.right - l.left) / cats.length;
  const barW = Math.min(band * 0.7, 80);
  // Linear bars grow from 0; log bars grow from the reference (above: >1, below: <1).
  const base = yKind === 'linear' ? ya.y(0) : ya.y(ref);
  const labels: string[] = []; // drawn after the reference line, on top of it
  spec.bars.forEach((b, i) => {
    const cx = l.left + i * band + band / 2;
    const vy = ya.y(b.value);
    const top = Math.min(vy, base);
    out.push(
      `<rect x="${px(cx - barW / 2)}" y="${px(top)}" width="${px(barW)}" height="${px(Math.abs(base - vy))}" fill="${color(0)}"><title>${esc(`${b.label}: ${formatValue(b.value, 'ratio')}`)}</title></rect>`,
    );
    const labelY = b.value >= ref || yKind === 'linear' ? top - 4 : vy + 12;
    labels.push(text(cx, labelY, formatValue(b.value, 'ratio'), { 'text-anchor': 'middle', 'font-size': 10, ...HALO }));
    if (rotate)
      out.push(
        text(cx, l.bottom + 14, b.label, {
          'text-anchor': 'end',
          'font-size': 11,
          transform: `rotate(-35 ${px(cx)} ${px(l.bottom + 14)})`,
        }),
      );
    else out.push(text(cx, l.bottom + 17, b.label, { 'text-anchor': 'middle', 'font-size': 11 }));
  });
  out.push(...referenceLine(ya.y(ref), undefined, l)); // named in the legend
  out.push(...labels);
  out.push(...axisTitles(spec, l));
  out.push(
    ...legend(
      [
        { name, color: color(0), kind: 'bar' },
        { name: refLabel, color: '#333', kind: 'dash' },
      ],
      l,
    ),
  );
  out.push('</svg>');
  return `${out.join('\n')}\n`;
}

export function latencyThroughputChart(spec: LatencyThroughputSpec): string {
  return lineChart({
    ...spec,
    xLabel: spec.xLabel ?? 'throughput (requests/s)',
    yLabel: spec.yLabel ?? 'latency (ms)',
    xFormat: 'number',
    yFormat: 'ms',
    yScale: spec.yScale ?? 'linear',
    series: spec.series.map((s) => ({
      name: s.name,
      points: s.points.map((p) => ({ x: p.throughput, y: p.latencyMs, label: p.label })),
    })),
  });
}

/** Writes SVG text to `file`, creating its folder. */
export function writeSvg(file: string, svg: string): void {
  mkdirSync(path.dirname(file), { recursive: true });
  writeFileSync(file, svg);
}
