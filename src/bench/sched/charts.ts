// The scheduling benchmark's SVG charts, drawn with the benchmarks' one chart
// renderer (../charts.ts). Points are joined in the order given: the
// throughput curve bends back past saturation.
import { lineChart } from '../charts.js';
import { median } from './numbers.js';
import type { SchedBenchResults } from './results.js';

/** A chart point; a figure that was never measured (NaN) leaves a gap. */
const pt = (x: number, y: number) => ({ x, y: Number.isFinite(x) && Number.isFinite(y) ? y : null });

export function charts(r: SchedBenchResults): Record<string, string> {
  const out: Record<string, string> = {};
  if (r.batching) {
    const b = r.batching;
    /** Per configuration, per offered rate: medians over the repetitions that reached it. */
    const curve = (n: string) => {
      const rates = [...new Set(b.runs.filter((x) => x.config === n).map((x) => x.rate))].sort((x, y) => x - y);
      return rates.map((rate) => {
        const at = b.runs.filter((x) => x.config === n && x.rate === rate);
        return { rate, throughput: median(at.map((x) => x.throughput)), p99: median(at.map((x) => x.p99)) };
      });
    };
    const names = Object.keys(b.configs);
    const title = `BERT ${r.model.layers}x${r.model.hidden}, seq ${r.model.seq}, ${b.instances} instances`;
    out['sched-batching.svg'] = lineChart({
      title: `p99 latency vs throughput: ${title}`,
      xLabel: 'completed requests/s (median per offered rate; points in offered order)',
      yLabel: 'p99 latency (ms, clipped at 4x SLO)',
      series: names.map((n) => ({ name: n, points: curve(n).map((c) => pt(c.throughput, c.p99)) })),
      references: [{ y: r.sloMs, label: `SLO ${r.sloMs} ms` }],
      yMax: r.sloMs * 4,
    });
    out['sched-batching-load.svg'] = lineChart({
      title: `p99 latency vs offered load: ${title}`,
      xLabel: 'offered requests/s (Poisson)',
      yLabel: 'p99 latency (ms, clipped at 4x SLO)',
      series: names.map((n) => ({ name: n, points: curve(n).map((c) => pt(c.rate, c.p99)) })),
      references: [{ y: r.sloMs, label: `SLO ${r.sloMs} ms` }],
      yMax: r.sloMs * 4,
    });
  }
  if (r.priority) {
    const p = r.priority;
    const pct = (phase: string, k: 'p50' | 'p95' | 'p99') =>
      median(p.runs.filter((x) => x.phase === phase).map((x) => x.rt[k]));
    out['sched-priority.svg'] = lineChart({
      title: `realtime latency (${p.rtRate}/s) beside besteffort overload (${p.beRate}/s)`,
      xLabel: 'percentile',
      yLabel: 'realtime latency (ms, clipped at the top)',
      series: ['alone', 'priority', 'reserve', 'fifo'].map((phase) => ({
        name:
          phase === 'alone'
            ? 'realtime alone'
            : phase === 'reserve'
              ? 'with besteffort, priority + reserve 1'
              : `with besteffort, ${phase}`,
        points: ([50, 95, 99] as const).map((q) => pt(q, pct(phase, `p${q}`))),
      })),
      yMax: Math.max(pct('priority', 'p99'), pct('alone', 'p99')) * 2,
    });
  }
  if (r.srtf) {
    const s = r.srtf;
    out['sched-srtf.svg'] = lineChart({
      title: 'mean latency, short (MLP) + long (BERT) functions, one slot',
      xLabel: 'offered requests/s (half short, half long)',
      yLabel: 'mean latency (ms)',
      series: ['fifo', 'srtf'].flatMap((policy) =>
        (['all', 'short', 'long'] as const).map((k) => ({
          name: `${policy} ${k}`,
          dashed: policy === 'fifo',
          points: s.rates.map((rate) => pt(rate, s.meanMs[policy]![String(rate)]![k])),
        })),
      ),
    });
  }
  return out;
}
