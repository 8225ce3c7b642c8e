// Benchmark charts as standalone SVG text from a small hand-written renderer:
// no dependencies, deterministic output (the same numbers give the same
// bytes, so regenerating a report changes nothing in git). Three kinds:
//   lineChart        one line per series (memory vs N, log2 x axis)
//   groupedBarChart  categories x series (cold start per scenario)
//   ratioBarChart    one bar per label with a reference line (latency ratio)
import { TensorshareError } from '../errors.js';

export type ScaleKind = 'linear' | 'log2' | 'log10';
export type ValueFormat = 'number' | 'bytes' | 'ms' | 'ratio';

export interface ChartFrame {
  title: string;
  subtitle?: string;
  xLabel: string;
  yLabel: string;
  width?: number;
  height?: number;
}

export interface LineChartSpec extends ChartFrame {
  series: readonly { name: string; points: readonly { x: number; y: number | null }[] }[];
  xScale?: ScaleKind;
  yScale?: ScaleKind;
  yFormat?: ValueFormat;
}

export interface GroupedBarChartSpec extends ChartFrame {
  categories: readonly string[];
  series: readonly { name: string; values: readonly (number | null)[] }[];
  yFormat?: ValueFormat;
}

export interface RatioBarChartSpec extends ChartFrame {
  bars: readonly { label: string; value: number }[];
  reference?: number;
  referenceLabel?: string;
  yScale?: 'linear' | 'log10';
}

export const PALETTE = ['#4e79a7', '#f28e2b', '#e15759', '#76b7b2', '#59a14f', '#edc948', '#b07aa1', '#ff9da7', '#9c755f', '#bab0ac'];
const FONT = 'DejaVu Sans, Helvetica, Arial, sans-serif';
const GRID = '#e3e3e3';
const AXIS = '#888';

const px = (v: number) => String(Math.round(v * 10) / 10);
const esc = (s: string) => s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;');
const textWidth = (s: string, size: number) => s.length * size * 0.6;

function trim(v: number): string {
  if (v === 0) return '0';
  const a = Math.abs(v);
  return String(Number(v.toFixed(a >= 100 ? 0 : a >= 10 ? 1 : a >= 1 ? 2 : 3)));
}

/** A value in its own best unit: bytes in KiB/MiB/GiB, ms switching to s, ratios with ×. */
export function formatValue(v: number, format: ValueFormat = 'number'): string {
  const a = Math.abs(v);
  switch (format) {
    case 'bytes':
      for (const [d, s] of [[2 ** 30, 'GiB'], [2 ** 20, 'MiB'], [2 ** 10, 'KiB']] as const) if (a >= d) return `${trim(v / d)} ${s}`;
      return `${trim(v)} B`;
    case 'ms':
      return a >= 10_000 ? `${trim(v / 1000)} s` : `${trim(v)} ms`;
    case 'ratio':
      return `${trim(v)}×`;
    default:
      return a >= 1e6 ? `${trim(v / 1e6)}M` : a >= 1e4 ? `${trim(v / 1e3)}k` : trim(v);
  }
}

interface Axis { ticks: number[]; frac(v: number): number }

function niceStep(span: number, count: number): number {
  const raw = span / count;
  const mag = 10 ** Math.floor(Math.log10(raw));
  const n = raw / mag;
  return (n <= 1 ? 1 : n <= 2 ? 2 : n <= 2.5 ? 2.5 : n <= 5 ? 5 : 10) * mag;
}

/** Divisor of the unit an axis prints in (ticks are round in that unit). */
function unitDiv(format: ValueFormat, max: number): number {
  if (format === 'bytes') return max >= 2 ** 30 ? 2 ** 30 : max >= 2 ** 20 ? 2 ** 20 : max >= 2 ** 10 ? 2 ** 10 : 1;
  if (format === 'ms') return max >= 10_000 ? 1000 : 1;
  return 1;
}

/** A scale over `values` with round ticks (in the display unit of `format`); linear axes start at 0. */
export function makeAxis(values: readonly number[], kind: ScaleKind, what: string, format: ValueFormat = 'number'): Axis {
  const vs = values.filter((v) => Number.isFinite(v));
  if (vs.length === 0) throw new TensorshareError('ERR_INVALID_ARGUMENT', `chart ${what} axis has no finite values`);
  const lo = Math.min(...vs);
  const hi = Math.max(...vs);
  if (kind === 'linear') {
    const div = unitDiv(format, Math.max(Math.abs(lo), Math.abs(hi)));
    const a = Math.min(0, lo) / div;
    const top = hi / div === a ? a + 1 : hi / div;
    const step = niceStep(top - a, 5);
    const start = Math.floor(a / step) * step;
    const end = Math.ceil(top / step - 1e-9) * step;
    const ticks: number[] = [];
    for (let t = start; t <= end + step * 1e-6; t += step) ticks.push(Number((t * div).toPrecision(12)));
    return { ticks, frac: (v) => (v / div - start) / (end - start) };
  }
  if (lo <= 0) throw new TensorshareError('ERR_INVALID_ARGUMENT', `chart ${what} axis is logarithmic but has a value <= 0 (${lo})`);
  const base = kind === 'log2' ? 2 : 10;
  const log = (v: number) => Math.log(v) / Math.log(base);
  const e0 = Math.floor(log(lo) + 1e-9);
  const e1 = Math.max(e0 + 1, Math.ceil(log(hi) - 1e-9));
  let ticks: number[] = [];
  for (let e = e0; e <= e1; e++) {
    ticks.push(base ** e);
    if (kind === 'log10' && e1 - e0 <= 2 && e < e1) ticks.push(2 * 10 ** e, 5 * 10 ** e);
  }
  ticks.sort((a, b) => a - b);
  // Few decades: let the domain end at the 1-2-5 ticks around the data.
  const first = kind === 'log10' ? Math.max(...ticks.filter((t) => t <= lo * 1.0001)) : base ** e0;
  let last = kind === 'log10' ? Math.min(...ticks.filter((t) => t >= hi / 1.0001)) : base ** e1;
  if (last <= first) last = Math.min(...ticks.filter((t) => t > first)); // all values equal: one step of room
  ticks = ticks.filter((t) => t >= first && t <= last).map((t) => Number(t.toPrecision(12)));
  const l0 = log(first);
  const l1 = log(last);
  return { ticks, frac: (v) => (log(v) - l0) / (l1 - l0) };
}

interface Box { width: number; height: number; left: number; top: number; right: number; bottom: number }

function box(frame: ChartFrame, legend: readonly string[], yLabels: readonly string[], xLabelHeight: number): Box {
  const width = frame.width ?? 760;
  const height = (frame.height ?? 440) + Math.max(0, xLabelHeight - 40);
  const legendW = legend.length ? Math.max(...legend.map((n) => textWidth(n, 12))) + 44 : 0;
  return {
    width, height,
    left: 36 + Math.max(0, ...yLabels.map((s) => textWidth(s, 11))),
    top: frame.subtitle ? 60 : 44,
    right: width - 16 - legendW,
    bottom: height - 30 - xLabelHeight,
  };
}

function text(x: number, y: number, s: string, attrs: Record<string, string | number> = {}): string {
  const a = Object.entries({ 'font-size': 12, fill: '#222', ...attrs }).map(([k, v]) => `${k}="${esc(String(v))}"`).join(' ');
  return `<text x="${px(x)}" y="${px(y)}" ${a}>${esc(s)}</text>`;
}

function frameSvg(frame: ChartFrame, b: Box): string[] {
  const cy = (b.top + b.bottom) / 2;
  const out = [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${b.width}" height="${b.height}" viewBox="0 0 ${b.width} ${b.height}" font-family="${FONT}">`,
    `<title>${esc(frame.title)}</title>`,
    `<rect width="${b.width}" height="${b.height}" fill="#fff"/>`,
    text(b.left, 24, frame.title, { 'font-size': 16, 'font-weight': 'bold' }),
    text((b.left + b.right) / 2, b.height - 10, frame.xLabel, { 'text-anchor': 'middle', 'font-size': 13 }),
    text(16, cy, frame.yLabel, { 'text-anchor': 'middle', 'font-size': 13, transform: `rotate(-90 16 ${px(cy)})` }),
  ];
  if (frame.subtitle) out.push(text(b.left, 44, frame.subtitle, { 'font-size': 12, fill: '#555' }));
  return out;
}

function yAxisSvg(axis: Axis, b: Box, format: ValueFormat): { svg: string[]; y: (v: number) => number } {
  const y = (v: number) => b.bottom - axis.frac(v) * (b.bottom - b.top);
  const svg: string[] = [];
  for (const t of axis.ticks) {
    svg.push(`<line x1="${px(b.left)}" y1="${px(y(t))}" x2="${px(b.right)}" y2="${px(y(t))}" stroke="${GRID}"/>`);
    svg.push(text(b.left - 6, y(t) + 4, formatValue(t, format), { 'text-anchor': 'end', 'font-size': 11 }));
  }
  svg.push(`<line x1="${px(b.left)}" y1="${px(b.top)}" x2="${px(b.left)}" y2="${px(b.bottom)}" stroke="${AXIS}"/>`);
  svg.push(`<line x1="${px(b.left)}" y1="${px(b.bottom)}" x2="${px(b.right)}" y2="${px(b.bottom)}" stroke="${AXIS}"/>`);
  return { svg, y };
}

function legendSvg(entries: readonly { name: string; color: string; kind: 'line' | 'bar' | 'dash' }[], b: Box): string[] {
  const out: string[] = [];
  entries.forEach((e, i) => {
    const x = b.right + 16;
    const y = b.top + 8 + i * 20;
    if (e.kind === 'bar') out.push(`<rect x="${px(x)}" y="${px(y - 6)}" width="14" height="12" fill="${e.color}"/>`);
    else out.push(`<line x1="${px(x)}" y1="${px(y)}" x2="${px(x + 18)}" y2="${px(y)}" stroke="${e.color}" stroke-width="2.5"${e.kind === 'dash' ? ' stroke-dasharray="5 3"' : ''}/>`);
    out.push(text(x + 24, y + 4, e.name));
  });
  return out;
}

function categoryLabels(labels: readonly string[], b: Box, band: number): string[] {
  const rotate = labels.some((c) => textWidth(c, 11) > band - 6);
  return labels.map((c, i) => {
    const cx = b.left + i * band + band / 2;
    return rotate
      ? text(cx, b.bottom + 14, c, { 'text-anchor': 'end', 'font-size': 11, transform: `rotate(-35 ${px(cx)} ${px(b.bottom + 14)})` })
      : text(cx, b.bottom + 17, c, { 'text-anchor': 'middle', 'font-size': 11 });
  });
}

function labelHeight(labels: readonly string[], band: number): number {
  return labels.some((c) => textWidth(c, 11) > band - 6) ? Math.min(200, Math.max(...labels.map((s) => textWidth(s, 11))) * 0.6 + 14) : 18;
}

function check(frame: ChartFrame, nonEmpty: boolean): void {
  for (const k of ['title', 'xLabel', 'yLabel'] as const) if (!frame[k]) throw new TensorshareError('ERR_INVALID_ARGUMENT', `chart needs a ${k}`);
  if (!nonEmpty) throw new TensorshareError('ERR_INVALID_ARGUMENT', `chart "${frame.title}" has no data`);
}

export function lineChart(spec: LineChartSpec): string {
  check(spec, spec.series.length > 0);
  const fmt = spec.yFormat ?? 'number';
  const xAxis = makeAxis(spec.series.flatMap((s) => s.points.map((p) => p.x)), spec.xScale ?? 'linear', `"${spec.title}" x`);
  const yAxis = makeAxis(spec.series.flatMap((s) => s.points.flatMap((p) => (p.y === null ? [] : [p.y]))), spec.yScale ?? 'linear', `"${spec.title}" y`, fmt);
  const b = box(spec, spec.series.map((s) => s.name), yAxis.ticks.map((t) => formatValue(t, fmt)), 18);
  const x = (v: number) => b.left + xAxis.frac(v) * (b.right - b.left);
  const ya = yAxisSvg(yAxis, b, fmt);
  const out = [...frameSvg(spec, b), ...ya.svg];
  for (const t of xAxis.ticks) {
    out.push(`<line x1="${px(x(t))}" y1="${px(b.top)}" x2="${px(x(t))}" y2="${px(b.bottom)}" stroke="${GRID}"/>`);
    out.push(text(x(t), b.bottom + 17, formatValue(t), { 'text-anchor': 'middle', 'font-size': 11 }));
  }
  spec.series.forEach((s, i) => {
    const c = PALETTE[i % PALETTE.length]!;
    const pts = s.points.filter((p): p is { x: number; y: number } => p.y !== null);
    out.push(`<g data-name="${esc(s.name)}">`);
    if (pts.length > 1) out.push(`<polyline fill="none" stroke="${c}" stroke-width="2.5" stroke-linejoin="round" points="${pts.map((p) => `${px(x(p.x))},${px(ya.y(p.y))}`).join(' ')}"/>`);
    for (const p of pts) out.push(`<circle cx="${px(x(p.x))}" cy="${px(ya.y(p.y))}" r="3.5" fill="${c}"><title>${esc(`${s.name}: ${formatValue(p.x)}, ${formatValue(p.y, fmt)}`)}</title></circle>`);
    out.push('</g>');
  });
  out.push(...legendSvg(spec.series.map((s, i) => ({ name: s.name, color: PALETTE[i % PALETTE.length]!, kind: 'line' as const })), b));
  out.push('</svg>');
  return out.join('\n') + '\n';
}

export function groupedBarChart(spec: GroupedBarChartSpec): string {
  check(spec, spec.categories.length > 0 && spec.series.length > 0);
  for (const s of spec.series) {
    if (s.values.length !== spec.categories.length) throw new TensorshareError('ERR_INVALID_ARGUMENT', `bar chart "${spec.title}": series "${s.name}" has ${s.values.length} values for ${spec.categories.length} categories`);
  }
  const fmt = spec.yFormat ?? 'number';
  const yAxis = makeAxis(spec.series.flatMap((s) => s.values.filter((v): v is number => v !== null)), 'linear', `"${spec.title}" y`, fmt);
  const approxBand = ((spec.width ?? 760) - 240) / spec.categories.length;
  const b = box(spec, spec.series.map((s) => s.name), yAxis.ticks.map((t) => formatValue(t, fmt)), labelHeight(spec.categories, approxBand));
  const ya = yAxisSvg(yAxis, b, fmt);
  const out = [...frameSvg(spec, b), ...ya.svg];
  const band = (b.right - b.left) / spec.categories.length;
  const barW = (band * 0.8) / spec.series.length;
  spec.categories.forEach((cat, ci) => {
    spec.series.forEach((s, si) => {
      const v = s.values[ci]!;
      const bx = b.left + ci * band + band * 0.1 + si * barW;
      if (v === null) {
        out.push(text(bx + barW / 2, b.bottom - 4, 'n/a', { 'text-anchor': 'middle', 'font-size': 9, fill: '#999' }));
        return;
      }
      const top = ya.y(v);
      out.push(`<rect x="${px(bx + 1)}" y="${px(top)}" width="${px(Math.max(1, barW - 2))}" height="${px(b.bottom - top)}" fill="${PALETTE[si % PALETTE.length]}"><title>${esc(`${cat} / ${s.name}: ${formatValue(v, fmt)}`)}</title></rect>`);
      // The value with its unit, or without it (the axis has it) when that is too wide for the bar.
      const full = formatValue(v, fmt);
      const label = textWidth(full, 9) <= barW + 2 ? full : full.replace(/\s*[A-Za-z×%]+$/, '');
      if (textWidth(label, 9) <= barW + 2) out.push(text(bx + barW / 2, top - 3, label, { 'text-anchor': 'middle', 'font-size': 9 }));
    });
  });
  out.push(...categoryLabels(spec.categories, b, band));
  out.push(...legendSvg(spec.series.map((s, i) => ({ name: s.name, color: PALETTE[i % PALETTE.length]!, kind: 'bar' as const })), b));
  out.push('</svg>');
  return out.join('\n') + '\n';
}

export function ratioBarChart(spec: RatioBarChartSpec): string {
  check(spec, spec.bars.length > 0);
  const ref = spec.reference ?? 1;
  const kind = spec.yScale ?? 'linear';
  const yAxis = makeAxis([...spec.bars.map((x) => x.value), ref], kind, `"${spec.title}" y`);
  const labels = spec.bars.map((x) => x.label);
  const refLabel = spec.referenceLabel ?? `${trim(ref)}×`;
  const approxBand = ((spec.width ?? 760) - 240) / labels.length;
  const b = box(spec, [spec.yLabel, refLabel], yAxis.ticks.map((t) => formatValue(t, 'ratio')), labelHeight(labels, approxBand));
  const ya = yAxisSvg(yAxis, b, 'ratio');
  const out = [...frameSvg(spec, b), ...ya.svg];
  const band = (b.right - b.left) / labels.length;
  const barW = Math.min(band * 0.7, 80);
  // Linear bars grow from 0; logarithmic ones from the reference (up: slower, down: faster).
  const base = kind === 'linear' ? ya.y(0) : ya.y(ref);
  spec.bars.forEach((bar, i) => {
    const cx = b.left + i * band + band / 2;
    const vy = ya.y(bar.value);
    const top = Math.min(vy, base);
    out.push(`<rect x="${px(cx - barW / 2)}" y="${px(top)}" width="${px(barW)}" height="${px(Math.max(1, Math.abs(base - vy)))}" fill="${PALETTE[0]}"><title>${esc(`${bar.label}: ${formatValue(bar.value, 'ratio')}`)}</title></rect>`);
    out.push(text(cx, bar.value >= ref || kind === 'linear' ? top - 4 : vy + 12, formatValue(bar.value, 'ratio'), { 'text-anchor': 'middle', 'font-size': 10 }));
  });
  out.push(`<line x1="${px(b.left)}" y1="${px(ya.y(ref))}" x2="${px(b.right)}" y2="${px(ya.y(ref))}" stroke="#333" stroke-width="1.2" stroke-dasharray="6 4"/>`);
  out.push(...categoryLabels(labels, b, band));
  out.push(...legendSvg([{ name: spec.yLabel, color: PALETTE[0]!, kind: 'bar' }, { name: refLabel, color: '#333', kind: 'dash' }], b));
  out.push('</svg>');
  return out.join('\n') + '\n';
}
