// Issue 11's hostile requests, sent as they were found, over real loopback
// HTTP and gRPC to a real gateway: amplification bodies under the size limit,
// huge responses, slow uploads, zero and absurd dimensions, a 100,000-deep
// shape and a 600-character model name. Each is refused with a 4xx (or the
// protocol's equivalent) in the project's error shape before the memory it
// asks for is spent; health keeps answering and memory comes back.

import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import http2 from 'node:http2';
import net from 'node:net';
import * as grpc from '@grpc/grpc-js';
import { pino } from 'pino';
import {
  binaryEmptyElements,
  deepShapeBody,
  emptyBytesContents,
  heapMb,
  hostileBackend,
  jsonEmptyArrays,
  jsonEmptyObjects,
  modelInferMessage,
  pbField,
  probeHealth,
  rawModelInfer,
  rssMb,
} from '../../testing/hostile.js';
import { startGateway, type RunningGateway } from './gateway.js';

const MiB = 1024 * 1024;
const silent = pino({ level: 'silent' });

async function post(
  url: string,
  body: Buffer | string,
  headers: Record<string, string> = { 'content-type': 'application/json' },
) {
  const res = await fetch(url, {
    method: 'POST',
    body: typeof body === 'string' ? body : new Uint8Array(body),
    headers,
  });
  const buf = Buffer.from(await res.arrayBuffer());
  return {
    status: res.status,
    headers: res.headers,
    buf,
    json: () => JSON.parse(buf.toString()) as Record<string, unknown>,
  };
}

/** Asserts the project's one error shape: exactly `{"error": string}`, matching `re`. */
function assertError(
  r: { status: number; buf: Buffer; json: () => Record<string, unknown> },
  status: number,
  re: RegExp,
  what: string,
): void {
  assert.equal(r.status, status, `${what}: ${r.buf.subarray(0, 300).toString()}`);
  const body = r.json();
  assert.deepEqual(Object.keys(body), ['error'], `${what}: one error shape`);
  assert.match(String(body.error), re, what);
}

describe('hostile requests over loopback (issue 11)', () => {
  const backend = hostileBackend();
  let gw: RunningGateway;
  let base: string;

  before(async () => {
    gw = await startGateway({ backend, httpPort: 0, grpcPort: 0, logger: silent });
    base = gw.httpUrl;
  });
  after(async () => {
    await gw.close();
  });

  /**
   * Runs `send` while polling health; reports latencies and memory, asserts
   * health stayed 200 and the JS heap came back. (RSS is reported, not
   * asserted: client and gateway share this process, and the allocator keeps
   * the pages of 60 MiB bodies as it likes. Decoding 31 million entries is
   * what filled the heap; the bound is far below that.)
   */
  async function whileHealthy<T>(what: string, send: () => Promise<T>, t: { diagnostic(s: string): void }): Promise<T> {
    const rssBefore = rssMb();
    const heapBefore = heapMb();
    const probe = probeHealth(base);
    const out = await send();
    const { latencies, allOk } = await probe.stop();
    const heapAfter = heapMb();
    t.diagnostic(
      `${what}: ${latencies.length} health checks in flight, max ${Math.max(...latencies).toFixed(1)} ms; RSS ${rssBefore.toFixed(0)} -> ${rssMb().toFixed(0)} MiB; heap ${heapBefore.toFixed(0)} -> ${heapAfter.toFixed(0)} MiB`,
    );
    assert.ok(allOk, `${what}: health answered 200 throughout`);
    assert.ok(heapAfter - heapBefore < 32, `${what}: the JS heap grew ${(heapAfter - heapBefore).toFixed(0)} MiB`);
    return out;
  }

  test('gRPC: 60 MiB and 24 MiB ModelInfer of empty bytes_contents entries are refused before protobuf decodes them', async (t) => {
    for (const size of [60 * MiB, 24 * MiB]) {
      const entries = emptyBytesContents(size);
      for (const shape of [[1], [entries.length / 2]]) {
        const msg = modelInferMessage('text', { name: 'TEXT', datatype: 'BYTES', shape, contents: entries });
        const r = await whileHealthy(
          `gRPC ${msg.length >> 20} MiB, ${entries.length / 2} entries, shape [${shape}]`,
          () => rawModelInfer(gw.grpcAddress!, msg),
          t,
        );
        assert.equal(r.code, grpc.status.INVALID_ARGUMENT, r.details);
        assert.match(
          r.details,
          shape[0] === 1
            ? /input 'TEXT' has more than 1 typed contents elements, its shape \[1\] needs 1/
            : /more than 4194304 typed contents elements; send large tensors in raw_input_contents|more than 1048576 BYTES elements/,
        );
      }
    }
    assert.equal(backend.calls, 0);
  });

  test('gRPC: repeated inputs, unpacked shape entries and long names are counted before decoding', async () => {
    const many = Buffer.concat([
      Buffer.from([0x0a, 4]),
      Buffer.from('text'),
      Buffer.alloc(2 * 100_000, Buffer.from([0x2a, 0x00])),
    ]);
    const r1 = await rawModelInfer(gw.grpcAddress!, many);
    assert.equal(r1.code, grpc.status.INVALID_ARGUMENT);
    assert.match(r1.details, /ModelInfer request has more than 256 inputs/);
    const longName = modelInferMessage('m'.repeat(600), { name: 'TEXT', datatype: 'BYTES', shape: [1] });
    const r2 = await rawModelInfer(gw.grpcAddress!, longName);
    assert.equal(r2.code, grpc.status.INVALID_ARGUMENT);
    assert.match(r2.details, /model_name 'm{64}…' is longer than 512 bytes/);
    const garbage = await rawModelInfer(gw.grpcAddress!, Buffer.from([0x0a, 0xff, 0xff, 0xff]));
    assert.equal(garbage.code, grpc.status.INVALID_ARGUMENT);
    assert.match(garbage.details, /not a valid protobuf message/);
  });

  test('HTTP: 63 MiB of zero-length binary BYTES elements, {"x":[{},{},...]} and "data":[[],[],...] are refused while health answers', async (t) => {
    const bin = binaryEmptyElements(63 * MiB);
    assertError(
      await whileHealthy(
        'binary BYTES, shape [1]',
        () => post(`${base}/v2/models/text/infer`, bin.body, bin.headers),
        t,
      ),
      400,
      /input 'TEXT' has malformed BYTES data: expected 1 elements/,
      'binary [1]',
    );
    const binMany = binaryEmptyElements(63 * MiB, (63 * MiB) / 4);
    assertError(
      await whileHealthy(
        'binary BYTES, shape [16515072]',
        () => post(`${base}/v2/models/text/infer`, binMany.body, binMany.headers),
        t,
      ),
      400,
      /16515072 BYTES elements, more than the limit 1048576/,
      'binary [16M]',
    );
    const objects = jsonEmptyObjects(63 * MiB);
    const arrays = jsonEmptyArrays(63 * MiB);
    assertError(
      await whileHealthy('JSON {"x":[{},...]}', () => post(`${base}/v2/models/text/infer`, objects), t),
      400,
      /request JSON has more than 1048576 objects and arrays/,
      'objects',
    );
    assertError(
      await whileHealthy('JSON "data":[[],...]', () => post(`${base}/v2/models/text/infer`, arrays), t),
      400,
      /request JSON has more than 1048576 objects and arrays/,
      'arrays',
    );
    assert.equal(backend.calls, 0);
  });

  test('a large body is decoded off the event loop: health answers while its decode runs in a worker', async () => {
    // 4 million numbers (about 12 MiB of JSON): JSON.parse alone takes a while.
    const n = 4_000_000;
    const body = `{"inputs":[{"name":"INPUT0","datatype":"FP32","shape":[${n / 4},4],"data":[${'1,'.repeat(n - 1)}1]}],"parameters":{"binary_data_output":true}}`;
    let answeredWhileDecoding = 0;
    let running = true;
    const poll = (async () => {
      while (running) {
        const res = await fetch(`${base}/v2/health/ready`);
        await res.arrayBuffer();
        if (res.status === 200 && gw.decoding() > 0) answeredWhileDecoding++;
      }
    })();
    const r = await post(`${base}/v2/models/simple/infer`, body);
    running = false;
    await poll;
    assert.equal(r.status, 200, r.buf.subarray(0, 200).toString());
    assert.ok(answeredWhileDecoding > 0, 'a health check was answered while the body was being decoded');
  });

  test('huge responses: ppocr-rec shaped [1,3,48,20000] and [1,3,48,30000] get 400 naming the limit and the binary extension; binary output works', async (t) => {
    for (const width of [20000, 30000]) {
      const x = Buffer.alloc(3 * 48 * width * 4);
      const header = (binaryOut: boolean) =>
        Buffer.from(
          JSON.stringify({
            inputs: [
              { name: 'x', datatype: 'FP32', shape: [1, 3, 48, width], parameters: { binary_data_size: x.length } },
            ],
            ...(binaryOut ? { parameters: { binary_data_output: true } } : {}),
          }),
        );
      const h = header(false);
      const r = await whileHealthy(
        `rec width ${width}, JSON output`,
        () =>
          post(`${base}/v2/models/rec/infer`, Buffer.concat([h, x]), {
            'content-type': 'application/octet-stream',
            'inference-header-content-length': String(h.length),
          }),
        t,
      );
      assertError(
        r,
        400,
        /the JSON response would be larger than the 67108864-byte limit on JSON responses; ask for binary outputs with the binary tensor data extension \("parameters": \{"binary_data_output": true\}\)/,
        `width ${width}`,
      );
    }
    const width = 20000;
    const x = Buffer.alloc(3 * 48 * width * 4);
    const hb = Buffer.from(
      JSON.stringify({
        inputs: [{ name: 'x', datatype: 'FP32', shape: [1, 3, 48, width], parameters: { binary_data_size: x.length } }],
        parameters: { binary_data_output: true },
      }),
    );
    const ok = await post(`${base}/v2/models/rec/infer`, Buffer.concat([hb, x]), {
      'content-type': 'application/octet-stream',
      'inference-header-content-length': String(hb.length),
    });
    assert.equal(ok.status, 200);
    const hl = Number(ok.headers.get('inference-header-content-length'));
    assert.deepEqual(JSON.parse(ok.buf.subarray(0, hl).toString()).outputs[0].shape, [1, 2500, 6625]);
    assert.equal(ok.buf.length - hl, 2500 * 6625 * 4);
    // Over gRPC, typed contents are bounded the same way; raw contents are not.
    const fp32 = Buffer.alloc(3 * 48 * width * 4);
    const typedGw = await startGateway({
      backend,
      httpPort: 0,
      grpcPort: 0,
      logger: silent,
      limits: { maxJsonResponseBytes: 32 * MiB },
    });
    const typed = await rawModelInfer(
      typedGw.grpcAddress!,
      modelInferMessage('rec', { name: 'x', datatype: 'FP32', shape: [1, 3, 48, width], contents: pbField(6, fp32) }),
    );
    assert.equal(typed.code, grpc.status.INVALID_ARGUMENT);
    await typedGw.close();
    assert.match(
      typed.details,
      /typed contents \(at least 66250000 bytes\) would be larger than the 33554432-byte limit; send the request with raw_input_contents/,
    );
    const raw = await rawModelInfer(
      gw.grpcAddress!,
      modelInferMessage('rec', { name: 'x', datatype: 'FP32', shape: [1, 3, 48, width] }, fp32),
    );
    assert.equal(raw.code, grpc.status.OK, raw.details);
  });

  test("zero and absurd dimensions are 400s in the project's words and never reach the backend", async () => {
    const before = backend.calls;
    const cases: [number[], RegExp][] = [
      [
        [0, 3, 48, 320],
        /input 'x' has shape \[0, 3, 48, 320\]: dimension 0 is 0, so the tensor would be empty; every dimension must be at least 1/,
      ],
      [[0, 3, 48, 9007199254740991], /dimension 0 is 0, so the tensor would be empty/],
      [[1, 3, 48, 0], /input 'x' has shape \[1, 3, 48, 0\]: dimension 3 is 0/],
      [[1, 3, 48, 9007199254740991], /declares 1297036692682702600 elements, more than the limit 2147483647/],
    ];
    for (const [shape, re] of cases) {
      const r = await post(
        `${base}/v2/models/rec/infer`,
        JSON.stringify({ inputs: [{ name: 'x', datatype: 'FP32', shape, data: [] }] }),
      );
      assertError(r, 400, re, `HTTP [${shape}]`);
      const g = await rawModelInfer(
        gw.grpcAddress!,
        modelInferMessage('rec', { name: 'x', datatype: 'FP32', shape }, Buffer.alloc(0)),
      );
      assert.equal(g.code, grpc.status.INVALID_ARGUMENT, `gRPC [${shape}]`);
    }
    // Batch size 0 over the scheduler's path too: the gateway refuses it before any backend sees it.
    const zeroBatch = await post(
      `${base}/v2/models/simple/infer`,
      JSON.stringify({ inputs: [{ name: 'INPUT0', datatype: 'FP32', shape: [0, 4], data: [] }] }),
    );
    assertError(zeroBatch, 400, /input 'INPUT0' has shape \[0, 4\]: dimension 0 is 0/, 'batch 0');
    assert.equal(backend.calls, before);
  });

  test('a 100,000-deep nested shape is a 400, not a stack overflow', async () => {
    assertError(
      await post(`${base}/v2/models/simple/infer`, deepShapeBody(100_000)),
      400,
      /request JSON is nested more than 64 levels deep/,
      'deep shape',
    );
    // Under the nesting limit, the message describes the shape without walking it.
    assertError(
      await post(`${base}/v2/models/simple/infer`, deepShapeBody(50)),
      400,
      /input 'INPUT0' has an invalid shape \[\[…\]\]: dimensions must be non-negative integers/,
      'nested shape',
    );
  });

  test('every framework error has the one error shape: 414 for a 600-character model name, 404, bad URLs, 413', async () => {
    const long = 'm'.repeat(600);
    assertError(
      await post(`${base}/v2/models/${long}/infer`, '{}'),
      414,
      /a model name or version in the URL is longer than 512 characters/,
      '600-character name',
    );
    const get = async (p: string) => {
      const res = await fetch(`${base}${p}`);
      const buf = Buffer.from(await res.arrayBuffer());
      return { status: res.status, buf, json: () => JSON.parse(buf.toString()) as Record<string, unknown> };
    };
    assertError(await get(`/v2/models/${long}`), 414, /longer than 512 characters/, 'metadata, long name');
    assertError(await get('/v2/nothing'), 404, /no endpoint GET \/v2\/nothing/, '404');
    assertError(await get('/v2/models/%zz/ready'), 400, /malformed URL/, 'bad URL encoding');
    const small = await startGateway({ backend, httpPort: 0, grpcPort: false, logger: silent, maxBodyBytes: 1024 });
    try {
      assertError(
        await post(`${small.httpUrl}/v2/models/simple/infer`, 'x'.repeat(4096)),
        413,
        /request body is larger than the 1024-byte limit/,
        '413',
      );
    } finally {
      await small.close();
    }
  });

  test('slow uploads are cut off: HTTP gets 408 in the error shape, gRPC DEADLINE_EXCEEDED', async () => {
    const slow = await startGateway({ backend, httpPort: 0, grpcPort: 0, logger: silent, requestTimeoutMs: 1000 });
    try {
      // Content-Length 100000 sent a byte at a time: finishing would take hours.
      const answer = await new Promise<string>((resolve, reject) => {
        const sock = net.connect(slow.httpPort, '127.0.0.1');
        let got = '';
        let timer: NodeJS.Timeout | undefined;
        sock.on('connect', () => {
          sock.write(
            'POST /v2/models/simple/infer HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: 100000\r\n\r\n{',
          );
          timer = setInterval(() => sock.writable && sock.write(' '), 200);
        });
        sock.on('data', (d) => (got += d.toString()));
        sock.on('close', () => {
          clearInterval(timer);
          resolve(got);
        });
        sock.on('error', (e) =>
          (e as NodeJS.ErrnoException).code === 'ECONNRESET' || (e as NodeJS.ErrnoException).code === 'EPIPE'
            ? undefined
            : reject(e),
        );
      });
      assert.match(answer, /^HTTP\/1\.1 408 /);
      assert.deepEqual(JSON.parse(answer.slice(answer.indexOf('\r\n\r\n') + 4)), {
        error: 'request not received within 1000 ms (headers and body)',
      });

      // gRPC: a frame announcing 100000 bytes, then a byte at a time.
      const status = await new Promise<string | undefined>((resolve, reject) => {
        const session = http2.connect(`http://${slow.grpcAddress}`);
        session.on('error', reject);
        const stream = session.request({
          ':method': 'POST',
          ':path': '/inference.GRPCInferenceService/ModelInfer',
          'content-type': 'application/grpc',
          te: 'trailers',
        });
        const frame = Buffer.alloc(5);
        frame.writeUInt32BE(100000, 1);
        stream.write(frame);
        const timer = setInterval(() => !stream.destroyed && stream.write(Buffer.from([0x0a])), 200);
        const done = (h: http2.IncomingHttpHeaders) => {
          if (h['grpc-status'] === undefined) return;
          clearInterval(timer);
          stream.close();
          session.close();
          resolve(h['grpc-status'] as string);
        };
        stream.on('response', done);
        stream.on('trailers', done);
        stream.on('data', () => {});
        stream.on('error', () => {});
      });
      assert.equal(status, String(grpc.status.DEADLINE_EXCEEDED));
    } finally {
      await slow.close();
    }
  });
});
