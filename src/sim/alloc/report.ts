// Runs allocators over traces and turns the results into the report: one
// table per trace, the winner on each axis, charts in the benchmark report's
// style. Everything but `timing` is a function of the traces and options.
import { formatBytes } from '../../bytes.js';
import { groupedBarChart } from '../../bench/charts.js';
import { COST_MODELS, type CostModel } from './device.js';
import { learnArenaProfile, type ArenaProfile } from './learned-arena.js';
import { replay, ALLOCATORS, type AllocatorName, type RunResult } from './replay.js';
import { traceStats, type AllocTrace } from './trace.js';
import type { ObservedAllocator } from './trace-pytorch.js';

export interface SimAllocOptions {
  allocators?: readonly AllocatorName[];
  cost?: CostModel;
  hostCallUs?: number;
  /** learned-arena's previous run: this trace for every trace (default: each trace itself, a repeat of the same workload). */
  profileFrom?: AllocTrace;
  check?: boolean;
  onProgress?: (done: number) => void;
}

export type AllocResult = Omit<RunResult, 'wallMs'>;

export interface TraceSummary {
  name: string;
  format: string;
  events: number;
  allocations: number;
  peakRequested: number;
  liveAtEnd: number;
  model?: string;
  batches?: unknown;
  train?: boolean;
  /** PyTorch traces: what the real caching allocator asked of the device on this run. */
  observed?: ObservedAllocator;
  profile?: ArenaProfile & { from: string };
  /** TensorFlow logs: tensors without an allocation_id (their allocator tracks none), not replayed, and their requested bytes. */
  untracked?: { allocations: number; bytes: number };
}

export const AXES = ['modeledUs', 'deviceCalls', 'peakReserved', 'reservedAtEnd'] as const;
export type Axis = (typeof AXES)[number];

export interface SimAllocReport {
  costModel: { name: string; source: string };
  hostCallUs: number;
  traces: TraceSummary[];
  results: AllocResult[];
  /**
   * Per trace and axis, the allocator(s) with the lowest value (ties joined);
   * `pooledPeakReserved` leaves out direct, which wins on memory by paying a
   * device call per tensor.
   */
  winners: ({ trace: string; pooledPeakReserved: string } & Record<Axis, string>)[];
  /** Wall-clock replay rate (varies run to run; left out of --json unless asked). */
  timing: { trace: string; allocator: AllocatorName; wallMs: number; eventsPerSecond: number }[];
}

const axisValue = (r: AllocResult, a: Axis) =>
  a === 'deviceCalls' ? r.deviceMallocs + r.deviceFrees : (r[a] as number);

export function simulateAlloc(traces: readonly AllocTrace[], o: SimAllocOptions = {}): SimAllocReport {
  const allocators = o.allocators ?? ALLOCATORS;
  const cost = o.cost ?? COST_MODELS.h200!;
  const hostCallUs = o.hostCallUs ?? 0.1;
  const report: SimAllocReport = {
    costModel: { name: cost.name, source: cost.source },
    hostCallUs,
    traces: [],
    results: [],
    winners: [],
    timing: [],
  };
  let done = 0;
  for (const t of traces) {
    const stats = traceStats(t);
    const from = o.profileFrom ?? t;
    const profile = allocators.includes('learned-arena') ? learnArenaProfile(from) : undefined;
    const meta = t.meta;
    report.traces.push({
      name: t.name,
      format: t.format,
      events: t.length,
      ...stats,
      ...(typeof meta.model === 'string' ? { model: meta.model } : {}),
      ...(meta.batches !== undefined ? { batches: meta.batches } : {}),
      ...(typeof meta.train === 'boolean' ? { train: meta.train } : {}),
      ...(meta.observed ? { observed: meta.observed as ObservedAllocator } : {}),
      ...(profile ? { profile: { ...profile, from: from.name } } : {}),
      ...(typeof meta.untrackedBytes === 'number'
        ? {
            untracked: {
              allocations: t.skipped['untracked allocation (no allocation_id)'] ?? 0,
              bytes: meta.untrackedBytes,
            },
          }
        : {}),
    });
    const rows: AllocResult[] = [];
    for (const a of allocators) {
      const base = done;
      const { wallMs, ...r } = replay(t, a, {
        cost,
        hostCallUs,
        ...(profile ? { profile } : {}),
        ...(o.check ? { check: true } : {}),
        onProgress: (n) => o.onProgress?.(base + n),
      });
      done += t.length;
      rows.push(r);
      report.timing.push({
        trace: t.name,
        allocator: a,
        wallMs: Math.round(wallMs * 10) / 10,
        eventsPerSecond: Math.round(t.length / Math.max(wallMs / 1000, 1e-6)),
      });
    }
    report.results.push(...rows);
    const ok = rows.filter((r) => !r.error);
    const win = (axis: Axis, among = ok) => {
      const best = Math.min(...among.map((r) => axisValue(r, axis)));
      return among
        .filter((r) => axisValue(r, axis) <= best * (1 + 1e-9))
        .map((r) => r.allocator)
        .join(' = ');
    };
    report.winners.push({
      trace: t.name,
      modeledUs: win('modeledUs'),
      deviceCalls: win('deviceCalls'),
      peakReserved: win('peakReserved'),
      pooledPeakReserved: win(
        'peakReserved',
        ok.filter((r) => r.allocator !== 'direct'),
      ),
      reservedAtEnd: win('reservedAtEnd'),
    });
  }
  return report;
}

const ms = (us: number) => (us >= 10_000 ? (us / 1000).toFixed(0) : (us / 1000).toFixed(2));
const MiB = (b: number) => (b / 2 ** 20).toFixed(1);

/** The report as Markdown: per trace a table, then the winners. */
export function markdownReport(r: SimAllocReport): string {
  const out: string[] = [];
  out.push(
    `Device cost model: ${r.costModel.source}; ${r.hostCallUs} µs of host bookkeeping per allocator call. ` +
      'Sizes in MiB; "reserved / requested" is peak reserved over peak requested (1.00 = no fragmentation).',
    '',
  );
  for (const t of r.traces) {
    const what = [t.model, t.train === undefined ? undefined : t.train ? 'training' : 'inference']
      .filter(Boolean)
      .join(', ');
    out.push(
      `### ${t.name}`,
      '',
      `${t.format} trace${what ? ` (${what})` : ''}: ${t.events} events, ${t.allocations} allocations, ` +
        `peak requested ${MiB(t.peakRequested)} MiB, live at the end ${MiB(t.liveAtEnd)} MiB` +
        (t.profile && t.profile.from !== t.name ? `; learned-arena's profile from ${t.profile.from}` : '') +
        (t.untracked
          ? `; not replayed: ${t.untracked.allocations} tensors without an allocation_id (${MiB(t.untracked.bytes)} MiB requested in all, untracked by their allocator)`
          : '') +
        '.',
      '',
      '| allocator | cudaMalloc | cudaFree | modeled time (ms) | peak reserved | reserved / requested | held at end |',
      '|---|---:|---:|---:|---:|---:|---:|',
    );
    for (const x of r.results.filter((x) => x.trace === t.name)) {
      const note = x.error ? ' (out of memory)' : x.spills ? ` (${x.spills} spills)` : '';
      out.push(
        `| ${x.allocator}${note} | ${x.deviceMallocs} | ${x.deviceFrees} | ${ms(x.modeledUs)} | ${MiB(x.peakReserved)} | ${x.reservedRatio.toFixed(2)} | ${MiB(x.reservedAtEnd)} |`,
      );
    }
    if (t.observed)
      out.push(
        `| *real PyTorch, same run* | ${t.observed.segmentAllocs} | ${t.observed.segmentFrees} | | ${MiB(t.observed.peakReserved)} | ${(t.observed.peakReserved / t.peakRequested).toFixed(2)} | |`,
      );
    out.push('');
  }
  out.push(
    '### Winners',
    '',
    '| trace | modeled time | device calls | peak reserved | peak reserved, pooling only | held at end |',
    '|---|---|---|---|---|---|',
  );
  for (const w of r.winners)
    out.push(
      `| ${w.trace} | ${w.modeledUs} | ${w.deviceCalls} | ${w.peakReserved} | ${w.pooledPeakReserved} | ${w.reservedAtEnd} |`,
    );
  return `${out.join('\n')}\n`;
}

/** One line per trace for a terminal. */
export function summaryText(r: SimAllocReport): string {
  const lines: string[] = [];
  for (const t of r.traces) {
    lines.push(`${t.name}: ${t.events} events, peak requested ${formatBytes(t.peakRequested)}`);
    for (const x of r.results.filter((x) => x.trace === t.name))
      lines.push(
        `  ${x.allocator.padEnd(14)} ${String(x.deviceMallocs + x.deviceFrees).padStart(6)} device calls  ${ms(x.modeledUs).padStart(8)} ms  ` +
          `peak reserved ${formatBytes(x.peakReserved).padStart(10)} (x${x.reservedRatio.toFixed(2)})  held ${formatBytes(x.reservedAtEnd)}` +
          (x.spills ? `  ${x.spills} spills` : '') +
          (x.error ? `  OUT OF MEMORY: ${x.error.message}` : ''),
      );
  }
  return lines.join('\n');
}

/** SVG charts, one group of bars per trace. */
export function allocCharts(r: SimAllocReport): { file: string; svg: string }[] {
  const categories = r.traces.map((t) => t.name);
  const allocators = [...new Set(r.results.map((x) => x.allocator))];
  const series = (f: (x: AllocResult) => number) =>
    allocators.map((a) => ({
      name: a,
      values: categories.map((c) => {
        const x = r.results.find((y) => y.trace === c && y.allocator === a);
        return x && !x.error ? f(x) : null;
      }),
    }));
  const frame = { width: Math.max(760, 90 * categories.length + 200), height: 460 };
  return [
    {
      file: 'sim-alloc-time.svg',
      svg: groupedBarChart({
        ...frame,
        title: 'Modeled time in allocation calls',
        subtitle: `cudaMalloc/cudaFree cost: ${r.costModel.name}; log scale`,
        xLabel: 'trace',
        yLabel: 'time',
        categories,
        series: series((x) => x.modeledUs / 1000),
        yScale: 'log10',
        yFormat: 'ms',
        valueLabels: false,
      }),
    },
    {
      file: 'sim-alloc-calls.svg',
      svg: groupedBarChart({
        ...frame,
        title: 'Device API calls (cudaMalloc + cudaFree)',
        subtitle: 'log scale',
        xLabel: 'trace',
        yLabel: 'calls',
        categories,
        series: series((x) => x.deviceMallocs + x.deviceFrees),
        yScale: 'log10',
        valueLabels: false,
      }),
    },
    {
      file: 'sim-alloc-reserved.svg',
      svg: groupedBarChart({
        ...frame,
        title: 'Peak reserved over peak requested',
        subtitle: '1.0 = the device holds exactly what the tensors need at their peak',
        xLabel: 'trace',
        yLabel: 'reserved / requested',
        categories,
        series: series((x) => x.reservedRatio),
        yFormat: 'ratio',
        valueLabels: false,
      }),
    },
  ];
}
