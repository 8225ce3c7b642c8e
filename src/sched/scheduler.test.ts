import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createFakeClock } from './clock.js';
import { createScheduler } from './scheduler.js';
import { concatInputs, shapeKey, splitOutputs, type NamedTensors } from './tensor.js';
import { TensorshareError, isTensorshareError } from '../errors.js';

const flush = () => new Promise<void>((r) => setImmediate(r));

test('scheduler: every request resolves with its own rows of a batched run', async () => {
  const clock = createFakeClock();
  const batches: number[][] = [];
  const s = createScheduler<NamedTensors, NamedTensors>({
    policy: 'fifo',
    slots: 1,
    clock,
    functions: [{ name: 'affine', batching: { maxBatchSize: 8, maxQueueDelayMs: 5 } }],
    // The "model": y = 2x + 1 per element, label echoed, run after 3 ms.
    execute: async (_fn, requests) => {
      batches.push(requests.map((r) => r.items));
      const { inputs, sizes } = concatInputs(requests.map((r) => r.payload));
      await new Promise<void>((r) => clock.setTimeout(r, 3));
      assert.ok(inputs.x && inputs.label, 'the batch has both inputs');
      const x = inputs.x.data as Float32Array;
      const out: NamedTensors = {
        y: { datatype: 'FP32', shape: inputs.x.shape, data: x.map((v) => 2 * v + 1) },
        label: inputs.label,
      };
      return splitOutputs(out, sizes);
    },
  });
  const pending: Array<{ x: number[]; label: string[]; p: Promise<NamedTensors> }> = [];
  for (let i = 0; i < 12; i++) {
    const rows = 1 + (i % 3);
    const x = Array.from({ length: rows * 2 }, (_, k) => i * 100 + k);
    const label = Array.from({ length: rows }, (_, k) => `req${i}.${k}`);
    const payload: NamedTensors = {
      x: { datatype: 'FP32', shape: [rows, 2], data: new Float32Array(x) },
      label: { datatype: 'BYTES', shape: [rows], data: label },
    };
    pending.push({ x, label, p: s.submit({ fn: 'affine', payload, items: rows, shapeKey: shapeKey(payload) }) });
  }
  for (let t = 0; t < 20; t++) {
    clock.advance(1);
    await flush();
  }
  for (const { x, label, p } of pending) {
    const out = await p;
    assert.ok(out.y && out.label, 'each request gets both outputs');
    assert.deepEqual(
      [...(out.y.data as Float32Array)],
      x.map((v) => 2 * v + 1),
    );
    assert.deepEqual(out.label.data, label);
  }
  assert.ok(
    batches.length > 1 && batches.every((b) => b.reduce((a, c) => a + c, 0) <= 8),
    `batches ${JSON.stringify(batches)}`,
  );
  assert.equal(batches.flat().length, 12);
});

test('scheduler: waits for the batch delay, then runs one batch', async () => {
  const clock = createFakeClock();
  const calls: string[][] = [];
  const s = createScheduler<string, string>({
    policy: 'fifo',
    slots: 2,
    clock,
    functions: [{ name: 'm', batching: { maxBatchSize: 4, maxQueueDelayMs: 10 } }],
    execute: async (_fn, reqs) => {
      calls.push(reqs.map((r) => r.payload));
      return reqs.map((r) => r.payload.toUpperCase());
    },
  });
  const a = s.submit({ fn: 'm', payload: 'a' });
  clock.advance(4);
  const b = s.submit({ fn: 'm', payload: 'b' });
  await flush();
  assert.deepEqual(calls, []);
  clock.advance(6);
  await flush();
  assert.deepEqual(calls, [['a', 'b']]);
  assert.deepEqual(await Promise.all([a, b]), ['A', 'B']);
});

test('scheduler: with a free slot, a request long after the last one runs at once; a burst still batches', async () => {
  const clock = createFakeClock();
  const calls: { at: number; payloads: string[] }[] = [];
  const s = createScheduler<string, string>({
    policy: 'fifo',
    slots: 2,
    clock,
    functions: [{ name: 'm', batching: { maxBatchSize: 4, maxQueueDelayMs: 10 } }],
    execute: async (_fn, reqs) => {
      calls.push({ at: clock.now(), payloads: reqs.map((r) => r.payload) });
      return reqs.map((r) => r.payload);
    },
  });
  const first = s.submit({ fn: 'm', payload: 'first' });
  clock.advance(10);
  await flush();
  assert.deepEqual(await first, 'first');
  clock.advance(90);
  const lone = s.submit({ fn: 'm', payload: 'lone' });
  await flush();
  assert.deepEqual(calls.at(-1), { at: 100, payloads: ['lone'] }, 'dispatched in the turn it came, no delay');
  await lone;
  clock.advance(50);
  const a = s.submit({ fn: 'm', payload: 'a' });
  clock.advance(2);
  const b = s.submit({ fn: 'm', payload: 'b' });
  await flush();
  assert.deepEqual(calls.at(-1)!.payloads, ['a'], 'a came alone after a long gap: ran at once');
  assert.equal(calls.length, 3, 'b came 2 ms after a: it waits for company');
  clock.advance(10);
  await flush();
  assert.deepEqual(calls.at(-1), { at: 162, payloads: ['b'] });
  await Promise.all([a, b]);
});

test('scheduler: a request past its timeout is rejected with ERR_TIMEOUT and never executed', async () => {
  const clock = createFakeClock();
  const ran: string[] = [];
  const s = createScheduler<string, string>({
    policy: 'fifo',
    slots: 1,
    clock,
    functions: [{ name: 'm' }],
    execute: async (_fn, reqs) => {
      ran.push(...reqs.map((r) => r.payload));
      await new Promise<void>((r) => clock.setTimeout(r, 50));
      return reqs.map((r) => r.payload);
    },
  });
  const first = s.submit({ fn: 'm', payload: 'first' });
  const late = s.submit({ fn: 'm', payload: 'late', timeoutMs: 10 });
  const ok = s.submit({ fn: 'm', payload: 'ok', timeoutMs: 100 });
  late.catch(() => {});
  await flush();
  clock.advance(10);
  await assert.rejects(
    late,
    (e) => isTensorshareError(e, 'ERR_TIMEOUT') && /request \d+ to m waited 10 ms/.test(e.message),
  );
  clock.advance(40);
  await flush();
  assert.equal(await first, 'first');
  clock.advance(50);
  await flush();
  assert.equal(await ok, 'ok');
  assert.deepEqual(ran, ['first', 'ok']);
});

test('scheduler: queue-full, unknown function and destroyed scheduler are rejected with typed errors', async () => {
  const clock = createFakeClock();
  const s = createScheduler<string, string>({
    policy: 'priority',
    slots: 1,
    clock,
    functions: [{ name: 'm', maxQueueLength: 1 }],
    execute: () => new Promise(() => {}), // never finishes: the slot stays taken
  });
  const running = s.submit({ fn: 'm', payload: '1' });
  const queued = s.submit({ fn: 'm', payload: '2' });
  await assert.rejects(s.submit({ fn: 'm', payload: '3' }), (e) => isTensorshareError(e, 'ERR_OVERLOADED'));
  await assert.rejects(s.submit({ fn: 'x', payload: '' }), (e) => isTensorshareError(e, 'ERR_MODEL_NOT_FOUND'));
  s.destroy();
  await assert.rejects(queued, (e) => isTensorshareError(e, 'ERR_UNAVAILABLE'));
  await assert.rejects(s.submit({ fn: 'm', payload: '4' }), (e) => isTensorshareError(e, 'ERR_UNAVAILABLE'));
  void running;
  assert.equal(clock.pending(), 0);
});

test('scheduler: execute failures reject the whole batch; an Error element rejects only its request', async () => {
  const clock = createFakeClock();
  const s = createScheduler<string, string>({
    policy: 'fifo',
    slots: 1,
    clock,
    functions: [{ name: 'm', batching: { maxBatchSize: 3, maxQueueDelayMs: 1 } }, { name: 'bad' }, { name: 'short' }],
    execute: async (fn, reqs) => {
      if (fn === 'bad') throw new Error('instance crashed');
      if (fn === 'short') return [];
      return reqs.map((r) => (r.payload === 'boom' ? new Error(`bad input ${r.payload}`) : r.payload));
    },
  });
  const [pa, pBoom, pc] = ['a', 'boom', 'c'].map((payload) => s.submit({ fn: 'm', payload }));
  assert.ok(pa && pBoom && pc);
  const bad = s.submit({ fn: 'bad', payload: 'x' });
  const short = s.submit({ fn: 'short', payload: 'y' });
  bad.catch(() => {});
  short.catch(() => {});
  pBoom.catch(() => {});
  clock.advance(1);
  await flush();
  assert.equal(await pa, 'a');
  await assert.rejects(pBoom, /bad input boom/);
  assert.equal(await pc, 'c');
  await assert.rejects(bad, /instance crashed/);
  await assert.rejects(
    short,
    (e) => isTensorshareError(e, 'ERR_INTERNAL') && /returned 0 results for 1 requests/.test(e.message),
  );
  assert.equal(s.snapshot().inFlight, 0);
});

test('scheduler: measured service time feeds the AIMD cap', async () => {
  const clock = createFakeClock();
  const s = createScheduler<number, number>({
    policy: 'fifo',
    slots: 1,
    clock,
    functions: [{ name: 'm', batching: { maxBatchSize: 8, maxQueueDelayMs: 0 }, aimd: { sloMs: 10 } }],
    execute: async (_fn, reqs) => {
      await new Promise<void>((r) => clock.setTimeout(r, 4 * reqs.length)); // 4 ms per item
      return reqs.map((r) => r.payload);
    },
  });
  const all = Array.from({ length: 30 }, (_, i) => s.submit({ fn: 'm', payload: i }));
  for (let t = 0; t < 200; t++) {
    clock.advance(1);
    await flush();
  }
  assert.deepEqual(
    await Promise.all(all),
    Array.from({ length: 30 }, (_, i) => i),
  );
  // 2 items = 8 ms meets the 10 ms SLO, 3 items = 12 ms does not.
  assert.ok(s.cap('m') >= 2 && s.cap('m') <= 3, `cap ${s.cap('m')}`);
});

test('scheduler: close is graceful (queued requests still run, new ones are refused); destroy is not', async () => {
  const clock = createFakeClock();
  const ran: string[] = [];
  const s = createScheduler<string, string>({
    policy: 'fifo',
    slots: 1,
    clock,
    functions: [{ name: 'm' }],
    execute: async (_fn, reqs) => {
      ran.push(...reqs.map((r) => r.payload));
      await new Promise<void>((r) => clock.setTimeout(r, 10));
      return reqs.map((r) => r.payload);
    },
  });
  const a = s.submit({ fn: 'm', payload: 'a' });
  const b = s.submit({ fn: 'm', payload: 'b' });
  let closed = false;
  const closing = s.close().then(() => {
    closed = true;
  });
  await assert.rejects(
    s.submit({ fn: 'm', payload: 'late' }),
    (e) => isTensorshareError(e, 'ERR_UNAVAILABLE') && /scheduler is closed/.test(e.message),
  );
  clock.advance(10);
  await flush();
  assert.equal(await a, 'a');
  assert.equal(closed, false, 'b is still queued or running');
  clock.advance(10);
  await flush();
  assert.equal(await b, 'b');
  await closing;
  assert.deepEqual(ran, ['a', 'b']);
  assert.equal(clock.pending(), 0);
});

test('scheduler: zero concurrency holds the queue; an aborted caller leaves it; rejectQueued fails what waits', async () => {
  const clock = createFakeClock();
  const ran: string[] = [];
  const s = createScheduler<string, string>({
    policy: 'fifo',
    slots: 4,
    clock,
    functions: [{ name: 'm', maxConcurrency: 0 }],
    execute: async (_fn, reqs) => {
      ran.push(...reqs.map((r) => r.payload));
      return reqs.map((r) => r.payload);
    },
  });
  const ac = new AbortController();
  const gone = s.submit({ fn: 'm', payload: 'gone', id: 'g' }, { signal: ac.signal });
  const kept = s.submit({ fn: 'm', payload: 'kept' });
  await flush();
  assert.deepEqual(ran, [], 'no slot: nothing runs');
  ac.abort();
  await assert.rejects(
    gone,
    (e) =>
      isTensorshareError(e, 'ERR_UNAVAILABLE') &&
      e.details.cancelled === true &&
      /request g to function 'm' was cancelled by its caller before it ran/.test(e.message),
  );
  assert.equal(s.snapshot().functions[0]!.queued, 1, 'the aborted request left the queue at once');
  s.setConcurrency('m', 1);
  assert.equal(await kept, 'kept');
  assert.deepEqual(ran, ['kept']);
  s.setConcurrency('m', 0);
  const stuck = s.submit({ fn: 'm', payload: 'stuck' });
  s.rejectQueued('m', new TensorshareError('ERR_RESOURCE_EXHAUSTED', 'no room for an instance of m'));
  await assert.rejects(stuck, (e) => isTensorshareError(e, 'ERR_RESOURCE_EXHAUSTED'));
  assert.equal(s.snapshot().functions[0]!.queued, 0);
  assert.deepEqual(ran, ['kept']);
});
