// A bounded soak: 2,000 requests, 4 at a time, over real loopback HTTP and
// gRPC to one gateway, mixing valid requests with issue 11's hostile ones
// scaled down (amplification bodies past the decode-worker threshold, zero
// dimensions, a deep shape, a long model name, a too-large JSON response).
// Every request is answered within its own timeout, valid ones with 200,
// hostile ones with the expected 4xx; nothing is a 5xx; memory stays flat.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as grpc from '@grpc/grpc-js';
import { pino } from 'pino';
import {
  binaryEmptyElements,
  deepShapeBody,
  emptyBytesContents,
  hostileBackend,
  jsonEmptyObjects,
  modelInferMessage,
  rawModelInfer,
  rssMb,
} from '../../testing/hostile.js';
import { startGateway } from './gateway.js';

const MiB = 1024 * 1024;
const TOTAL = 2000;
const CONCURRENCY = 4;
const PER_REQUEST_MS = 30_000;
/** Requests before the memory baseline is taken: allocator pools and decode-worker start-up reach their working size. */
const WARMUP = 400;
/**
 * RSS after the soak may exceed the warm-up's peak RSS by at most this (the gateway and the test client share
 * the process). The peak of samples every 50 requests over the warm-up's second half, not one sample: one sample
 * lands before or after a collection by chance, which moved the baseline by 40 MiB between runs.
 */
const RSS_BOUND_MB = 64;

interface Kind {
  name: string;
  /** Out of 100. */
  weight: number;
  /** Resolves with the HTTP status (gRPC codes are mapped: OK 200, INVALID_ARGUMENT 400, other 500). */
  send(): Promise<number>;
  expect: number;
}

test('soak: 2,000 mixed valid and hostile requests at concurrency 4: all answered, no 5xx, flat memory', async (t) => {
  const backend = hostileBackend();
  // A small JSON response limit, so a "huge response" costs milliseconds here.
  const gw = await startGateway({
    backend,
    httpPort: 0,
    grpcPort: 0,
    logger: pino({ level: 'silent' }),
    limits: { maxJsonResponseBytes: 4 * MiB },
  });
  const url = (m: string) => `${gw.httpUrl}/v2/models/${m}/infer`;
  const post = async (
    u: string,
    body: string | Buffer,
    headers: Record<string, string> = { 'content-type': 'application/json' },
  ) => {
    const res = await fetch(u, {
      method: 'POST',
      body: typeof body === 'string' ? body : new Uint8Array(body),
      headers,
      signal: AbortSignal.timeout(PER_REQUEST_MS),
    });
    await res.arrayBuffer();
    return res.status;
  };
  const grpcStatus = async (message: Buffer) => {
    const r = await rawModelInfer(gw.grpcAddress!, message, PER_REQUEST_MS);
    return r.code === grpc.status.OK
      ? 200
      : r.code === grpc.status.INVALID_ARGUMENT
        ? 400
        : r.code === grpc.status.DEADLINE_EXCEEDED
          ? 504
          : 500;
  };

  const simple = JSON.stringify({
    inputs: [{ name: 'INPUT0', datatype: 'FP32', shape: [2, 4], data: [1, 2, 3, 4, 5, 6, 7, 8] }],
  });
  const recX = Buffer.alloc(3 * 48 * 320 * 4);
  const recHead = (binaryOut: boolean) =>
    Buffer.from(
      JSON.stringify({
        inputs: [
          { name: 'x', datatype: 'FP32', shape: [1, 3, 48, 320], parameters: { binary_data_size: recX.length } },
        ],
        parameters: { binary_data_output: binaryOut },
      }),
    );
  const recBinary = recHead(true);
  const recJson = recHead(false);
  const binHeaders = (h: Buffer) => ({
    'content-type': 'application/octet-stream',
    'inference-header-content-length': String(h.length),
  });
  const flood = jsonEmptyObjects(2 * MiB);
  const zeroElems = binaryEmptyElements(2 * MiB);
  const grpcFlood = modelInferMessage('text', {
    name: 'TEXT',
    datatype: 'BYTES',
    shape: [1],
    contents: emptyBytesContents(2 * MiB),
  });
  const grpcValid = modelInferMessage(
    'simple',
    { name: 'INPUT0', datatype: 'FP32', shape: [1, 4] },
    Buffer.from(new Float32Array([1, 2, 3, 4]).buffer),
  );
  const deep = deepShapeBody(100_000);

  const kinds: Kind[] = [
    { name: 'valid JSON', weight: 40, expect: 200, send: () => post(url('simple'), simple) },
    {
      name: 'valid rec, binary output',
      weight: 10,
      expect: 200,
      send: () => post(url('rec'), Buffer.concat([recBinary, recX]), binHeaders(recBinary)),
    },
    { name: 'valid gRPC raw', weight: 20, expect: 200, send: () => grpcStatus(grpcValid) },
    {
      name: 'huge JSON response',
      weight: 3,
      expect: 400,
      send: () => post(url('rec'), Buffer.concat([recJson, recX]), binHeaders(recJson)),
    },
    {
      name: 'zero dimension',
      weight: 8,
      expect: 400,
      send: () =>
        post(
          url('rec'),
          JSON.stringify({ inputs: [{ name: 'x', datatype: 'FP32', shape: [0, 3, 48, 320], data: [] }] }),
        ),
    },
    { name: 'deep shape', weight: 5, expect: 400, send: () => post(url('simple'), deep) },
    { name: 'long model name', weight: 5, expect: 414, send: () => post(url('m'.repeat(600)), simple) },
    { name: '{} flood (2 MiB)', weight: 3, expect: 400, send: () => post(url('text'), flood) },
    {
      name: 'zero-length BYTES (2 MiB)',
      weight: 3,
      expect: 400,
      send: () => post(url('text'), zeroElems.body, zeroElems.headers),
    },
    { name: 'gRPC bytes_contents flood (2 MiB)', weight: 3, expect: 400, send: () => grpcStatus(grpcFlood) },
  ];
  assert.equal(
    kinds.reduce((a, k) => a + k.weight, 0),
    100,
  );
  // A fixed interleaving: request i is of the kind its slot in 0..99 falls in.
  const schedule: Kind[] = [];
  for (const k of kinds) for (let i = 0; i < k.weight; i++) schedule.push(k);
  const kindOf = (i: number) => schedule[(i * 37) % 100]!;

  let before = 0;
  const spent = new Map<string, number>();
  const seen = new Map<string, Map<number, number>>();
  const failures: string[] = [];
  let next = 0;
  let answered = 0;
  const worker = async () => {
    while (next < TOTAL) {
      if (next >= WARMUP / 2 && next <= WARMUP && next % 50 === 0) before = Math.max(before, rssMb());
      const k = kindOf(next++);
      let status: number;
      const t0 = Date.now();
      try {
        status = await k.send();
        spent.set(k.name, (spent.get(k.name) ?? 0) + Date.now() - t0);
      } catch (e) {
        failures.push(`${k.name}: no answer (${(e as Error).message})`);
        continue;
      }
      answered++;
      const byStatus = seen.get(k.name) ?? new Map<number, number>();
      byStatus.set(status, (byStatus.get(status) ?? 0) + 1);
      seen.set(k.name, byStatus);
      if (status !== k.expect) failures.push(`${k.name}: ${status}, expected ${k.expect}`);
    }
  };
  const started = Date.now();
  await Promise.all(Array.from({ length: CONCURRENCY }, worker));
  const health = await fetch(`${gw.httpUrl}/v2/health/ready`);
  const afterMb = rssMb();
  await gw.close();

  t.diagnostic(
    `${TOTAL} requests in ${Date.now() - started} ms; RSS peak over the warm-up ${before.toFixed(0)} MiB, after all ${afterMb.toFixed(0)} MiB`,
  );
  for (const [k, m] of seen)
    t.diagnostic(`${k}: ${[...m].map(([s, n]) => `${n}x ${s}`).join(', ')}, ${spent.get(k)} ms in all`);
  assert.deepEqual(failures.slice(0, 10), []);
  assert.equal(answered, TOTAL);
  assert.equal(health.status, 200, 'still ready');
  assert.ok(afterMb - before < RSS_BOUND_MB, `RSS grew ${(afterMb - before).toFixed(0)} MiB (bound ${RSS_BOUND_MB})`);
});
