// Property-based fuzzing of the request decoders (fast-check, fixed seed, a
// bounded number of runs): the pure decoders throw nothing but
// TensorshareErrors, and over real loopback HTTP and gRPC a gateway answers
// every invalid request with a 4xx in the one error shape (never a 5xx or
// INTERNAL), and every valid request with its own data back.

import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import * as grpc from '@grpc/grpc-js';
import fc from 'fast-check';
import { pino } from 'pino';
import { isTensorshareError } from '../../errors.js';
import type { ModelMetadata } from '../../tensor/index.js';
import { protoDir } from '../../paths.js';
import { boundedInferenceService, decodeGrpcInfer } from '../protocol/grpc-codec.js';
import { decodeHttpInfer } from '../protocol/http-codec.js';
import { hostileBackend, modelInferMessage, pbField, rawModelInfer } from '../../testing/hostile.js';
import { startGateway, type RunningGateway } from './gateway.js';

const SEED = 20261201;
const backend = hostileBackend();
const simple = backend.modelMetadata('simple') as ModelMetadata;
const text = backend.modelMetadata('text') as ModelMetadata;

/** Valid FP32 rows for the echo model (no -0: JSON writes it as 0). */
const rows = fc.array(
  fc.array(
    fc.float({ noNaN: true, noDefaultInfinity: true }).map((v) => (Object.is(v, -0) ? 0 : v)),
    { minLength: 4, maxLength: 4 },
  ),
  { minLength: 1, maxLength: 6 },
);

/** Mutations of a valid request: fields replaced by arbitrary JSON values. */
const mutatedRequest = fc
  .record({
    name: fc.oneof(
      fc.constant('INPUT0'),
      fc.json().map((j) => JSON.parse(j) as unknown),
    ),
    datatype: fc.oneof(fc.constantFrom('FP32', 'INT32', 'BYTES', 'FP16', ''), fc.string()),
    shape: fc.oneof(
      fc.array(fc.integer({ min: -2, max: 6 }), { maxLength: 4 }),
      fc.json().map((j) => JSON.parse(j) as unknown),
    ),
    data: fc.oneof(
      fc.array(fc.oneof(fc.float(), fc.string(), fc.boolean()), { maxLength: 12 }),
      fc.json().map((j) => JSON.parse(j) as unknown),
    ),
    parameters: fc.oneof(
      fc.constant(undefined),
      fc.dictionary(fc.string(), fc.oneof(fc.string(), fc.integer(), fc.boolean(), fc.constant(null))),
    ),
  })
  .map((i) => JSON.stringify({ inputs: [i] }));

const anyBody = fc.oneof(
  mutatedRequest,
  fc.json(),
  fc.string(),
  fc.uint8Array({ maxLength: 256 }).map((b) => Buffer.from(b).toString('latin1')),
);

function expectTyped(f: () => unknown): void {
  try {
    f();
  } catch (e) {
    assert.ok(isTensorshareError(e), `threw a non-TensorshareError: ${String(e)}`);
    assert.ok(e.code !== 'ERR_INTERNAL', `internal error: ${e.message}`);
  }
}

test('decoders throw only TensorshareErrors (HTTP bodies, gRPC messages)', () => {
  const { decodeModelInfer } = boundedInferenceService(protoDir);
  fc.assert(
    fc.property(anyBody, (body) =>
      expectTyped(() =>
        decodeHttpInfer(
          {
            body: Buffer.from(body),
            contentEncoding: undefined,
            headerLength: undefined,
            contentType: 'application/json',
            maxBodyBytes: 1 << 20,
          },
          'simple',
          undefined,
          simple,
        ),
      ),
    ),
    { seed: SEED, numRuns: 2000 },
  );
  fc.assert(
    fc.property(fc.uint8Array({ maxLength: 512 }), (bytes) =>
      expectTyped(() => decodeGrpcInfer(Buffer.from(bytes), decodeModelInfer, text)),
    ),
    { seed: SEED, numRuns: 2000 },
  );
  // Structured messages with arbitrary contents bytes and shapes.
  fc.assert(
    fc.property(
      fc.array(fc.integer({ min: 0, max: 2 ** 40 }), { maxLength: 6 }),
      fc.uint8Array({ maxLength: 256 }),
      (shape, contents) =>
        expectTyped(() =>
          decodeGrpcInfer(
            modelInferMessage('text', { name: 'TEXT', datatype: 'BYTES', shape, contents: Buffer.from(contents) }),
            decodeModelInfer,
            text,
          ),
        ),
    ),
    { seed: SEED, numRuns: 2000 },
  );
});

describe('fuzzing a real gateway over loopback', () => {
  let gw: RunningGateway;
  before(async () => {
    gw = await startGateway({ backend, httpPort: 0, grpcPort: 0, logger: pino({ level: 'silent' }) });
  });
  after(async () => {
    await gw.close();
  });

  test('HTTP: invalid bodies get a 4xx {"error"}; valid ones round-trip', async () => {
    await fc.assert(
      fc.asyncProperty(anyBody, async (body) => {
        const res = await fetch(`${gw.httpUrl}/v2/models/simple/infer`, {
          method: 'POST',
          body,
          headers: { 'content-type': 'application/json' },
        });
        const json = (await res.json()) as Record<string, unknown>;
        if (res.status === 200) return;
        assert.ok(res.status >= 400 && res.status < 500, `${res.status} for ${body.slice(0, 200)}`);
        assert.deepEqual(Object.keys(json), ['error']);
        assert.equal(typeof json.error, 'string');
      }),
      { seed: SEED, numRuns: 300 },
    );
    await fc.assert(
      fc.asyncProperty(rows, async (data) => {
        const res = await fetch(`${gw.httpUrl}/v2/models/simple/infer`, {
          method: 'POST',
          body: JSON.stringify({ inputs: [{ name: 'INPUT0', datatype: 'FP32', shape: [data.length, 4], data }] }),
        });
        assert.equal(res.status, 200);
        const out = ((await res.json()) as { outputs: { data: number[]; shape: number[] }[] }).outputs[0]!;
        assert.deepEqual(out.shape, [data.length, 4]);
        assert.deepEqual(out.data, data.flat());
      }),
      { seed: SEED, numRuns: 100 },
    );
  });

  test('gRPC: invalid messages get INVALID_ARGUMENT-class codes, never INTERNAL; valid raw ones round-trip', async () => {
    const serverFault = new Set([
      grpc.status.INTERNAL,
      grpc.status.UNKNOWN,
      grpc.status.UNAVAILABLE,
      grpc.status.DATA_LOSS,
    ]);
    await fc.assert(
      fc.asyncProperty(
        fc.oneof(
          fc.uint8Array({ maxLength: 512 }).map((b) => Buffer.concat([pbField(1, 'text'), Buffer.from(b)])),
          fc
            .tuple(fc.array(fc.integer({ min: 0, max: 2 ** 40 }), { maxLength: 6 }), fc.uint8Array({ maxLength: 256 }))
            .map(([shape, c]) =>
              modelInferMessage('text', { name: 'TEXT', datatype: 'BYTES', shape, contents: Buffer.from(c) }),
            ),
        ),
        async (message) => {
          const r = await rawModelInfer(gw.grpcAddress!, message, 20_000);
          assert.ok(!serverFault.has(r.code), `code ${r.code}: ${r.details}`);
          if (r.code !== grpc.status.OK) assert.ok(r.details.length > 0);
        },
      ),
      { seed: SEED, numRuns: 300 },
    );
    await fc.assert(
      fc.asyncProperty(rows, async (data) => {
        const raw = Buffer.from(new Float32Array(data.flat()).buffer);
        const r = await rawModelInfer(
          gw.grpcAddress!,
          modelInferMessage('simple', { name: 'INPUT0', datatype: 'FP32', shape: [data.length, 4] }, raw),
          20_000,
        );
        assert.equal(r.code, grpc.status.OK, r.details);
        // The response's raw_output_contents (field 6) carry the same bytes.
        assert.ok(r.response!.includes(raw), 'the output bytes are the input bytes');
      }),
      { seed: SEED, numRuns: 100 },
    );
  });
});
