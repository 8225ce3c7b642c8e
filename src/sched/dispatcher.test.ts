import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  createDispatcher,
  type Batch,
  type Dispatcher,
  type DispatcherConfig,
  type FunctionConfig,
  type Request,
} from './dispatcher.js';
import { isTensorshareError } from '../errors.js';

type D = Dispatcher<string>;

function make(config: Partial<DispatcherConfig> & Pick<DispatcherConfig, 'policy'>, fns: FunctionConfig[]): D {
  const d = createDispatcher<string>({ slots: 1, ...config });
  for (const f of fns) d.register(f);
  return d;
}

/** Takes every batch due now; returns the payloads per batch. */
function drain(d: D, now: number): string[][] {
  const out: string[][] = [];
  for (let b = d.next(now).batch; b; b = d.next(now).batch) out.push(b.requests.map((r) => r.payload));
  return out;
}

/** Runs batches one slot at a time to completion in order, returning dispatch order. */
function runAll(d: D, now = 0): string[] {
  const order: string[] = [];
  for (let b = d.next(now).batch; b; b = d.next(now).batch) {
    order.push(...b.requests.map((r) => r.payload));
    d.complete(b, 1);
  }
  return order;
}

/** The first request of a batch; every batch has at least one. */
function head(b: Batch<string>): Request<string> {
  const [r] = b.requests;
  assert.ok(r, `batch ${b.id} of ${b.fn} has no requests`);
  return r;
}

/**
 * Event-driven simulation: batches run for service(batch) ms on the free
 * slots; refill(now) tops the queues up. Returns service time per tenant
 * (split by items) and dispatch log.
 */
function simulate(
  d: D,
  opts: {
    until: number;
    service: (b: Batch<string>) => number;
    refill: (now: number) => void;
    nextArrival?: (now: number) => number;
  },
) {
  const running: Array<{ b: Batch<string>; end: number }> = [];
  const cpu = new Map<string, number>();
  const log: Array<{ at: number; b: Batch<string> }> = [];
  let now = 0;
  while (now < opts.until) {
    opts.refill(now);
    let dec = d.next(now);
    for (; dec.batch; dec = d.next(now)) {
      const ms = opts.service(dec.batch);
      running.push({ b: dec.batch, end: now + ms });
      log.push({ at: now, b: dec.batch });
    }
    const nextEnd = Math.min(...running.map((r) => r.end));
    now = Math.min(nextEnd, dec.wakeAt ?? Infinity, opts.nextArrival?.(now) ?? Infinity);
    assert.ok(Number.isFinite(now), 'simulation stalled');
    for (const r of running.filter((x) => x.end <= now)) {
      running.splice(running.indexOf(r), 1);
      const ms = opts.service(r.b);
      d.complete(r.b, ms);
      for (const q of r.b.requests) cpu.set(q.tenant, (cpu.get(q.tenant) ?? 0) + (ms * q.items) / r.b.items);
    }
  }
  return { cpu, log };
}

const solo = (name: string, extra: Partial<FunctionConfig> = {}): FunctionConfig => ({ name, ...extra });
const batched = (
  name: string,
  maxBatchSize: number,
  maxQueueDelayMs = 0,
  extra: Partial<FunctionConfig> = {},
): FunctionConfig => ({ name, batching: { maxBatchSize, maxQueueDelayMs }, ...extra });

test('fifo: batches leave in arrival order across functions', () => {
  const d = make({ policy: 'fifo' }, [solo('a'), solo('b')]);
  d.enqueue({ fn: 'a', payload: 'a1' }, 0);
  d.enqueue({ fn: 'b', payload: 'b1' }, 1);
  d.enqueue({ fn: 'a', payload: 'a2' }, 2);
  d.enqueue({ fn: 'b', payload: 'b2', priority: 'realtime' }, 3);
  assert.deepEqual(runAll(d, 3), ['a1', 'b1', 'a2', 'b2'], 'priority classes are ignored under fifo');
});

test('fifo: one slot means one batch at a time; completion frees it', () => {
  const d = make({ policy: 'fifo', slots: 1 }, [batched('m', 4)]);
  for (const p of ['1', '2', '3', '4', '5']) d.enqueue({ fn: 'm', payload: p }, 0);
  const first = d.next(0);
  assert.deepEqual(
    first.batch?.requests.map((r) => r.payload),
    ['1', '2', '3', '4'],
  );
  assert.equal(d.next(0).batch, null, 'slot busy');
  d.complete(first.batch!, 5);
  assert.deepEqual(drain(d, 5), [['5']]);
  assert.throws(() => d.complete(first.batch!, 5), /not running/);
});

test('priority: a queued realtime request goes before queued besteffort work', () => {
  const d = make({ policy: 'priority' }, [solo('x'), solo('y')]);
  d.enqueue({ fn: 'x', payload: 'be1' }, 0);
  d.enqueue({ fn: 'x', payload: 'be2' }, 1);
  d.enqueue({ fn: 'y', payload: 'rt1', priority: 'realtime' }, 2);
  d.enqueue({ fn: 'x', payload: 'rt2', priority: 'realtime' }, 3);
  assert.deepEqual(runAll(d, 3), ['rt1', 'rt2', 'be1', 'be2']);
});

test('priority: realtime waits at most for the batch in flight', () => {
  const d = make({ policy: 'priority', slots: 1 }, [solo('x'), solo('y')]);
  d.enqueue({ fn: 'x', payload: 'be1' }, 0);
  d.enqueue({ fn: 'x', payload: 'be2' }, 0);
  const running = d.next(0).batch!;
  assert.equal(head(running).payload, 'be1');
  d.enqueue({ fn: 'y', payload: 'rt', priority: 'realtime' }, 1);
  assert.equal(d.next(1).batch, null);
  d.complete(running, 5);
  assert.equal(d.next(5).batch?.requests[0]?.payload, 'rt');
});

test('priority: no besteffort work starts while realtime is queued, even if it waits for its batch delay', () => {
  const d = make({ policy: 'priority', slots: 2 }, [batched('rtfn', 8, 5), solo('befn')]);
  d.enqueue({ fn: 'befn', payload: 'be' }, 0);
  d.enqueue({ fn: 'rtfn', payload: 'rt', priority: 'realtime' }, 0);
  const dec = d.next(0);
  assert.equal(dec.batch, null);
  assert.equal(dec.wakeAt, 5);
  assert.deepEqual(drain(d, 5), [['rt'], ['be']]);
});

test('priority reserve: while realtime keeps arriving, besteffort leaves a run free; after the window it may take it', () => {
  const d = make({ policy: 'priority', slots: 4, priorityReserve: { runs: 1, windowMs: 100 } }, [
    solo('m', { maxConcurrency: 2 }),
    solo('other', { maxConcurrency: 1 }),
  ]);
  d.enqueue({ fn: 'm', payload: 'rt', priority: 'realtime' }, 0);
  const rt = d.next(0).batch!;
  d.complete(rt, 5);
  for (const p of ['be1', 'be2']) d.enqueue({ fn: 'm', payload: p }, 10);
  d.enqueue({ fn: 'other', payload: 'be3' }, 10);
  const first = d.next(10);
  assert.equal(first.batch?.requests[0]?.payload, 'be1');
  const second = d.next(10);
  assert.equal(second.batch?.requests[0]?.payload, 'be3', 'another function has no realtime traffic: no reserve');
  const held = d.next(10);
  assert.equal(held.batch, null, 'be2 would take the last run of m');
  assert.equal(held.wakeAt, 100, 'look again when the window since the last realtime arrival ends');
  d.enqueue({ fn: 'm', payload: 'rt2', priority: 'realtime' }, 20);
  const rt2 = d.next(20).batch!;
  assert.equal(head(rt2).payload, 'rt2', 'realtime gets the reserved run at once');
  d.complete(rt2, 5);
  assert.equal(d.next(119).batch, null);
  assert.equal(
    d.next(121).batch?.requests[0]?.payload,
    'be2',
    'no realtime for a window: besteffort may use every run',
  );
});

test('priority reserve: a function with one run still serves besteffort', () => {
  const d = make({ policy: 'priority', slots: 1, priorityReserve: { runs: 1 } }, [solo('m', { maxConcurrency: 1 })]);
  d.enqueue({ fn: 'm', payload: 'rt', priority: 'realtime' }, 0);
  d.complete(d.next(0).batch!, 1);
  d.enqueue({ fn: 'm', payload: 'be' }, 2);
  assert.equal(d.next(2).batch?.requests[0]?.payload, 'be');
  assert.throws(
    () => make({ policy: 'priority', priorityReserve: { runs: -1 } }, []),
    /priority reserve must be an integer >= 0/,
  );
});

test('priority: a batch holds one class; realtime ones go first', () => {
  const d = make({ policy: 'priority', slots: 1 }, [batched('m', 8)]);
  d.enqueue({ fn: 'm', payload: 'be1' }, 0);
  d.enqueue({ fn: 'm', payload: 'rt1', priority: 'realtime' }, 0);
  d.enqueue({ fn: 'm', payload: 'be2' }, 0);
  d.enqueue({ fn: 'm', payload: 'rt2', priority: 'realtime' }, 0);
  const b1 = d.next(0).batch!;
  assert.deepEqual(
    b1.requests.map((r) => r.payload),
    ['rt1', 'rt2'],
  );
  d.complete(b1, 1);
  assert.deepEqual(drain(d, 1), [['be1', 'be2']]);
});

test('priority: besteffort is not starved when realtime work comes and goes', () => {
  const d = make({ policy: 'priority', slots: 1 }, [solo('m')]);
  for (let i = 0; i < 10; i++) d.enqueue({ fn: 'm', payload: `be${i}` }, 0);
  // A realtime request every 30 ms, each run takes 10 ms: besteffort runs in the gaps.
  const { log } = simulate(d, {
    until: 300,
    service: () => 10,
    refill: (now) => {
      if (now % 30 === 0) d.enqueue({ fn: 'm', payload: `rt@${now}`, priority: 'realtime' }, now);
    },
    nextArrival: (now) => (Math.floor(now / 30) + 1) * 30,
  });
  const be = log.filter((e) => head(e.b).priority === 'besteffort');
  assert.equal(be.length, 10, 'all besteffort requests ran');
  const rt = log.filter((e) => head(e.b).priority === 'realtime');
  for (const e of rt) assert.ok(e.at - head(e.b).enqueuedAt <= 10, `realtime waited ${e.at - head(e.b).enqueuedAt} ms`);
});

for (const slots of [1, 3]) {
  test(`fair: two saturating tenants with equal weights get CPU shares within 10% (slots=${slots})`, () => {
    // Tenant a's function takes 10 ms per request, tenant b's 30 ms: fair by
    // CPU time means a runs ~3x as many requests.
    const d = make({ policy: 'fair', slots, fair: { quantumMs: 10 } }, [solo('fa'), solo('fb')]);
    const { cpu, log } = simulate(d, {
      until: 30_000,
      service: (b) => (b.fn === 'fa' ? 10 : 30),
      refill: (now) => {
        for (const [fn, t] of [
          ['fa', 'a'],
          ['fb', 'b'],
        ] as const) {
          while ((d.snapshot().tenants.find((x) => x.tenant === t)?.queued ?? 0) < 5)
            d.enqueue({ fn, tenant: t, payload: t }, now);
        }
      },
    });
    const a = cpu.get('a')!;
    const b = cpu.get('b')!;
    assert.ok(Math.abs(a - b) / Math.max(a, b) < 0.1, `cpu a=${a} b=${b}`);
    const runs = (t: string) => log.filter((e) => head(e.b).tenant === t).length;
    assert.ok(runs('a') > 2.5 * runs('b'), `runs a=${runs('a')} b=${runs('b')}`);
  });
}

test('fair: weights 2:1 give CPU shares 2:1 (within 10%), batched function shared by both tenants', () => {
  const d = make({ policy: 'fair', slots: 2, fair: { weights: { gold: 2, bronze: 1 } } }, [batched('m', 4, 0)]);
  const { cpu } = simulate(d, {
    until: 20_000,
    service: (b) => 4 + 2 * b.items,
    refill: (now) => {
      for (const t of ['gold', 'bronze']) {
        while ((d.snapshot().tenants.find((x) => x.tenant === t)?.queued ?? 0) < 8)
          d.enqueue({ fn: 'm', tenant: t, payload: t }, now);
      }
    },
  });
  const ratio = cpu.get('gold')! / cpu.get('bronze')!;
  assert.ok(Math.abs(ratio - 2) / 2 < 0.1, `gold/bronze = ${ratio}`);
});

test('fair: an idle tenant does not bank credit, a lone tenant is served without delay', () => {
  const d = make({ policy: 'fair', slots: 1 }, [solo('m')]);
  d.enqueue({ fn: 'm', tenant: 'a', payload: 'a1' }, 0);
  const b = d.next(0).batch!;
  d.complete(b, 500); // far more than a quantum: a is in debt
  d.enqueue({ fn: 'm', tenant: 'a', payload: 'a2' }, 500);
  assert.equal(d.next(500).batch?.requests[0]?.payload, 'a2', 'alone, debt does not idle the slot');
});

test('srtf: the shortest predicted batch goes first', () => {
  const d = make({ policy: 'srtf', srtf: { agingRate: 0.5 } }, [
    solo('long', { expectedServiceMs: 50 }),
    solo('short', { expectedServiceMs: 5 }),
  ]);
  d.enqueue({ fn: 'long', payload: 'L' }, 0);
  d.enqueue({ fn: 'short', payload: 'S' }, 1);
  assert.deepEqual(runAll(d, 1), ['S', 'L']);
});

test('srtf: the online profile replaces the prior', () => {
  // Both start at the same prior; measurements show "b" is fast.
  const d = make({ policy: 'srtf', srtf: { agingRate: 0 } }, [solo('a'), solo('b')]);
  d.enqueue({ fn: 'a', payload: 'a0' }, 0);
  d.enqueue({ fn: 'b', payload: 'b0' }, 0);
  const b1 = d.next(0).batch!;
  d.complete(b1, b1.fn === 'a' ? 40 : 2);
  const b2 = d.next(0).batch!;
  d.complete(b2, b2.fn === 'a' ? 40 : 2);
  d.enqueue({ fn: 'a', payload: 'a1' }, 1);
  d.enqueue({ fn: 'b', payload: 'b1' }, 2);
  assert.deepEqual(runAll(d, 2), ['b1', 'a1']);
});

test('srtf: aging prevents starvation of a long job under a stream of short ones', () => {
  const startedAt = (agingRate: number) => {
    const d = make({ policy: 'srtf', slots: 1, srtf: { agingRate } }, [
      solo('long', { expectedServiceMs: 50 }),
      solo('short', { expectedServiceMs: 5 }),
    ]);
    d.enqueue({ fn: 'long', payload: 'L' }, 0);
    let n = 0;
    const { log } = simulate(d, {
      until: 1000,
      service: (b) => (b.fn === 'long' ? 50 : 5),
      refill: (now) => {
        while (d.snapshot().functions.find((f) => f.fn === 'short')!.queued < 2)
          d.enqueue({ fn: 'short', payload: `s${n++}` }, now);
      },
    });
    return log.find((e) => e.b.fn === 'long')?.at;
  };
  assert.equal(startedAt(0), undefined, 'without aging the long job starves');
  const at = startedAt(0.5)!;
  // Scores: long 50 - 0.5*t, newest short 5 - 0.5*(wait <= 10): long wins once t >~ 100.
  assert.ok(at !== undefined && at <= 110, `long job started at ${at}`);
});

test('timeouts: a request past its deadline is reported expired and never run', () => {
  const d = make({ policy: 'fifo', slots: 1 }, [solo('m', { defaultTimeoutMs: 100 })]);
  d.enqueue({ fn: 'm', payload: 'first' }, 0);
  const running = d.next(0).batch!;
  d.enqueue({ fn: 'm', payload: 'short-timeout', timeoutMs: 5 }, 1);
  d.enqueue({ fn: 'm', payload: 'default-timeout' }, 1);
  const busy = d.next(2);
  assert.equal(busy.batch, null);
  assert.equal(busy.wakeAt, 6, 'wakes at the deadline to reject promptly, even with no free slot');
  assert.deepEqual(
    d.next(6).expired.map((r) => r.payload),
    ['short-timeout'],
  );
  d.complete(running, 10);
  const dec = d.next(10);
  assert.deepEqual(
    dec.batch?.requests.map((r) => r.payload),
    ['default-timeout'],
  );
  d.complete(dec.batch!, 1);
  d.enqueue({ fn: 'm', payload: 'late' }, 20);
  const late = d.next(120);
  assert.equal(late.batch, null);
  assert.deepEqual(
    late.expired.map((r) => r.payload),
    ['late'],
  );
});

test('queue limit: a full function queue refuses with ERR_OVERLOADED; expired requests make room', () => {
  const d = make({ policy: 'fifo', slots: 1 }, [solo('m', { maxQueueLength: 2 }), solo('other')]);
  d.enqueue({ fn: 'm', payload: '1', timeoutMs: 10 }, 0);
  d.enqueue({ fn: 'm', payload: '2' }, 0);
  // A slot is taken by other work so the queue stays full.
  d.enqueue({ fn: 'other', payload: 'o' }, 0);
  assert.throws(
    () => d.enqueue({ fn: 'm', payload: '3' }, 1),
    (e) =>
      isTensorshareError(e, 'ERR_OVERLOADED') &&
      /function 'm' is overloaded: 2 requests already queued \(maxQueueLength 2\)/.test(e.message),
  );
  d.enqueue({ fn: 'other', payload: 'o2' }, 1);
  d.enqueue({ fn: 'm', payload: '4' }, 10); // '1' expired at 10: room for '4'
  assert.deepEqual(
    d.next(10).expired.map((r) => r.payload),
    ['1'],
  );
});

test('queue limit per class: a full besteffort queue never refuses a realtime request', () => {
  const d = make({ policy: 'priority', slots: 1 }, [solo('m', { maxQueueLength: 2 }), solo('other')]);
  d.enqueue({ fn: 'other', payload: 'o' }, 0);
  assert.equal(d.next(0).batch?.fn, 'other'); // the one slot is busy: everything below stays queued
  d.enqueue({ fn: 'm', payload: 'b1', priority: 'besteffort' }, 0);
  d.enqueue({ fn: 'm', payload: 'b2', priority: 'besteffort' }, 0);
  assert.throws(
    () => d.enqueue({ fn: 'm', payload: 'b3', priority: 'besteffort' }, 1),
    (e) =>
      isTensorshareError(e, 'ERR_OVERLOADED') &&
      e.details.priority === 'besteffort' &&
      /2 requests already queued \(maxQueueLength 2\) in its besteffort queue/.test(e.message),
  );
  d.enqueue({ fn: 'm', payload: 'r1', priority: 'realtime' }, 1);
  d.enqueue({ fn: 'm', payload: 'r2', priority: 'realtime' }, 1);
  assert.throws(
    () => d.enqueue({ fn: 'm', payload: 'r3', priority: 'realtime' }, 1),
    (e) => isTensorshareError(e, 'ERR_OVERLOADED') && e.details.priority === 'realtime',
  );
  assert.deepEqual(d.snapshot().functions.find((f) => f.fn === 'm')?.queuedByClass, { realtime: 2, besteffort: 2 });
});

test('queue limit per class: maxQueueLengthByClass overrides one class; dispatch frees its room', () => {
  const d = make({ policy: 'priority', slots: 1 }, [
    solo('m', { maxQueueLength: 3, maxQueueLengthByClass: { besteffort: 1 } }),
  ]);
  d.enqueue({ fn: 'm', payload: 'b1', priority: 'besteffort' }, 0);
  assert.throws(
    () => d.enqueue({ fn: 'm', payload: 'b2', priority: 'besteffort' }, 0),
    (e) => isTensorshareError(e, 'ERR_OVERLOADED') && e.details.maxQueueLength === 1,
  );
  for (const k of [1, 2, 3]) d.enqueue({ fn: 'm', payload: `r${k}`, priority: 'realtime' }, 0);
  const first = d.next(0).batch!;
  assert.equal(first.requests[0]?.payload, 'r1');
  d.enqueue({ fn: 'm', payload: 'r4', priority: 'realtime' }, 0); // r1 left the queue: room again
  d.complete(first, 1);
  assert.deepEqual(runAll(d), ['r2', 'r3', 'r4', 'b1']);
  d.enqueue({ fn: 'm', payload: 'b3', priority: 'besteffort' }, 1);
});

test('queue limit per class: bad per-class limits are refused naming the field', () => {
  const d = createDispatcher<string>({ policy: 'priority', slots: 1 });
  assert.throws(
    () => d.register({ name: 'm', maxQueueLengthByClass: { besteffort: 0 } }),
    (e) =>
      isTensorshareError(e, 'ERR_INVALID_ARGUMENT') && /m: maxQueueLengthByClass.besteffort must be/.test(e.message),
  );
  assert.throws(
    () => d.register({ name: 'm', maxQueueLengthByClass: { urgent: 2 } as never }),
    (e) => isTensorshareError(e, 'ERR_INVALID_ARGUMENT') && /unknown priority class 'urgent'/.test(e.message),
  );
});

test('enqueue refuses unknown functions and oversize requests', () => {
  const d = make({ policy: 'fifo' }, [batched('m', 4)]);
  assert.throws(
    () => d.enqueue({ fn: 'nope', payload: '' }, 0),
    (e) => isTensorshareError(e, 'ERR_MODEL_NOT_FOUND'),
  );
  assert.throws(
    () => d.enqueue({ fn: 'm', payload: '', items: 5 }, 0),
    (e) => isTensorshareError(e, 'ERR_INVALID_ARGUMENT'),
  );
  assert.throws(() => d.enqueue({ fn: 'm', payload: '', timeoutMs: 0 }, 0), /timeoutMs/);
  assert.throws(
    () => createDispatcher({ policy: 'lottery' as never, slots: 1 }),
    /unknown scheduling policy "lottery"/,
  );
});

test('batching in the dispatcher: shape keys split batches, max delay wakes, unbatchable functions run alone', () => {
  const d = make({ policy: 'fifo', slots: 4 }, [batched('bert', 8, 10), solo('resnet')]);
  d.enqueue({ fn: 'bert', payload: 'q128a', shapeKey: 'seq128' }, 0);
  d.enqueue({ fn: 'bert', payload: 'q64', shapeKey: 'seq64' }, 1);
  d.enqueue({ fn: 'bert', payload: 'q128b', shapeKey: 'seq128' }, 2);
  d.enqueue({ fn: 'resnet', payload: 'r1' }, 3);
  d.enqueue({ fn: 'resnet', payload: 'r2' }, 3);
  const dec = d.next(3);
  assert.deepEqual(
    dec.batch?.requests.map((r) => r.payload),
    ['r1'],
  );
  assert.deepEqual(drain(d, 3), [['r2']]);
  assert.equal(d.next(3).wakeAt, 10);
  assert.deepEqual(drain(d, 10), [['q128a', 'q128b']]);
  assert.equal(d.next(10).wakeAt, 11);
  assert.deepEqual(drain(d, 11), [['q64']]);
});

test('AIMD in the dispatcher: the cap grows under the SLO and shrinks above it; exposed via cap()', () => {
  const d = make({ policy: 'fifo', slots: 1 }, [batched('m', 16, 0, { aimd: { sloMs: 20, step: 2 } })]);
  assert.equal(d.cap('m'), 1);
  const sizes: number[] = [];
  for (let i = 0; i < 100; i++) d.enqueue({ fn: 'm', payload: String(i) }, 0);
  for (let i = 0; i < 5; i++) {
    const b = d.next(0).batch!;
    sizes.push(b.items);
    d.complete(b, 10);
  }
  assert.deepEqual(sizes, [1, 3, 5, 7, 9]);
  assert.equal(d.cap('m'), 11);
  const b = d.next(0).batch!;
  d.complete(b, 30);
  assert.equal(d.cap('m'), 9);
  assert.equal(d.snapshot().functions[0]?.cap, 9);
  // Light load: batches below the cap meet the SLO but do not raise it.
  const light = make({ policy: 'fifo', slots: 1 }, [batched('m', 16, 0, { aimd: { sloMs: 20, initial: 4 } })]);
  for (let i = 0; i < 3; i++) {
    light.enqueue({ fn: 'm', payload: 'x' }, i);
    light.complete(light.next(i).batch!, 1);
  }
  assert.equal(light.cap('m'), 4);
});

test('per-function concurrency limits batches in flight for that function only', () => {
  const d = make({ policy: 'fifo', slots: 4 }, [solo('a', { maxConcurrency: 1 }), solo('b')]);
  for (const p of ['a1', 'a2', 'b1', 'b2']) d.enqueue({ fn: p.charAt(0), payload: p }, 0);
  assert.deepEqual(drain(d, 0), [['a1'], ['b1'], ['b2']]);
  d.setConcurrency('a', 2);
  assert.deepEqual(drain(d, 0), [['a2']]);
});

test('unregister returns queued requests', () => {
  const d = make({ policy: 'fair', slots: 1 }, [solo('a')]);
  d.enqueue({ fn: 'a', tenant: 't', payload: 'x' }, 0);
  assert.deepEqual(
    d.unregister('a').map((r) => r.payload),
    ['x'],
  );
  assert.deepEqual(
    d.snapshot().tenants.map((t) => t.queued),
    [0],
  );
  assert.deepEqual(d.next(0), { batch: null, expired: [], wakeAt: null });
});
