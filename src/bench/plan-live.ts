// `tensorshare bench plan`: the planned configuration against serve's default
// autoscaler, live. One function (a generated MLP) is planned by the real
// `tensorshare plan` command (which profiles the model on this machine), then
// served twice by a real `tensorshare serve` on the same seeded open-loop
// arrival trace: once with `--plan`, once with the function's own (empty)
// settings, i.e. the default autoscaler. Memory is the summed Pss of the
// server's processes (gateway and instances), sampled while the load runs;
// SLO attainment and latency are the load generator's. `plan --compare`
// simulates the same comparison; this measures it.
import { execFile } from 'node:child_process';
import fs from 'node:fs/promises';
import os, { availableParallelism } from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { TensorshareError } from '../errors.js';
import { mlp, paramCount, writeModel } from '../gen/index.js';
import { packageRoot } from '../paths.js';
import { readSmapsRollup } from '../proc/smaps.js';
import { importModel } from '../store/import.js';
import { cpuWindow, processTree } from './cpu.js';
import { httpClient, inferBody, type ModelMeta } from './http-load.js';
import { runLoad, type LoadStep } from './loadgen.js';
import { machineInfo } from './machine.js';
import { startServeProcess, writeFunctions, type ServeProcess } from './serve-process.js';
import {
  PLAN_SECTION_ID,
  planSection,
  planVerdicts,
  type MemorySample,
  type PlanLiveResults,
  type PlanLiveRun,
} from './plan-live-report.js';
import { writeResultsJson, writeSectionMarkdown } from './report.js';

const run = promisify(execFile);

export interface PlanLiveOptions {
  quick: boolean;
  log(line: string): void;
  /** Planned request rate, per second. */
  ratePerS?: number;
  sloMs?: number;
  seed?: number;
}

const FN = 'mlp';
const SAMPLE_MS = 250;

/** The trace's shape, as `plan --compare` simulates it (quiet, the planned rate, a 1.3x burst, half), shortened. */
export function tracePhases(rate: number, quick: boolean): LoadStep[] {
  const s = quick ? 0.25 : 1;
  return [
    { ratePerSec: rate * 0.2, durationMs: 15_000 * s },
    { ratePerSec: rate, durationMs: 20_000 * s },
    { ratePerSec: rate * 1.3, durationMs: 10_000 * s },
    { ratePerSec: rate * 0.5, durationMs: 15_000 * s },
  ];
}

export async function runPlanLive(o: PlanLiveOptions): Promise<PlanLiveResults> {
  const t0 = Date.now();
  const cores = availableParallelism();
  const rate = o.ratePerS ?? (o.quick ? 30 : 60);
  const sloMs = o.sloMs ?? 50;
  const seed = o.seed ?? 1;
  const shape = o.quick ? { layers: 2, width: 256 } : { layers: 4, width: 1024 };
  const work = await fs.mkdtemp(path.join(os.tmpdir(), 'ts-bench-plan-'));
  const store = await fs.mkdtemp(path.join('/dev/shm', 'ts-bench-plan-'));
  const repository = path.join(work, 'repo');
  const functionsDir = path.join(work, 'functions');
  let server: ServeProcess | undefined;
  try {
    const spec = mlp(shape);
    await writeModel(spec, path.join(work, 'mlp.onnx'), { format: 'embedded' });
    await importModel(repository, path.join(work, 'mlp.onnx'), { name: FN });
    await writeFunctions(functionsDir, { [FN]: { model: FN } });
    o.log(
      `model: MLP ${shape.layers} x ${shape.width} (${paramCount(spec)} parameters); planning ${rate}/s at SLO ${sloMs} ms on ${cores} cores`,
    );

    // The real command, as an operator runs it: profile on this machine (fresh cache), plan, plan file.
    const planFile = path.join(work, 'plan.json');
    const cli = [path.join(packageRoot, 'bin/tensorshare.js'), '--repository', repository, '--store', store];
    const planArgs = [
      'plan',
      '--functions',
      functionsDir,
      '--fn',
      `${FN}=${rate}@${sloMs}`,
      '--cores',
      String(cores),
      '--out',
      planFile,
      '--cache-dir',
      path.join(work, 'profiles'),
      ...(o.quick ? ['--batches', '1,4,16', '--budget-ms', '100'] : []),
      '--compare',
      '--json',
    ];
    const planStart = Date.now();
    const planned = await run(process.execPath, [...cli, ...planArgs], { maxBuffer: 16 << 20 }).catch(
      (e: Error & { stdout?: string; stderr?: string }) => {
        throw new TensorshareError(
          'ERR_INTERNAL',
          `tensorshare plan failed: ${e.stderr?.trim() || e.stdout?.trim() || e.message}`,
        );
      },
    );
    const planOut = JSON.parse(planned.stdout) as {
      schedulable: boolean;
      plan: { reasons?: string[]; choices?: Array<{ memoryBytes: number; boundMs: number }> } | null;
      planFile: { functions: Record<string, { instances: number; intraOpThreads: number; maxBatchSize: number }> };
      comparison?: Array<{
        coldStartMs: number;
        trace: { requests: number; phases: string };
        planned: SimulatedOutcome;
        autoscaler: SimulatedOutcome;
      }> | null;
    };
    const planMs = Date.now() - planStart;
    if (!planOut.schedulable)
      throw new TensorshareError(
        'ERR_INVALID_ARGUMENT',
        `the planner found no configuration for ${rate}/s at ${sloMs} ms: ${planOut.plan?.reasons?.join('; ')}`,
      );
    const choice = planOut.planFile.functions[FN]!;
    o.log(
      `plan (${(planMs / 1000).toFixed(1)} s with profiling): ${choice.instances} x ${choice.intraOpThreads} threads, batch cap ${choice.maxBatchSize}`,
    );

    const steps = tracePhases(rate, o.quick);
    const runs: PlanLiveRun[] = [];
    // Same seed, same arrivals. ABBA (quick: AB), each server fresh, so a drift in the machine's load weighs on both.
    const order = o.quick ? (['plan', 'default'] as const) : (['plan', 'default', 'default', 'plan'] as const);
    for (const [k, which] of order.entries()) {
      const repetition = order.slice(0, k + 1).filter((x) => x === which).length;
      try {
        server = await startServeProcess({
          repository,
          store,
          functionsDir,
          cores,
          extraArgs: which === 'plan' ? ['--plan', planFile] : [],
          warm: which === 'plan' ? { [FN]: choice.instances } : {},
        });
        runs.push({ ...(await measure(server, which, steps, sloMs, seed, cores, o.log)), repetition });
      } catch (e) {
        const tail = server?.stderr.slice(-5).join(' | ');
        throw new TensorshareError(
          'ERR_INTERNAL',
          `bench plan, ${which} configuration: ${(e as Error).message}${tail ? ` (serve: ${tail})` : ''}`,
        );
      }
      await server.stop();
      server = undefined;
    }
    return {
      format: 'tensorshare.bench-plan/v1',
      quick: o.quick,
      startedAt: new Date(t0).toISOString(),
      durationMs: Date.now() - t0,
      machine: machineInfo(),
      model: { name: FN, ...shape, parameters: paramCount(spec) },
      demand: { ratePerS: rate, sloMs, cores, seed },
      trace: steps,
      plan: {
        ...choice,
        predictedMemoryBytes: planOut.plan?.choices?.[0]?.memoryBytes ?? null,
        boundMs: planOut.plan?.choices?.[0]?.boundMs ?? null,
        planMs,
      },
      simulated: simulatedOf(planOut.comparison?.[0]),
      runs,
    };
  } finally {
    if (server) await server.stop().catch(() => {});
    await fs.rm(work, { recursive: true, force: true }).catch(() => {});
    await fs.rm(store, { recursive: true, force: true }).catch(() => {});
  }
}

async function measure(
  server: ServeProcess,
  which: 'plan' | 'default',
  steps: LoadStep[],
  sloMs: number,
  seed: number,
  cores: number,
  log: (line: string) => void,
): Promise<Omit<PlanLiveRun, 'repetition'>> {
  const meta = (await (await fetch(`${server.url}/v2/models/${FN}`)).json()) as ModelMeta;
  const body = inferBody(meta, { binaryOutputs: true }); // batch 1: the dynamic batch axis becomes 1
  const coldBefore = await coldStarts(server.url);
  const samples: MemorySample[] = [];
  const start = Date.now();
  const sample = () => {
    const pids = processTree(server.pid);
    let gateway = 0;
    let instances = 0;
    let n = 0;
    for (const pid of pids) {
      try {
        const pss = readSmapsRollup(pid).pss;
        if (pid === server.pid) gateway = pss;
        else {
          instances += pss;
          n++;
        }
      } catch {
        // the process ended between the listing and the read
      }
    }
    samples.push({ atMs: Date.now() - start, gatewayBytes: gateway, instancesBytes: instances, processes: n });
  };
  sample();
  const timer = setInterval(sample, SAMPLE_MS);
  const sender = httpClient(server.url.replace('localhost', '127.0.0.1'), 1024);
  const cpu = cpuWindow(() => [process.pid, ...processTree(server.pid)], cores);
  try {
    const total = steps.reduce((a, s) => a + (s.ratePerSec * s.durationMs) / 1000, 0);
    const r = await runLoad({
      steps,
      seed,
      maxRequests: Math.ceil(total * 2) + 100,
      sloMs,
      drainMs: 5000,
      send: () => sender.infer(FN, body),
    });
    const window = cpu.end();
    clearInterval(timer);
    sample();
    const cold = (await coldStarts(server.url)) - coldBefore;
    log(
      `${which}: ${r.sent} requests, SLO met ${(r.sloAttainment * 100).toFixed(1)}%, p99 ${r.latency.p99.toFixed(1)} ms, ${cold} cold starts during the trace; other processes used ${window.foreignCores.toFixed(2)} cores`,
    );
    return {
      config: which,
      sent: r.sent,
      ok: r.ok,
      rejections: r.rejections,
      unfinished: r.unfinished,
      sloAttainment: r.sloAttainment,
      latency: r.latency,
      bySteps: r.bySteps.map((s) => ({
        ratePerSec: s.ratePerSec,
        sent: s.sent,
        sloAttainment: s.sloAttainment,
        p99Ms: s.latency.p99,
      })),
      coldStartsDuringTrace: cold,
      samples,
      foreignCores: window.foreignCores,
      serverStderr: server.stderr.slice(-20),
    };
  } finally {
    clearInterval(timer);
    sender.close();
  }
}

type SimulatedOutcome = { sloAttainment: number; meanMemoryBytes: number; p99Ms: number; coldStarts: number };

/** What `plan --compare` predicted (its own, longer trace of the same shape), kept beside the live runs. */
function simulatedOf(
  c:
    | {
        coldStartMs: number;
        trace: { requests: number; phases: string };
        planned: SimulatedOutcome;
        autoscaler: SimulatedOutcome;
      }
    | undefined,
): PlanLiveResults['simulated'] {
  if (!c) return null;
  const pick = (x: SimulatedOutcome) => ({
    sloAttainment: x.sloAttainment,
    meanMemoryBytes: x.meanMemoryBytes,
    p99Ms: x.p99Ms,
    coldStarts: x.coldStarts,
  });
  return { trace: c.trace, coldStartMs: c.coldStartMs, plan: pick(c.planned), default: pick(c.autoscaler) };
}

async function coldStarts(url: string): Promise<number> {
  const text = await (await fetch(`${url}/metrics`)).text();
  const m = new RegExp(`^tensorshare_cold_starts_total\\{function="${FN}"\\} (\\d+)`, 'm').exec(text);
  return m ? Number(m[1]) : 0;
}

/** `tensorshare bench plan`: runs (or, with `from`, re-renders a saved bench/plan.json), then writes `<out>/bench/plan.json` and the plan section of `<out>/benchmarks.md`. */
export async function benchPlan(o: {
  quick: boolean;
  out: string;
  from?: string;
  ratePerS?: number;
  sloMs?: number;
}): Promise<PlanLiveResults> {
  const log = (line: string) =>
    process.stderr.write(`[bench plan ${new Date().toISOString().slice(11, 19)}] ${line}\n`);
  const r = o.from
    ? await readSaved(o.from)
    : await runPlanLive({ quick: o.quick, log, ratePerS: o.ratePerS, sloMs: o.sloMs });
  writeResultsJson(path.join(o.out, 'bench', 'plan.json'), r);
  const command = `npx tensorshare bench plan${r.quick ? ' --quick' : ''}`;
  const md = planSection(r, command);
  writeSectionMarkdown(path.join(o.out, 'benchmarks.md'), PLAN_SECTION_ID, md);
  process.stdout.write(
    `${planVerdicts(r)
      .map((v) => `${v.id}: ${v.verdict} (${v.measured})`)
      .join('\n')}\nreport: ${path.join(o.out, 'benchmarks.md')}, results: ${path.join(o.out, 'bench', 'plan.json')}\n`,
  );
  return r;
}

async function readSaved(file: string): Promise<PlanLiveResults> {
  let r: PlanLiveResults;
  try {
    r = JSON.parse(await fs.readFile(file, 'utf8')) as PlanLiveResults;
  } catch (e) {
    throw new TensorshareError(
      'ERR_INVALID_ARGUMENT',
      `--from ${file}: cannot read a saved run (${(e as Error).message})`,
    );
  }
  if (r.format !== 'tensorshare.bench-plan/v1')
    throw new TensorshareError('ERR_INVALID_ARGUMENT', `--from ${file}: not a tensorshare.bench-plan/v1 results file`);
  return r;
}
