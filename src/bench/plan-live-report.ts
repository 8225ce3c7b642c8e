// `bench plan`'s results, verdicts and section of docs/benchmarks.md (pure:
// results in, markdown out).
import { formatBytes } from '../bytes.js';
import type { LatencyStats, LoadStep } from './loadgen.js';
import type { MachineInfo } from './machine.js';
import { fenceSection } from './report.js';
import { max, mean } from './stats.js';

export const PLAN_SECTION_ID = 'plan';

export interface MemorySample {
  atMs: number;
  /** Pss of the serve process. */
  gatewayBytes: number;
  /** Summed Pss of its descendants (the instances). */
  instancesBytes: number;
  processes: number;
}

export interface PlanLiveRun {
  config: 'plan' | 'default';
  /** 1 or 2: the runs go plan, default, default, plan (ABBA), so a drift in the machine's load weighs on both alike. */
  repetition: number;
  sent: number;
  ok: number;
  rejections: Record<string, number>;
  unfinished: number;
  sloAttainment: number;
  latency: LatencyStats;
  bySteps: Array<{ ratePerSec: number; sent: number; sloAttainment: number; p99Ms: number }>;
  coldStartsDuringTrace: number;
  samples: MemorySample[];
  /** Cores' worth of CPU other processes on the machine used during the trace. */
  foreignCores: number;
  serverStderr: string[];
}

export interface PlanLiveResults {
  format: 'tensorshare.bench-plan/v1';
  quick: boolean;
  startedAt: string;
  durationMs: number;
  machine: MachineInfo;
  model: { name: string; layers: number; width: number; parameters: number };
  demand: { ratePerS: number; sloMs: number; cores: number; seed: number };
  trace: LoadStep[];
  plan: {
    instances: number;
    intraOpThreads: number;
    maxBatchSize: number;
    predictedMemoryBytes: number | null;
    boundMs: number | null;
    planMs: number;
  };
  /** `plan --compare`'s simulation of the same comparison (its own trace, same shape, 200 s; instances' memory only, no gateway). */
  simulated?: {
    trace: { requests: number; phases: string };
    coldStartMs: number;
    plan: SimulatedConfig;
    default: SimulatedConfig;
  } | null;
  runs: PlanLiveRun[];
}

export interface SimulatedConfig {
  sloAttainment: number;
  meanMemoryBytes: number;
  p99Ms: number;
  coldStarts: number;
}

export interface RunSummary {
  config: string;
  meanBytes: number;
  peakBytes: number;
  meanGatewayBytes: number;
  meanInstancesBytes: number;
  peakProcesses: number;
  meanProcesses: number;
}

/** Time-average and peak of the sampled Pss (gateway + instances). */
export function summarizeRun(r: PlanLiveRun): RunSummary {
  const total = r.samples.map((s) => s.gatewayBytes + s.instancesBytes);
  return {
    config: r.config,
    meanBytes: mean(total),
    peakBytes: max(total),
    meanGatewayBytes: mean(r.samples.map((s) => s.gatewayBytes)),
    meanInstancesBytes: mean(r.samples.map((s) => s.instancesBytes)),
    peakProcesses: max(r.samples.map((s) => s.processes)),
    meanProcesses: mean(r.samples.map((s) => s.processes)),
  };
}

export interface PlanVerdict {
  id: string;
  title: string;
  measured: string;
  verdict: 'met' | 'missed';
}

/** The plan's two claims: less memory than the default autoscaler, and the SLO met (>= 99% of requests, and no worse than the default). */
/** A configuration over its repetitions: memory and SLO attainment averaged over the runs (each ran the same trace). */
export function summarizeConfig(runs: readonly PlanLiveRun[]): RunSummary & { sloAttainment: number } {
  const each = runs.map(summarizeRun);
  return {
    config: runs[0]?.config ?? '',
    meanBytes: mean(each.map((x) => x.meanBytes)),
    peakBytes: max(each.map((x) => x.peakBytes)),
    meanGatewayBytes: mean(each.map((x) => x.meanGatewayBytes)),
    meanInstancesBytes: mean(each.map((x) => x.meanInstancesBytes)),
    peakProcesses: max(each.map((x) => x.peakProcesses)),
    meanProcesses: mean(each.map((x) => x.meanProcesses)),
    sloAttainment: mean(runs.map((x) => x.sloAttainment)),
  };
}

/** The plan's two claims: less memory than the default autoscaler, and the SLO met (>= 99% of requests, and no worse than the default), over all repetitions. */
export function planVerdicts(r: PlanLiveResults): PlanVerdict[] {
  const plan = r.runs.filter((x) => x.config === 'plan');
  const def = r.runs.filter((x) => x.config === 'default');
  if (!plan.length || !def.length) return [];
  const p = summarizeConfig(plan);
  const d = summarizeConfig(def);
  const ratio = p.meanBytes / d.meanBytes;
  const reps = plan.length > 1 ? `, mean of ${plan.length} runs each` : '';
  return [
    {
      id: 'plan-memory',
      title: 'planned configuration uses less memory than the default autoscaler (mean Pss, gateway + instances)',
      measured: `${formatBytes(p.meanBytes)} vs ${formatBytes(d.meanBytes)}: ${ratio.toFixed(2)}x${reps}`,
      verdict: ratio < 1 ? 'met' : 'missed',
    },
    {
      id: 'plan-slo',
      title: `planned configuration meets the ${r.demand.sloMs} ms SLO for >= 99% of requests and no fewer than the default`,
      measured: `${pct(p.sloAttainment)} vs ${pct(d.sloAttainment)}${reps}`,
      verdict: p.sloAttainment >= 0.99 && p.sloAttainment >= d.sloAttainment ? 'met' : 'missed',
    },
  ];
}

const pct = (x: number) => `${(x * 100).toFixed(1)}%`;
const ms1 = (x: number) => (Number.isFinite(x) ? x.toFixed(1) : 'n/a');

export function planSection(r: PlanLiveResults, command: string): string {
  const s = r.runs.map(summarizeRun);
  const verdicts = planVerdicts(r);
  const phases = r.trace
    .map((t) => `${t.ratePerSec.toFixed(0)}/s for ${(t.durationMs / 1000).toFixed(0)} s`)
    .join(', ');
  const many = r.runs.some((x) => x.repetition > 1);
  const label = (c: string, rep: number) =>
    (many ? `#${rep} ` : '') +
    (c === 'plan'
      ? `plan: ${r.plan.instances} x ${r.plan.intraOpThreads} thread${r.plan.intraOpThreads > 1 ? 's' : ''}, batch cap ${r.plan.maxBatchSize}`
      : 'default autoscaler (the function sets nothing)');
  const foreign = Math.max(...r.runs.map((x) => x.foreignCores));
  const rows = r.runs.map((run, i) => {
    const m = s[i]!;
    return `| ${label(run.config, run.repetition)} | ${formatBytes(m.meanBytes)} | ${formatBytes(m.peakBytes)} | ${formatBytes(m.meanGatewayBytes)} | ${formatBytes(m.meanInstancesBytes)} | ${m.meanProcesses.toFixed(2)} / ${m.peakProcesses} | ${pct(run.sloAttainment)} | ${ms1(run.latency.p50)} | ${ms1(run.latency.p99)} | ${run.coldStartsDuringTrace} | ${run.sent - run.ok} | ${run.foreignCores.toFixed(2)} |`;
  });
  const stepRows = r.trace.map((t, k) => {
    const cells = r.runs.map((run) => {
      const st = run.bySteps[k]!;
      return `${pct(st.sloAttainment)} (p99 ${ms1(st.p99Ms)} ms)`;
    });
    return `| ${t.ratePerSec.toFixed(0)}/s for ${(t.durationMs / 1000).toFixed(0)} s | ${cells.join(' | ')} |`;
  });
  const body = [
    '## Planned configuration against the default autoscaler, live (`bench plan`)',
    '',
    `One function, a generated MLP (${r.model.layers} x ${r.model.width}, ${r.model.parameters.toLocaleString('en-US')} parameters), planned by the real \`tensorshare plan --fn ${r.model.name}=${r.demand.ratePerS}@${r.demand.sloMs} --cores ${r.demand.cores}\` (profiled on this machine in the same run; ${(r.plan.planMs / 1000).toFixed(1)} s with profiling), then served by \`tensorshare serve\` (no daemon, ${r.demand.cores} cores) on the same seeded open-loop Poisson trace (seed ${r.demand.seed}: ${phases}; batch-1 KServe v2 JSON requests over loopback): with \`serve --plan\` and with the function's own settings, which are none, so the default autoscaler (KPA, scale from zero)${many ? ', in the order plan, default, default, plan (each server started afresh), so that a drift in the load of the machine weighs on both alike; the verdicts average each configuration over its runs' : ''}. Memory: summed Pss of the serve process (gateway) and its instance processes, from \`/proc/<pid>/smaps_rollup\` every 250 ms while the trace runs; the store's files (the same in both) are not counted. The processes under serve are its instances and the one pre-started spare it keeps by default (\`--prestart 1\`), in both configurations. SLO attainment: requests answered within ${r.demand.sloMs} ms of their scheduled send time over all requests sent.${r.quick ? ' **Quick run: a small model and a quarter of the trace; indicative only.**' : ''}`,
    '',
    `| configuration | mean memory | peak memory | gateway (mean) | instances (mean) | processes under serve (mean / peak) | SLO met | p50 ms | p99 ms | cold starts | failed | other processes' CPU (cores) |`,
    '|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|',
    ...rows,
    '',
    `| trace phase | ${r.runs.map((x) => `${many ? `#${x.repetition} ` : ''}${x.config}: SLO met`).join(' | ')} |`,
    `|---|${r.runs.map(() => '---:').join('|')}|`,
    ...stepRows,
    '',
    '| target | measured | verdict |',
    '|---|---|---|',
    ...verdicts.map((v) => `| ${v.title} | ${v.measured} | ${v.verdict} |`),
    '',
    ...(r.simulated
      ? [
          `Simulated by \`plan --compare\` in the same run (the batching simulator with the profile just measured, serve's KPA decision function, a cold start of ${r.simulated.coldStartMs.toFixed(0)} ms; its own trace of the same shape, ${r.simulated.trace.requests} requests: ${r.simulated.trace.phases}; memory of the instances only): plan ${pct(r.simulated.plan.sloAttainment)} SLO met, p99 ${ms1(r.simulated.plan.p99Ms)} ms, ${formatBytes(r.simulated.plan.meanMemoryBytes)}; default ${pct(r.simulated.default.sloAttainment)}, p99 ${ms1(r.simulated.default.p99Ms)} ms, ${formatBytes(r.simulated.default.meanMemoryBytes)}, ${r.simulated.default.coldStarts} cold starts. Live (the runs above, averaged): plan ${pct(summarizeConfig(r.runs.filter((x) => x.config === 'plan')).sloAttainment)}, default ${pct(summarizeConfig(r.runs.filter((x) => x.config === 'default')).sloAttainment)} SLO met.`,
          '',
        ]
      : []),
    `The planner predicted ${r.plan.predictedMemoryBytes === null ? 'n/a' : formatBytes(r.plan.predictedMemoryBytes)} for the planned instances (shared weights once plus private memory per instance; the gateway not included) and a bound of ${ms1(r.plan.boundMs ?? NaN)} ms.`,
    `Other processes on the machine used up to ${foreign.toFixed(2)} cores' worth of CPU during the traces${foreign > 0.25 ? ' (a shared machine: latency numbers are not those of a quiet one)' : ''}. Started ${r.startedAt}, took ${(r.durationMs / 60000).toFixed(1)} min.`,
    '',
    `Re-run: \`${command}\` (results in \`docs/bench/plan.json\`).`,
  ];
  return fenceSection(PLAN_SECTION_ID, body.join('\n'));
}
