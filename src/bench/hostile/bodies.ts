// The hostile requests of issue 11, built at any size: JSON and binary bodies
// that decode to far more than their bytes, protobuf messages written by hand
// (ones no encoder would write), raw gRPC calls, and a health prober. Sent by
// the hostile benchmark and by the gateway's hostile-input, fuzz and soak tests.
import { performance } from 'node:perf_hooks';
import * as grpc from '@grpc/grpc-js';

// --- hostile bodies -----------------------------------------------------------

/** `{"x":[{},{},...]}` of about `bytes` bytes. */
export function jsonEmptyObjects(bytes: number): Buffer {
  const n = Math.max(1, Math.floor((bytes - 8) / 3));
  return Buffer.from(`{"x":[${'{},'.repeat(n - 1)}{}]}`);
}

/** An infer body for a BYTES input (`TEXT` unless named) whose `data` is `[[],[],...]`, about `bytes` bytes. */
export function jsonEmptyArrays(bytes: number, input = 'TEXT'): Buffer {
  const n = Math.max(1, Math.floor((bytes - 80) / 3));
  return Buffer.from(
    `{"inputs":[{"name":${JSON.stringify(input)},"datatype":"BYTES","shape":[1],"data":[${'[],'.repeat(n - 1)}[]]}]}`,
  );
}

/** A binary-extension body for a BYTES input (`TEXT` unless named): `bytes` bytes of zero-length elements (4 zero bytes each) for shape `[dim]`. */
export function binaryEmptyElements(
  bytes: number,
  dim = 1,
  input = 'TEXT',
): { body: Buffer; headers: Record<string, string> } {
  const size = Math.floor(bytes / 4) * 4;
  const header = Buffer.from(
    JSON.stringify({
      inputs: [{ name: input, datatype: 'BYTES', shape: [dim], parameters: { binary_data_size: size } }],
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
