// Tables and charts of a `sim cluster` run, in the benchmark report's style
// (src/bench/charts.ts: deterministic SVG text).
import path from 'node:path';
import { formatBytes } from '../../bytes.js';
import { groupedBarChart, writeSvg } from '../../bench/charts.js';
import type { ClusterCounters, PlacementName } from './engine.js';

export interface ComboResult extends ClusterCounters {
  placement: PlacementName;
  policy: string;
  /** Invocations that were not warm and started an instance (resident or cold), per invocation. */
  startRate: number;
  coldStartRate: number;
  sloAttainment: number;
  bytesLoaded: number;
}

export function comboResult(placement: PlacementName, policy: string, c: ClusterCounters): ComboResult {
  const inv = Math.max(c.invocations, 1);
  return {
    placement,
    policy,
    ...c,
    startRate: (c.residentStarts + c.coldStarts) / inv,
    coldStartRate: c.coldStarts / inv,
    sloAttainment: c.sloMet / inv,
    bytesLoaded: c.bytesFromRepository + c.bytesFromRemote,
  };
}

const pct = (x: number) => `${(x * 100).toFixed(2)}%`;

/** A Markdown table, one row per combination. */
export function markdownTable(rows: readonly ComboResult[]): string {
  const head =
    '| placement | policy | cold starts | starts from store | warm | rejected | bytes loaded | mean memory | peak memory | SLO met | evictions |';
  const sep = `|${'---|'.repeat(11)}`;
  const body = rows.map(
    (r) =>
      `| ${r.placement} | ${r.policy} | ${r.coldStarts} (${pct(r.coldStartRate)}) | ${r.residentStarts} | ${r.warm} | ${r.rejected} | ` +
      `${formatBytes(r.bytesLoaded)} | ${formatBytes(r.meanMemoryBytes)} | ${formatBytes(r.peakMemoryBytes)} | ${pct(r.sloAttainment)} | ${r.evictions} |`,
  );
  return [head, sep, ...body].join('\n');
}

/** Writes the four charts into dir; returns their paths. */
export function writeCharts(dir: string, rows: readonly ComboResult[], subtitle: string): string[] {
  const policies = [...new Set(rows.map((r) => r.policy))];
  const placements = [...new Set(rows.map((r) => r.placement))];
  const series = (value: (r: ComboResult) => number) =>
    placements.map((p) => ({
      name: p,
      values: policies.map((pol) => {
        const r = rows.find((x) => x.placement === p && x.policy === pol);
        return r ? value(r) : null;
      }),
    }));
  const charts: { file: string; svg: string }[] = [
    {
      file: 'sim-cluster-coldstarts.svg',
      svg: groupedBarChart({
        title: 'Cold starts (bytes copied into a store) per invocation',
        subtitle,
        xLabel: 'keep-alive policy (the daemon’s)',
        yLabel: 'cold starts / invocations',
        categories: policies,
        series: series((r) => r.coldStartRate),
        yFormat: 'percent',
      }),
    },
    {
      file: 'sim-cluster-bytes.svg',
      svg: groupedBarChart({
        title: 'Bytes loaded into node stores',
        subtitle,
        xLabel: 'keep-alive policy (the daemon’s)',
        yLabel: 'bytes loaded',
        categories: policies,
        series: series((r) => r.bytesLoaded),
        yFormat: 'bytes',
      }),
    },
    {
      file: 'sim-cluster-memory.svg',
      svg: groupedBarChart({
        title: 'Memory in use across the cluster (time-weighted mean)',
        subtitle,
        xLabel: 'keep-alive policy (the daemon’s)',
        yLabel: 'stores + instances',
        categories: policies,
        series: series((r) => r.meanMemoryBytes),
        yFormat: 'bytes',
      }),
    },
    {
      file: 'sim-cluster-slo.svg',
      svg: groupedBarChart({
        title: 'SLO attainment',
        subtitle,
        xLabel: 'keep-alive policy (the daemon’s)',
        yLabel: 'invocations within SLO',
        categories: policies,
        series: series((r) => r.sloAttainment),
        yFormat: 'percent',
      }),
    },
  ];
  return charts.map((c) => {
    const file = path.join(dir, c.file);
    writeSvg(file, c.svg);
    return file;
  });
}
