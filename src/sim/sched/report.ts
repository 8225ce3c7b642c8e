// What `sim sched` prints and writes: Salus's four columns per policy beside
// the published ones, the orderings Salus reports checked on both, and the
// charts (src/bench/charts.ts, the benchmark report's renderer). Pure but
// for writeCharts: results in, text out.
import path from 'node:path';
import { groupedBarChart, lineChart, writeSvg } from '../../bench/charts.js';
import type { DevicePolicy } from '../../sched/device-policy.js';
import type { SimSchedResult } from './simulate.js';

export interface SalusColumns {
  makespan: number;
  queuing: number;
  completion: number;
  p95: number;
}

/** Salus (MLSys 2020), its table of the long-running training trace, minutes. */
export const SALUS_REFERENCE: Readonly<Record<DevicePolicy, SalusColumns>> = {
  fifo: { makespan: 303.4, queuing: 167.6, completion: 170.6, p95: 251.1 },
  srtf: { makespan: 306.0, queuing: 28.6, completion: 53.4, p95: 217.0 },
  pack: { makespan: 287.4, queuing: 129.9, completion: 145.5, p95: 266.1 },
  fair: { makespan: 301.6, queuing: 58.5, completion: 96.6, p95: 281.2 },
};

const MIN = 60_000;

export const columnsOf = (r: SimSchedResult): SalusColumns => ({
  makespan: r.makespanMs / MIN,
  queuing: r.avgQueuingMs / MIN,
  completion: r.avgCompletionMs / MIN,
  p95: r.p95CompletionMs / MIN,
});

export interface Ordering {
  claim: string;
  salus: boolean;
  simulated: boolean | null;
}

/** The orderings Salus's table shows, evaluated on any set of rows (null: a policy it needs was not run). */
export function orderings(cols: Partial<Record<DevicePolicy, SalusColumns>>): Omit<Ordering, 'salus'>[] {
  const best = (k: keyof SalusColumns, p: DevicePolicy) => {
    const mine = cols[p];
    if (!mine || Object.keys(cols).length < 2) return null;
    return Object.entries(cols).every(([q, c]) => q === p || mine[k] < c![k]);
  };
  const worst = (k: keyof SalusColumns, p: DevicePolicy) => {
    const mine = cols[p];
    if (!mine || Object.keys(cols).length < 2) return null;
    return Object.entries(cols).every(([q, c]) => q === p || mine[k] > c![k]);
  };
  const { fair, srtf, fifo } = cols;
  return [
    { claim: 'PACK has the shortest makespan', simulated: best('makespan', 'pack') },
    { claim: 'SRTF has the lowest average completion time', simulated: best('completion', 'srtf') },
    { claim: 'SRTF has the lowest average queuing time', simulated: best('queuing', 'srtf') },
    {
      claim: 'FAIR lies between SRTF and FIFO in average completion time',
      simulated: fair && srtf && fifo ? srtf.completion < fair.completion && fair.completion < fifo.completion : null,
    },
    { claim: 'FIFO has the longest average queuing time', simulated: worst('queuing', 'fifo') },
  ];
}

export function compareWithSalus(results: readonly SimSchedResult[]): Ordering[] {
  const sim = Object.fromEntries(results.map((r) => [r.policy, columnsOf(r)]));
  const ref = orderings(SALUS_REFERENCE);
  return orderings(sim).map((o, i) => ({ ...o, salus: ref[i]!.simulated === true }));
}

const f1 = (n: number) => n.toFixed(1);
const yesNo = (b: boolean | null) => (b === null ? 'n/a' : b ? 'yes' : 'no');

/** The markdown table of a run: simulated columns, Salus's beside them, and the orderings. */
export function markdownTable(results: readonly SimSchedResult[]): string {
  const lines = [
    '| policy | makespan (min) | avg queuing (min) | avg completion (min) | p95 completion (min) | Salus: makespan / queuing / completion / p95 | runs at once (peak / mean) | finished |',
    '| --- | ---: | ---: | ---: | ---: | --- | ---: | ---: |',
  ];
  for (const r of results) {
    const c = columnsOf(r);
    const s = SALUS_REFERENCE[r.policy];
    lines.push(
      `| ${r.policy} | ${f1(c.makespan)} | ${f1(c.queuing)} | ${f1(c.completion)} | ${f1(c.p95)} | ${f1(s.makespan)} / ${f1(s.queuing)} / ${f1(s.completion)} / ${f1(s.p95)} | ${r.peakConcurrent} / ${r.meanConcurrent.toFixed(2)} | ${r.finished} of ${r.jobs.length} |`,
    );
  }
  lines.push('', '| ordering (Salus, sec. 6.1) | in Salus | simulated |', '| --- | --- | --- |');
  for (const o of compareWithSalus(results)) lines.push(`| ${o.claim} | ${yesNo(o.salus)} | ${yesNo(o.simulated)} |`);
  return lines.join('\n');
}

const CATEGORIES = ['makespan', 'avg queuing', 'avg completion', 'p95 completion'];
const asValues = (c: SalusColumns) => [c.makespan, c.queuing, c.completion, c.p95];

/** Salus's columns per policy, simulated and published, as two bar charts, and the CDF of completion times. */
export function charts(results: readonly SimSchedResult[], subtitle: string): Record<string, string> {
  const bars = (title: string, series: { name: string; values: number[] }[], sub: string) =>
    groupedBarChart({ title, subtitle: sub, xLabel: 'metric', yLabel: 'minutes', categories: CATEGORIES, series });
  const cdf = lineChart({
    title: 'Job completion time, CDF per policy',
    subtitle,
    xLabel: 'completion time (min)',
    yLabel: 'fraction of jobs',
    series: results.map((r) => {
      const xs = r.jobs
        .filter((j) => j.completionMs !== undefined)
        .map((j) => j.completionMs! / MIN)
        .sort((a, b) => a - b);
      return { name: r.policy, points: xs.map((x, i) => ({ x, y: (i + 1) / xs.length })) };
    }),
  });
  return {
    'sim-sched-columns.svg': bars(
      'sim sched: Salus columns per device policy',
      results.map((r) => ({ name: r.policy, values: asValues(columnsOf(r)) })),
      subtitle,
    ),
    'sim-sched-salus.svg': bars(
      'Salus (published, its own trace)',
      results.map((r) => ({ name: r.policy, values: asValues(SALUS_REFERENCE[r.policy]) })),
      'Yu & Chowdhury, MLSys 2020, long-running training jobs',
    ),
    'sim-sched-cdf.svg': cdf,
  };
}

/** Writes the charts of a run into `dir`; returns their paths. */
export function writeCharts(dir: string, results: readonly SimSchedResult[], subtitle: string): string[] {
  return Object.entries(charts(results, subtitle)).map(([name, svg]) => {
    const file = path.join(dir, name);
    writeSvg(file, svg);
    return file;
  });
}
