// `tensorshare bench gpu` (scenario `fallback`): the issue's target "with the
// GPU -> CPU fallback on, besteffort completes more requests than without
// it", measured side by side in one run through real `tensorshare serve`
// processes. One model; a realtime function on the GPU (`device: gpu`) under
// a closed-loop flood of `rtClients` clients saturates the executor, and a
// besteffort function of the same model with `device: auto` gets a
// closed-loop load of `beClients` clients. The same trace runs twice, fallback
// on and off (`serve --gpu-fallback on|off`); each run also measures the
// realtime load alone first, so the realtime p99 beside the besteffort load is
// reported against its p99 alone.
//
// With --stand-in there is no GPU: the daemon's executor runs on a fake
// device with the CPU provider, so it is a check that the harness works end to
// end; its numbers say nothing about a GPU (and on a shared machine nothing at
// all).
import { setMaxListeners } from 'node:events';
import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { mlp, writeModel } from '../gen/index.js';
import { importModel } from '../store/import.js';
import { inferBody, type ModelMeta } from './http-load.js';
import { startServeProcess, writeFunctions } from './serve-process.js';

export interface FallbackBenchOptions {
  /** The realtime function's model (an ONNX file) and its inputs at batch 1; default: a generated MLP. */
  model?: FallbackModel;
  /**
   * The besteffort function's model (default: the realtime one). DART's case is a small model behind a
   * large one: cheap on a CPU, starved on a GPU that realtime work of the large model fills.
   */
  beModel?: FallbackModel;
  standIn?: boolean;
  /** Each phase (realtime alone, then mixed), ms (default 10 s; stand-in 4 s). */
  phaseMs?: number;
  rtClients?: number;
  /** Instances of the realtime function (default 8; stand-in 2). */
  rtInstances?: number;
  beClients?: number;
  log(line: string): void;
}

export interface FallbackModel {
  file: string;
  inputs: { name: string; dtype: string; shape: number[] }[];
}

/**
 * The scenario's models from a GPU bench's models.json: DART's case, realtime work of the large model
 * (bert_large) filling the GPU and besteffort work of the small one (small_cnn, cheap on a CPU) starving
 * there; bert_base (or the first model) where those are missing.
 */
export function fallbackModels(
  specs: readonly ({ name: string } & FallbackModel)[],
  resolve: (file: string) => string,
): { model: FallbackModel; beModel: FallbackModel } | undefined {
  const models = specs.filter((s) => s.name !== 'warmup');
  const fallback = models.find((s) => s.name === 'bert_base') ?? models[0];
  const rt = models.find((s) => s.name === 'bert_large') ?? fallback;
  const be = models.find((s) => s.name === 'small_cnn') ?? fallback;
  if (!rt || !be) return undefined;
  return {
    model: { file: resolve(rt.file), inputs: rt.inputs },
    beModel: { file: resolve(be.file), inputs: be.inputs },
  };
}

export interface FallbackRun {
  fallback: 'on' | 'off';
  rtAlone: { completed: number; p50: number; p99: number };
  mixed: {
    rtCompleted: number;
    rtP50: number;
    rtP99: number;
    beCompleted: number;
    /** Of those, answered by CPU sessions (the metric tensorshare_requests_by_device_total). */
    beOnCpu: number;
    beErrors: number;
    /** Samples of tensorshare_gpu_fallback_state that read 1, of all taken during the mixed phase. */
    fallbackStateOn: number;
    fallbackStateSamples: number;
  };
  rtP99VsAlone: number;
}

export interface FallbackReport {
  standIn: boolean;
  model: string;
  beModel: string;
  phaseMs: number;
  rtClients: number;
  rtInstances: number;
  beClients: number;
  on: FallbackRun;
  off: FallbackRun;
  /** BE completed with fallback on / off. */
  beRatio: number;
  verdict: 'met' | 'missed';
  errors: string[];
}

const DTYPES: Record<string, string> = {
  float32: 'FP32',
  float: 'FP32',
  float16: 'FP16',
  int64: 'INT64',
  int32: 'INT32',
  int8: 'INT8',
  uint8: 'UINT8',
  bool: 'BOOL',
};

const pct = (xs: number[], p: number) => {
  if (xs.length === 0) return Number.NaN;
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.floor((p / 100) * s.length))]!;
};

async function metric(url: string, re: RegExp): Promise<number> {
  const text = await (await fetch(`${url}/metrics`)).text();
  const m = re.exec(text);
  return m ? Number(m[1]) : 0;
}

/** Closed-loop clients against one function until `stop` is aborted: each answer's latency, and errors. */
function closedLoop(url: string, fn: string, body: string, clients: number, stop: AbortSignal) {
  const latencies: number[] = [];
  let errors = 0;
  const one = async () => {
    while (!stop.aborted) {
      const t = performance.now();
      // A signal per request: fetch leaves its listener on the signal it is given, and thousands of requests on the
      // phase's own signal piled them up (Node's MaxListenersExceededWarning).
      const request = new AbortController();
      const abort = () => request.abort();
      stop.addEventListener('abort', abort, { once: true });
      try {
        const res = await fetch(`${url}/v2/models/${fn}/infer`, {
          method: 'POST',
          headers: { 'content-type': 'application/json' },
          body,
          signal: request.signal,
        });
        await res.arrayBuffer();
        if (stop.aborted) return; // answered after the phase ended: not counted
        if (res.status === 200) latencies.push(performance.now() - t);
        else errors++;
      } catch {
        if (!stop.aborted) errors++;
      } finally {
        stop.removeEventListener('abort', abort);
      }
    }
  };
  const done = Promise.all(Array.from({ length: clients }, one));
  return { latencies, errors: () => errors, done };
}

async function oneRun(
  fallback: 'on' | 'off',
  repository: string,
  work: string,
  meta: { rt: ModelMeta; be: ModelMeta },
  o: Required<Pick<FallbackBenchOptions, 'phaseMs' | 'rtClients' | 'rtInstances' | 'beClients'>> & FallbackBenchOptions,
): Promise<FallbackRun> {
  const store = await fs.mkdtemp(path.join('/dev/shm', 'ts-bench-fallback-'));
  const functionsDir = path.join(work, `functions-${fallback}`);
  await writeFunctions(functionsDir, {
    rt: {
      model: meta.rt.name,
      device: 'gpu',
      priority: 'realtime',
      // Several instances: one instance's own CPU work (JSON in and out) would cap the flood below what the GPU serves,
      // and a GPU with gaps serves besteffort work in them (H200, one instance, 16 clients: 530 besteffort answers).
      minInstances: o.rtInstances,
      maxInstances: o.rtInstances,
      targetConcurrency: Math.max(1, Math.ceil(o.rtClients / o.rtInstances)),
      maxQueueLength: 4 * o.rtClients,
    },
    be: {
      model: meta.be.name,
      device: 'auto',
      priority: 'besteffort',
      minInstances: 1,
      maxInstances: 1,
      targetConcurrency: o.beClients,
      maxQueueLength: 4 * o.beClients,
      requestTimeoutMs: 120_000,
    },
  });
  const env = { ...process.env, ...(o.standIn ? { TENSORSHARE_GPUS: 'fake:4GiB' } : {}) };
  const s = await startServeProcess({
    repository,
    store,
    functionsDir,
    daemon: 'auto',
    warm: { rt: o.rtInstances, be: 1 },
    env,
    extraArgs: ['--prestart', '0', '--gpu-fallback', fallback],
  });
  try {
    // Outputs in binary (the KServe extension): the realtime flood is then bound by the GPU, not by formatting
    // large JSON outputs in the instances (H200, BERT-base in JSON: 8 instances answered about 260/s, and the
    // GPU served besteffort work in its gaps).
    const binaryOut = { parameters: { binary_data_output: true } };
    const bodies = { rt: inferBody(meta.rt, binaryOut), be: inferBody(meta.be, binaryOut) };
    // Both functions' models resident on the device, both instances warm.
    for (const fn of ['rt', 'be'] as const) {
      const r = await fetch(`${s.url}/v2/models/${fn}/infer`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: bodies[fn],
      });
      if (r.status !== 200) throw new Error(`warm-up of ${fn}: ${r.status} ${await r.text()}`);
    }
    const phase = async (withBe: boolean) => {
      const stop = new AbortController();
      // One listener per client in flight (closedLoop).
      setMaxListeners(o.rtClients + o.beClients, stop.signal);
      const rt = closedLoop(s.url, 'rt', bodies.rt, o.rtClients, stop.signal);
      const be = withBe ? closedLoop(s.url, 'be', bodies.be, o.beClients, stop.signal) : undefined;
      const cpuBefore = await metric(s.url, /tensorshare_requests_by_device_total\{function="be",device="cpu"\} (\d+)/);
      let samples = 0;
      let on = 0;
      const end = performance.now() + o.phaseMs;
      while (performance.now() < end) {
        await new Promise((r) => setTimeout(r, 100));
        samples++;
        if ((await metric(s.url, /tensorshare_gpu_fallback_state\{device="0"\} (\d+)/)) === 1) on++;
      }
      stop.abort();
      await Promise.all([rt.done, be?.done]);
      const cpuAfter = await metric(s.url, /tensorshare_requests_by_device_total\{function="be",device="cpu"\} (\d+)/);
      return { rt, be, beOnCpu: cpuAfter - cpuBefore, samples, on };
    };
    o.log(`fallback ${fallback}: realtime alone`);
    const alone = await phase(false);
    o.log(`fallback ${fallback}: realtime beside besteffort`);
    const mixed = await phase(true);
    const rtAlone = {
      completed: alone.rt.latencies.length,
      p50: pct(alone.rt.latencies, 50),
      p99: pct(alone.rt.latencies, 99),
    };
    const rtP99 = pct(mixed.rt.latencies, 99);
    return {
      fallback,
      rtAlone,
      mixed: {
        rtCompleted: mixed.rt.latencies.length,
        rtP50: pct(mixed.rt.latencies, 50),
        rtP99,
        beCompleted: mixed.be!.latencies.length,
        // Requests answered after the phase ended are not counted above; the metric counts them: cap it.
        beOnCpu: Math.min(mixed.beOnCpu, mixed.be!.latencies.length),
        beErrors: mixed.be!.errors(),
        fallbackStateOn: mixed.on,
        fallbackStateSamples: mixed.samples,
      },
      rtP99VsAlone: rtP99 / rtAlone.p99,
    };
  } finally {
    await s.stop();
    // serve's daemon may still be writing its status as it goes.
    await fs.rm(store, { recursive: true, force: true, maxRetries: 10, retryDelay: 200 });
  }
}

export async function benchGpuFallback(opts: FallbackBenchOptions): Promise<FallbackReport> {
  const o = {
    ...opts,
    phaseMs: opts.phaseMs ?? (opts.standIn ? 4000 : 10_000),
    rtClients: opts.rtClients ?? (opts.standIn ? 16 : 64),
    rtInstances: opts.rtInstances ?? (opts.standIn ? 2 : 8),
    beClients: opts.beClients ?? 8,
  };
  const work = await fs.mkdtemp(path.join(os.tmpdir(), 'ts-bench-fallback-'));
  const repository = path.join(work, 'repo');
  try {
    const metaOf = (name: string, m: FallbackModel): ModelMeta => ({
      name,
      inputs: m.inputs.map((t) => ({ name: t.name, datatype: DTYPES[t.dtype] ?? t.dtype, shape: t.shape })),
      outputs: [],
    });
    let rtModel = o.model;
    if (!rtModel) {
      // A model slow enough on a CPU (about 4 x 1024^2 multiply-adds per row) that a realtime flood queues.
      const file = path.join(work, 'mlp.onnx');
      await writeModel(mlp({ layers: 4, width: 1024, seed: 1 }), file);
      rtModel = { file, inputs: [{ name: 'x', dtype: 'float32', shape: [1, 1024] }] };
    }
    const beModel = o.beModel ?? rtModel;
    const meta = { rt: metaOf('fallback-rt', rtModel), be: metaOf('fallback-be', beModel) };
    await importModel(repository, rtModel.file, { name: meta.rt.name });
    await importModel(repository, beModel.file, { name: meta.be.name });
    const errors: string[] = [];
    const on = await oneRun('on', repository, work, meta, o);
    const off = await oneRun('off', repository, work, meta, o);
    const beRatio = on.mixed.beCompleted / Math.max(1, off.mixed.beCompleted);
    return {
      standIn: !!o.standIn,
      model: o.model ? path.basename(o.model.file) : 'generated MLP 4 x 1024',
      beModel: o.beModel
        ? path.basename(o.beModel.file)
        : o.model
          ? path.basename(o.model.file)
          : 'generated MLP 4 x 1024',
      phaseMs: o.phaseMs,
      rtClients: o.rtClients,
      rtInstances: o.rtInstances,
      beClients: o.beClients,
      on,
      off,
      beRatio,
      // Met only where the fallback was exercised: more answers by chance, with none on CPU, prove nothing.
      verdict: on.mixed.beOnCpu > 0 && on.mixed.beCompleted > off.mixed.beCompleted ? 'met' : 'missed',
      errors,
    };
  } finally {
    await fs.rm(work, { recursive: true, force: true, maxRetries: 10, retryDelay: 200 });
  }
}

/** The scenario's lines for the report and the terminal. */
export function fallbackMarkdown(r: FallbackReport): string {
  const f = (x: number, d = 1) => (Number.isFinite(x) ? x.toFixed(d) : '-');
  const row = (x: FallbackRun) =>
    `| ${x.fallback} | ${x.mixed.beCompleted} (${x.mixed.beOnCpu} on CPU, ${x.mixed.beErrors} errors) | ${x.mixed.rtCompleted} | ${f(x.mixed.rtP99)} ms | ${f(x.rtAlone.p99)} ms | ${f(x.rtP99VsAlone, 2)}x | ${x.mixed.fallbackStateOn} of ${x.mixed.fallbackStateSamples} |`;
  return [
    '### GPU -> CPU fallback of besteffort work (issue 14)',
    '',
    `${r.standIn ? '**Stand-in run (fake device, CPU provider): checks the harness, measures nothing about a GPU.** ' : ''}Models: realtime ${r.model}, besteffort ${r.beModel ?? r.model}; a realtime function on the GPU (${r.rtInstances} instances) under ${r.rtClients} closed-loop clients, a besteffort \`device: auto\` function under ${r.beClients}; outputs in binary; ${r.phaseMs / 1000} s per phase, realtime alone first; \`serve --gpu-fallback on\` and \`off\` side by side in one run (\`tensorshare bench gpu --only fallback\`).`,
    '',
    '| fallback | besteffort completed | realtime completed | realtime p99 | realtime p99 alone | p99 vs alone | fallback state on (samples) |',
    '| --- | ---: | ---: | ---: | ---: | ---: | ---: |',
    row(r.on),
    row(r.off),
    '',
    `Besteffort completed with fallback on / off: **${f(r.beRatio, 2)}x**; target "with fallback on, BE completes more requests than without it": **${r.verdict}**.`,
    '',
  ].join('\n');
}
