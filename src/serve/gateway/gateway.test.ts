// End-to-end tests of the gateway over real sockets on 127.0.0.1, in front of
// a test backend that runs real onnxruntime sessions on tiny ONNX models built
// here with the ONNX schema of src/onnx.

import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { gzipSync } from 'node:zlib';
import * as grpc from '@grpc/grpc-js';
import ort from 'onnxruntime-node';
import { pino } from 'pino';
import { TensorshareError } from '../../errors.js';
import { onnxTypes } from '../../onnx/schema.js';
import { protoDir } from '../../paths.js';
import type { InferContext, InferenceBackend, ModelIndexEntry, ValidatedInferRequest } from '../protocol/backend.js';
import {
  bytesToStrings,
  datatypeOf,
  halfToNumber,
  numbersToHalf,
  ortDtypeOf,
  type Datatype,
  type InferResponse,
  type ModelMetadata,
  type Parameters,
  type Tensor,
  type TensorData,
} from '../../tensor/index.js';
import { serializeBytes, deserializeBytes } from '../protocol/binary.js';
import { loadInferenceService } from '../protocol/grpc-codec.js';
import { startGateway, type RunningGateway } from './gateway.js';
import { registerServingMetrics } from './metrics.js';

// --- tiny ONNX models ---------------------------------------------------------

const ONNX_ELEM: Record<string, number> = { FP32: 1, INT64: 7, BYTES: 8, BOOL: 9, FP16: 10 };

interface GraphSpec {
  inputs: { name: string; datatype: Datatype; shape: (number | string)[] }[];
  outputs: { name: string; datatype: Datatype; shape: (number | string)[] }[];
  nodes: { op: string; inputs: string[]; outputs: string[] }[];
}

async function buildOnnx(spec: GraphSpec): Promise<Uint8Array> {
  const { Model } = onnxTypes();
  const vi = (t: GraphSpec['inputs'][number]) => ({
    name: t.name,
    type: {
      tensorType: {
        elemType: ONNX_ELEM[t.datatype],
        shape: { dim: t.shape.map((d) => (typeof d === 'number' ? { dimValue: d } : { dimParam: d })) },
      },
    },
  });
  const msg = Model.fromObject({
    irVersion: 8,
    producerName: 'tensorshare-gateway-test',
    opsetImport: [{ domain: '', version: 13 }],
    graph: {
      name: 'g',
      node: spec.nodes.map((n, i) => ({ opType: n.op, input: n.inputs, output: n.outputs, name: `n${i}` })),
      input: spec.inputs.map(vi),
      output: spec.outputs.map(vi),
    },
  });
  return Model.encode(msg).finish();
}

const SIMPLE: GraphSpec = {
  inputs: [
    { name: 'INPUT0', datatype: 'FP32', shape: ['batch', 4] },
    { name: 'INPUT1', datatype: 'FP32', shape: ['batch', 4] },
  ],
  outputs: [
    { name: 'OUTPUT0', datatype: 'FP32', shape: ['batch', 4] },
    { name: 'OUTPUT1', datatype: 'FP32', shape: ['batch', 4] },
  ],
  nodes: [
    { op: 'Add', inputs: ['INPUT0', 'INPUT1'], outputs: ['OUTPUT0'] },
    { op: 'Sub', inputs: ['INPUT0', 'INPUT1'], outputs: ['OUTPUT1'] },
  ],
};

const IDENTITY: GraphSpec = {
  inputs: [
    { name: 'I64', datatype: 'INT64', shape: ['n'] },
    { name: 'FLAG', datatype: 'BOOL', shape: ['n'] },
    { name: 'HALF', datatype: 'FP16', shape: ['n'] },
    { name: 'TEXT', datatype: 'BYTES', shape: ['n'] },
  ],
  outputs: [
    { name: 'O_I64', datatype: 'INT64', shape: ['n'] },
    { name: 'O_FLAG', datatype: 'BOOL', shape: ['n'] },
    { name: 'O_HALF', datatype: 'FP16', shape: ['n'] },
    { name: 'O_TEXT', datatype: 'BYTES', shape: ['n'] },
  ],
  nodes: [
    { op: 'Identity', inputs: ['I64'], outputs: ['O_I64'] },
    { op: 'Identity', inputs: ['FLAG'], outputs: ['O_FLAG'] },
    { op: 'Identity', inputs: ['HALF'], outputs: ['O_HALF'] },
    { op: 'Identity', inputs: ['TEXT'], outputs: ['O_TEXT'] },
  ],
};

// --- a test backend running onnxruntime in-process -----------------------------

interface Entry {
  meta: ModelMetadata;
  onnx?: Uint8Array;
  session?: ort.InferenceSession;
  state: ModelIndexEntry['state'];
  reason?: string;
}

const metaOf = (name: string, spec: GraphSpec): ModelMetadata => {
  const tm = (t: GraphSpec['inputs'][number]) => ({
    name: t.name,
    datatype: t.datatype,
    shape: t.shape.map((d) => (typeof d === 'number' ? d : -1)),
  });
  return {
    name,
    versions: ['1'],
    platform: 'onnxruntime_onnx',
    inputs: spec.inputs.map(tm),
    outputs: spec.outputs.map(tm),
  };
};

class OrtBackend implements InferenceBackend {
  readonly models = new Map<string, Entry>();
  lastParameters: Parameters | undefined;
  /** Resolves with the abort reason of the last 'wait' request. */
  aborted: Promise<unknown> | undefined;
  waitStarted: (() => void) | undefined;

  async add(name: string, spec: GraphSpec): Promise<void> {
    const onnx = await buildOnnx(spec);
    this.models.set(name, { meta: metaOf(name, spec), onnx, state: 'UNAVAILABLE' });
    await this.load(name);
  }

  /** A model without a session whose infer fails as its `fail` request parameter says. */
  addFlaky(name: string): void {
    const meta: ModelMetadata = {
      name,
      versions: ['1'],
      platform: 'test',
      inputs: [{ name: 'X', datatype: 'FP32', shape: [-1] }],
      outputs: [{ name: 'Y', datatype: 'FP32', shape: [-1] }],
    };
    this.models.set(name, { meta, state: 'READY' });
  }

  serverReady(): boolean {
    return true;
  }
  listModels(): ModelIndexEntry[] {
    return [...this.models].map(([name, e]) => ({
      name,
      version: '1',
      state: e.state,
      ...(e.reason ? { reason: e.reason } : {}),
    }));
  }
  modelMetadata(name: string, version?: string): ModelMetadata | undefined {
    const e = this.models.get(name);
    if (!e || (version !== undefined && !e.meta.versions.includes(version))) return undefined;
    return e.meta;
  }
  modelReady(name: string): boolean {
    return this.models.get(name)?.state === 'READY';
  }

  async load(name: string): Promise<void> {
    const e = this.models.get(name);
    if (!e) throw new TensorshareError('ERR_MODEL_NOT_FOUND', `no model '${name}' in the repository`);
    if (e.onnx && !e.session) e.session = await ort.InferenceSession.create(e.onnx);
    e.state = 'READY';
    delete e.reason;
  }

  async unload(name: string): Promise<void> {
    const e = this.models.get(name);
    if (!e) throw new TensorshareError('ERR_MODEL_NOT_FOUND', `no model '${name}' in the repository`);
    await e.session?.release();
    delete e.session;
    e.state = 'UNAVAILABLE';
    e.reason = 'unloaded';
  }

  async infer(req: ValidatedInferRequest, ctx: InferContext): Promise<InferResponse> {
    assert.ok(ctx.signal instanceof AbortSignal && typeof ctx.receivedAt === 'number');
    this.lastParameters = req.parameters;
    const e = this.models.get(req.model)!;
    const fail = req.parameters.fail;
    if (fail === 'overloaded')
      throw new TensorshareError('ERR_OVERLOADED', `function '${req.model}' has a full queue`, { retryAfterMs: 2000 });
    if (fail === 'timeout')
      throw new TensorshareError('ERR_TIMEOUT', `request to '${req.model}' waited too long in the queue`);
    if (fail === 'exhausted') throw new TensorshareError('ERR_RESOURCE_EXHAUSTED', 'memory budget exhausted');
    if (fail === 'crash') throw new Error('secret internal detail /home/build/x.ts:12');
    if (fail === 'wait') {
      this.aborted = new Promise((resolve) =>
        ctx.signal.addEventListener('abort', () => resolve(ctx.signal.reason), { once: true }),
      );
      this.waitStarted?.();
      await this.aborted;
      throw ctx.signal.reason;
    }
    if (fail === 'badoutput')
      return { outputs: [{ name: 'Y', datatype: 'FP32', shape: [3], data: new Float32Array(1) }] };
    if (!e.onnx) {
      const x = req.inputs[0]!;
      return { outputs: [{ name: 'Y', datatype: 'FP32', shape: x.shape, data: x.data }], timing: { queueMs: 1.5 } };
    }
    if (!e.session) throw new TensorshareError('ERR_UNAVAILABLE', `model '${req.model}' is not loaded`);
    const feeds: Record<string, ort.Tensor> = {};
    for (const t of req.inputs) {
      const data = t.datatype === 'BYTES' ? bytesToStrings(t.data as Uint8Array[]) : t.data;
      feeds[t.name] = new ort.Tensor(ortDtypeOf(t.datatype), data as ort.Tensor.DataType, t.shape);
    }
    const results = await e.session.run(
      feeds,
      req.outputs.map((o) => o.name),
    );
    const outputs: Tensor[] = Object.entries(results).map(([name, r]) => ({
      name,
      datatype: datatypeOf(r.type),
      shape: [...r.dims],
      data: r.data as TensorData,
    }));
    return { outputs, timing: { queueMs: 0.25 } };
  }
}

// --- helpers --------------------------------------------------------------------

const silent = pino({ level: 'silent' });

async function post(url: string, body: unknown, headers: Record<string, string> = {}) {
  const raw = Buffer.isBuffer(body) ? new Uint8Array(body) : typeof body === 'string' ? body : JSON.stringify(body);
  const hdrs = Buffer.isBuffer(body) ? headers : { 'content-type': 'application/json', ...headers };
  const res = await fetch(url, { method: 'POST', body: raw, headers: hdrs });
  const buf = Buffer.from(await res.arrayBuffer());
  return { status: res.status, headers: res.headers, buf, json: () => JSON.parse(buf.toString()) };
}

async function get(url: string) {
  const res = await fetch(url);
  const text = await res.text();
  return { status: res.status, headers: res.headers, text, json: () => JSON.parse(text) };
}

/** Splits a binary-extension response into its JSON header and binary sections per output. */
function splitBinary(r: { headers: Headers; buf: Buffer }): { head: any; sections: Map<string, Buffer> } {
  const hl = Number(r.headers.get('inference-header-content-length'));
  assert.ok(Number.isInteger(hl) && hl > 0, 'binary response has Inference-Header-Content-Length');
  const head = JSON.parse(r.buf.subarray(0, hl).toString());
  const sections = new Map<string, Buffer>();
  let off = hl;
  for (const o of head.outputs) {
    const size = o.parameters?.binary_data_size;
    if (size !== undefined) {
      sections.set(o.name, Buffer.from(r.buf.subarray(off, off + size)));
      off += size;
    }
  }
  assert.equal(off, r.buf.length);
  return { head, sections };
}

const f32 = (b: Buffer) => Array.from(new Float32Array(new Uint8Array(b).buffer));
const f32bytes = (a: number[]) => Buffer.from(new Float32Array(a).buffer);

function grpcCall<Res>(client: grpc.Client, method: string, req: object): Promise<Res> {
  return new Promise((resolve, reject) => {
    (client as unknown as Record<string, (r: object, cb: (e: grpc.ServiceError | null, v: Res) => void) => void>)[
      method
    ]!(req, (e, v) => (e ? reject(e) : resolve(v)));
  });
}

async function grpcError(p: Promise<unknown>): Promise<grpc.ServiceError> {
  try {
    await p;
  } catch (e) {
    return e as grpc.ServiceError;
  }
  assert.fail('expected the call to fail');
}

// --- tests ----------------------------------------------------------------------

describe('gateway over HTTP and gRPC with an onnxruntime backend', () => {
  const backend = new OrtBackend();
  let gw: RunningGateway;
  let small: RunningGateway;
  let base: string;
  let client: grpc.Client;

  before(async () => {
    await backend.add('simple', SIMPLE);
    await backend.add('identity', IDENTITY);
    backend.addFlaky('flaky');
    gw = await startGateway({ backend, httpPort: 0, grpcPort: 0, logger: silent });
    small = await startGateway({ backend, httpPort: 0, grpcPort: 0, logger: silent, maxBodyBytes: 2048 });
    base = gw.httpUrl;
    const { Client } = loadInferenceService(protoDir);
    client = new Client(gw.grpcAddress!, grpc.credentials.createInsecure());
  });

  after(async () => {
    client.close();
    await gw.close();
    await small.close();
    for (const e of backend.models.values()) await e.session?.release();
  });

  test('listens on loopback by default', () => {
    assert.equal(gw.host, '127.0.0.1');
    assert.match(gw.httpUrl, /^http:\/\/127\.0\.0\.1:\d+$/);
  });

  test('health, server metadata, model metadata and readiness', async () => {
    assert.deepEqual((await get(`${base}/v2/health/live`)).json(), { live: true });
    const ready = await get(`${base}/v2/health/ready`);
    assert.equal(ready.status, 200);
    const server = (await get(`${base}/v2`)).json();
    assert.equal(server.name, 'tensorshare');
    assert.deepEqual(server.extensions, ['binary_tensor_data', 'model_repository']);
    assert.match(server.version, /^\d+\.\d+\.\d+/);

    const meta = (await get(`${base}/v2/models/simple`)).json();
    assert.deepEqual(meta, {
      name: 'simple',
      versions: ['1'],
      platform: 'onnxruntime_onnx',
      inputs: [
        { name: 'INPUT0', datatype: 'FP32', shape: [-1, 4] },
        { name: 'INPUT1', datatype: 'FP32', shape: [-1, 4] },
      ],
      outputs: [
        { name: 'OUTPUT0', datatype: 'FP32', shape: [-1, 4] },
        { name: 'OUTPUT1', datatype: 'FP32', shape: [-1, 4] },
      ],
    });
    assert.deepEqual((await get(`${base}/v2/models/simple/versions/1`)).json(), meta);
    const r = await get(`${base}/v2/models/simple/ready`);
    assert.deepEqual([r.status, r.json()], [200, { name: 'simple', ready: true }]);
    assert.equal((await get(`${base}/v2/models/simple/versions/1/ready`)).status, 200);
  });

  test('JSON infer with nested and flat data gives the right sums and differences', async () => {
    const r = await post(`${base}/v2/models/simple/infer`, {
      id: 'req-1',
      inputs: [
        {
          name: 'INPUT0',
          shape: [2, 4],
          datatype: 'FP32',
          data: [
            [1, 2, 3, 4],
            [5, 6, 7, 8],
          ],
        },
        { name: 'INPUT1', shape: [2, 4], datatype: 'FP32', data: [1, 1, 1, 1, 0.5, 0.5, 0.5, 0.5] },
      ],
    });
    assert.equal(r.status, 200, r.buf.toString());
    assert.match(r.headers.get('content-type')!, /application\/json/);
    const body = r.json();
    assert.equal(body.model_name, 'simple');
    assert.equal(body.id, 'req-1');
    assert.deepEqual(body.outputs, [
      { name: 'OUTPUT0', datatype: 'FP32', shape: [2, 4], data: [2, 3, 4, 5, 5.5, 6.5, 7.5, 8.5] },
      { name: 'OUTPUT1', datatype: 'FP32', shape: [2, 4], data: [0, 1, 2, 3, 4.5, 5.5, 6.5, 7.5] },
    ]);

    const one = await post(`${base}/v2/models/simple/versions/1/infer`, {
      inputs: [
        { name: 'INPUT0', shape: [1, 4], datatype: 'FP32', data: [1, 2, 3, 4] },
        { name: 'INPUT1', shape: [1, 4], datatype: 'FP32', data: [[4, 3, 2, 1]] },
      ],
      outputs: [{ name: 'OUTPUT1' }],
      parameters: { priority: 2, tag: 'x' },
    });
    const b = one.json();
    assert.equal(b.model_version, '1');
    assert.deepEqual(b.outputs, [{ name: 'OUTPUT1', datatype: 'FP32', shape: [1, 4], data: [-3, -1, 1, 3] }]);
    assert.deepEqual(backend.lastParameters, { priority: 2, tag: 'x' });
  });

  test('binary extension: binary and JSON inputs mixed, binary and JSON outputs mixed', async () => {
    const header = Buffer.from(
      JSON.stringify({
        inputs: [
          { name: 'INPUT0', shape: [1, 4], datatype: 'FP32', parameters: { binary_data_size: 16 } },
          { name: 'INPUT1', shape: [1, 4], datatype: 'FP32', data: [10, 20, 30, 40] },
        ],
        outputs: [{ name: 'OUTPUT0' }, { name: 'OUTPUT1', parameters: { binary_data: false } }],
        parameters: { binary_data_output: true },
      }),
    );
    const body = Buffer.concat([header, f32bytes([1, 2, 3, 4])]);
    const r = await post(`${base}/v2/models/simple/infer`, body, {
      'content-type': 'application/octet-stream',
      'inference-header-content-length': String(header.length),
    });
    assert.equal(r.status, 200, r.buf.toString());
    assert.equal(r.headers.get('content-type'), 'application/octet-stream');
    const { head, sections } = splitBinary(r);
    assert.deepEqual(head.outputs[0], {
      name: 'OUTPUT0',
      datatype: 'FP32',
      shape: [1, 4],
      parameters: { binary_data_size: 16 },
    });
    assert.deepEqual(f32(sections.get('OUTPUT0')!), [11, 22, 33, 44]);
    assert.deepEqual(head.outputs[1], { name: 'OUTPUT1', datatype: 'FP32', shape: [1, 4], data: [-9, -18, -27, -36] });

    // A client that sends no Content-Type at all (as some Triton clients do), binary only.
    const h2 = Buffer.from(
      JSON.stringify({
        inputs: [
          { name: 'INPUT0', shape: [1, 4], datatype: 'FP32', parameters: { binary_data_size: 16 } },
          { name: 'INPUT1', shape: [1, 4], datatype: 'FP32', parameters: { binary_data_size: 16 } },
        ],
        outputs: [{ name: 'OUTPUT1', parameters: { binary_data: true } }],
      }),
    );
    const r2 = await post(
      `${base}/v2/models/simple/infer`,
      Buffer.concat([h2, f32bytes([1, 1, 1, 1]), f32bytes([2, 2, 2, 2])]),
      {
        'inference-header-content-length': String(h2.length),
      },
    );
    assert.equal(r2.status, 200, r2.buf.toString());
    assert.deepEqual(f32(splitBinary(r2).sections.get('OUTPUT1')!), [-1, -1, -1, -1]);
  });

  test('INT64, BOOL, FP16 and BYTES through JSON and binary', async () => {
    const big = 2n ** 62n + 7n;
    const json = await post(`${base}/v2/models/identity/infer`, {
      inputs: [
        { name: 'I64', shape: [2], datatype: 'INT64', data: [-5, String(big)] },
        { name: 'FLAG', shape: [2], datatype: 'BOOL', data: [true, false] },
        { name: 'HALF', shape: [2], datatype: 'FP16', data: [1.5, -0.25] },
        { name: 'TEXT', shape: [2], datatype: 'BYTES', data: ['héllo', ''] },
      ],
    });
    assert.equal(json.status, 200, json.buf.toString());
    const text = json.buf.toString();
    assert.ok(text.includes(`"data":[-5,${big}]`), 'int64 written exactly');
    const out = Object.fromEntries(json.json().outputs.map((o: any) => [o.name, o.data]));
    assert.deepEqual(out.O_FLAG, [true, false]);
    assert.deepEqual(out.O_HALF, [1.5, -0.25]);
    assert.deepEqual(out.O_TEXT, ['héllo', '']);

    const sections = [
      Buffer.from(new BigInt64Array([big, -1n]).buffer),
      Buffer.from([0, 1]),
      Buffer.from(numbersToHalf([2, 0.5]).buffer),
      serializeBytes(['a', 'xyz']),
    ];
    const header = Buffer.from(
      JSON.stringify({
        inputs: [
          { name: 'I64', shape: [2], datatype: 'INT64', parameters: { binary_data_size: sections[0]!.length } },
          { name: 'FLAG', shape: [2], datatype: 'BOOL', parameters: { binary_data_size: 2 } },
          { name: 'HALF', shape: [2], datatype: 'FP16', parameters: { binary_data_size: 4 } },
          { name: 'TEXT', shape: [2], datatype: 'BYTES', parameters: { binary_data_size: sections[3]!.length } },
        ],
        parameters: { binary_data_output: true },
      }),
    );
    const r = await post(`${base}/v2/models/identity/infer`, Buffer.concat([header, ...sections]), {
      'content-type': 'application/octet-stream',
      'inference-header-content-length': String(header.length),
    });
    assert.equal(r.status, 200, r.buf.toString());
    const { sections: outs } = splitBinary(r);
    assert.deepEqual(outs.get('O_I64'), sections[0]);
    assert.deepEqual(outs.get('O_FLAG'), sections[1]);
    const h = outs.get('O_HALF')!;
    assert.deepEqual([halfToNumber(h.readUInt16LE(0)), halfToNumber(h.readUInt16LE(2))], [2, 0.5]);
    assert.deepEqual(bytesToStrings(deserializeBytes(outs.get('O_TEXT')!)!), ['a', 'xyz']);
  });

  test('every bad request gets a 4xx naming the problem, and the gateway keeps serving', async () => {
    const good = (extra: object = {}) => ({
      inputs: [
        { name: 'INPUT0', shape: [1, 4], datatype: 'FP32', data: [1, 2, 3, 4] },
        { name: 'INPUT1', shape: [1, 4], datatype: 'FP32', data: [1, 2, 3, 4] },
      ],
      ...extra,
    });
    const cases: [string, unknown, number, RegExp][] = [
      [
        'wrong shape',
        { inputs: [{ name: 'INPUT0', shape: [1, 3], datatype: 'FP32', data: [1, 2, 3] }, good().inputs[1]] },
        400,
        /input 'INPUT0' has shape \[1, 3\], model 'simple' expects \[-1, 4\]/,
      ],
      [
        'element count',
        { inputs: [{ name: 'INPUT0', shape: [2, 4], datatype: 'FP32', data: [1, 2, 3, 4] }, good().inputs[1]] },
        400,
        /input 'INPUT0' has 4 elements, shape \[2, 4\] needs 8/,
      ],
      [
        'wrong dtype',
        { inputs: [{ name: 'INPUT0', shape: [1, 4], datatype: 'INT32', data: [1, 2, 3, 4] }, good().inputs[1]] },
        400,
        /input 'INPUT0' has datatype INT32, model 'simple' expects FP32/,
      ],
      ['missing input', { inputs: [good().inputs[0]] }, 400, /missing input 'INPUT1' for model 'simple'/],
      [
        'unknown input',
        { inputs: [...good().inputs, { name: 'EXTRA', shape: [1], datatype: 'FP32', data: [1] }] },
        400,
        /no input named 'EXTRA'/,
      ],
      ['unknown output', good({ outputs: [{ name: 'OUTPUT9' }] }), 400, /model 'simple' has no output named 'OUTPUT9'/],
      [
        'bad element',
        { inputs: [{ name: 'INPUT0', shape: [1, 4], datatype: 'FP32', data: [1, 'two', 3, 4] }, good().inputs[1]] },
        400,
        /element 1: expected a number for FP32/,
      ],
      ['bad JSON', '{"inputs": [', 400, /request body is not valid JSON/],
      ['not an object', '[1,2]', 400, /request body must be a JSON object/],
      ['no inputs', '{}', 400, /request must have an 'inputs' array/],
      [
        'negative dim',
        { inputs: [{ name: 'INPUT0', shape: [-1, 4], datatype: 'FP32', data: [] }] },
        400,
        /invalid shape \[-1,4\]/,
      ],
      ['id not a string', good({ id: 7 }), 400, /request 'id' must be a string/],
    ];
    for (const [what, body, status, re] of cases) {
      const r = await post(`${base}/v2/models/simple/infer`, body);
      assert.equal(r.status, status, `${what}: ${r.buf.toString()}`);
      assert.match(r.json().error, re, what);
    }

    const unknown = await post(`${base}/v2/models/nope/infer`, good());
    assert.deepEqual([unknown.status, unknown.json()], [404, { error: "unknown model 'nope'" }]);
    const badVersion = await post(`${base}/v2/models/simple/versions/9/infer`, good());
    assert.deepEqual([badVersion.status, badVersion.json()], [404, { error: "model 'simple' has no version '9'" }]);
    assert.equal((await get(`${base}/v2/models/nope`)).status, 404);
    assert.equal((await get(`${base}/v2/models/nope/ready`)).status, 404);
    const noRoute = await get(`${base}/v2/nothing/here`);
    assert.deepEqual([noRoute.status, noRoute.json()], [404, { error: 'no endpoint GET /v2/nothing/here' }]);

    const hdr = Buffer.from(
      JSON.stringify({
        inputs: [{ name: 'INPUT0', shape: [1, 4], datatype: 'FP32', parameters: { binary_data_size: 16 } }],
      }),
    );
    const short = await post(`${base}/v2/models/simple/infer`, Buffer.concat([hdr, Buffer.alloc(8)]), {
      'inference-header-content-length': String(hdr.length),
    });
    assert.equal(short.status, 400);
    assert.match(short.json().error, /input 'INPUT0' declares 16 bytes of binary data, only 8 remain/);
    const badLen = await post(`${base}/v2/models/simple/infer`, hdr, { 'inference-header-content-length': 'abc' });
    assert.equal(badLen.status, 400);
    assert.match(badLen.json().error, /Inference-Header-Content-Length 'abc'/);

    const big = await post(`${small.httpUrl}/v2/models/simple/infer`, {
      inputs: [{ name: 'INPUT0', shape: [1000, 4], datatype: 'FP32', data: new Array(4000).fill(1.25) }],
    });
    assert.equal(big.status, 413);
    assert.match(big.json().error, /request body is larger than the 2048-byte limit/);

    // Without a Content-Length (chunked), the body is counted as it arrives: served under the limit, 413 past it.
    const chunked = async (url: string, body: string) => {
      const res = await fetch(url, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: new ReadableStream({
          start(c) {
            for (let i = 0; i < body.length; i += 100) c.enqueue(new TextEncoder().encode(body.slice(i, i + 100)));
            c.close();
          },
        }),
        duplex: 'half',
      } as RequestInit);
      return { status: res.status, json: (await res.json()) as any };
    };
    const streamed = await chunked(`${small.httpUrl}/v2/models/simple/infer`, JSON.stringify(good()));
    assert.equal(streamed.status, 200, JSON.stringify(streamed.json));
    assert.deepEqual(streamed.json.outputs[0].data, [2, 4, 6, 8]);
    const streamedBig = await chunked(
      `${small.httpUrl}/v2/models/simple/infer`,
      JSON.stringify({
        inputs: [{ name: 'INPUT0', shape: [1000, 4], datatype: 'FP32', data: new Array(4000).fill(1.25) }],
      }),
    );
    assert.equal(streamedBig.status, 413);
    assert.match(streamedBig.json.error, /request body is larger than the 2048-byte limit/);

    // Still serving.
    const ok = await post(`${base}/v2/models/simple/infer`, good());
    assert.equal(ok.status, 200);
    assert.deepEqual(ok.json().outputs[0].data, [2, 4, 6, 8]);
  });

  test('garbage bodies never yield a 5xx', async () => {
    const deep = `${'['.repeat(40)}1${']'.repeat(40)}`;
    const bodies: (string | Buffer)[] = [
      'null',
      '"x"',
      '{"inputs": [null]}',
      '{"inputs": [{"name": "INPUT0"}]}',
      '{"inputs": [{"name": "INPUT0", "datatype": "FP32", "shape": "1,4", "data": [1]}]}',
      '{"inputs": [{"name": "INPUT0", "datatype": "FP32", "shape": [1e15, 4], "data": []}, {"name": "INPUT1", "datatype": "FP32", "shape": [1, 4], "data": [1,2,3,4]}]}',
      `{"inputs": [{"name": "INPUT0", "datatype": "FP32", "shape": [1, 4], "data": ${deep}}]}`,
      '{"inputs": [{"name": "INPUT0", "datatype": "FP32", "shape": [1, 4], "parameters": {"binary_data_size": -1}}]}',
      '{"inputs": [{"name": "INPUT0", "datatype": "FP32", "shape": [1, 4], "data": [1,2,3,4], "parameters": {"p": {"nested": 1}}}]}',
      '{"inputs": [], "outputs": [{"name": 3}]}',
      '{"inputs": [], "parameters": []}',
      Buffer.from([0xff, 0xfe, 0x00, 0x01]),
    ];
    for (const b of bodies) {
      const r = await post(`${base}/v2/models/simple/infer`, b);
      assert.ok(r.status >= 400 && r.status < 500, `${String(b).slice(0, 60)} -> ${r.status} ${r.buf.toString()}`);
      assert.equal(typeof r.json().error, 'string');
    }
    const junkHeader = await post(`${base}/v2/models/simple/infer`, Buffer.from('{}'), {
      'content-type': 'application/json',
      'content-encoding': 'br',
    });
    assert.equal(junkHeader.status, 400);
    assert.match(junkHeader.json().error, /unsupported Content-Encoding 'br'/);
  });

  test('gzip-compressed request bodies are accepted', async () => {
    const body = gzipSync(
      JSON.stringify({
        inputs: [
          { name: 'INPUT0', shape: [1, 4], datatype: 'FP32', data: [1, 2, 3, 4] },
          { name: 'INPUT1', shape: [1, 4], datatype: 'FP32', data: [1, 1, 1, 1] },
        ],
      }),
    );
    const r = await post(`${base}/v2/models/simple/infer`, body, {
      'content-type': 'application/json',
      'content-encoding': 'gzip',
    });
    assert.equal(r.status, 200, r.buf.toString());
    assert.deepEqual(r.json().outputs[0].data, [2, 3, 4, 5]);
    const bomb = gzipSync(Buffer.alloc(64 * 1024, 0x20));
    const tooBig = await post(`${small.httpUrl}/v2/models/simple/infer`, bomb, {
      'content-type': 'application/json',
      'content-encoding': 'gzip',
    });
    assert.equal(tooBig.status, 413);
    assert.match(tooBig.json().error, /decompressed request body is larger than the 2048-byte limit/);
  });

  test('a client that disconnects aborts the backend call', async () => {
    const started = new Promise<void>((resolve) => (backend.waitStarted = resolve));
    const ac = new AbortController();
    const pending = fetch(`${base}/v2/models/flaky/infer`, {
      method: 'POST',
      body: JSON.stringify({
        inputs: [{ name: 'X', shape: [1], datatype: 'FP32', data: [1] }],
        parameters: { fail: 'wait' },
      }),
      signal: ac.signal,
    }).catch((e: unknown) => e);
    await started;
    ac.abort();
    await pending;
    const reason = await backend.aborted;
    assert.ok(reason instanceof TensorshareError && reason.code === 'ERR_UNAVAILABLE');
    assert.equal((await get(`${base}/v2/health/live`)).status, 200);
  });

  test('backend overload errors map to 429/503 with Retry-After; internal errors leak nothing', async () => {
    const call = (fail: string) =>
      post(`${base}/v2/models/flaky/infer`, {
        inputs: [{ name: 'X', shape: [1], datatype: 'FP32', data: [1] }],
        parameters: { fail },
      });
    const over = await call('overloaded');
    assert.deepEqual(
      [over.status, over.headers.get('retry-after'), over.json()],
      [429, '2', { error: "function 'flaky' has a full queue" }],
    );
    const timeout = await call('timeout');
    assert.deepEqual([timeout.status, timeout.headers.get('retry-after')], [503, '1']);
    assert.match(timeout.json().error, /waited too long/);
    const exhausted = await call('exhausted');
    assert.deepEqual([exhausted.status, exhausted.headers.get('retry-after')], [503, '1']);
    const crash = await call('crash');
    assert.deepEqual([crash.status, crash.json()], [500, { error: 'internal error' }]);
    assert.ok(!crash.buf.toString().includes('secret'));
    const badOut = await call('badoutput');
    assert.equal(badOut.status, 500);
    assert.match(badOut.json().error, /model 'flaky' returned output 'Y' with 1 elements for shape \[3\]/);
    const fine = await call('none');
    assert.deepEqual(fine.json().outputs[0].data, [1]);
  });

  test('repository index, unload and load over HTTP', async () => {
    const index = await post(`${base}/v2/repository/index`, {});
    assert.equal(index.status, 200);
    assert.deepEqual(
      index.json().map((m: any) => m.name),
      ['simple', 'identity', 'flaky'],
    );
    assert.deepEqual(index.json()[0], { name: 'simple', version: '1', state: 'READY' });

    const un = await post(`${base}/v2/repository/models/simple/unload`, {});
    assert.equal(un.status, 200);
    const after = (await post(`${base}/v2/repository/index`, Buffer.alloc(0))).json();
    assert.deepEqual(after[0], { name: 'simple', version: '1', state: 'UNAVAILABLE', reason: 'unloaded' });
    assert.deepEqual(
      (await post(`${base}/v2/repository/index`, { ready: true })).json().map((m: any) => m.name),
      ['identity', 'flaky'],
    );
    const notReady = await get(`${base}/v2/models/simple/ready`);
    assert.deepEqual([notReady.status, notReady.json()], [400, { name: 'simple', ready: false }]);
    const inferUnloaded = await post(`${base}/v2/models/simple/infer`, {
      inputs: [
        { name: 'INPUT0', shape: [1, 4], datatype: 'FP32', data: [1, 2, 3, 4] },
        { name: 'INPUT1', shape: [1, 4], datatype: 'FP32', data: [1, 2, 3, 4] },
      ],
    });
    assert.deepEqual([inferUnloaded.status, inferUnloaded.json()], [503, { error: "model 'simple' is not loaded" }]);

    const load = await post(`${base}/v2/repository/models/simple/load`, { parameters: { config: '{}' } });
    assert.equal(load.status, 200);
    assert.equal((await get(`${base}/v2/models/simple/ready`)).status, 200);
    const missing = await post(`${base}/v2/repository/models/ghost/load`, {});
    assert.deepEqual([missing.status, missing.json()], [404, { error: "no model 'ghost' in the repository" }]);
  });

  test('gRPC: health, metadata, readiness', async () => {
    assert.deepEqual(await grpcCall(client, 'ServerLive', {}), { live: true });
    assert.deepEqual(await grpcCall(client, 'ServerReady', {}), { ready: true });
    const sm = await grpcCall<any>(client, 'ServerMetadata', {});
    assert.deepEqual([sm.name, sm.extensions], ['tensorshare', ['binary_tensor_data', 'model_repository']]);
    const mm = await grpcCall<any>(client, 'ModelMetadata', { name: 'simple' });
    assert.deepEqual(mm.inputs[0], { name: 'INPUT0', datatype: 'FP32', shape: ['-1', '4'] });
    assert.deepEqual(await grpcCall(client, 'ModelReady', { name: 'simple', version: '1' }), { ready: true });
    const nf = await grpcError(grpcCall(client, 'ModelMetadata', { name: 'nope' }));
    assert.deepEqual([nf.code, nf.details], [grpc.status.NOT_FOUND, "unknown model 'nope'"]);
  });

  test('gRPC ModelInfer with typed contents answers typed contents', async () => {
    const res = await grpcCall<any>(client, 'ModelInfer', {
      model_name: 'simple',
      id: 'g1',
      inputs: [
        { name: 'INPUT0', datatype: 'FP32', shape: [2, 4], contents: { fp32_contents: [1, 2, 3, 4, 5, 6, 7, 8] } },
        { name: 'INPUT1', datatype: 'FP32', shape: [2, 4], contents: { fp32_contents: [8, 7, 6, 5, 4, 3, 2, 1] } },
      ],
      outputs: [{ name: 'OUTPUT0' }],
    });
    assert.equal(res.id, 'g1');
    assert.equal(res.outputs.length, 1);
    assert.deepEqual(res.outputs[0].shape, ['2', '4']);
    assert.deepEqual(res.outputs[0].contents.fp32_contents, [9, 9, 9, 9, 9, 9, 9, 9]);
    assert.equal(res.raw_output_contents.length, 0);

    const ids = await grpcCall<any>(client, 'ModelInfer', {
      model_name: 'identity',
      inputs: [
        { name: 'I64', datatype: 'INT64', shape: [1], contents: { int64_contents: ['9007199254740993'] } },
        { name: 'FLAG', datatype: 'BOOL', shape: [1], contents: { bool_contents: [true] } },
        { name: 'HALF', datatype: 'FP16', shape: [1], contents: {} },
        { name: 'TEXT', datatype: 'BYTES', shape: [1], contents: { bytes_contents: [Buffer.from('q')] } },
      ],
    }).catch((e: grpc.ServiceError) => e);
    assert.equal((ids as grpc.ServiceError).code, grpc.status.INVALID_ARGUMENT);
    assert.match((ids as grpc.ServiceError).details, /FP16.*raw_input_contents/);
  });

  test('gRPC ModelInfer with raw contents answers raw contents, all datatypes', async () => {
    const res = await grpcCall<any>(client, 'ModelInfer', {
      model_name: 'simple',
      model_version: '1',
      inputs: [
        { name: 'INPUT0', datatype: 'FP32', shape: [1, 4] },
        { name: 'INPUT1', datatype: 'FP32', shape: [1, 4] },
      ],
      raw_input_contents: [f32bytes([1, 2, 3, 4]), f32bytes([0.5, 0.5, 0.5, 0.5])],
    });
    assert.deepEqual(
      res.outputs.map((o: any) => o.name),
      ['OUTPUT0', 'OUTPUT1'],
    );
    assert.deepEqual(f32(res.raw_output_contents[0]), [1.5, 2.5, 3.5, 4.5]);
    assert.deepEqual(f32(res.raw_output_contents[1]), [0.5, 1.5, 2.5, 3.5]);
    assert.equal(res.model_version, '1');

    const big = 2n ** 60n + 3n;
    const raw = [
      Buffer.from(new BigInt64Array([big]).buffer),
      Buffer.from([1]),
      Buffer.from(numbersToHalf([3]).buffer),
      serializeBytes(['grpc']),
    ];
    const ids = await grpcCall<any>(client, 'ModelInfer', {
      model_name: 'identity',
      inputs: [
        { name: 'I64', datatype: 'INT64', shape: [1] },
        { name: 'FLAG', datatype: 'BOOL', shape: [1] },
        { name: 'HALF', datatype: 'FP16', shape: [1] },
        { name: 'TEXT', datatype: 'BYTES', shape: [1] },
      ],
      raw_input_contents: raw,
    });
    assert.deepEqual(ids.raw_output_contents, raw);
  });

  test('gRPC errors: bad requests, overload with retry-after, internal', async () => {
    const bad = await grpcError(
      grpcCall(client, 'ModelInfer', {
        model_name: 'simple',
        inputs: [{ name: 'INPUT0', datatype: 'FP32', shape: [1, 3], contents: { fp32_contents: [1, 2, 3] } }],
      }),
    );
    assert.equal(bad.code, grpc.status.INVALID_ARGUMENT);
    assert.match(bad.details, /input 'INPUT0' has shape \[1, 3\]/);
    const nf = await grpcError(grpcCall(client, 'ModelInfer', { model_name: 'nope', inputs: [] }));
    assert.equal(nf.code, grpc.status.NOT_FOUND);
    const over = await grpcError(
      grpcCall(client, 'ModelInfer', {
        model_name: 'flaky',
        parameters: { fail: { string_param: 'overloaded' } },
        inputs: [{ name: 'X', datatype: 'FP32', shape: [1], contents: { fp32_contents: [1] } }],
      }),
    );
    assert.equal(over.code, grpc.status.RESOURCE_EXHAUSTED);
    assert.deepEqual(over.metadata.get('retry-after'), ['2']);
    const crash = await grpcError(
      grpcCall(client, 'ModelInfer', {
        model_name: 'flaky',
        parameters: { fail: { string_param: 'crash' } },
        inputs: [{ name: 'X', datatype: 'FP32', shape: [1], contents: { fp32_contents: [1] } }],
      }),
    );
    assert.deepEqual([crash.code, crash.details], [grpc.status.INTERNAL, 'internal error']);

    const { Client } = loadInferenceService(protoDir);
    const smallClient = new Client(small.grpcAddress!, grpc.credentials.createInsecure());
    try {
      const tooBig = await grpcError(
        grpcCall(smallClient, 'ModelInfer', {
          model_name: 'simple',
          inputs: [{ name: 'INPUT0', datatype: 'FP32', shape: [1000, 4] }],
          raw_input_contents: [Buffer.alloc(16000)],
        }),
      );
      assert.equal(tooBig.code, grpc.status.RESOURCE_EXHAUSTED);
    } finally {
      smallClient.close();
    }
  });

  test('gRPC repository index, unload and load', async () => {
    const idx = await grpcCall<any>(client, 'RepositoryIndex', {});
    assert.deepEqual(idx.models[1], { name: 'identity', version: '1', state: 'READY', reason: '' });
    await grpcCall(client, 'RepositoryModelUnload', { model_name: 'identity' });
    const readyOnly = await grpcCall<any>(client, 'RepositoryIndex', { ready: true });
    assert.ok(!readyOnly.models.some((m: any) => m.name === 'identity'));
    assert.deepEqual(await grpcCall(client, 'ModelReady', { name: 'identity' }), { ready: false });
    await grpcCall(client, 'RepositoryModelLoad', {
      model_name: 'identity',
      parameters: { config: { string_param: '{}' } },
    });
    assert.deepEqual(await grpcCall(client, 'ModelReady', { name: 'identity' }), { ready: true });
    const missing = await grpcError(grpcCall(client, 'RepositoryModelLoad', { model_name: 'ghost' }));
    assert.equal(missing.code, grpc.status.NOT_FOUND);
  });

  test('/metrics exposes per-function counters, latency, queue time and serving gauges', async () => {
    const serving = registerServingMetrics(gw.metrics.registry);
    serving.instances.set({ function: 'simple' }, 2);
    serving.storeBytes.set({ kind: 'logical' }, 1000);
    serving.storeBytes.set({ kind: 'physical' }, 400);
    assert.equal(registerServingMetrics(gw.metrics.registry).instances, serving.instances, 'idempotent');

    const r = await get(`${base}/metrics`);
    assert.equal(r.status, 200);
    assert.match(r.headers.get('content-type')!, /text\/plain/);
    const count = (re: RegExp): number => {
      const m = re.exec(r.text);
      assert.ok(m, `metrics text has ${re}`);
      return Number(m[1]);
    };
    assert.ok(
      count(/^tensorshare_requests_total\{function="simple",protocol="http",status="200",code="OK"\} (\d+)/m) >= 4,
    );
    assert.ok(
      count(/^tensorshare_requests_total\{function="simple",protocol="grpc",status="200",code="OK"\} (\d+)/m) >= 2,
    );
    assert.ok(
      count(
        /^tensorshare_requests_total\{function="simple",protocol="http",status="400",code="ERR_INVALID_ARGUMENT"\} (\d+)/m,
      ) >= 10,
    );
    assert.equal(
      count(/^tensorshare_request_failures_total\{function="flaky",protocol="http",code="ERR_OVERLOADED"\} (\d+)/m),
      1,
    );
    assert.ok(
      count(
        /^tensorshare_requests_total\{function="_unknown",protocol="http",status="404",code="ERR_MODEL_NOT_FOUND"\} (\d+)/m,
      ) >= 1,
    );
    assert.ok(count(/^tensorshare_request_duration_seconds_count\{function="simple",protocol="http"\} (\d+)/m) >= 4);
    assert.ok(count(/^tensorshare_queue_duration_seconds_count\{function="simple"\} (\d+)/m) >= 4);
    // Stages of successful requests; this backend reports no instance round trip, so no run or transfer.
    for (const stage of ['decode', 'queue', 'dispatch', 'encode']) {
      const re = (protocol: string) =>
        new RegExp(
          `^tensorshare_request_stage_seconds_count\\{function="simple",protocol="${protocol}",stage="${stage}"\\} (\\d+)`,
          'm',
        );
      assert.ok(count(re('http')) >= 4, stage);
      assert.ok(count(re('grpc')) >= 2, stage);
    }
    assert.doesNotMatch(r.text, /tensorshare_request_stage_seconds_count\{[^}]*stage="(run|transfer)"/);
    assert.equal(count(/^tensorshare_instances\{function="simple"\} (\d+)/m), 2);
    assert.equal(count(/^tensorshare_store_bytes\{kind="physical"\} (\d+)/m), 400);
    const smallMetrics = await get(`${small.httpUrl}/metrics`);
    // The three 413s of the small gateway: a body with a Content-Length, a chunked one, a gzip bomb.
    assert.match(
      smallMetrics.text,
      /tensorshare_requests_total\{function="simple",protocol="http",status="413",code="ERR_INVALID_ARGUMENT"\} 3/,
    );
  });
});
