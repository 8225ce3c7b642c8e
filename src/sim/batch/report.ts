// What `sim batch` prints and draws: a table of the three contenders and
// charts in the benchmark report's style (src/bench/charts.ts).
import path from 'node:path';
import { lineChart, writeSvg } from '../../bench/charts.js';
import type { CompareResult } from './compare.js';

const f1 = (v: number) => v.toFixed(1);
const pct = (v: number) => `${(v * 100).toFixed(1)}%`;

export function batchTable(r: CompareResult): string[][] {
  const o = r.offline;
  return [
    ['', 'CAP', 'THROUGHPUT/S', 'SLO MET', 'P50 MS', 'P99 MS', 'MEAN BATCH', 'REFUSED', 'CONVERGED AT'],
    [
      'offline optimum (profile only)',
      o.batch === null ? 'none' : String(o.batch),
      o.throughputPerS === null ? '-' : f1(o.throughputPerS),
      '-',
      '-',
      '-',
      '-',
      '-',
      '-',
    ],
    [
      `best static${r.bestStatic.metTarget ? '' : ' (none met the target)'}`,
      String(r.bestStatic.batch),
      f1(r.bestStatic.throughputPerS),
      pct(r.bestStatic.sloAttainment),
      f1(r.bestStatic.p50Ms),
      f1(r.bestStatic.p99Ms),
      f1(r.bestStatic.meanBatch),
      String(r.bestStatic.rejected),
      '-',
    ],
    [
      'AIMD (the scheduler)',
      `-> ${r.aimd.finalCap}`,
      f1(r.aimd.throughputPerS),
      pct(r.aimd.sloAttainment),
      f1(r.aimd.p50Ms),
      f1(r.aimd.p99Ms),
      f1(r.aimd.meanBatch),
      String(r.aimd.rejected),
      r.aimd.phases.map((p) => (p.convergenceMs === null ? 'never' : `${f1(p.convergenceMs / 1000)} s`)).join(', '),
    ],
  ];
}

/** name -> SVG text. */
export function batchCharts(r: CompareResult, title: string): Record<string, string> {
  const caps = r.staticSweep.map((s) => s.batch);
  const line = (name: string, y: number) => ({ name, dashed: true, points: caps.map((x) => ({ x, y })) });
  return {
    'sim-batch-throughput.svg': lineChart({
      title: `Throughput by batch cap: ${title}`,
      subtitle: `SLO ${r.sloMs} ms per batch; ${r.requests} requests`,
      xLabel: 'static batch cap (rows)',
      yLabel: 'throughput (rows/s)',
      series: [
        { name: 'static cap', points: r.staticSweep.map((s) => ({ x: s.batch, y: s.throughputPerS })) },
        line('AIMD', r.aimd.throughputPerS),
        ...(r.offline.throughputPerS === null ? [] : [line('offline optimum (capacity)', r.offline.throughputPerS)]),
      ],
    }),
    'sim-batch-slo.svg': lineChart({
      title: `SLO attainment by batch cap: ${title}`,
      subtitle: 'share of requests whose batch ran within the SLO (refused requests count as misses)',
      xLabel: 'static batch cap (rows)',
      yLabel: 'requests within SLO',
      yFormat: 'percent',
      series: [
        { name: 'static cap', points: r.staticSweep.map((s) => ({ x: s.batch, y: s.sloAttainment })) },
        line('AIMD', r.aimd.sloAttainment),
      ],
    }),
    'sim-batch-aimd-cap.svg': lineChart({
      title: `AIMD batch cap over time: ${title}`,
      subtitle: `offline optimum ${r.offline.batch ?? 'none'}, best static ${r.bestStatic.batch}`,
      xLabel: 'time',
      xFormat: 'ms',
      yLabel: 'batch cap (rows)',
      series: [{ name: 'AIMD cap', points: r.aimd.capTrace.map((c) => ({ x: c.t, y: c.cap })) }],
      references: [
        ...(r.offline.batch === null ? [] : [{ y: r.offline.batch, label: `offline optimum ${r.offline.batch}` }]),
        { y: r.bestStatic.batch, label: `best static ${r.bestStatic.batch}` },
      ],
    }),
  };
}

/** Writes the charts into `dir`; returns their paths. */
export function writeCharts(dir: string, charts: Record<string, string>): string[] {
  return Object.entries(charts).map(([name, svg]) => {
    const file = path.join(dir, name);
    writeSvg(file, svg);
    return file;
  });
}
