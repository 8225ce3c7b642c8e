// The GPU tier on serve's instance path: TrIMS's case as a serving runtime
// meets it. A `device: gpu` function at zero instances, its model resident on
// the GPU, gets its first request; the instance is forked, or handed to a
// pre-started process (Node, the open function and the device client loaded,
// no model: serve keeps one beside a daemon with device executors). Beside it,
// interleaved, plain onnxruntime-node CUDA in a fresh process from the model
// file, spawn to first result (the TrIMS table's (a)).
import fs from 'node:fs/promises';
import path from 'node:path';
import type { InferRequest } from '../tensor/index.js';
import type { GpuModelSpec } from './gpu.js';
import { median } from './gpu-proc.js';
import { instanceOnce, type InstanceRow } from './instance-path.js';

export interface GpuInstancePath {
  model: string;
  bytes: number;
  /** (a): plain CUDA, a fresh process from the model file, spawn to first result. */
  plainCudaMs: number[];
  forked: InstanceRow[];
  prestarted: InstanceRow[];
  /** Median (a) over the median request -> first answer. */
  ratioForked: number;
  ratioPrestarted: number;
}

export interface GpuInstancesOptions {
  model: GpuModelSpec;
  /** The model files' folder. */
  modelsDir: string;
  repository: string;
  /** The store of the daemon whose executor holds the models. */
  store: string;
  /** A scratch folder for the functions. */
  work: string;
  reps: number;
  /** (a) once: spawn to first result of a fresh plain CUDA process. */
  plainFirstResultMs(): Promise<number>;
  /** Makes the model GPU-resident (an open on the executor); it stays after its client leaves. */
  makeResident(): Promise<void>;
  log(line: string): void;
  /** The instances' environment (default this process's). */
  env?: NodeJS.ProcessEnv;
}

/** A KServe request of the model's inputs at batch 1, the values the GPU worker feeds (gpu-worker.ts). */
export function requestOf(s: GpuModelSpec): InferRequest {
  return {
    inputs: s.inputs.map((i) => {
      const n = i.shape.reduce((a, b) => a * b, 1);
      return i.dtype === 'int64'
        ? {
            name: i.name,
            datatype: 'INT64' as const,
            shape: i.shape,
            data: BigInt64Array.from({ length: n }, (_, k) => BigInt(i.name.includes('mask') ? 1 : (k * 7) % 1000)),
          }
        : {
            name: i.name,
            datatype: 'FP32' as const,
            shape: i.shape,
            data: Float32Array.from({ length: n }, (_, k) => Math.sin(k) * 0.5),
          };
    }),
  };
}

export async function measureGpuInstances(o: GpuInstancesOptions): Promise<GpuInstancePath> {
  const s = o.model;
  const functionsDir = path.join(o.work, 'functions-gpu');
  await fs.mkdir(path.join(functionsDir, s.name), { recursive: true });
  await fs.writeFile(
    path.join(functionsDir, s.name, 'config.json'),
    JSON.stringify({ model: s.name, device: 'gpu', minInstances: 0, maxInstances: 1 }),
  );
  o.log(`instances ${s.name}`);
  await o.makeResident();
  const req = requestOf(s);
  const r: GpuInstancePath = {
    model: s.name,
    bytes: (await fs.stat(path.resolve(o.modelsDir, s.file))).size,
    plainCudaMs: [],
    forked: [],
    prestarted: [],
    ratioForked: Number.NaN,
    ratioPrestarted: Number.NaN,
  };
  const runtime = { functionsDir, repository: o.repository, store: o.store, env: o.env };
  const steps = [
    async () => r.plainCudaMs.push(await o.plainFirstResultMs()),
    async () => r.forked.push(await instanceOnce(runtime, s.name, req, 0)),
    async () => r.prestarted.push(await instanceOnce(runtime, s.name, req, 1)),
  ];
  // The three side by side, their order rotated each repetition.
  for (let rep = 0; rep < o.reps; rep++)
    for (let k = 0; k < steps.length; k++) await steps[(rep + k) % steps.length]!();
  const plain = median(r.plainCudaMs);
  r.ratioForked = plain / median(r.forked.map((x) => x.requestToAnswerMs));
  r.ratioPrestarted = plain / median(r.prestarted.map((x) => x.requestToAnswerMs));
  return r;
}

/** The report's table of the instance path (medians over the repetitions, ms). */
export function gpuInstancesMarkdown(rows: readonly GpuInstancePath[]): string[] {
  if (!rows.length) return [];
  const m = (xs: readonly InstanceRow[], f: (x: InstanceRow) => number) => median(xs.map(f)).toFixed(0);
  const lines = [
    '',
    `Serve's instance path: a \`device: gpu\` function at zero instances, its model GPU-resident, gets its first request (a fresh serve runtime per measurement; medians of ${rows[0]!.plainCudaMs.length}, interleaved with (a)). The instance is forked, or handed to a pre-started process (Node, the open function and the device client loaded, no model). *request → first answer* includes the autoscaler's reaction and the instance's start; *spawn* is the runtime's instance-starting event (fork, or the handover).`,
    '',
    '| model | (a) plain CUDA, fresh process | forked: spawn → ready | ready → first answer | request → first answer | pre-started: handover → ready | ready → first answer | request → first answer | warm answer | (a) / pre-started | (a) / forked |',
    '| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |',
  ];
  for (const r of rows)
    lines.push(
      `| ${r.model} | ${median(r.plainCudaMs).toFixed(0)} ms | ${m(r.forked, (x) => x.spawnToReadyMs)} | ${m(r.forked, (x) => x.readyToAnswerMs)} | ${m(r.forked, (x) => x.requestToAnswerMs)} ms | ${m(r.prestarted, (x) => x.spawnToReadyMs)} | ${m(r.prestarted, (x) => x.readyToAnswerMs)} | ${m(r.prestarted, (x) => x.requestToAnswerMs)} ms | ${m(r.prestarted, (x) => x.warmAnswerMs)} ms | ${r.ratioPrestarted.toFixed(1)}x | ${r.ratioForked.toFixed(1)}x |`,
    );
  return lines;
}
