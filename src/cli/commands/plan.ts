// `tensorshare plan`: the instance configuration (instances x intra-op
// threads x batch cap) that meets each function's rate and SLO at the least
// memory, from profiles measured on this machine; for realtime functions
// with deadlines, CPU or GPU and the core split (DART). Exit status 3 when
// nothing is schedulable. `--out` writes the plan `serve --plan` applies;
// `--compare` simulates it against serve's default autoscaler.
import fs from 'node:fs';
import { availableParallelism } from 'node:os';
import path from 'node:path';
import type { Command } from 'commander';
import { formatBytes } from '../../bytes.js';
import { TensorshareError } from '../../errors.js';
import { packageRoot } from '../../paths.js';
import {
  type MeasuredProfile,
  type PlanInput,
  type RealtimeFunction,
  batchCurve,
  interpolateLatency,
  planFunctions,
  planRealtime,
  pointAt,
  toPlanFile,
} from '../../plan/index.js';
import { readFunction } from '../../serve/functions/repository.js';
import { compareWithAutoscaler, poissonArrivals } from '../../sim/batch/index.js';
import { action, emit, table } from '../output.js';
import { type ProfileFlags, addProfileOptions, measuredProfile, positive, readProfileFile } from './profile-source.js';

interface PlanOpts extends ProfileFlags {
  fn: string[];
  realtime: string[];
  functions: string;
  profile: string[];
  cores?: string;
  maxInstances: string;
  maxUtilization: string;
  gpus: string;
  gpuProfile?: string;
  out?: string;
  saveProfile?: string;
  compare?: boolean;
  coldStartMs?: string;
  seed: string;
}

const collect = (v: string, p: string[]) => [...p, v];

export function registerPlan(program: Command): void {
  const c = program
    .command('plan')
    .description(
      'choose instances x threads x batch cap per function: least memory meeting its request rate and latency SLO (exact search, greedy beside it with its gap); realtime functions: CPU or GPU and the core split meeting every deadline. Exit 3: not schedulable',
    )
    .option(
      '--fn <name=rate@sloMs>',
      'a function, its requests/s and latency SLO, e.g. ocr=200@50; repeatable',
      collect,
      [] as string[],
    )
    .option(
      '--realtime <name=periodMs@deadlineMs[*weight]>',
      'a realtime function with a deadline (placed on CPU or GPU); repeatable',
      collect,
      [] as string[],
    )
    .option(
      '--functions <dir>',
      "function repository the functions' models are read from",
      path.join(packageRoot, 'functions'),
    )
    .option(
      '--profile <name=file>',
      'use this measured profile for a function instead of measuring; repeatable',
      collect,
      [] as string[],
    )
    .option('--cores <n>', "cores the instances may take (default: all of this machine's)")
    .option('--max-instances <n>', 'most instances of one function', '8')
    .option('--max-utilization <share>', 'highest planned utilization of the instances', '0.7')
    .option('--gpus <n>', 'GPUs for realtime functions', '0')
    .option(
      '--gpu-profile <file>',
      'GPU latency: {"functions": {"<name>": {"latencyMs": n}}} or docs/bench/gpu-results.json (its batch-1 executor p50)',
    )
    .option('--out <file>', 'write the plan (tensorshare.plan/v1) for serve --plan')
    .option('--save-profile <dir>', 'also write each measured profile here as <name>.json')
    .option(
      '--compare',
      "simulate the plan against serve's default autoscaler on the same trace (memory, SLO attainment)",
    )
    .option(
      '--cold-start-ms <ms>',
      'instance start for --compare (default: the measured pre-started start of docs/bench/coldphases.json)',
    )
    .option('--seed <seed>', 'seed of the --compare trace', '1')
    .option('--json', 'print JSON');
  addProfileOptions(c).action(
    action(async (o: PlanOpts, cmd: Command) => {
      if (o.fn.length === 0 && o.realtime.length === 0)
        throw new TensorshareError('ERR_INVALID_ARGUMENT', 'name at least one --fn or --realtime function');
      const cores = o.cores === undefined ? availableParallelism() : positiveInt('--cores', o.cores);
      const files = Object.fromEntries(o.profile.map((p) => split('--profile', p)));
      const profiles = new Map<string, MeasuredProfile>();
      const profileOf = async (fn: string) => {
        const known = profiles.get(fn);
        if (known) return known;
        const p = files[fn]
          ? readProfileFile(files[fn])
          : await measuredProfile(await modelOf(o.functions, fn), o, cmd);
        if (o.saveProfile) {
          fs.mkdirSync(o.saveProfile, { recursive: true });
          fs.writeFileSync(path.join(o.saveProfile, `${fn}.json`), `${JSON.stringify(p, null, 2)}\n`);
        }
        profiles.set(fn, p);
        return p;
      };
      const inputs: PlanInput[] = [];
      for (const spec of o.fn) {
        const [fn, rest] = split('--fn', spec);
        const [rate, slo] = rest.split('@');
        inputs.push({
          profile: await profileOf(fn),
          demand: { fn, ratePerS: positive('--fn rate', rate ?? ''), sloMs: positive('--fn SLO', slo ?? '') },
        });
      }
      const realtime: RealtimeFunction[] = [];
      const gpuMs = o.gpuProfile ? readGpuProfile(o.gpuProfile) : {};
      for (const spec of o.realtime) {
        const [fn, rest] = split('--realtime', spec);
        const m = /^([\d.]+)@([\d.]+)(?:\*([\d.]+))?$/.exec(rest);
        if (!m)
          throw new TensorshareError(
            'ERR_INVALID_ARGUMENT',
            `--realtime must be name=periodMs@deadlineMs[*weight], got '${spec}'`,
          );
        const p = await profileOf(fn);
        const cpuMs = new Map(p.points.filter((q) => q.batch === 1).map((q) => [q.threads, q.latencyMs]));
        const gpu = gpuMs[fn] ?? gpuMs['*'];
        realtime.push({
          fn,
          periodMs: Number(m[1]),
          deadlineMs: Number(m[2]),
          ...(m[3] ? { weight: Number(m[3]) } : {}),
          cpuMs,
          ...(gpu === undefined ? {} : { gpuMs: gpu }),
        });
      }
      const rt = realtime.length ? planRealtime(realtime, cores, positiveIntOrZero('--gpus', o.gpus)) : null;
      // Realtime CPU instances take their cores first; the rest is what the throughput functions share.
      const left = rt?.schedulable ? rt.besteffortCores : cores;
      const plan = inputs.length
        ? planFunctions(inputs, {
            cores: Math.max(1, left),
            maxInstances: positiveInt('--max-instances', o.maxInstances),
            maxUtilization: Number(o.maxUtilization),
          })
        : null;
      const schedulable = (plan?.schedulable ?? true) && (rt?.schedulable ?? true);
      const devices = Object.fromEntries(
        (rt?.assignments ?? []).map((a) => [
          a.fn,
          a.placement.device === 'gpu' ? (`gpu:${a.placement.gpu}` as const) : ('cpu' as const),
        ]),
      );
      const rtChoices = (rt?.assignments ?? []).map((a) => ({
        fn: a.fn,
        instances: 1,
        threads: a.placement.device === 'cpu' ? a.placement.cores : 1,
        maxBatchSize: 1,
      }));
      const planFile = toPlanFile(
        [
          ...(plan?.choices ?? []),
          ...rtChoices.map((x) => ({ ...x, cores: 0, memoryBytes: 0, boundMs: 0, serviceMs: 0, utilization: 0 })),
        ],
        devices,
      );
      if (schedulable && o.out) fs.writeFileSync(o.out, `${JSON.stringify(planFile, null, 2)}\n`);
      const comparison =
        o.compare && plan?.schedulable
          ? plan.choices.map((ch) => {
              const p = profiles.get(ch.fn)!;
              const input = inputs.find((x) => x.demand.fn === ch.fn)!;
              return {
                fn: ch.fn,
                ...compareOne(
                  p,
                  ch,
                  input.demand.ratePerS,
                  input.demand.sloMs,
                  cores,
                  coldStartMs(o.coldStartMs),
                  o.seed,
                ),
              };
            })
          : null;
      emit(o, { schedulable, cores, plan, realtime: rt, planFile, comparison }, (v) => human(v, o.out));
      if (!schedulable) process.exitCode = 3;
    }),
  );
}

/** The planned configuration vs the default autoscaler for one function, on one generated trace: quiet, the planned rate, a 1.3x burst. */
function compareOne(
  p: MeasuredProfile,
  ch: { threads: number; maxBatchSize: number; instances: number },
  rate: number,
  sloMs: number,
  cores: number,
  coldStartMs: number,
  seed: string,
) {
  const arrivals = poissonArrivals(
    [
      { ratePerS: rate * 0.2, durationMs: 60_000 },
      { ratePerS: rate, durationMs: 60_000 },
      { ratePerS: rate * 1.3, durationMs: 20_000 },
      { ratePerS: rate * 0.5, durationMs: 60_000 },
    ],
    seed,
  );
  const one = pointAt(p, 1, 1) ?? batchCurve(p, Math.min(...p.points.map((q) => q.threads)))[0]!;
  const planned = pointAt(p, ch.threads, ch.maxBatchSize)!;
  return {
    trace: { requests: arrivals.length, phases: 'rate x 0.2 for 60 s, x 1 for 60 s, x 1.3 for 20 s, x 0.5 for 60 s' },
    coldStartMs,
    ...compareWithAutoscaler({
      arrivals,
      sloMs,
      cores,
      sharedBytes: p.sharedBytes,
      planned: { ...ch, serviceMs: (b) => interpolateLatency(p, ch.threads, b)!, memoryBytes: planned.memoryBytes },
      unplanned: {
        threads: one.threads,
        maxBatchSize: 1,
        serviceMs: (b) => interpolateLatency(p, one.threads, b)!,
        memoryBytes: one.memoryBytes,
      },
      coldStartMs,
      jitter: 0.05,
      seed,
    }),
  };
}

function coldStartMs(flag: string | undefined): number {
  if (flag !== undefined) return positive('--cold-start-ms', flag);
  try {
    const d = JSON.parse(fs.readFileSync(path.join(packageRoot, 'docs', 'bench', 'coldphases.json'), 'utf8')) as {
      instances: Array<{ prestarted: boolean; rows: Array<{ spawnToReadyMs: number }> }>;
    };
    const ms = d.instances
      .filter((i) => i.prestarted)
      .flatMap((i) => i.rows.map((r) => r.spawnToReadyMs))
      .sort((a, b) => a - b);
    if (ms.length) return ms[Math.floor(ms.length / 2)]!;
  } catch {
    // no measured start: the fallback below
  }
  return 1000;
}

function readGpuProfile(file: string): Record<string, number> {
  const raw = JSON.parse(fs.readFileSync(file, 'utf8')) as {
    format?: string;
    functions?: Record<string, { latencyMs?: number }>;
    speed?: { model?: string; executor?: Record<string, { p50?: number }> };
  };
  if (raw.format === 'tensorshare.bench-gpu/v1') {
    const ms = raw.speed?.executor?.['1']?.p50;
    if (!(typeof ms === 'number' && ms > 0))
      throw new TensorshareError('ERR_INVALID_ARGUMENT', `${file}: no batch-1 executor p50 under speed.executor`);
    return { '*': ms };
  }
  const out: Record<string, number> = {};
  for (const [fn, v] of Object.entries(raw.functions ?? {})) {
    if (!(typeof v?.latencyMs === 'number' && v.latencyMs > 0))
      throw new TensorshareError('ERR_INVALID_ARGUMENT', `${file}: functions.${fn}.latencyMs must be a number > 0`);
    out[fn] = v.latencyMs;
  }
  if (Object.keys(out).length === 0)
    throw new TensorshareError(
      'ERR_INVALID_ARGUMENT',
      `${file}: no GPU latencies (expected {"functions": {...}} or a bench-gpu/v1 results file)`,
    );
  return out;
}

async function modelOf(functionsDir: string, fn: string): Promise<string> {
  const { config } = await readFunction(functionsDir, fn);
  const bindings = Object.values(config.models);
  const [only] = bindings;
  if (bindings.length !== 1 || !only || !('ref' in only))
    throw new TensorshareError(
      'ERR_INVALID_ARGUMENT',
      `function ${fn}: the planner measures a function with exactly one stored model (import a modelFile first); give --profile ${fn}=FILE instead`,
      { fn },
    );
  return only.ref;
}

function split(flag: string, v: string): [string, string] {
  const i = v.indexOf('=');
  if (i <= 0) throw new TensorshareError('ERR_INVALID_ARGUMENT', `${flag} must be name=value, got '${v}'`);
  return [v.slice(0, i), v.slice(i + 1)];
}

function positiveInt(flag: string, v: string): number {
  const n = Number(v);
  if (!Number.isInteger(n) || n < 1)
    throw new TensorshareError('ERR_INVALID_ARGUMENT', `${flag} must be an integer >= 1, got '${v}'`);
  return n;
}

function positiveIntOrZero(flag: string, v: string): number {
  const n = Number(v);
  if (!Number.isInteger(n) || n < 0)
    throw new TensorshareError('ERR_INVALID_ARGUMENT', `${flag} must be an integer >= 0, got '${v}'`);
  return n;
}

type Shown = {
  schedulable: boolean;
  cores: number;
  plan: ReturnType<typeof planFunctions> | null;
  realtime: ReturnType<typeof planRealtime> | null;
  comparison: Array<{
    fn: string;
    planned: import('../../sim/batch/index.js').ConfigOutcome;
    autoscaler: import('../../sim/batch/index.js').ConfigOutcome;
    coldStartMs: number;
    trace: { requests: number; phases: string };
  }> | null;
};

function human(v: Shown, out: string | undefined): string {
  const lines: string[] = [];
  const pct = (x: number) => `${(x * 100).toFixed(1)}%`;
  if (v.plan) {
    const p = v.plan;
    if (p.schedulable) {
      lines.push(
        table([
          ['FUNCTION', 'INSTANCES', 'THREADS', 'BATCH CAP', 'CORES', 'MEMORY', 'BOUND MS', 'UTILIZATION'],
          ...p.choices.map((c) => [
            c.fn,
            c.instances,
            c.threads,
            c.maxBatchSize,
            c.cores,
            formatBytes(c.memoryBytes),
            c.boundMs.toFixed(1),
            pct(c.utilization),
          ]),
        ]),
        `total ${formatBytes(p.memoryBytes ?? 0)} on ${p.cores} of ${v.cores} cores (${p.method}${p.exact.complete ? '' : ', exact search stopped at its node budget'}); greedy ${p.greedy.plan ? formatBytes(p.greedy.plan.memoryBytes) : 'found none'}, gap ${p.gap === null ? 'n/a' : pct(p.gap)}`,
      );
    } else lines.push('not schedulable:', ...p.reasons.map((r) => `  ${r}`));
  }
  if (v.realtime) {
    const r = v.realtime;
    if (r.schedulable)
      lines.push(
        '',
        table([
          ['REALTIME', 'PLACEMENT', 'RESPONSE MS', 'DEADLINE MS'],
          ...r.assignments.map((a) => [
            a.fn,
            a.placement.device === 'cpu' ? `cpu, ${a.placement.cores} cores` : `gpu:${a.placement.gpu}`,
            a.responseMs.toFixed(2),
            a.deadlineMs,
          ]),
        ]),
        `weighted response ${r.weightedResponseMs?.toFixed(2)} ms; realtime cores ${r.realtimeCores}, besteffort cores ${r.besteffortCores}`,
      );
    else lines.push('', 'realtime not schedulable:', ...r.reasons.map((x) => `  ${x}`));
  }
  for (const c of v.comparison ?? [])
    lines.push(
      '',
      `${c.fn}: simulated on one trace (${c.trace.requests} requests: ${c.trace.phases}; cold start ${c.coldStartMs.toFixed(0)} ms)`,
      table([
        ['CONFIGURATION', 'MEAN MEMORY', 'PEAK MEMORY', 'SLO MET', 'P99 MS', 'COLD STARTS'],
        ...[c.planned, c.autoscaler].map((x) => [
          x.label,
          formatBytes(x.meanMemoryBytes),
          formatBytes(x.peakMemoryBytes),
          pct(x.sloAttainment),
          x.p99Ms.toFixed(1),
          x.coldStarts,
        ]),
      ]),
    );
  if (v.schedulable && out) lines.push('', `plan written to ${out} (serve --plan ${out})`);
  return lines.join('\n').replace(/^\n+/, '');
}
