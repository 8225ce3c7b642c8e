// The device scheduler on the fake clock: lanes run at once, one lane runs
// one thing at a time, a model that fits no lane waits (and is never started
// out of memory), realtime goes first, and each policy orders as it says.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createFakeClock } from './clock.js';
import type { DevicePolicy } from './device-policy.js';
import { type DeviceRun, type LaneScheduler, createLaneScheduler } from './lanes-scheduler.js';

const model = (persistentBytes: number, ephemeralBytes: number, batchable = true) => ({
  persistentBytes,
  ephemeralBytes,
  batchable,
});

function setup(
  policy: DevicePolicy,
  capacity = 1000,
  extra: { weights?: Record<string, number>; agingRate?: number } = {},
) {
  const clock = createFakeClock();
  const s = createLaneScheduler({ capacity, policy, maxBatchRows: 8, ...extra });
  return { clock, s };
}

const submit = (
  s: LaneScheduler,
  now: number,
  key: string,
  o: { priority?: 'realtime' | 'besteffort'; rows?: number; group?: string; tenant?: string } = {},
) =>
  s.enqueue(
    { key, priority: o.priority ?? 'besteffort', rows: o.rows ?? 1, group: o.group ?? 'g', tenant: o.tenant },
    now,
  );

const keysOf = (runs: DeviceRun[]) => runs.map((r) => r.key);

test('pack: models in different lanes start at once; fifo runs one at a time in arrival order', () => {
  for (const policy of ['pack', 'fifo'] as const) {
    const { clock, s } = setup(policy);
    s.addModel('a', model(100, 300));
    s.addModel('b', model(100, 300));
    submit(s, clock.now(), 'a');
    clock.advance(1);
    submit(s, clock.now(), 'b');
    const d = s.next(clock.now());
    if (policy === 'pack') {
      assert.deepEqual(keysOf(d.start), ['a', 'b']);
      assert.notEqual(d.start[0]!.lane, d.start[1]!.lane, 'two lanes');
      assert.equal(d.start[1]!.concurrent, 2);
      assert.equal(s.snapshot().peakConcurrent, 2);
      assert.equal(s.snapshot().freeBytes, 1000 - 200 - 600);
    } else {
      assert.deepEqual(keysOf(d.start), ['a'], 'fifo: the device runs one job at a time');
      clock.advance(10);
      s.complete(d.start[0]!, 10);
      assert.deepEqual(keysOf(s.next(clock.now()).start), ['b']);
      assert.equal(s.snapshot().peakConcurrent, 1);
    }
  }
});

test('a model that fits no lane waits until a lane frees; it is never started beyond C', () => {
  const { clock, s } = setup('pack');
  s.addModel('a', model(200, 500));
  s.addModel('b', model(200, 400)); // 400 + 500 lanes would need 1300 > 1000
  submit(s, 0, 'a');
  submit(s, 0, 'b');
  const first = s.next(0);
  assert.deepEqual(keysOf(first.start), ['a']);
  assert.equal(first.rejected.length, 0);
  // b cannot get a new lane (100 free < 400) and a's lane (500 >= 400) is busy: it is assigned there and waits.
  assert.deepEqual(
    s.snapshot().lanes.map((l) => [l.size, l.models.join()]),
    [[500, 'a,b']],
  );
  assert.deepEqual(s.next(1).start, [], 'b waits while a runs in their lane');
  clock.advance(50);
  s.complete(first.start[0]!, 50);
  const second = s.next(clock.now());
  assert.deepEqual(keysOf(second.start), ['b']);
  assert.ok(s.snapshot().persistentBytes + s.snapshot().lanes.reduce((n, l) => n + l.size, 0) <= 1000);
});

test('a model whose E can never fit beside the resident models is refused at once, not left waiting', () => {
  const { s } = setup('pack');
  s.addModel('a', model(600, 100));
  s.addModel('huge', model(100, 301));
  submit(s, 0, 'huge');
  submit(s, 0, 'huge');
  const d = s.next(0);
  assert.equal(d.start.length, 0);
  assert.equal(d.rejected.length, 2);
  assert.equal(d.rejected[0]!.error.code, 'ERR_RESOURCE_EXHAUSTED');
  assert.match(
    d.rejected[0]!.error.message,
    /needs a lane of 301 ephemeral bytes but at most 300 of the device's 1000/,
  );
  assert.equal(s.snapshot().queued, 0);
});

test('a lane runs one model at a time; a lane that grows keeps the safety condition', () => {
  const { clock, s } = setup('pack', 1000);
  s.addModel('a', model(100, 400));
  s.addModel('b', model(100, 350));
  s.addModel('c', model(100, 450));
  submit(s, 0, 'a');
  submit(s, 1, 'b');
  const d = s.next(1);
  assert.deepEqual(keysOf(d.start), ['a']);
  // 700 - 400 = 300 free < 350: b joins a's lane (400 >= 350) and waits for it.
  assert.deepEqual(
    s.snapshot().lanes.map((l) => l.models.join()),
    ['a,b'],
  );
  clock.advance(5);
  s.complete(d.start[0]!, 5);
  assert.deepEqual(keysOf(s.next(clock.now()).start), ['b']);
  // c (450): free is 1000 - 300 - 400 = 300; no lane >= 450; a's lane grows 400 -> 450 (+50 <= 300).
  submit(s, clock.now(), 'c');
  s.next(clock.now());
  assert.deepEqual(
    s.snapshot().lanes.map((l) => [l.size, l.models.join()]),
    [[450, 'b,c']],
  );
  assert.ok(s.snapshot().freeBytes >= 0);
});

test('realtime ahead of besteffort: no besteffort run starts while realtime work is queued or running', () => {
  const { clock, s } = setup('pack');
  s.addModel('be', model(100, 100));
  s.addModel('rt', model(100, 100));
  submit(s, 0, 'be');
  const r1 = s.next(0).start;
  assert.deepEqual(keysOf(r1), ['be']);
  submit(s, 1, 'be');
  submit(s, 2, 'rt', { priority: 'realtime' });
  const r2 = s.next(2).start;
  assert.deepEqual(keysOf(r2), ['rt'], 'realtime starts beside the running besteffort run; the queued one waits');
  clock.advance(10);
  s.complete(r1[0]!, 10);
  assert.deepEqual(s.next(clock.now()).start, [], 'besteffort waits while realtime runs');
  s.complete(r2[0]!, 8);
  assert.deepEqual(keysOf(s.next(clock.now()).start), ['be']);
});

test('within one model, realtime requests run first and batches hold one class and one group', () => {
  const { s } = setup('fifo');
  s.addModel('m', model(100, 100));
  const a = submit(s, 0, 'm', { rows: 2 });
  const rt1 = submit(s, 1, 'm', { priority: 'realtime', rows: 3 });
  const rt2 = submit(s, 2, 'm', { priority: 'realtime', rows: 3, group: 'other' });
  const rt3 = submit(s, 3, 'm', { priority: 'realtime', rows: 4 });
  const rt4 = submit(s, 4, 'm', { priority: 'realtime', rows: 2 });
  const run = s.next(5).start[0]!;
  // rt1 (3) + rt3 (4) = 7 rows of group g; rt4 (2) would pass 8; rt2 is another group; a is besteffort.
  assert.deepEqual(
    run.requests.map((r) => r.id),
    [rt1.id, rt3.id],
  );
  assert.equal(run.rows, 7);
  s.complete(run, 1);
  assert.deepEqual(
    s.next(6).start[0]!.requests.map((r) => r.id),
    [rt2.id],
  );
  void a;
  void rt4;
});

test('a model that is not batchable runs one request per run', () => {
  const { s } = setup('pack');
  s.addModel('m', model(10, 10, false));
  submit(s, 0, 'm');
  submit(s, 0, 'm');
  assert.equal(s.next(0).start[0]!.requests.length, 1);
});

test('srtf: the shortest measured model goes first, and a long wait ages the long one to the front', () => {
  const learned = () => {
    const s = createLaneScheduler({ capacity: 1000, policy: 'srtf', maxBatchRows: 8, agingRate: 0.5 });
    s.addModel('slow', model(100, 800));
    s.addModel('fast', model(100, 800)); // one lane at a time (100 + 100 + 800 = 1000): the order is visible
    // Measured run times: slow 100 ms, fast 10 ms.
    for (const [k, ms] of [
      ['slow', 100],
      ['fast', 10],
    ] as const) {
      submit(s, 0, k);
      s.complete(s.next(0).start[0]!, ms);
    }
    return s;
  };
  const s1 = learned();
  submit(s1, 100, 'slow');
  submit(s1, 101, 'fast');
  assert.deepEqual(keysOf(s1.next(101).start), ['fast'], 'fast came later but is shorter');
  assert.equal(s1.predictMs('slow', 1), 100);
  const s2 = learned();
  // slow waited 400 ms: 100 - 0.5 * 400 = -100 < 10 - 0.5 * 1.
  submit(s2, 0, 'slow');
  submit(s2, 399, 'fast');
  assert.deepEqual(keysOf(s2.next(400).start), ['slow']);
});

test('fair: device time per tenant converges to the weights over a backlog', () => {
  const { s } = setup('fair', 1000, { weights: { gold: 3 } });
  s.addModel('g', model(100, 800, false));
  s.addModel('b', model(100, 800, false)); // one lane's worth: runs are serialized, so the order is the share
  let now = 0;
  for (let i = 0; i < 200; i++) {
    submit(s, now, 'g', { tenant: 'gold' });
    submit(s, now, 'b', { tenant: 'bronze' });
  }
  const served: Record<string, number> = { gold: 0, bronze: 0 };
  for (let i = 0; i < 160; i++) {
    const run = s.next(now).start[0]!;
    const ms = run.key === 'g' ? 10 : 20; // gold's runs are shorter: equal time is not equal counts
    served[run.requests[0]!.tenant] = served[run.requests[0]!.tenant]! + ms * run.requests.length;
    now += ms;
    s.complete(run, ms);
  }
  const share = served.gold! / (served.gold! + served.bronze!);
  assert.ok(Math.abs(share - 0.75) < 0.05, `gold's share of device time ${share.toFixed(3)}, weight says 0.75`);
});

test('fair: a tenant coming back after idling banks no credit', () => {
  const { s } = setup('fair', 1000);
  s.addModel('a', model(100, 800, false));
  s.addModel('b', model(100, 800, false));
  let now = 0;
  for (let i = 0; i < 20; i++) {
    submit(s, now, 'a');
    const run = s.next(now).start[0]!;
    now += 10;
    s.complete(run, 10);
  }
  // a used 200 ms alone; b arrives and starts level with it, so they alternate rather than b running 20 times.
  for (let i = 0; i < 6; i++) {
    submit(s, now, 'a');
    submit(s, now, 'b');
  }
  const order: string[] = [];
  for (let i = 0; i < 6; i++) {
    const run = s.next(now).start[0]!;
    order.push(run.key);
    now += 10;
    s.complete(run, 10);
  }
  assert.ok(order.filter((k) => k === 'a').length >= 2, `a still gets the device: ${order.join()}`);
});

test('a model ending a run while another waits for a lane gives its lane back: no one waits forever', () => {
  const { clock, s } = setup('pack', 1000);
  s.addModel('hog', model(100, 500));
  s.addModel('big', model(100, 700)); // never shares memory with hog's lane: 100 + 100 + 500 + 700 > 1000
  submit(s, 0, 'hog');
  const r = s.next(0).start[0]!;
  submit(s, 1, 'big');
  submit(s, 2, 'hog');
  assert.deepEqual(s.next(2).start, []);
  clock.advance(5);
  s.complete(r, 5);
  // hog has more queued, but big waited: hog's lane went, big's oldest request is first.
  assert.deepEqual(keysOf(s.next(clock.now()).start), ['big']);
});

test('a waiting model keeps later ones from opening lanes that would take its memory', () => {
  const { s } = setup('pack', 1000);
  s.addModel('a', model(0, 300));
  s.addModel('a2', model(0, 300));
  s.addModel('big', model(0, 750));
  s.addModel('small', model(0, 200));
  submit(s, 0, 'a');
  submit(s, 0, 'a2');
  assert.equal(s.next(0).start.length, 2);
  submit(s, 1, 'big');
  submit(s, 2, 'small');
  // big (older) fits no lane: 400 free, and growing a 300-byte lane to 750 needs 450. small would fit in the
  // 400 free but is held back, so that big is not starved by smaller models.
  assert.deepEqual(s.next(2).start, []);
  assert.deepEqual(
    s.snapshot().lanes.map((l) => l.models.join()),
    ['a', 'a2'],
  );
});

test('removing a model returns its queued requests; queued requests can be taken out', () => {
  const { s } = setup('pack');
  s.addModel('m', model(10, 10));
  const a = submit(s, 0, 'm');
  const b = submit(s, 0, 'm');
  assert.equal(s.remove(a.id), true);
  assert.equal(s.remove(a.id), false);
  assert.deepEqual(
    s.removeModel('m').map((r) => r.id),
    [b.id],
  );
  assert.equal(s.snapshot().persistentBytes, 0);
  assert.throws(
    () => submit(s, 0, 'm'),
    (e: Error & { code?: string }) => e.code === 'ERR_MODEL_NOT_FOUND',
  );
});

test('bad settings and requests are refused with the reason', () => {
  assert.throws(
    () => createLaneScheduler({ capacity: 10, policy: 'pack', maxBatchRows: 0 }),
    /maxBatchRows must be a positive integer/,
  );
  assert.throws(
    () => createLaneScheduler({ capacity: 10, policy: 'fair', maxBatchRows: 1, weights: { t: 0 } }),
    /weight of tenant 't' must be a positive number/,
  );
  const { s } = setup('pack', 100);
  s.addModel('m', model(10, 10));
  assert.throws(() => s.addModel('m', model(10, 10)), /already resident/);
  assert.throws(
    () => s.addModel('n', model(91, 0)),
    (e: Error & { code?: string }) => e.code === 'ERR_RESOURCE_EXHAUSTED',
  );
  assert.throws(() => submit(s, 0, 'm', { rows: 0 }), /at least one row/);
});

test("a function's own policy orders its requests among the model's requests with that policy; the executor's picks between groups", () => {
  const { clock, s } = setup('fifo');
  s.addModel('m', model(10, 10, false));
  // The profile learns: one row takes 5 ms, eight rows 40 ms.
  for (const [rows, ms] of [
    [1, 5],
    [8, 40],
  ] as const) {
    submit(s, clock.now(), 'm', { rows });
    const run = s.next(clock.now()).start[0]!;
    clock.advance(ms);
    s.complete(run, ms);
  }
  const order = (subs: { rows: number; policy?: DevicePolicy }[]) => {
    const ids = new Map<number, string>();
    subs.forEach((o, i) => {
      const r = s.enqueue(
        { key: 'm', priority: 'besteffort', rows: o.rows, group: 'g', policy: o.policy },
        clock.now(),
      );
      ids.set(r.id, String.fromCharCode(65 + i));
      clock.advance(1);
    });
    const out: string[] = [];
    for (let run = s.next(clock.now()).start[0]; run; run = s.next(clock.now()).start[0]) {
      out.push(ids.get(run.requests[0]!.id)!);
      clock.advance(1);
      s.complete(run, 1);
    }
    return out.join('');
  };
  assert.equal(order([{ rows: 8 }, { rows: 1 }]), 'AB', 'no policy of its own: the executor fifo, oldest first');
  assert.equal(
    order([
      { rows: 8, policy: 'srtf' },
      { rows: 1, policy: 'srtf' },
    ]),
    'BA',
    'srtf: the shorter run first',
  );
  assert.equal(
    order([{ rows: 8 }, { rows: 8, policy: 'srtf' }, { rows: 1, policy: 'srtf' }]),
    'ACB',
    "the srtf group's head (C) waits for the older request of the executor's order (A), then goes before its own B",
  );
  assert.equal(
    order([
      { rows: 8, policy: 'fifo' },
      { rows: 1, policy: 'fifo' },
    ]),
    'AB',
  );
});

test('realtimeLoad: realtime requests queued, the oldest one’s wait on the clock, and realtime runs on the device', () => {
  const { clock, s } = setup('pack');
  s.addModel('a', model(10, 10, false));
  s.addModel('b', model(10, 10, false));
  assert.deepEqual(s.realtimeLoad(clock.now()), {
    realtimeQueued: 0,
    realtimeOldestWaitMs: 0,
    realtimeRunning: 0,
    besteffortQueued: 0,
    besteffortOldestWaitMs: 0,
  });
  submit(s, clock.now(), 'a', { priority: 'realtime' });
  const run = s.next(clock.now()).start[0]!;
  clock.advance(3);
  submit(s, clock.now(), 'a', { priority: 'realtime' });
  clock.advance(4);
  submit(s, clock.now(), 'a', { priority: 'realtime' });
  submit(s, clock.now(), 'b', { priority: 'besteffort' });
  s.next(clock.now()); // b waits: realtime work is queued
  clock.advance(5);
  assert.deepEqual(s.realtimeLoad(clock.now()), {
    realtimeQueued: 2,
    realtimeOldestWaitMs: 9,
    realtimeRunning: 1,
    besteffortQueued: 1,
    besteffortOldestWaitMs: 5,
  });
  s.complete(run, 12);
  assert.equal(s.realtimeLoad(clock.now()).realtimeRunning, 0);
});
