// `tensorshare serve --model-repository`: a repository in exactly Triton's
// layout (`<model>/config.pbtxt`, `<model>/<version>/model.onnx`) holding the
// bundled real models (PaddleOCR det + rec, silero VAD), served by a real
// serve process and called over real HTTP and gRPC: versions addressed
// through the protocol, instance_group counts as instances over one stored
// copy of the weights, a bad config.pbtxt reported with its file and line,
// and the three model control modes (none refuses load/unload; explicit
// loads only the named models and takes the API; poll picks up a new
// version folder and retires the one the policy no longer serves).
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs/promises';
import path from 'node:path';
import { spawn } from 'node:child_process';
import * as grpc from '@grpc/grpc-js';
import { protoDir } from '../../paths.js';
import { layout } from '../../store/layout.js';
import { listVersions } from '../../store/repository.js';
import { FIXTURES } from '../../testing/fixtures.js';
import { ensurePythonEnv, PYTHON_TESTS, pythonChildEnv } from '../../testing/python-env.js';
import { spawnServe, type ServeChild } from '../../testing/serve.js';
import { tempRoots, type TempRoots } from '../../testing/tmp.js';
import { until } from '../../testing/until.js';
import { loadInferenceService } from '../protocol/grpc-codec.js';

// With its own daemon, as serve runs by default, and cores to spare: the test is about the repository, not the budget.
const FLAGS = ['--daemon', 'auto', '--no-bundled', '--cores', '16', '--grpc-port', '0'];

const REC_CONFIG = `# PP-OCRv4 text recognition, as a Triton user writes it
name: "ppocr-rec"
platform: "onnxruntime_onnx"
max_batch_size: 8
input [
  {
    name: "x"
    data_type: TYPE_FP32
    dims: [ 3, 48, -1 ]
  }
]
output [
  {
    name: "softmax_11.tmp_0"
    data_type: TYPE_FP32
    dims: [ -1, 6625 ]
  }
]
dynamic_batching {
  preferred_batch_size: [ 4 ]
  max_queue_delay_microseconds: 1000
}
instance_group [ { count: 2, kind: KIND_CPU } ]
version_policy: { all: { } }
optimization { graph { level: 1 } }
`;
const DET_CONFIG = `platform: "onnxruntime_onnx"
max_batch_size: 0
instance_group [ { kind: KIND_CPU } ]
`;
// Inputs and outputs left to the model, as Triton's auto-complete does.
const VAD_CONFIG = `backend: "onnxruntime"
instance_group [ { kind: KIND_CPU } ]
`;
// The Triton idiom for a scalar input: dims [ 1 ] reshaped to the model's [ ] (served through the reshape handler).
const VAD_RESHAPE_CONFIG = `backend: "onnxruntime"
max_batch_size: 0
input [
  { name: "input" data_type: TYPE_FP32 dims: [ -1, -1 ] },
  { name: "sr" data_type: TYPE_INT64 dims: [ 1 ] reshape: { shape: [ ] } },
  { name: "h" data_type: TYPE_FP32 dims: [ 2, -1, 64 ] },
  { name: "c" data_type: TYPE_FP32 dims: [ 2, -1, 64 ] }
]
instance_group [ { kind: KIND_CPU } ]
`;
const BROKEN_CONFIG = `platform: "onnxruntime_onnx"
max_batch_sise: 4
`;

/** Writes `<dir>/<model>/config.pbtxt` and `<dir>/<model>/<v>/model.onnx` for each version. */
async function addModel(dir: string, model: string, config: string | undefined, file: string, versions: number[]) {
  await fs.mkdir(path.join(dir, model), { recursive: true });
  if (config !== undefined) await fs.writeFile(path.join(dir, model, 'config.pbtxt'), config);
  for (const v of versions) await addVersion(dir, model, file, v);
}

async function addVersion(dir: string, model: string, file: string, v: number) {
  // Written elsewhere and renamed in, so a poll never sees half a file.
  const tmp = path.join(dir, `.${model}-${v}`);
  await fs.mkdir(tmp, { recursive: true });
  await fs.copyFile(file, path.join(tmp, 'model.onnx'));
  await fs.rename(tmp, path.join(dir, model, String(v)));
}

interface IndexEntry {
  name: string;
  version?: string;
  state: string;
  reason?: string;
}

const post = (url: string, body: unknown = {}) =>
  fetch(url, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) });
const index = async (url: string) => (await (await post(`${url}/v2/repository/index`)).json()) as IndexEntry[];
const states = (entries: IndexEntry[]) =>
  entries.map((e) => `${e.name}${e.version ? `@${e.version}` : ''}:${e.state}`).join(' ');

/** A text line's worth of input for ppocr-rec: [1, 3, 48, 64] of a ramp. */
const REC_INPUT = Array.from({ length: 3 * 48 * 64 }, (_, i) => (i % 64) / 64 - 0.5);

async function inferRec(url: string, version?: string) {
  const res = await post(`${url}/v2/models/ppocr-rec${version ? `/versions/${version}` : ''}/infer`, {
    inputs: [{ name: 'x', datatype: 'FP32', shape: [1, 3, 48, 64], data: REC_INPUT }],
  });
  return { status: res.status, body: (await res.json()) as Record<string, unknown> };
}

describe('serve --model-repository (control mode none): the bundled models in Triton layout', () => {
  let roots: TempRoots;
  let models: string;
  let serve: ServeChild;

  before(async () => {
    roots = await tempRoots('triton-repo');
    models = path.join(roots.dir, 'models');
    await addModel(models, 'ppocr-rec', REC_CONFIG, FIXTURES.ocrRec, [1, 2]);
    await addModel(models, 'ppocr-det', DET_CONFIG, FIXTURES.ocrDet, [1]);
    await addModel(models, 'silero-vad', VAD_RESHAPE_CONFIG, FIXTURES.vad, [1]);
    await addModel(models, 'broken', BROKEN_CONFIG, FIXTURES.vad, [1]);
    // Not a model: no config, no version folder.
    await fs.mkdir(path.join(models, 'notes'));
    serve = await spawnServe(roots, '/nonexistent', ['--model-repository', models, ...FLAGS]);
  });
  after(async () => {
    await serve?.stop();
    await roots?.cleanup();
  });

  test('the index lists every served version, and the broken model with its file and line', async () => {
    const entries = await index(serve.url);
    assert.equal(
      states(entries),
      'broken@1:UNAVAILABLE ppocr-det@1:READY ppocr-rec@1:READY ppocr-rec@2:READY silero-vad@1:READY',
    );
    const broken = entries.find((e) => e.name === 'broken')!;
    assert.match(broken.reason ?? '', /models\/broken\/config\.pbtxt:2: .*unknown field 'max_batch_sise'/);
  });

  test('model metadata names the versions and the configured I/O with the batch dimension', async () => {
    const meta = (await (await fetch(`${serve.url}/v2/models/ppocr-rec`)).json()) as Record<string, unknown>;
    assert.deepEqual(meta, {
      name: 'ppocr-rec',
      versions: ['1', '2'],
      platform: 'onnxruntime_onnx',
      inputs: [{ name: 'x', datatype: 'FP32', shape: [-1, 3, 48, -1] }],
      outputs: [{ name: 'softmax_11.tmp_0', datatype: 'FP32', shape: [-1, -1, 6625] }],
    });
    const one = (await (await fetch(`${serve.url}/v2/models/ppocr-rec/versions/1`)).json()) as { name: string };
    assert.equal(one.name, 'ppocr-rec');
    assert.equal((await fetch(`${serve.url}/v2/models/ppocr-rec/versions/1/ready`)).status, 200);
    assert.equal((await fetch(`${serve.url}/v2/models/ppocr-rec/versions/3/ready`)).status, 404);
    // The protocol sees the declared dims, not the reshape.
    const vad = (await (await fetch(`${serve.url}/v2/models/silero-vad`)).json()) as {
      inputs: { name: string; shape: number[] }[];
    };
    assert.deepEqual(
      vad.inputs.map((t) => `${t.name}[${t.shape.join(',')}]`),
      ['input[-1,-1]', 'sr[1]', 'h[2,-1,64]', 'c[2,-1,64]'],
    );
  });

  test('HTTP infer: no version goes to the highest, a version to itself, an unknown version is 404', async () => {
    const latest = await inferRec(serve.url);
    assert.equal(latest.status, 200, JSON.stringify(latest.body));
    assert.equal(latest.body.model_name, 'ppocr-rec');
    assert.equal(latest.body.model_version, '2');
    const v1 = await inferRec(serve.url, '1');
    assert.equal(v1.status, 200, JSON.stringify(v1.body));
    assert.equal(v1.body.model_version, '1');
    const out = (b: Record<string, unknown>) => (b.outputs as { shape: number[]; data: number[] }[])[0]!;
    assert.equal(out(v1.body).shape[0], 1);
    assert.equal(out(v1.body).shape[2], 6625);
    // Same weights in both versions: the same answer.
    assert.deepEqual(out(v1.body).data, out(latest.body).data);
    const none = await inferRec(serve.url, '3');
    assert.equal(none.status, 404);
    assert.match(String(none.body.error), /model 'ppocr-rec' has no version '3'/);
  });

  test('gRPC infer of a version, and of the VAD model with its reshaped scalar and state inputs', async () => {
    const { Client } = loadInferenceService(protoDir);
    const client = new Client(serve.grpcAddress!, grpc.credentials.createInsecure());
    const call = (req: object) =>
      new Promise<{
        model_name: string;
        model_version: string;
        outputs: { name: string; shape: string[] }[];
        raw_output_contents: Buffer[];
      }>((resolve, reject) =>
        (client as unknown as Record<string, (r: object, cb: (e: Error | null, v: never) => void) => void>).ModelInfer!(
          req,
          (e, v) => (e ? reject(e) : resolve(v)),
        ),
      );
    try {
      const rec = await call({
        model_name: 'ppocr-rec',
        model_version: '1',
        inputs: [{ name: 'x', datatype: 'FP32', shape: [1, 3, 48, 64] }],
        raw_input_contents: [Buffer.from(new Float32Array(REC_INPUT).buffer)],
      });
      assert.equal(rec.model_name, 'ppocr-rec');
      assert.equal(rec.model_version, '1');
      assert.deepEqual(rec.outputs[0]!.shape.map(Number).slice(-1), [6625]);
      const vad = await call({
        model_name: 'silero-vad',
        inputs: [
          { name: 'input', datatype: 'FP32', shape: [1, 512] },
          { name: 'sr', datatype: 'INT64', shape: [1] },
          { name: 'h', datatype: 'FP32', shape: [2, 1, 64] },
          { name: 'c', datatype: 'FP32', shape: [2, 1, 64] },
        ],
        raw_input_contents: [
          Buffer.from(new Float32Array(512).buffer),
          Buffer.from(new BigInt64Array([16000n]).buffer),
          Buffer.alloc(2 * 64 * 4),
          Buffer.alloc(2 * 64 * 4),
        ],
      });
      assert.equal(vad.model_version, '1');
      const prob = new Float32Array(new Uint8Array(vad.raw_output_contents[0]!).buffer)[0]!;
      assert.ok(prob >= 0 && prob < 0.5, `silence has a low speech probability, got ${prob}`);
    } finally {
      client.close();
    }
  });

  test('instance_group count 2 gives each version two instances, over one stored copy of the weights', async () => {
    // Triton's fixed count: minInstances = maxInstances = 2, started at load.
    const running = (metrics: string, v: string) =>
      metrics.split('\n').find((l) => l.startsWith(`tensorshare_instances{function="ppocr-rec@${v}"}`));
    await until(
      async () => {
        const m = await (await fetch(`${serve.url}/metrics`)).text();
        return ['1', '2'].every((v) => / 2$/.test(running(m, v) ?? ''));
      },
      60_000,
      'two instances of each ppocr-rec version',
    );
    // Both versions' files have the same bytes: one model version in the store.
    assert.equal((await listVersions(layout(roots.repository), 'ppocr-rec')).length, 1);
  });

  test("Triton's own tritonclient (HTTP and gRPC): versions, infer by version, the index, load refused", {
    timeout: 600_000,
  }, async (t) => {
    // The project's pinned Python env (installed on first use, as for src/serve/python-clients.test.ts).
    const py = await ensurePythonEnv();
    t.diagnostic(`python venv install: ${py.installMs} ms (0: reused)`);
    const ran = await new Promise<{ code: number | null; out: string; err: string }>((resolve, reject) => {
      const child = spawn(
        py.python,
        [path.join(PYTHON_TESTS, 'triton_repository.py'), new URL(serve.url).host, serve.grpcAddress!],
        { cwd: roots.dir, env: pythonChildEnv(), stdio: ['ignore', 'pipe', 'pipe'] },
      );
      let out = '';
      let err = '';
      child.stdout.on('data', (d: Buffer) => {
        out += d;
      });
      child.stderr.on('data', (d: Buffer) => {
        err += d;
      });
      // A hang is a failure, not a stuck suite.
      const timer = setTimeout(() => child.kill('SIGKILL'), 120_000);
      child.on('error', reject);
      child.on('close', (code) => {
        clearTimeout(timer);
        resolve({ code, out, err });
      });
    });
    assert.equal(ran.code, 0, `triton_repository.py exited ${ran.code}:\n${ran.err}`);
    const results = ran.out
      .split('\n')
      .filter((l) => l.startsWith('{'))
      .map((l) => JSON.parse(l) as { case: string; ok: boolean; error: string });
    const failed = results.filter((r) => !r.ok).map((r) => `${r.case}:\n${r.error}`);
    assert.deepEqual(failed, [], failed.join('\n'));
    assert.deepEqual(
      results.map((r) => r.case),
      ['http', 'grpc'].flatMap((k) => [
        `${k}.versions`,
        `${k}.infer_versions`,
        `${k}.repository_index`,
        `${k}.load_refused`,
      ]),
    );
  });

  test('control mode none refuses load and unload, as tritonserver', async () => {
    for (const op of ['load', 'unload']) {
      const res = await post(`${serve.url}/v2/repository/models/ppocr-det/${op}`);
      assert.equal(res.status, 412, op);
      assert.match(((await res.json()) as { error: string }).error, /not allowed in model control mode 'none'/);
    }
  });
});

describe('serve --model-repository: explicit and poll control modes', () => {
  let roots: TempRoots;

  before(async () => {
    roots = await tempRoots('triton-modes');
  });
  after(async () => {
    await roots?.cleanup();
  });

  test('explicit: only --load-model models load; the API loads and unloads the rest', async () => {
    const models = path.join(roots.dir, 'explicit');
    await addModel(
      models,
      'ppocr-rec',
      REC_CONFIG.replace('count: 2', 'count: 1').replace('all: { }', 'latest: { num_versions: 1 }'),
      FIXTURES.ocrRec,
      [1, 2],
    );
    await addModel(models, 'silero-vad', VAD_CONFIG, FIXTURES.vad, [1]);
    const serve = await spawnServe(roots, '/nonexistent', [
      '--model-repository',
      models,
      '--model-control-mode',
      'explicit',
      '--load-model',
      'ppocr-rec',
      ...FLAGS,
    ]);
    try {
      assert.equal(states(await index(serve.url)), 'ppocr-rec@2:READY silero-vad:UNAVAILABLE');
      assert.equal((await fetch(`${serve.url}/v2/models/silero-vad/ready`)).status, 404);
      const load = await post(`${serve.url}/v2/repository/models/silero-vad/load`);
      assert.equal(load.status, 200, await load.clone().text());
      assert.equal(states(await index(serve.url)), 'ppocr-rec@2:READY silero-vad@1:READY');
      assert.equal((await fetch(`${serve.url}/v2/models/silero-vad/ready`)).status, 200);
      const unload = await post(`${serve.url}/v2/repository/models/ppocr-rec/unload`);
      assert.equal(unload.status, 200, await unload.clone().text());
      assert.equal(states(await index(serve.url)), 'ppocr-rec:UNAVAILABLE silero-vad@1:READY');
      assert.equal((await inferRec(serve.url)).status, 404);
      assert.equal((await post(`${serve.url}/v2/repository/models/nothing/load`)).status, 404);
    } finally {
      await serve.stop();
    }
  });

  test('explicit: a --load-model that names no model stops serve with the names there', async () => {
    const models = path.join(roots.dir, 'explicit');
    await assert.rejects(
      spawnServe(roots, '/nonexistent', [
        '--model-repository',
        models,
        '--model-control-mode',
        'explicit',
        '--load-model',
        'nope',
        ...FLAGS,
      ]),
      /serve exited/,
    );
  });

  test('poll: a new version folder is served, and the version the policy drops is retired', async () => {
    const models = path.join(roots.dir, 'poll');
    await addModel(
      models,
      'silero-vad',
      `${VAD_CONFIG}version_policy: { latest: { num_versions: 1 } }\n`,
      FIXTURES.vad,
      [1],
    );
    const serve = await spawnServe(roots, '/nonexistent', [
      '--model-repository',
      models,
      '--model-control-mode',
      'poll',
      '--poll',
      '200',
      ...FLAGS,
    ]);
    try {
      assert.equal(states(await index(serve.url)), 'silero-vad@1:READY');
      await addVersion(models, 'silero-vad', FIXTURES.vad, 2);
      await until(
        async () => states(await index(serve.url)) === 'silero-vad@2:READY',
        60_000,
        'version 2 served, version 1 retired',
      );
      const meta = (await (await fetch(`${serve.url}/v2/models/silero-vad`)).json()) as { versions: string[] };
      assert.deepEqual(meta.versions, ['2']);
      // A config that stops parsing leaves the serving version up, with the error as its reason.
      await fs.writeFile(
        path.join(models, 'silero-vad', 'config.pbtxt'),
        'backend: "onnxruntime"\ninstance_group [ { kind: KIND_CPUS } ]\n',
      );
      const failed = await until(
        async () => (await index(serve.url)).find((e) => e.reason),
        60_000,
        'the bad config noticed',
      );
      assert.equal(failed.state, 'READY');
      assert.equal(failed.version, '2');
      assert.equal(states(await index(serve.url)), 'silero-vad@2:READY', 'the serving version keeps serving, alone');
      assert.match(failed.reason!, /silero-vad\/config\.pbtxt:2: .*enum value expected/);
    } finally {
      await serve.stop();
    }
  });
});
