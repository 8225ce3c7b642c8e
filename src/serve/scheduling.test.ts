// Scheduling in the serving path, end to end: a real server (startServer,
// daemon off) over loopback HTTP with a tiny batchable model, a model with a
// fixed batch dimension and a handler function. No timing assertions: the
// tests check what ran, in which order and in how many runs.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import path from 'node:path';
import { Writable } from 'node:stream';
import { pino } from 'pino';
import { startServer, type RunningServer } from './server.js';
import type { RuntimeEvent } from './runtime.js';
import { tempRoots, type TempRoots } from '../testing/tmp.js';
import { testEnv } from '../testing/env.js';
import { writeFunction } from '../testing/functions.js';
import { until } from '../testing/until.js';
import { writeChain } from '../testing/models.js';

const WIDTH = 8;

/** No model: y = 2x; `seq` counts the runs of this instance (the order they started in); `sleepMs` waits first. */
const ORDER_HANDLER = `
export const metadata = {
  inputs: [{ name: 'x', datatype: 'FP32', shape: [-1] }],
  outputs: [{ name: 'y', datatype: 'FP32', shape: [-1] }, { name: 'seq', datatype: 'INT32', shape: [1] }, { name: 'threads', datatype: 'INT32', shape: [1] }],
};
let seq = 0;
export async function handle(request, ctx) {
  const n = ++seq;
  const p = request.parameters ?? {};
  if (p.sleepMs) await new Promise((r) => setTimeout(r, p.sleepMs));
  const x = request.inputs.find((t) => t.name === 'x').data;
  return { outputs: [
    { name: 'y', datatype: 'FP32', shape: [x.length], data: Float32Array.from(x, (v) => v * 2) },
    { name: 'seq', datatype: 'INT32', shape: [1], data: Int32Array.of(n) },
    { name: 'threads', datatype: 'INT32', shape: [1], data: Int32Array.of(ctx.config.intraOpThreads) },
  ] };
}
`;

interface Answer {
  status: number;
  retryAfter: string | null;
  body: { id?: string; outputs?: { name: string; shape: number[]; data: number[] }[]; error?: string };
}

describe('scheduling through the gateway', () => {
  let roots: TempRoots;
  let server: RunningServer;
  let url: string;
  const logs: { msg: string; function?: string }[] = [];
  const runs = new Map<string, number>();

  before(async () => {
    roots = await tempRoots('ts-sched-serve');
    const functions = path.join(roots.dir, 'functions');
    const chainDir = await writeFunction(functions, 'chain', {
      modelFile: 'chain.onnx',
      minInstances: 1,
      maxInstances: 1,
      batching: { maxBatchSize: 16, maxQueueDelayMs: 50 },
    });
    await writeChain(chainDir, 'chain', { width: WIDTH, layers: 2, seed: 7 });
    const fixedDir = await writeFunction(functions, 'fixed', {
      modelFile: 'fixed.onnx',
      minInstances: 1,
      maxInstances: 1,
      batching: { maxBatchSize: 16, maxQueueDelayMs: 50 },
    });
    await writeChain(fixedDir, 'fixed', { width: WIDTH, layers: 2, seed: 7, batch: 1 });
    await writeFunction(
      functions,
      'ordered',
      { minInstances: 1, maxInstances: 1, batching: { maxBatchSize: 8 } },
      ORDER_HANDLER,
    );
    const sink = new Writable({
      write(chunk, _enc, done) {
        for (const line of String(chunk).split('\n').filter(Boolean)) logs.push(JSON.parse(line));
        done();
      },
    });
    server = await startServer({
      functionsDir: functions,
      repository: roots.repository,
      store: roots.store,
      httpPort: 0,
      grpcPort: false,
      daemon: 'off',
      pollIntervalMs: 0,
      env: testEnv(),
      policy: 'priority',
      cores: 8,
      logger: pino({ level: 'info' }, sink),
    });
    url = server.gateway.httpUrl;
    server.runtime.subscribe((e: RuntimeEvent) => {
      if (e.type === 'request') runs.set(e.function, (runs.get(e.function) ?? 0) + 1);
    });
    await until(
      () => server.runtime.list().every((f) => f.instances.ready === 1),
      30_000,
      'one ready instance per function',
    );
  });

  after(async () => {
    await server?.close();
    await roots?.cleanup();
  });

  async function infer(
    fn: string,
    x: number[],
    parameters: Record<string, unknown> = {},
    id?: string,
    rows = 1,
  ): Promise<Answer> {
    const shape = fn === 'ordered' ? [x.length] : [rows, x.length / rows];
    const res = await fetch(`${url}/v2/models/${fn}/infer`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({
        ...(id ? { id } : {}),
        inputs: [{ name: 'x', datatype: 'FP32', shape, data: x }],
        parameters,
      }),
    });
    return {
      status: res.status,
      retryAfter: res.headers.get('retry-after'),
      body: (await res.json()) as Answer['body'],
    };
  }
  const out = (a: Answer, name: string) => a.body.outputs!.find((o) => o.name === name)!;
  const ranOf = (fn: string) => runs.get(fn) ?? 0;
  const queued = (fn: string) => server.scheduling.snapshot().functions.find((f) => f.fn === fn)?.queued ?? 0;
  const busy = (fn: string) => server.runtime.stats().functions.find((f) => f.name === fn)!.inflight === 1;

  test('concurrent requests are batched: each response holds its own rows, the runtime sees fewer, larger runs', async () => {
    const input = (k: number, rows: number) =>
      Array.from({ length: rows * WIDTH }, (_, j) => Math.sin(k * 31 + j) * (k + 1));
    const rowsOf = (k: number) => 1 + (k % 3); // 1..3 rows per request
    // Reference: each request alone, one at a time.
    const alone: number[][] = [];
    for (let k = 0; k < 24; k++)
      alone.push(out(await infer('chain', input(k, rowsOf(k)), {}, undefined, rowsOf(k)), 'y').data);
    const before = ranOf('chain');
    assert.equal(before, 24, 'one run per request when they come one at a time');
    const answers = await Promise.all(
      Array.from({ length: 24 }, (_, k) => infer('chain', input(k, rowsOf(k)), {}, `req-${k}`, rowsOf(k))),
    );
    answers.forEach((a, k) => {
      assert.equal(a.status, 200, JSON.stringify(a.body));
      assert.equal(a.body.id, `req-${k}`);
      const y = out(a, 'y');
      assert.deepEqual(y.shape, [rowsOf(k), WIDTH]);
      assert.equal(y.data.length, alone[k]!.length);
      y.data.forEach((v, j) => {
        assert.ok(
          Math.abs(v - alone[k]![j]!) <= 1e-4 * Math.max(1, Math.abs(v)),
          `request ${k} element ${j}: ${v} vs ${alone[k]![j]}`,
        );
      });
    });
    const batches = ranOf('chain') - before;
    assert.ok(batches < 24 && batches >= 3, `24 requests (48 rows, cap 16) ran in ${batches} runs`);
    const metrics = await (await fetch(`${url}/metrics`)).text();
    assert.match(metrics, /tensorshare_batch_cap\{function="chain"\} 16/);
    assert.match(metrics, /tensorshare_batch_size_count\{function="chain"\} \d+/);
    assert.match(
      metrics,
      /tensorshare_cold_starts_total\{function="chain"\} 1/,
      'instances started while the runtime deployed at start are counted',
    );
  });

  test('a function whose model has a fixed batch dimension, or a handler, is not batched', async () => {
    for (const fn of ['fixed', 'ordered']) {
      const before = ranOf(fn);
      const blocker = fn === 'ordered' ? infer(fn, [0], { sleepMs: 300 }) : undefined;
      if (blocker) await until(() => busy(fn), 5000, 'the blocker to run');
      const answers = await Promise.all(
        Array.from({ length: 8 }, (_, k) =>
          infer(
            fn,
            Array.from({ length: fn === 'ordered' ? 3 : WIDTH }, (_, j) => k + j),
          ),
        ),
      );
      for (const a of answers) assert.equal(a.status, 200, JSON.stringify(a.body));
      await blocker;
      assert.equal(ranOf(fn) - before, 8 + (blocker ? 1 : 0), `${fn}: one run per request`);
    }
    assert.equal(server.scheduling.plan('fixed')?.batched, false);
    assert.equal(server.scheduling.plan('chain')?.batched, true);
    assert.ok(
      logs.some(
        (l) =>
          l.function === 'fixed' &&
          /function fixed is not batched: not every input and output has a dynamic first/.test(l.msg),
      ),
      'log line for fixed',
    );
    assert.ok(
      logs.some((l) => l.function === 'ordered' && /function ordered is not batched: it has a handler/.test(l.msg)),
      'log line for ordered',
    );
  });

  test('a request still queued at its timeout is rejected (503, Retry-After) and never runs', async () => {
    const before = ranOf('ordered');
    const slow = infer('ordered', [1], { sleepMs: 600 });
    await until(() => busy('ordered'), 5000, 'the slow request to run');
    const [ms, us] = await Promise.all([
      infer('ordered', [2], { timeout_ms: 30 }),
      infer('ordered', [3], { timeout: 30_000 }),
    ]);
    for (const a of [ms, us]) {
      assert.equal(a.status, 503, JSON.stringify(a.body));
      assert.ok(a.retryAfter !== null, 'Retry-After is set');
      assert.match(a.body.error!, /waited \d+ ms in the queue, past its timeout of 30 ms; it was not run/);
    }
    assert.equal((await slow).status, 200);
    assert.equal(ranOf('ordered') - before, 1, 'only the slow request ran');
  });

  test('under the priority policy a realtime request overtakes queued besteffort ones', async () => {
    const blocker = infer('ordered', [0], { sleepMs: 400, priority: 'besteffort' });
    await until(() => busy('ordered'), 5000, 'the blocker to run');
    const be = [
      infer('ordered', [1], { priority: 'besteffort' }),
      infer('ordered', [2], { priority: 'besteffort' }),
    ] as const;
    await until(() => queued('ordered') === 2, 5000, 'two besteffort requests queued');
    const rt = infer('ordered', [3], { priority: 'realtime' });
    const [b, b1, b2, r] = await Promise.all([blocker, ...be, rt]);
    const seq = (a: Answer) => out(a, 'seq').data[0]!;
    assert.equal(seq(r), seq(b) + 1, 'realtime ran right after the running request');
    assert.ok(
      seq(r) < seq(b1) && seq(r) < seq(b2),
      `order: blocker ${seq(b)}, be ${seq(b1)}, ${seq(b2)}, rt ${seq(r)}`,
    );
    assert.deepEqual(out(r, 'y').data, [6]);
  });

  test('bad scheduling parameters are refused with 400 naming the parameter', async () => {
    const a = await infer('ordered', [1], { priority: 'urgent' });
    assert.equal(a.status, 400);
    assert.match(a.body.error!, /parameter 'priority' must be 'realtime' or 'besteffort', got "urgent"/);
    const t = await infer('ordered', [1], { tenant: 'other' });
    assert.equal(t.status, 400);
    assert.match(t.body.error!, /'tenant' is not accepted/);
  });
});
