// What the gateway's hostile-input, fuzz and soak tests share: a small
// in-process backend (a recognizer shaped like ppocr-rec whose output grows
// with the image width, a BYTES echo, an FP32 echo), the hostile bodies of
// issue 11 built at any size, raw gRPC calls, and a health prober.

import { performance } from 'node:perf_hooks';
import v8 from 'node:v8';
import vm from 'node:vm';
import * as grpc from '@grpc/grpc-js';
import { TensorshareError } from '../errors.js';
import type { InferenceBackend, ModelIndexEntry, ValidatedInferRequest } from '../serve/protocol/backend.js';
import type { InferResponse, ModelMetadata } from '../tensor/index.js';

const MODELS: ModelMetadata[] = [
  {
    name: 'rec',
    versions: ['1'],
    platform: 'test',
    inputs: [{ name: 'x', datatype: 'FP32', shape: [-1, 3, 48, -1] }],
    outputs: [{ name: 'y', datatype: 'FP32', shape: [-1, -1, 6625] }],
  },
  {
    name: 'text',
    versions: ['1'],
    platform: 'test',
    inputs: [{ name: 'TEXT', datatype: 'BYTES', shape: [-1] }],
    outputs: [{ name: 'OUT', datatype: 'BYTES', shape: [-1] }],
  },
  {
    name: 'simple',
    versions: ['1'],
    platform: 'test',
    inputs: [{ name: 'INPUT0', datatype: 'FP32', shape: [-1, 4] }],
    outputs: [{ name: 'OUTPUT0', datatype: 'FP32', shape: [-1, 4] }],
  },
];

/** The test backend; `calls` counts what reached `infer` (validated requests only). */
export interface HostileBackend extends InferenceBackend {
  calls: number;
}

export function hostileBackend(): HostileBackend {
  const byName = new Map(MODELS.map((m) => [m.name, m]));
  const backend: HostileBackend = {
    calls: 0,
    serverReady: () => true,
    listModels: (): ModelIndexEntry[] => MODELS.map((m) => ({ name: m.name, version: '1', state: 'READY' })),
    modelMetadata: (name, version) => {
      const m = byName.get(name);
      return m && (version === undefined || m.versions.includes(version)) ? m : undefined;
    },
    modelReady: (name) => byName.has(name),
    async infer(req: ValidatedInferRequest): Promise<InferResponse> {
      backend.calls++;
      const x = req.inputs[0]!;
      if (req.model === 'rec') {
        // ppocr-rec: [N, 3, 48, W] -> [N, W/8, 6625] character probabilities.
        const [n, , , w] = x.shape as [number, number, number, number];
        const steps = Math.ceil(w / 8);
        return {
          outputs: [
            {
              name: 'y',
              datatype: 'FP32',
              shape: [n, steps, 6625],
              data: new Float32Array(n * steps * 6625).fill(0.123456789),
            },
          ],
        };
      }
      const name = req.model === 'text' ? 'OUT' : 'OUTPUT0';
      return { outputs: [{ ...x, name }] };
    },
    async load(name) {
      if (!byName.has(name)) throw new TensorshareError('ERR_MODEL_NOT_FOUND', `no model '${name}'`);
    },
    async unload(name) {
      if (!byName.has(name)) throw new TensorshareError('ERR_MODEL_NOT_FOUND', `no model '${name}'`);
    },
  };
  return backend;
}

// --- hostile bodies -----------------------------------------------------------

/** `{"x":[{},{},...]}` of about `bytes` bytes. */
export function jsonEmptyObjects(bytes: number): Buffer {
  const n = Math.max(1, Math.floor((bytes - 8) / 3));
  return Buffer.from(`{"x":[${'{},'.repeat(n - 1)}{}]}`);
}

/** An infer body for the BYTES model whose `data` is `[[],[],...]`, about `bytes` bytes. */
export function jsonEmptyArrays(bytes: number): Buffer {
  const n = Math.max(1, Math.floor((bytes - 80) / 3));
  return Buffer.from(`{"inputs":[{"name":"TEXT","datatype":"BYTES","shape":[1],"data":[${'[],'.repeat(n - 1)}[]]}]}`);
}

/** A binary-extension body for the BYTES model: `bytes` bytes of zero-length elements (4 zero bytes each) for shape `[dim]`. */
export function binaryEmptyElements(bytes: number, dim = 1): { body: Buffer; headers: Record<string, string> } {
  const size = Math.floor(bytes / 4) * 4;
  const header = Buffer.from(
    JSON.stringify({
      inputs: [{ name: 'TEXT', datatype: 'BYTES', shape: [dim], parameters: { binary_data_size: size } }],
    }),
  );
  return {
    body: Buffer.concat([header, Buffer.alloc(size)]),
    headers: { 'content-type': 'application/octet-stream', 'inference-header-content-length': String(header.length) },
  };
}

/** A `shape` nested `depth` arrays deep. */
export function deepShapeBody(depth: number): string {
  return `{"inputs":[{"name":"INPUT0","datatype":"FP32","shape":${'['.repeat(depth)}1${']'.repeat(depth)},"data":[1,2,3,4]}]}`;
}

// --- protobuf by hand (the hostile messages are ones no encoder would write) ----

function varint(n: number): Buffer {
  const out: number[] = [];
  while (n >= 0x80) {
    out.push((n % 128) | 0x80);
    n = Math.floor(n / 128);
  }
  out.push(n);
  return Buffer.from(out);
}

/** A length-delimited field. */
export function pbField(no: number, payload: Buffer | string): Buffer {
  const p = typeof payload === 'string' ? Buffer.from(payload) : payload;
  return Buffer.concat([varint(no * 8 + 2), varint(p.length), p]);
}

/** A packed repeated int64 field (shapes). */
export function pbPacked(no: number, values: number[]): Buffer {
  return pbField(no, Buffer.concat(values.map(varint)));
}

/** A ModelInferRequest for `model` with one input whose contents are `contents` (InferTensorContents bytes). */
export function modelInferMessage(
  model: string,
  input: { name: string; datatype: string; shape: number[]; contents?: Buffer },
  raw?: Buffer,
): Buffer {
  const tensor = Buffer.concat([
    pbField(1, input.name),
    pbField(2, input.datatype),
    pbPacked(3, input.shape),
    ...(input.contents ? [pbField(5, input.contents)] : []),
  ]);
  return Buffer.concat([pbField(1, model), pbField(5, tensor), ...(raw ? [pbField(7, raw)] : [])]);
}

/** InferTensorContents of `bytes` bytes made of empty `bytes_contents` entries (2 bytes each). */
export function emptyBytesContents(bytes: number): Buffer {
  const n = Math.floor(bytes / 2);
  return Buffer.alloc(n * 2, Buffer.from([0x42, 0x00]));
}

/** Calls ModelInfer with a message encoded by hand; resolves with the status and the response bytes. */
export function rawModelInfer(
  address: string,
  message: Buffer,
  deadlineMs = 120_000,
): Promise<{ code: number; details: string; response?: Buffer }> {
  const client = new grpc.Client(address, grpc.credentials.createInsecure(), {
    'grpc.max_send_message_length': -1,
    'grpc.max_receive_message_length': -1,
  });
  return new Promise((resolve) => {
    client.makeUnaryRequest(
      '/inference.GRPCInferenceService/ModelInfer',
      (b: Buffer) => b,
      (b: Buffer) => b,
      message,
      { deadline: Date.now() + deadlineMs },
      (err: grpc.ServiceError | null, response?: Buffer) => {
        client.close();
        resolve(err ? { code: err.code, details: err.details } : { code: grpc.status.OK, details: '', response });
      },
    );
  });
}

// --- health while something else is in flight ---------------------------------

/**
 * Polls `/v2/health/ready` back to back until `stop` is called; `stop`
 * resolves with every latency seen (ms) and whether each answered 200.
 */
export function probeHealth(baseUrl: string): { stop(): Promise<{ latencies: number[]; allOk: boolean }> } {
  let running = true;
  const latencies: number[] = [];
  let allOk = true;
  const loop = (async () => {
    while (running) {
      const t0 = performance.now();
      const res = await fetch(`${baseUrl}/v2/health/ready`);
      await res.arrayBuffer();
      latencies.push(performance.now() - t0);
      if (res.status !== 200) allOk = false;
    }
  })();
  return {
    async stop() {
      running = false;
      await loop;
      return { latencies, allOk };
    },
  };
}

v8.setFlagsFromString('--expose-gc');
const gc = vm.runInNewContext('gc') as () => void;

/** JS heap in use in MiB after full collections: what decoded objects hold (buffers are outside it). */
export function heapMb(): number {
  gc();
  gc();
  return process.memoryUsage().heapUsed / (1024 * 1024);
}

/** RSS of this process in MiB, after full collections (what the process holds, not garbage waiting for one). */
export function rssMb(): number {
  gc();
  gc();
  return process.memoryUsage().rss / (1024 * 1024);
}
