// A minimal SVG line chart for benchmark reports (latency against
// throughput): one polyline with markers per series, linear axes with round
// ticks, a legend, and optional horizontal reference lines (an SLO). Plain
// string output, no dependencies; deterministic for the same input.

export interface Series {
  name: string;
  points: Array<[number, number]>;
  /** Dashed line (e.g. a baseline). */
  dashed?: boolean;
  /** Join the points in the given order instead of by x (a curve that bends back, e.g. throughput past saturation). */
  keepOrder?: boolean;
}

export interface LineChart {
  title: string;
  xLabel: string;
  yLabel: string;
  series: Series[];
  /** Horizontal reference lines, e.g. { y: 100, label: 'SLO 100 ms' }. */
  hlines?: Array<{ y: number; label: string }>;
  width?: number;
  height?: number;
  /** Upper bound of the y axis (points above are clipped to the frame); default: from the data. */
  yMax?: number;
}

const COLORS = ['#1f77b4', '#d62728', '#2ca02c', '#ff7f0e', '#9467bd', '#8c564b', '#e377c2', '#17becf'];

/** Round tick step for a span: 1, 2 or 5 times a power of ten, about `n` ticks. */
export function niceStep(span: number, n = 5): number {
  if (!(span > 0)) return 1;
  const raw = span / n;
  const p = 10 ** Math.floor(Math.log10(raw));
  const m = raw / p;
  return (m < 1.5 ? 1 : m < 3.5 ? 2 : m < 7.5 ? 5 : 10) * p;
}

const esc = (s: string) => s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;');
const fmt = (v: number) => (Math.abs(v) >= 1000 || Number.isInteger(v) ? String(Math.round(v)) : String(Number(v.toPrecision(3))));

export function lineChart(c: LineChart): string {
  const W = c.width ?? 640;
  const H = c.height ?? 400;
  const m = { left: 64, right: 16, top: 36, bottom: 52 };
  const pts = c.series.flatMap((s) => s.points).filter(([x, y]) => Number.isFinite(x) && Number.isFinite(y));
  const xMaxData = Math.max(1e-9, ...pts.map(([x]) => x));
  const yMaxData = Math.max(1e-9, ...pts.map(([, y]) => y), ...(c.hlines ?? []).map((h) => h.y));
  const xStep = niceStep(xMaxData);
  const xMax = Math.ceil(xMaxData / xStep) * xStep;
  const yTop = c.yMax ?? yMaxData * 1.05;
  const yStep = niceStep(yTop);
  const yMax = Math.ceil(yTop / yStep) * yStep;
  const pw = W - m.left - m.right;
  const ph = H - m.top - m.bottom;
  const X = (x: number) => m.left + (x / xMax) * pw;
  const Y = (y: number) => m.top + ph - (Math.min(y, yMax) / yMax) * ph;
  const out: string[] = [];
  out.push(`<svg xmlns="http://www.w3.org/2000/svg" width="${W}" height="${H}" viewBox="0 0 ${W} ${H}" font-family="sans-serif" font-size="11">`);
  out.push(`<rect width="${W}" height="${H}" fill="white"/>`);
  out.push(`<text x="${W / 2}" y="20" text-anchor="middle" font-size="14">${esc(c.title)}</text>`);
  for (let v = 0; v <= xMax + 1e-9; v += xStep) {
    out.push(`<line x1="${X(v).toFixed(1)}" y1="${m.top}" x2="${X(v).toFixed(1)}" y2="${m.top + ph}" stroke="#eee"/>`);
    out.push(`<text x="${X(v).toFixed(1)}" y="${m.top + ph + 16}" text-anchor="middle">${fmt(v)}</text>`);
  }
  for (let v = 0; v <= yMax + 1e-9; v += yStep) {
    out.push(`<line x1="${m.left}" y1="${Y(v).toFixed(1)}" x2="${m.left + pw}" y2="${Y(v).toFixed(1)}" stroke="#eee"/>`);
    out.push(`<text x="${m.left - 6}" y="${(Y(v) + 4).toFixed(1)}" text-anchor="end">${fmt(v)}</text>`);
  }
  out.push(`<rect x="${m.left}" y="${m.top}" width="${pw}" height="${ph}" fill="none" stroke="#333"/>`);
  out.push(`<text x="${m.left + pw / 2}" y="${H - 12}" text-anchor="middle">${esc(c.xLabel)}</text>`);
  out.push(`<text transform="translate(16 ${m.top + ph / 2}) rotate(-90)" text-anchor="middle">${esc(c.yLabel)}</text>`);
  for (const h of c.hlines ?? []) {
    out.push(`<line x1="${m.left}" y1="${Y(h.y).toFixed(1)}" x2="${m.left + pw}" y2="${Y(h.y).toFixed(1)}" stroke="#888" stroke-dasharray="6 4"/>`);
    out.push(`<text x="${m.left + pw - 4}" y="${(Y(h.y) - 4).toFixed(1)}" text-anchor="end" fill="#555">${esc(h.label)}</text>`);
  }
  c.series.forEach((s, i) => {
    const color = COLORS[i % COLORS.length];
    const p = s.points.filter(([x, y]) => Number.isFinite(x) && Number.isFinite(y));
    if (!s.keepOrder) p.sort((a, b) => a[0] - b[0]);
    if (p.length > 1) {
      out.push(`<polyline fill="none" stroke="${color}" stroke-width="2"${s.dashed ? ' stroke-dasharray="5 3"' : ''} points="${p.map(([x, y]) => `${X(x).toFixed(1)},${Y(y).toFixed(1)}`).join(' ')}"/>`);
    }
    for (const [x, y] of p) out.push(`<circle cx="${X(x).toFixed(1)}" cy="${Y(y).toFixed(1)}" r="3" fill="${color}"/>`);
    const ly = m.top + 14 + i * 16;
    out.push(`<line x1="${m.left + 10}" y1="${ly - 4}" x2="${m.left + 28}" y2="${ly - 4}" stroke="${color}" stroke-width="2"${s.dashed ? ' stroke-dasharray="5 3"' : ''}/>`);
    out.push(`<text x="${m.left + 32}" y="${ly}">${esc(s.name)}</text>`);
  });
  out.push('</svg>');
  return out.join('\n') + '\n';
}
