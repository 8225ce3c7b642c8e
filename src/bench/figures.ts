// Charts of one run (SVG text, via charts.ts) and writing a run's outputs:
// <out>/benchmarks.md, <out>/bench/results.json and <out>/bench/*.svg.
import fs from 'node:fs/promises';
import path from 'node:path';
import { groupedBarChart, lineChart, ratioBarChart } from './charts.js';
import { buildReport } from './document.js';
import { keepSections, writeSectionMarkdown } from './report.js';
import { FUNCTIONS_SECTION_ID, functionsSection } from './functions-report.js';
import type { BenchResults } from './results.js';

const COLD_SHORT: Record<string, string> = {
  'ts-fast-open': 'fast-open, resident',
  'ts-fast-run': 'fast-run, resident',
  'ts-auto': 'auto, resident',
  'ts-repo-fast-open': 'fast-open, from repo',
  'ts-repo-fast-run': 'fast-run, from repo',
  'ts-repo-cold': 'fast-open, repo, cold',
  'plain-warm': 'plain ORT, warm file',
  'plain-cold': 'plain ORT, cold file',
};

/** Chart file name (under bench/) -> SVG text. Pure. */
export function buildCharts(r: BenchResults): Record<string, string> {
  const charts: Record<string, string> = {};
  const label = (id: string) => r.models.find((m) => m.id === id)?.label ?? id;
  for (const dm of r.density?.models ?? []) {
    const series = dm.modes
      .filter((m) => m.points.length > 0)
      .map((m) => ({ name: m.label, points: m.points.map((p) => ({ x: p.n, y: p.totalBytes })) }));
    if (r.density!.baseline.points.length)
      series.push({
        name: 'runtime baseline (no model)',
        points: r.density!.baseline.points.map((p) => ({ x: p.n, y: p.totalBytes })),
      });
    if (series.length === 0) continue;
    charts[`density-${dm.model}`] = lineChart({
      title: `Memory of N processes: ${label(dm.model)}`,
      subtitle: 'summed Pss of all processes + store bytes no process maps',
      xLabel: 'processes (N)',
      yLabel: 'total memory',
      xScale: 'log2',
      yFormat: 'bytes',
      series,
    });
  }
  const models = [...new Set((r.coldStart?.scenarios ?? []).map((s) => s.model))];
  for (const model of models) {
    const list = r.coldStart!.scenarios.filter((s) => s.model === model);
    charts[`coldstart-${model}`] = groupedBarChart({
      title: `Cold start: ${label(model)}`,
      subtitle: `median of ${r.coldStart!.reps} fresh processes per scenario`,
      xLabel: 'scenario',
      yLabel: 'time to first result',
      yFormat: 'ms',
      categories: list.map((s) => COLD_SHORT[s.id] ?? s.id),
      series: [
        { name: 'open → first result', values: list.map((s) => s.openToFirst?.median ?? null) },
        { name: 'spawn → first result', values: list.map((s) => s.spawnToFirst?.median ?? null) },
      ],
    });
  }
  const bars = (r.latency?.models ?? []).flatMap((m) =>
    m.batches.flatMap((b) =>
      b.ratios.map((q) => ({ label: `${m.model} b${b.batch} ${q.mode}`, value: q.ratioOfMedians })),
    ),
  );
  if (bars.length) {
    charts.latency = ratioBarChart({
      title: 'Latency: tensorshare / private prepacked session',
      subtitle: 'ratio of median run times, sessions interleaved in one process',
      xLabel: 'model, batch, tensorshare mode',
      yLabel: 'latency ratio',
      yScale: 'log10',
      bars,
      referenceLabel: '1.0× (same speed)',
    });
  }
  return charts;
}

export interface WrittenOutputs {
  report: string;
  results: string;
  charts: string[];
}

/** Writes benchmarks.md, bench/results.json and the charts under `outDir`. */
export async function writeOutputs(r: BenchResults, outDir: string, command: string): Promise<WrittenOutputs> {
  const benchDir = path.join(outDir, 'bench');
  await fs.mkdir(benchDir, { recursive: true });
  if (r.suites.length > 0 && r.suites.every((s) => s === 'functions')) {
    // That suite alone, as bench-sched: its own JSON and its own section; the rest of the page stays.
    const json = path.join(benchDir, 'functions.json');
    await fs.writeFile(json, `${JSON.stringify(r, null, 2)}\n`);
    const report = path.join(outDir, 'benchmarks.md');
    writeSectionMarkdown(report, FUNCTIONS_SECTION_ID, functionsSection(r));
    return { report, results: json, charts: [] };
  }
  const results = path.join(benchDir, 'results.json');
  await fs.writeFile(results, `${JSON.stringify(r, null, 2)}\n`);
  const charts = buildCharts(r);
  const files: Record<string, string> = {};
  const written: string[] = [];
  for (const [name, svg] of Object.entries(charts)) {
    const file = path.join(benchDir, `${name}.svg`);
    await fs.writeFile(file, svg);
    files[name] = `bench/${name}.svg`;
    written.push(file);
  }
  const report = path.join(outDir, 'benchmarks.md');
  const previous = await fs.readFile(report, 'utf8').catch(() => '');
  await fs.writeFile(
    report,
    keepSections(previous, buildReport(r, { command, resultsPath: 'bench/results.json', charts: files })),
  );
  return { report, results, charts: written };
}
