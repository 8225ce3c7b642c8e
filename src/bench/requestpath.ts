// Suite 6: the request path against the server a user writes without
// tensorshare (peer-server.ts: one fastify process, one onnxruntime-node
// session). Both run side by side in this run; each scenario is a closed
// loop at a fixed concurrency: the PaddleOCR recognizer ([1,3,48,320] FP32 in,
// [1,40,6625] out) as JSON at concurrency 1 and 4, as the binary tensor data
// extension and over gRPC at 4 (tensorshare only: the peer speaks JSON), and
// a trivial model (Identity, [1,16]) for the fixed cost of one request.
// tensorshare's per-stage times come from its own metrics
// (tensorshare_request_stage_seconds), scraped before and after each scenario.
import { spawn, type ChildProcess } from 'node:child_process';
import fs from 'node:fs/promises';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { TensorshareError } from '../errors.js';
import { packageRoot } from '../paths.js';
import { seededRandom } from '../prng.js';
import { importModel } from '../store/import.js';
import { mergeClosedLoop, runClosedLoop, type ClosedLoopReport } from './closed-loop.js';
import type { BenchContext } from './context.js';
import { grpcInferClient } from './grpc-load.js';
import { httpClient, inferBody, type ModelMeta } from './http-load.js';
import { startServeProcess, writeFunctions, type ServeProcess } from './serve-process.js';
import { writeIdentityModel } from './tinymodel.js';

const PEER_SCRIPT = fileURLToPath(new URL('./peer-server.js', import.meta.url));
const OCR_SHAPE = [1, 3, 48, 320];
const TINY_DIM = 16;

export type RequestPathServer = 'peer' | 'tensorshare';
export type RequestPathProtocol = 'json' | 'binary' | 'grpc';

export interface RequestPathScenario {
  id: string;
  server: RequestPathServer;
  protocol: RequestPathProtocol;
  model: 'ocr-rec' | 'tiny';
  concurrency: number;
  report: ClosedLoopReport;
  /** tensorshare only: mean ms per request in each stage of the path, from its metrics. */
  stagesMs?: Record<string, number>;
}

export interface RequestPathResults {
  /** Timed requests per scenario (after warm-up). */
  requests: number;
  /** The tensorshare function's configuration (the bundled ppocr-rec's). */
  functionConfig: Record<string, unknown>;
  scenarios: RequestPathScenario[];
}

/** The stages tensorshare reports, in path order. */
export const STAGES = ['decode', 'queue', 'dispatch', 'transfer', 'run', 'encode'] as const;

interface Peer {
  url: string;
  stop(): Promise<void>;
}

async function startPeer(file: string, name: string, threads: number): Promise<Peer> {
  const child: ChildProcess = spawn(process.execPath, [PEER_SCRIPT, file, name, String(threads)], {
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  const exited = new Promise<void>((r) => child.once('exit', () => r()));
  const url = await new Promise<string>((resolve, reject) => {
    let out = '';
    child.stdout!.setEncoding('utf8').on('data', (s: string) => {
      out += s;
      const m = /listening (http:\/\/\S+)/.exec(out);
      if (m) resolve(m[1]!);
    });
    child.once('exit', (code) =>
      reject(new TensorshareError('ERR_UNAVAILABLE', `peer server exited (code ${code}) before listening`)),
    );
  });
  return {
    url,
    async stop() {
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGTERM');
      await exited;
    },
  };
}

/** A binary-extension body: the JSON header, then each input's raw bytes; every output asked for as binary. */
function binaryBody(
  inputs: { name: string; datatype: string; shape: number[]; bytes: Uint8Array }[],
  outputs: string[],
) {
  const header = Buffer.from(
    JSON.stringify({
      inputs: inputs.map((i) => ({
        name: i.name,
        datatype: i.datatype,
        shape: i.shape,
        parameters: { binary_data_size: i.bytes.byteLength },
      })),
      outputs: outputs.map((name) => ({ name, parameters: { binary_data: true } })),
    }),
  );
  return {
    body: Buffer.concat([header, ...inputs.map((i) => i.bytes)]),
    headers: { 'inference-header-content-length': String(header.length), 'content-type': 'application/octet-stream' },
  };
}

/** Floats as inferBody makes them (seeded, 4 decimals), as raw FP32 bytes. */
function rawFloats(n: number, seed = 1): Uint8Array {
  const rand = seededRandom(seed);
  const f = Float32Array.from({ length: n }, () => Math.round((rand() * 2 - 1) * 1e4) / 1e4);
  return new Uint8Array(f.buffer);
}

/**
 * Mean ms per request of each stage of `fn` over `protocol`, from scrapes of
 * tensorshare_request_stage_seconds taken before and after each round a
 * scenario ran (its rounds only: scenarios interleaved with it share the labels).
 */
export function stageMeans(
  rounds: readonly (readonly [string, string])[],
  fn: string,
  protocol: string,
): Record<string, number> {
  const read = (text: string) => {
    const m = new Map<string, number>();
    const re = /^tensorshare_request_stage_seconds_(sum|count)\{([^}]*)\} (\S+)$/gm;
    for (const x of text.matchAll(re)) {
      const labels = Object.fromEntries([...x[2]!.matchAll(/(\w+)="([^"]*)"/g)].map((l) => [l[1], l[2]]));
      if (labels.function !== fn || labels.protocol !== protocol) continue;
      m.set(`${labels.stage}:${x[1]}`, Number(x[3]));
    }
    return m;
  };
  const sum = new Map<string, number>();
  const count = new Map<string, number>();
  for (const [before, after] of rounds) {
    const a = read(before);
    const b = read(after);
    for (const s of STAGES) {
      count.set(s, (count.get(s) ?? 0) + (b.get(`${s}:count`) ?? 0) - (a.get(`${s}:count`) ?? 0));
      sum.set(s, (sum.get(s) ?? 0) + (b.get(`${s}:sum`) ?? 0) - (a.get(`${s}:sum`) ?? 0));
    }
  }
  const out: Record<string, number> = {};
  for (const s of STAGES) {
    const n = count.get(s) ?? 0;
    if (n > 0) out[s] = ((sum.get(s) ?? 0) / n) * 1000;
  }
  return out;
}

export async function runRequestPath(ctx: BenchContext): Promise<RequestPathResults> {
  const requests = ctx.quick ? 8 : 200;
  const ocr = ctx.models.find((m) => m.id === 'ocr-rec');
  if (!ocr) throw new TensorshareError('ERR_INTERNAL', 'the request-path suite needs the ocr-rec model');
  const tiny = writeIdentityModel(path.join(ctx.work, 'requestpath'), 'tiny', TINY_DIM);
  await importModel(ctx.repository, tiny.modelPath, { name: 'requestpath-tiny' });
  const bundled = JSON.parse(
    await fs.readFile(path.join(packageRoot, 'functions', 'ppocr-rec', 'config.json'), 'utf8'),
  ) as Record<string, unknown>;
  // The bundled function as shipped, on the benchmark's copy of the model; both instances started up front.
  const functionConfig = { ...bundled, model: ocr.ref.split(':')[0], minInstances: 2 };
  const functionsDir = path.join(ctx.work, 'requestpath', 'functions');
  await writeFunctions(functionsDir, {
    'ppocr-rec': functionConfig,
    tiny: { model: 'requestpath-tiny', minInstances: 1, maxInstances: 1 },
  });
  const store = await fs.mkdtemp(path.join(ctx.shm, 'store-requestpath-'));
  const peers: Peer[] = [];
  let ts: ServeProcess | undefined;
  const clients: { close(): void }[] = [];
  try {
    peers.push(
      await startPeer(ocr.file, 'ppocr-rec', ctx.threads),
      await startPeer(tiny.modelPath, 'tiny', ctx.threads),
    );
    const [ocrPeer, tinyPeer] = peers as [Peer, Peer];
    ts = await startServeProcess({
      repository: ctx.repository,
      store,
      functionsDir,
      grpc: true,
      // Two recognizer instances and the trivial one, one thread each: the trivial one is idle while the recognizer runs.
      cores: 3,
      warm: { 'ppocr-rec': 2, tiny: 1 },
    });
    const tsHttp = httpClient(ts.url);
    const ocrPeerHttp = httpClient(ocrPeer.url);
    const tinyPeerHttp = httpClient(tinyPeer.url);
    clients.push(tsHttp, ocrPeerHttp, tinyPeerHttp);
    const meta = await tsHttp.getJson<ModelMeta>('/v2/models/ppocr-rec');
    const ocrJson = inferBody(meta, { shapes: { [meta.inputs[0]!.name]: OCR_SHAPE } });
    const tinyMeta = await tsHttp.getJson<ModelMeta>('/v2/models/tiny');
    const tinyJson = inferBody(tinyMeta, { shapes: { [tinyMeta.inputs[0]!.name]: [1, TINY_DIM] } });
    const ocrInput = {
      name: meta.inputs[0]!.name,
      datatype: 'FP32',
      shape: OCR_SHAPE,
      bytes: rawFloats(OCR_SHAPE.reduce((a, b) => a * b, 1)),
    };
    const binary = binaryBody(
      [ocrInput],
      meta.outputs.map((o) => o.name),
    );
    const grpc = grpcInferClient(ts.grpcAddress!, 'ppocr-rec', [ocrInput]);
    clients.push(grpc);

    const plan: {
      server: RequestPathServer;
      protocol: RequestPathProtocol;
      model: 'ocr-rec' | 'tiny';
      concurrency: number;
      send: () => Promise<unknown>;
    }[] = [];
    for (const c of [1, 4]) {
      plan.push({
        server: 'peer',
        protocol: 'json',
        model: 'ocr-rec',
        concurrency: c,
        send: () => ocrPeerHttp.infer('ppocr-rec', ocrJson),
      });
      plan.push({
        server: 'tensorshare',
        protocol: 'json',
        model: 'ocr-rec',
        concurrency: c,
        send: () => tsHttp.infer('ppocr-rec', ocrJson),
      });
    }
    plan.push({
      server: 'tensorshare',
      protocol: 'binary',
      model: 'ocr-rec',
      concurrency: 4,
      send: () => tsHttp.infer('ppocr-rec', binary.body, binary.headers),
    });
    plan.push({ server: 'tensorshare', protocol: 'grpc', model: 'ocr-rec', concurrency: 4, send: () => grpc.infer() });
    plan.push({
      server: 'peer',
      protocol: 'json',
      model: 'tiny',
      concurrency: 1,
      send: () => tinyPeerHttp.infer('tiny', tinyJson),
    });
    plan.push({
      server: 'tensorshare',
      protocol: 'json',
      model: 'tiny',
      concurrency: 1,
      send: () => tsHttp.infer('tiny', tinyJson),
    });

    const scenarios: RequestPathScenario[] = [];
    const tsUrl = ts.url;
    const metrics = () => fetch(`${tsUrl}/metrics`).then((r) => r.text());
    // Scenarios compared with each other run interleaved, in rounds, so a change in the machine's load falls on all of them.
    const groups = [
      plan.filter((p) => p.model === 'ocr-rec' && p.concurrency === 1),
      plan.filter((p) => p.model === 'ocr-rec' && p.concurrency === 4),
      plan.filter((p) => p.model === 'tiny'),
    ];
    const rounds = ctx.quick ? 1 : 5;
    for (const group of groups) {
      const done = group.map(() => ({ reports: [] as ClosedLoopReport[], scrapes: [] as [string, string][] }));
      for (let round = 0; round < rounds; round++) {
        // Alternate the order by round: neither server always goes first.
        const order = group.map((_, i) => i);
        if (round % 2 === 1) order.reverse();
        for (const i of order) {
          const p = group[i]!;
          const d = done[i]!;
          const before = p.server === 'tensorshare' ? await metrics() : '';
          const total = p.model === 'tiny' ? requests * 10 : requests;
          d.reports.push(
            await runClosedLoop({
              concurrency: p.concurrency,
              requests: Math.ceil(total / rounds),
              warmup: round > 0 ? 0 : p.model === 'tiny' ? 50 : (ctx.quick ? 1 : 4) * p.concurrency,
              send: p.send,
            }),
          );
          if (p.server === 'tensorshare') d.scrapes.push([before, await metrics()]);
        }
      }
      group.forEach((p, i) => {
        const d = done[i]!;
        const id = `${p.server} ${p.model} ${p.protocol} c=${p.concurrency}`;
        const report = mergeClosedLoop(d.reports);
        const s: RequestPathScenario = {
          id,
          server: p.server,
          protocol: p.protocol,
          model: p.model,
          concurrency: p.concurrency,
          report,
        };
        if (p.server === 'tensorshare') {
          const stages = stageMeans(
            d.scrapes,
            p.model === 'tiny' ? 'tiny' : 'ppocr-rec',
            p.protocol === 'grpc' ? 'grpc' : 'http',
          );
          if (Object.keys(stages).length) s.stagesMs = stages;
        }
        scenarios.push(s);
        ctx.log(
          `requestpath: ${id}: ${report.throughput.toFixed(1)} req/s, p50 ${report.latencyMs.p50.toFixed(2)} ms, p99 ${report.latencyMs.p99.toFixed(2)} ms${Object.keys(report.errors).length ? `, errors ${JSON.stringify(report.errors)}` : ''}`,
        );
      });
    }
    return { requests, functionConfig, scenarios };
  } finally {
    for (const c of clients) c.close();
    await ts?.stop();
    await Promise.all(peers.map((p) => p.stop()));
    await fs.rm(store, { recursive: true, force: true });
  }
}
