import { test } from 'node:test';
import assert from 'node:assert/strict';
import { seededRandom } from '../prng.js';
import { isTensorshareError } from '../errors.js';
import { PROFILE_FORMAT, type MeasuredProfile, checkProfile, interpolateLatency } from './profile.js';
import { type Choice, choicesFor } from './instance.js';
import { planExact, planGreedy } from './fleet.js';
import { planFunctions, toPlanFile } from './plan.js';
import { parsePlanFile } from './plan-file.js';
import { gpuResponseTimes, planRealtime } from './realtime.js';

const MB = 1 << 20;

/** A synthetic profile shaped like a measured one: runs speed up sublinearly with threads, memory grows with batch. */
function profile(seed: string, threads = [1, 2, 4], batches = [1, 2, 4, 8, 16]): MeasuredProfile {
  const r = seededRandom(seed);
  const base = 2 + 8 * r();
  const perItem = 0.5 + 2 * r();
  return {
    format: PROFILE_FORMAT,
    model: seed,
    cpu: 'test cpu',
    sharedBytes: 100 * MB,
    points: threads.flatMap((t) =>
      batches.map((b) => ({
        threads: t,
        batch: b,
        latencyMs: (base + perItem * b) / t ** (0.6 + 0.2 * r()),
        memoryBytes: (20 + 4 * t + b * (1 + 3 * r())) * MB,
      })),
    ),
  };
}

/** Every combination, no pruning: the reference exact answer. */
function bruteForce(options: Choice[][], cores: number): number | null {
  let best: number | null = null;
  const visit = (i: number, mem: number, used: number) => {
    if (used > cores) return;
    if (i === options.length) {
      if (best === null || mem < best) best = mem;
      return;
    }
    for (const c of options[i]!) visit(i + 1, mem + c.memoryBytes, used + c.cores);
  };
  visit(0, 0, 0);
  return best;
}

test('plan: exact search equals brute force on small cases, and greedy is never better', () => {
  let coupled = 0;
  for (let k = 0; k < 30; k++) {
    const r = seededRandom(`case${k}`);
    const n = 1 + Math.floor(r() * 4);
    const cores = 2 + Math.floor(r() * 10);
    const options = Array.from({ length: n }, (_, i) =>
      choicesFor(profile(`f${k}.${i}`), { fn: `f${i}`, ratePerS: 20 + 400 * r(), sloMs: 15 + 60 * r() }, { cores }),
    );
    if (options.some((o) => o.length === 0)) continue;
    const exact = planExact(options, cores);
    const greedy = planGreedy(options, cores);
    const reference = bruteForce(options, cores);
    assert.equal(exact.complete, true);
    assert.equal(exact.plan?.memoryBytes ?? null, reference, `case ${k}`);
    if (exact.plan) {
      assert.ok(exact.plan.cores <= cores);
      if (greedy.plan) assert.ok(greedy.plan.memoryBytes >= exact.plan.memoryBytes - 1e-6, `case ${k}`);
    }
    if (options.reduce((a, o) => a + o[0]!.cores, 0) > cores) coupled++;
  }
  // The cases are not all trivial: in some the least-memory choices together exceed the cores.
  assert.ok(coupled >= 3, `only ${coupled} cases need the core coupling`);
});

test('plan: greedy can miss the optimum; exact does not, and the gap says by how much', () => {
  const c = (fn: string, memoryBytes: number, cores: number): Choice => ({
    fn,
    instances: cores,
    threads: 1,
    maxBatchSize: 1,
    cores,
    memoryBytes,
    boundMs: 1,
    serviceMs: 0.5,
    utilization: 0.5,
  });
  // Greedy frees cores at the cheapest rate per core (f1: 2 bytes for 2 cores) and overshoots;
  // freeing one core of f2 (1.5 bytes) was enough.
  const options = [
    [c('f1', 10, 3), c('f1', 12, 1)],
    [c('f2', 10, 2), c('f2', 11.5, 1)],
  ];
  const exact = planExact(options, 4);
  const greedy = planGreedy(options, 4);
  assert.equal(exact.plan?.memoryBytes, 21.5);
  assert.equal(greedy.plan?.memoryBytes, 22);
  assert.deepEqual(planExact(options, 1).plan, null);
});

test('plan: one function picks the least memory meeting the SLO and the rate', () => {
  const p = profile('single');
  const r = planFunctions([{ profile: p, demand: { fn: 'm', ratePerS: 300, sloMs: 40 } }], { cores: 4 });
  assert.equal(r.schedulable, true);
  const [c] = r.choices;
  assert.ok(c);
  assert.ok(c.boundMs <= 40 && c.utilization <= 0.7 && c.cores <= 4);
  // Nothing cheaper is feasible: check every measured point by hand.
  for (const q of p.points) {
    const n = Math.ceil(300 / (0.7 * ((q.batch * 1000) / q.latencyMs)) - 1e-9);
    const feasible = 2 * q.latencyMs <= 40 && n * q.threads <= 4;
    if (feasible) assert.ok(p.sharedBytes + n * q.memoryBytes >= c.memoryBytes);
  }
  assert.deepEqual(toPlanFile(r.choices).functions.m, {
    instances: c.instances,
    intraOpThreads: c.threads,
    maxBatchSize: c.maxBatchSize,
  });
});

test('plan: nothing schedulable says why (SLO below the fastest run; cores too few together)', () => {
  const p = profile('slow');
  const tight = planFunctions([{ profile: p, demand: { fn: 'm', ratePerS: 10, sloMs: 0.5 } }], { cores: 4 });
  assert.equal(tight.schedulable, false);
  assert.match(tight.reasons[0] ?? '', /m: no configuration meets the 0.5 ms SLO/);
  const crowded = planFunctions(
    Array.from({ length: 3 }, (_, i) => ({ profile: p, demand: { fn: `f${i}`, ratePerS: 400, sloMs: 60 } })),
    { cores: 4 },
  );
  if (crowded.choices.length === 0) assert.match(crowded.reasons.join('\n'), /cores/);
  else assert.ok((crowded.cores ?? 0) <= 4);
  const none = planFunctions(
    Array.from({ length: 6 }, (_, i) => ({ profile: p, demand: { fn: `f${i}`, ratePerS: 2000, sloMs: 60 } })),
    { cores: 2 },
  );
  assert.equal(none.schedulable, false);
  assert.ok(none.reasons.length > 0);
});

test('plan: the same input gives the same plan', () => {
  const inputs = Array.from({ length: 8 }, (_, i) => ({
    profile: profile(`d${i}`),
    demand: { fn: `f${i}`, ratePerS: 50 + 30 * i, sloMs: 50 },
  }));
  const a = planFunctions(inputs, { cores: 12 });
  const b = planFunctions(structuredClone(inputs), { cores: 12 });
  assert.deepEqual(a, b);
  assert.equal(a.schedulable, true);
  assert.ok(a.gap === null || a.gap >= 0);
});

test('plan: profiles and plan files are checked, naming the field', () => {
  assert.throws(
    () =>
      checkProfile(
        { format: PROFILE_FORMAT, model: 'm', cpu: 'c', sharedBytes: 0, points: [{ threads: 0 }] },
        'p.json',
      ),
    (e) => isTensorshareError(e, 'ERR_INVALID_ARGUMENT') && /p.json: points\[0\]/.test(e.message),
  );
  assert.throws(
    () =>
      parsePlanFile(
        { format: 'tensorshare.plan/v1', functions: { ocr: { instances: 2, intraOpThreads: 1.5, maxBatchSize: 4 } } },
        'plan.json',
      ),
    /plan.json: functions.ocr.intraOpThreads must be an integer >= 1, got 1.5/,
  );
  const p = profile('interp', [1], [2, 8]);
  const [a, b] = p.points;
  assert.equal(interpolateLatency(p, 1, 5), a!.latencyMs + ((b!.latencyMs - a!.latencyMs) * 3) / 6);
  assert.equal(interpolateLatency(p, 3, 5), undefined);
});

test('realtime: GPU response times follow non-preemptive deadline-monotonic analysis', () => {
  const fn = (name: string, periodMs: number, deadlineMs: number, gpuMs: number) => ({
    fn: name,
    periodMs,
    deadlineMs,
    gpuMs,
    cpuMs: new Map<number, number>(),
  });
  // a (highest priority): blocked by the longest lower run (c, 4) -> 4 + 2 = 6.
  // b: blocking 4, plus one run of a -> w = 4 + 2 = 6, R = 9. c: w = 2 + 3 = 5 (no blocking) -> R = 9.
  assert.deepEqual(gpuResponseTimes([fn('a', 20, 10, 2), fn('b', 30, 15, 3), fn('c', 40, 40, 4)]), [6, 9, 9]);
  // Over-utilized GPU: nothing meets its deadline.
  assert.deepEqual(gpuResponseTimes([fn('a', 2, 2, 1.5), fn('b', 2, 2, 1.5)]), [Infinity, Infinity]);
});

test('realtime: CPU or GPU and the core split minimize weighted response time; unschedulable says why', () => {
  const cpu = (entries: [number, number][]) => new Map(entries);
  const fns = [
    {
      fn: 'det',
      periodMs: 50,
      deadlineMs: 30,
      weight: 2,
      cpuMs: cpu([
        [1, 40],
        [2, 22],
        [4, 12],
      ]),
      gpuMs: 5,
    },
    {
      fn: 'rec',
      periodMs: 20,
      deadlineMs: 20,
      cpuMs: cpu([
        [1, 9],
        [2, 5],
        [4, 3],
      ]),
      gpuMs: 4,
    },
    { fn: 'vad', periodMs: 10, deadlineMs: 10, cpuMs: cpu([[1, 1]]) },
  ];
  const plan = planRealtime(fns, 4, 1);
  assert.equal(plan.schedulable, true);
  // Brute force the same objective over every placement to check optimality.
  let best = Infinity;
  const placements = fns.map((f) => [...[...f.cpuMs.keys()].map((c) => c), ...(f.gpuMs === undefined ? [] : [0])]);
  for (const a of placements[0]!)
    for (const b of placements[1]!)
      for (const v of placements[2]!) {
        const pick = [a, b, v];
        if (pick.reduce((x, c) => x + c, 0) > 4) continue;
        const onGpu = fns.filter((_, i) => pick[i] === 0);
        const gpuR = gpuResponseTimes(onGpu);
        const r = fns.map((f, i) => (pick[i] === 0 ? gpuR[onGpu.indexOf(f)]! : f.cpuMs.get(pick[i]!)!));
        if (r.some((x, i) => !(x <= fns[i]!.deadlineMs && (pick[i] === 0 || x <= fns[i]!.periodMs)))) continue;
        best = Math.min(
          best,
          r.reduce((x, y, i) => x + (fns[i]!.weight ?? 1) * y, 0),
        );
      }
  assert.equal(plan.weightedResponseMs, best);
  const byFn = Object.fromEntries(plan.assignments.map((a) => [a.fn, a]));
  for (const a of plan.assignments) assert.ok(a.responseMs <= a.deadlineMs);
  assert.equal(byFn.vad?.placement.device, 'cpu');
  assert.ok(plan.realtimeCores <= 4 && plan.besteffortCores === 4 - plan.realtimeCores);
  const cpuOnly = planRealtime(fns, 4, 0);
  assert.ok((cpuOnly.weightedResponseMs ?? Infinity) >= (plan.weightedResponseMs ?? 0));
  const impossible = planRealtime([{ ...fns[0]!, deadlineMs: 3 }], 4, 1);
  assert.equal(impossible.schedulable, false);
  assert.match(impossible.reasons[0] ?? '', /det: no placement meets deadline 3 ms/);
  const together = planRealtime(
    [
      { fn: 'x', periodMs: 10, deadlineMs: 10, cpuMs: cpu([[2, 8]]) },
      { fn: 'y', periodMs: 10, deadlineMs: 10, cpuMs: cpu([[2, 8]]) },
    ],
    2,
    0,
  );
  assert.equal(together.schedulable, false);
  assert.match(together.reasons[0] ?? '', /not together on 2 cores/);
});

test('a measured memory dip at more threads or a larger batch is noise: the planner takes the fewer threads', () => {
  // The live bench plan's profile: two threads measured 0.1 MiB under one, and the plan took two threads.
  const measured: MeasuredProfile = {
    format: PROFILE_FORMAT,
    model: 'mlp',
    cpu: 'test cpu',
    sharedBytes: 30 * MB,
    points: [
      { threads: 1, batch: 1, latencyMs: 1.2, memoryBytes: 24.5 * MB },
      { threads: 1, batch: 2, latencyMs: 3.8, memoryBytes: 25.1 * MB },
      { threads: 2, batch: 1, latencyMs: 0.5, memoryBytes: 24.4 * MB },
      { threads: 2, batch: 2, latencyMs: 1.6, memoryBytes: 25.0 * MB },
    ],
  };
  const [best] = choicesFor(measured, { fn: 'mlp', ratePerS: 60, sloMs: 50 }, { cores: 2 });
  assert.deepEqual([best!.instances, best!.threads, best!.maxBatchSize], [1, 1, 1]);
  assert.equal(best!.memoryBytes, 54.5 * MB);
  const two = choicesFor(measured, { fn: 'mlp', ratePerS: 60, sloMs: 50 }, { cores: 2 }).find((c) => c.threads === 2);
  assert.equal(two!.memoryBytes, (30 + 24.5) * MB, 'two threads take at least what one measured');
});
