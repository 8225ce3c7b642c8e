import { test } from 'node:test';
import assert from 'node:assert/strict';
import { isTensorshareError } from '../../errors.js';
import { protoDir } from '../../paths.js';
import type { ModelMetadata } from '../../tensor/index.js';
import type { ValidatedInferRequest } from './backend.js';
import { deserializeBytes, serializeBytes } from './binary.js';
import { encodeHttpInferResponse, headerLengthOf, parseHttpInferBody } from './http-codec.js';
import { checkInferResponse, validateInferRequest, type WireInferRequest } from './request.js';
import { errorStatus } from './status.js';
import { TensorshareError } from '../../errors.js';
import { grpcFromResponse, loadInferenceService, wireFromGrpc } from './grpc-codec.js';
import type { ModelInferRequest } from './generated/inference/ModelInferRequest.js';

const meta: ModelMetadata = {
  name: 'm',
  versions: ['1'],
  platform: 'onnxruntime_onnx',
  inputs: [
    { name: 'X', datatype: 'FP32', shape: [-1, 2] },
    { name: 'S', datatype: 'BYTES', shape: [-1] },
    { name: 'OPT', datatype: 'INT8', shape: [1], optional: true },
  ],
  outputs: [
    { name: 'Y', datatype: 'FP32', shape: [-1, 2] },
    { name: 'Z', datatype: 'INT64', shape: [-1] },
  ],
};

const wire = (inputs: WireInferRequest['inputs'], outputs: WireInferRequest['outputs'] = []): WireInferRequest => ({
  parameters: {},
  inputs,
  outputs,
});
const X = (values: unknown, shape = [2, 2], datatype = 'FP32') => ({
  name: 'X',
  datatype,
  shape,
  parameters: {},
  payload: { kind: 'values' as const, values },
});
const S = {
  name: 'S',
  datatype: 'BYTES',
  shape: [1],
  parameters: {},
  payload: { kind: 'values' as const, values: ['hé'] },
};

function rejects(fn: () => unknown, re: RegExp): void {
  assert.throws(fn, (e: unknown) => {
    assert.ok(isTensorshareError(e, 'ERR_INVALID_ARGUMENT'), `expected ERR_INVALID_ARGUMENT, got ${String(e)}`);
    assert.match(e.message, re);
    return true;
  });
}

test('BYTES serialisation is 4-byte little-endian length prefixed', () => {
  const buf = serializeBytes(['ab', new Uint8Array([0, 255])]);
  assert.deepEqual(Array.from(buf), [2, 0, 0, 0, 97, 98, 2, 0, 0, 0, 0, 255]);
  assert.deepEqual(
    deserializeBytes(buf)?.map((e) => Array.from(e)),
    [
      [97, 98],
      [0, 255],
    ],
  );
  assert.equal(deserializeBytes(buf.subarray(0, 5)), undefined);
  assert.equal(deserializeBytes(Buffer.from([1, 0])), undefined);
});

test('validateInferRequest types data, flattens nested arrays and defaults outputs', () => {
  const req = validateInferRequest(
    'm',
    undefined,
    wire([
      X([
        [1, 2],
        [3, 4],
      ]),
      S,
    ]),
    meta,
  );
  assert.deepEqual(Array.from(req.inputs[0]!.data as Float32Array), [1, 2, 3, 4]);
  assert.ok(req.inputs[0]!.data instanceof Float32Array);
  assert.deepEqual(Array.from((req.inputs[1]!.data as Uint8Array[])[0]!), [0x68, 0xc3, 0xa9]);
  assert.deepEqual(
    req.outputs.map((o) => o.name),
    ['Y', 'Z'],
  );
});

test('validateInferRequest names each bad-request problem', () => {
  rejects(
    () => validateInferRequest('m', undefined, wire([X([1, 2, 3, 4], [4])]), meta),
    /input 'X' has shape \[4\], model 'm' expects \[-1, 2\]/,
  );
  rejects(
    () => validateInferRequest('m', undefined, wire([X([1, 2, 3, 4], [2, 2], 'FP64'), S]), meta),
    /input 'X' has datatype FP64, model 'm' expects FP32/,
  );
  rejects(
    () => validateInferRequest('m', undefined, wire([X([1, 2, 3, 4], [2, 2], 'FLOAT'), S]), meta),
    /unsupported datatype 'FLOAT'/,
  );
  rejects(() => validateInferRequest('m', undefined, wire([X([1, 2, 3, 4])]), meta), /missing input 'S' for model 'm'/);
  rejects(
    () => validateInferRequest('m', undefined, wire([X([1, 2, 3]), S]), meta),
    /input 'X' has 3 elements, shape \[2, 2\] needs 4/,
  );
  rejects(
    () => validateInferRequest('m', undefined, wire([X([1, 2, 'x', 4]), S]), meta),
    /input 'X' element 2: expected a number for FP32, got string "x"/,
  );
  rejects(
    () => validateInferRequest('m', undefined, wire([X([1, 2, 3, 4]), S, { ...S, name: 'Q' }]), meta),
    /model 'm' has no input named 'Q'/,
  );
  rejects(
    () => validateInferRequest('m', undefined, wire([X([1, 2, 3, 4]), S, S]), meta),
    /input 'S' is given more than once/,
  );
  rejects(
    () => validateInferRequest('m', undefined, wire([X([1, 2, 3, 4]), S], [{ name: 'NOPE', parameters: {} }]), meta),
    /model 'm' has no output named 'NOPE' \(outputs: Y, Z\)/,
  );
  const opt = {
    name: 'OPT',
    datatype: 'INT8',
    shape: [1],
    parameters: {},
    payload: { kind: 'values' as const, values: [200] },
  };
  rejects(
    () => validateInferRequest('m', undefined, wire([X([1, 2, 3, 4]), S, opt]), meta),
    /element 0: expected an integer in INT8 range, got number 200/,
  );
});

test('raw payloads are checked against the shape byte size', () => {
  const raw = (bytes: Uint8Array) => ({
    name: 'X',
    datatype: 'FP32',
    shape: [1, 2],
    parameters: {},
    payload: { kind: 'raw' as const, bytes },
  });
  const ok = validateInferRequest(
    'm',
    undefined,
    wire([raw(new Uint8Array(new Float32Array([1.5, -2]).buffer)), S]),
    meta,
  );
  assert.deepEqual(Array.from(ok.inputs[0]!.data as Float32Array), [1.5, -2]);
  rejects(
    () => validateInferRequest('m', undefined, wire([raw(new Uint8Array(6)), S]), meta),
    /input 'X' has 6 bytes of binary data, shape \[1, 2\] of FP32 needs 8/,
  );
});

test('HTTP binary extension: JSON header then tensor bytes in input order', () => {
  const json = Buffer.from(
    JSON.stringify({
      inputs: [
        { name: 'X', datatype: 'FP32', shape: [1, 2], parameters: { binary_data_size: 8 } },
        { name: 'S', datatype: 'BYTES', shape: [2], parameters: { binary_data_size: 11 } },
      ],
      outputs: [{ name: 'Y', parameters: { binary_data: false } }, { name: 'Z' }],
      parameters: { binary_data_output: true },
    }),
  );
  const body = Buffer.concat([json, Buffer.from(new Float32Array([3, 4]).buffer), serializeBytes(['abc', ''])]);
  assert.equal(body.length, json.length + 8 + 11);
  const hl = headerLengthOf(String(json.length), 'application/octet-stream', body.length);
  const parsed = parseHttpInferBody(body, hl);
  assert.equal(parsed.binaryOutput('Y'), false);
  assert.equal(parsed.binaryOutput('Z'), true);
  const req = validateInferRequest('m', '1', parsed.wire, meta);
  assert.deepEqual(Array.from(req.inputs[0]!.data as Float32Array), [3, 4]);
  assert.deepEqual(req.parameters, {});
  assert.equal(headerLengthOf(undefined, 'application/vnd.sagemaker-triton.binary+json;json-header-size=12', 20), 12);
  rejects(() => headerLengthOf('99', undefined, 10), /Inference-Header-Content-Length '99'/);
  rejects(() => parseHttpInferBody(body, undefined), /not valid JSON/);
  rejects(() => parseHttpInferBody(Buffer.concat([body, Buffer.from([0])]), hl), /1 bytes of binary data beyond/);
  rejects(
    () => parseHttpInferBody(json, undefined),
    /declares binary_data_size but the request has no Inference-Header-Content-Length/,
  );
});

test('HTTP response encoding: JSON data, binary sections and exact int64', async () => {
  const req: ValidatedInferRequest = {
    model: 'm',
    id: 'r1',
    parameters: {},
    inputs: [],
    outputs: [
      { name: 'Y', parameters: {} },
      { name: 'Z', parameters: {} },
    ],
  };
  const outputs = checkInferResponse(
    req,
    {
      outputs: [
        { name: 'Z', datatype: 'INT64', shape: [2], data: new BigInt64Array([2n ** 62n + 1n, -3n]) },
        { name: 'Y', datatype: 'FP32', shape: [1, 2], data: new Float32Array([0.5, 2]) },
      ],
    },
    meta,
  );
  const plain = await encodeHttpInferResponse(req, {}, outputs, () => false);
  assert.equal(plain.contentType, 'application/json');
  assert.deepEqual(plain.parts.length, 1);
  assert.equal(
    plain.parts[0]!.toString(),
    '{"model_name":"m","id":"r1","outputs":[{"name":"Y","datatype":"FP32","shape":[1,2],"data":[0.5,2]},{"name":"Z","datatype":"INT64","shape":[2],"data":[4611686018427387905,-3]}]}',
  );
  const bin = await encodeHttpInferResponse(req, {}, outputs, (n) => n === 'Y');
  assert.equal(bin.contentType, 'application/octet-stream');
  const binBody = Buffer.concat(bin.parts);
  assert.equal(bin.length, binBody.length);
  const head = JSON.parse(binBody.subarray(0, bin.headerLength).toString());
  assert.deepEqual(head.outputs[0], {
    name: 'Y',
    datatype: 'FP32',
    shape: [1, 2],
    parameters: { binary_data_size: 8 },
  });
  assert.deepEqual(
    Array.from(
      new Float32Array(
        binBody
          .subarray(bin.headerLength!)
          .buffer.slice(binBody.byteOffset + bin.headerLength!, binBody.byteOffset + binBody.length),
      ),
    ),
    [0.5, 2],
  );

  assert.throws(
    () =>
      checkInferResponse(
        req,
        { outputs: [{ name: 'Y', datatype: 'BYTES', shape: [1], data: [3] as unknown as string[] }] },
        meta,
      ),
    (e: unknown) =>
      isTensorshareError(e, 'ERR_INTERNAL') && /output 'Y' as BYTES, its metadata says FP32/.test(e.message),
  );
  const bytesMeta: ModelMetadata = { ...meta, outputs: [{ name: 'Y', datatype: 'BYTES', shape: [-1] }] };
  assert.throws(
    () =>
      checkInferResponse(
        { ...req, outputs: [{ name: 'Y', parameters: {} }] },
        { outputs: [{ name: 'Y', datatype: 'BYTES', shape: [1], data: [3] as unknown as string[] }] },
        bytesMeta,
      ),
    (e: unknown) =>
      isTensorshareError(e, 'ERR_INTERNAL') && /output 'Y' with data of the wrong type for BYTES/.test(e.message),
  );
  assert.throws(
    () =>
      checkInferResponse(
        req,
        { outputs: [{ name: 'Y', datatype: 'FP32', shape: [2, 2], data: new Float32Array(2) }] },
        meta,
      ),
    (e: unknown) =>
      isTensorshareError(e, 'ERR_INTERNAL') && /output 'Y' with 2 elements for shape \[2, 2\]/.test(e.message),
  );
});

/** A ModelInferRequest as the gRPC server hands it over: encoded, then decoded with the service's LOADER_OPTIONS. */
const { service } = loadInferenceService(protoDir);
const received = (msg: ModelInferRequest) =>
  service.ModelInfer.requestDeserialize(service.ModelInfer.requestSerialize(msg));

test('gRPC codec: typed contents, raw contents and their misuse', () => {
  const typed = wireFromGrpc(
    received({
      model_name: 'm',
      inputs: [
        { name: 'X', datatype: 'FP32', shape: ['1', '2'], contents: { fp32_contents: [1, 2] } },
        { name: 'S', datatype: 'BYTES', shape: ['1'], contents: { bytes_contents: [Buffer.from('q')] } },
      ],
      outputs: [],
      raw_input_contents: [],
    }),
  );
  assert.equal(typed.raw, false);
  const req = validateInferRequest('m', undefined, typed.wire, meta);
  assert.deepEqual(Array.from(req.inputs[0]!.data as Float32Array), [1, 2]);
  rejects(
    () =>
      wireFromGrpc(
        received({
          model_name: 'm',
          inputs: [{ name: 'X', datatype: 'FP32', shape: ['1', '2'], contents: { int_contents: [1, 2] } }],
        }),
      ),
    /input 'X' of datatype FP32 must use contents.fp32_contents, not int_contents/,
  );
  rejects(
    () =>
      wireFromGrpc(
        received({
          model_name: 'm',
          inputs: [{ name: 'X', datatype: 'FP32', shape: ['1', '2'] }],
          raw_input_contents: [Buffer.alloc(8), Buffer.alloc(1)],
        }),
      ),
    /raw_input_contents has 2 entries for 1 inputs/,
  );
  const res = grpcFromResponse(
    req,
    {},
    [{ name: 'Z', datatype: 'INT64', shape: [1], data: new BigInt64Array([7n]) }],
    false,
  );
  assert.deepEqual(res.outputs[0]!.contents, { int64_contents: ['7'] });
  const fp16 = grpcFromResponse(
    req,
    {},
    [{ name: 'H', datatype: 'FP16', shape: [1], data: new Uint16Array([0x3c00]) }],
    false,
  );
  assert.deepEqual(Array.from(fp16.raw_output_contents[0]!), [0x00, 0x3c]);
});

test('error statuses: typed errors keep their message, others are generic', () => {
  const over = errorStatus(new TensorshareError('ERR_OVERLOADED', 'queue full for f', { retryAfterMs: 2500 }));
  assert.deepEqual([over.http, over.grpc, over.retryAfterSeconds, over.message], [429, 8, 3, 'queue full for f']);
  assert.equal(errorStatus(new TensorshareError('ERR_TIMEOUT', 't'), 4).retryAfterSeconds, 4);
  assert.equal(errorStatus(new TensorshareError('ERR_MODEL_NOT_FOUND', 'x')).http, 404);
  const internal = errorStatus(new Error('secret at /home/x'));
  assert.deepEqual([internal.http, internal.message, internal.unexpected], [500, 'internal error', true]);
});
