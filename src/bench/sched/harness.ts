// What every scenario measures with: temp repository and store with the two
// models imported, `tensorshare serve` child processes started and stopped by
// name, and one open-loop measurement (Poisson load from this process, the
// server's and this process's CPU told apart from everyone else's).
import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { bert, mlp, paramCount, writeModel } from '../../gen/index.js';
import { importModel } from '../../store/import.js';
import { cpuWindow, processTree } from '../cpu.js';
import { httpClient, inferBody, type ModelMeta } from '../http-load.js';
import { runLoad, type GroupReport, type LoadClass } from '../loadgen.js';
import { startServeProcess, writeFunctions, type ServeProcess, type ServeProcessOptions } from '../serve-process.js';
import { f1 } from './numbers.js';
import { SLO_MS, type Step } from './results.js';

/** One load class of a measurement: its function, offered rate and request parameters. */
export type MeasuredClass = LoadClass & {
  fn: string;
  rate: number;
  parameters?: Record<string, string | number | boolean>;
};

export interface Measurement {
  all: Step;
  byClass: Record<string, Step>;
}

export interface Harness {
  quick: boolean;
  /** Folder of the temp repository and the model files (bert.onnx, mlp.onnx). */
  work: string;
  log(line: string): void;
  /** Starts a server for `fns` (function name -> config.json) and waits for its warm instances. */
  serve(name: string, fns: Record<string, object>, opts: Partial<ServeProcessOptions>): Promise<ServeProcess>;
  stop(s: ServeProcess): Promise<void>;
  /** One open-loop measurement of `durationMs` on `server`. */
  measure(server: ServeProcess, classes: MeasuredClass[], durationMs: number): Promise<Measurement>;
  pause(ms: number): Promise<void>;
  /** Stops every server still running and removes the temp folders. */
  close(): Promise<void>;
}

export interface ModelShape {
  layers: number;
  hidden: number;
  heads: number;
  intermediate: number;
  seq: number;
}

/** Writes and imports the BERT-shaped encoder and the MLP; returns the harness and the encoder's parameter count. */
export async function createHarness(o: {
  quick: boolean;
  model: ModelShape;
  cores: number;
  log: (line: string) => void;
}): Promise<{ harness: Harness; params: number }> {
  const { log, model } = o;
  const work = await fs.mkdtemp(path.join(os.tmpdir(), 'ts-bench-sched-'));
  const store = await fs.mkdtemp(path.join('/dev/shm', 'ts-bench-sched-'));
  const repository = path.join(work, 'repo');
  const servers: ServeProcess[] = [];
  const close = async () => {
    for (const s of [...servers]) await s.stop().catch(() => {});
    await fs.rm(work, { recursive: true, force: true }).catch(() => {});
    await fs.rm(store, { recursive: true, force: true }).catch(() => {});
  };

  let params: number;
  try {
    // Models: imported once; deploy builds their fast-run variants.
    log(`preparing models in ${work} (store ${store})`);
    const spec = bert({
      layers: model.layers,
      hidden: model.hidden,
      heads: model.heads,
      intermediate: model.intermediate,
      pooler: true,
      maxPositions: Math.max(128, model.seq),
    });
    params = paramCount(spec);
    await writeModel(spec, path.join(work, 'bert.onnx'), { format: 'embedded' });
    await importModel(repository, path.join(work, 'bert.onnx'), { name: 'bert' });
    await writeModel(mlp({ layers: 2, width: 256 }), path.join(work, 'mlp.onnx'), { format: 'embedded' });
    await importModel(repository, path.join(work, 'mlp.onnx'), { name: 'mlp' });
  } catch (e) {
    await close();
    throw e;
  }

  const bertShape = { input_ids: [1, model.seq], attention_mask: [1, model.seq], token_type_ids: [1, model.seq] };
  const bodies = new Map<string, string>();
  const bodyFor = async (url: string, fn: string, parameters: Record<string, string | number | boolean> = {}) => {
    const key = `${url}|${fn}|${JSON.stringify(parameters)}`;
    if (!bodies.has(key)) {
      const meta = (await (await fetch(`${url}/v2/models/${fn}`)).json()) as ModelMeta;
      const isBert = meta.inputs.some((t) => t.name === 'input_ids');
      bodies.set(
        key,
        inferBody(meta, {
          shapes: isBert ? bertShape : { x: [1, 256] },
          outputs: isBert ? ['pooler_output'] : undefined,
          binaryOutputs: true,
          parameters,
        }),
      );
    }
    return bodies.get(key)!;
  };
  let seed = 1;

  const harness: Harness = {
    quick: o.quick,
    work,
    log,
    async serve(name, fns, opts) {
      const dir = path.join(work, `functions-${name}`);
      await writeFunctions(dir, fns);
      const warm = Object.fromEntries(
        Object.entries(fns).map(([f, c]) => [f, (c as { minInstances?: number }).minInstances ?? 0]),
      );
      const s = await startServeProcess({ repository, store, functionsDir: dir, warm, ...opts });
      servers.push(s);
      log(`server ${name}: ${s.url} (policy ${opts.policy ?? 'fifo'}${opts.slots ? `, slots ${opts.slots}` : ''})`);
      return s;
    },
    async stop(s) {
      await s.stop();
      servers.splice(servers.indexOf(s), 1);
    },
    async measure(server, classes, durationMs) {
      const total = classes.reduce((a, k) => a + k.rate, 0);
      const sendBodies = new Map<string, string>();
      for (const k of classes) sendBodies.set(k.name, await bodyFor(server.url, k.fn, k.parameters));
      const port = new URL(server.url).port;
      const sender = httpClient(`http://127.0.0.1:${port}`, 2048);
      const cpu = cpuWindow(() => [process.pid, ...processTree(server.pid)], o.cores);
      try {
        const r = await runLoad({
          steps: [{ ratePerSec: total, durationMs }],
          classes: classes.map((k) => ({ ...k, weight: k.rate })),
          seed: seed++,
          maxRequests: Math.ceil(((total * durationMs) / 1000) * 2) + 100,
          sloMs: SLO_MS,
          drainMs: 3000,
          send: (a) => sender.infer(a.cls.fn!, sendBodies.get(a.cls.name)!),
        });
        const bg = cpu.end().foreignCores;
        return {
          all: step(total, r, bg),
          byClass: Object.fromEntries(
            Object.entries(r.byClass).map(([k, g]) => [k, step(classes.find((x) => x.name === k)!.rate, g, bg)]),
          ),
        };
      } finally {
        sender.close();
      }
    },
    pause: (ms) => new Promise((r) => setTimeout(r, ms)),
    close,
  };
  return { harness, params };
}

function step(rate: number, g: GroupReport, bgCores: number): Step {
  return {
    rate,
    sent: g.sent,
    ok: g.ok,
    okFraction: g.sent ? g.ok / g.sent : 1,
    throughput: g.throughputPerSec,
    mean: g.latency.mean,
    p50: g.latency.p50,
    p95: g.latency.p95,
    p99: g.latency.p99,
    sloAttainment: g.sloAttainment,
    rejections: g.rejections,
    bgCores,
  };
}

/** One line of a step for the progress log. */
export function fmtStep(r: Step): string {
  const rej = Object.entries(r.rejections)
    .map(([k, v]) => `${k} ${v}`)
    .join(', ');
  return `${f1(r.throughput)}/s ok ${(100 * r.okFraction).toFixed(1)}% p50 ${f1(r.p50)} p99 ${f1(r.p99)} ms${rej ? ` (${rej})` : ''} [others ${r.bgCores.toFixed(2)} cores]`;
}
