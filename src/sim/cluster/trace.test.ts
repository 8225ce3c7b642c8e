import { test } from 'node:test';
import assert from 'node:assert/strict';
import { isTensorshareError } from '../../errors.js';
import { createTrace, type TraceOptions } from './trace.js';

const HOUR = 3_600_000;

function collect(opts: TraceOptions): { times: Float64Array; fns: Int32Array; n: number } {
  const src = createTrace(opts);
  const times = new Float64Array(opts.invocations * 2);
  const fns = new Int32Array(opts.invocations * 2);
  const chunkT = new Float64Array(4096);
  const chunkF = new Int32Array(4096);
  let n = 0;
  for (let k = src.next(chunkT, chunkF); k > 0; k = src.next(chunkT, chunkF)) {
    times.set(chunkT.subarray(0, k), n);
    fns.set(chunkF.subarray(0, k), n);
    n += k;
  }
  return { times, fns, n };
}

test('trace: about the asked invocations, in time order, within the duration, the same for the same seed', () => {
  const opts = { functions: 200, invocations: 100_000, durationMs: 24 * HOUR, seed: 'x' };
  const a = collect(opts);
  assert.ok(Math.abs(a.n - 100_000) < 5_000, `${a.n} invocations`);
  for (let i = 1; i < a.n; i++) assert.ok(a.times[i]! >= a.times[i - 1]!, `time order at ${i}`);
  assert.ok(a.times[a.n - 1]! < opts.durationMs);
  const b = collect(opts);
  assert.equal(b.n, a.n);
  assert.deepEqual(b.fns.subarray(0, b.n), a.fns.subarray(0, a.n));
  const c = collect({ ...opts, seed: 'y' });
  assert.notDeepEqual(c.fns.subarray(0, 1000), a.fns.subarray(0, 1000));
});

test('trace: heavy-tailed popularity, a diurnal cycle and bursts (shapes of the Azure Functions 2019 trace)', () => {
  const opts = { functions: 500, invocations: 200_000, durationMs: 24 * HOUR, seed: 'shape' };
  const { times, fns, n } = collect(opts);
  const perFn = new Float64Array(500);
  for (let i = 0; i < n; i++) perFn[fns[i]!]!++;
  const sorted = [...perFn].sort((x, y) => y - x);
  const top10 = sorted.slice(0, 50).reduce((s, x) => s + x, 0);
  assert.ok(top10 / n > 0.7, `the top 10% of functions make ${((top10 / n) * 100).toFixed(1)}% of invocations`);
  assert.ok(sorted.filter((x) => x <= 24).length > 100, 'many functions run at most about once an hour');
  // Diurnal: the busiest hour well above the quietest.
  const perHour = new Float64Array(24);
  for (let i = 0; i < n; i++) perHour[Math.floor(times[i]! / HOUR)]!++;
  const max = Math.max(...perHour);
  const min = Math.min(...perHour);
  assert.ok(max / min > 2, `busiest hour ${max}, quietest ${min}`);
  // Bursts: with them, minute counts of a popular function vary far more than Poisson (index of dispersion).
  const dispersion = (o: TraceOptions) => {
    const t = collect(o);
    const counts = new Float64Array(500 * 24 * 60);
    for (let i = 0; i < t.n; i++) counts[t.fns[i]! * 1440 + Math.floor(t.times[i]! / 60_000)]!++;
    let best = 0;
    for (let f = 0; f < 500; f++) {
      const row = counts.subarray(f * 1440, (f + 1) * 1440);
      const mean = row.reduce((s, x) => s + x, 0) / 1440;
      if (mean < 5) continue;
      const v = row.reduce((s, x) => s + (x - mean) ** 2, 0) / 1440;
      best = Math.max(best, v / mean);
    }
    return best;
  };
  const flat = dispersion({ ...opts, burstyFraction: 0, diurnalAmplitude: 0 });
  const bursty = dispersion({ ...opts, burstyFraction: 1, diurnalAmplitude: 0 });
  assert.ok(flat < 1.5, `without bursts or days, minute counts are Poisson (dispersion ${flat.toFixed(2)})`);
  assert.ok(bursty > 3, `bursty functions: dispersion ${bursty.toFixed(2)}`);
});

test('trace: bad options name the problem', () => {
  const base = { functions: 10, invocations: 10, durationMs: 1000, seed: 's' };
  assert.throws(
    () => createTrace({ ...base, functions: 0 }),
    (e) => isTensorshareError(e, 'ERR_INVALID_ARGUMENT'),
  );
  assert.throws(
    () => createTrace({ ...base, diurnalAmplitude: 1 }),
    (e) => isTensorshareError(e, 'ERR_INVALID_ARGUMENT') && /amplitude/.test(e.message),
  );
  assert.throws(
    () => createTrace({ ...base, burstFactor: 20 }),
    (e) => isTensorshareError(e, 'ERR_INVALID_ARGUMENT') && /burst factor/.test(e.message),
  );
});
