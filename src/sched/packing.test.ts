// Best-fit packing of models onto simulated device sets, with replicas, and
// against first fit and one model per device.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  type PackDevice,
  type PackModel,
  movesBetween,
  packBestFit,
  packFirstFit,
  packOnePerDevice,
  placeOne,
  replicasWanted,
  reportPlacement,
} from './packing.js';

const GiB = 2 ** 30;
const dev = (index: number, gib: number): PackDevice => ({ index, capacity: gib * GiB });
const mod = (key: string, pGiB: number, eGiB: number, load = 0.1, extra: Partial<PackModel> = {}): PackModel => ({
  key,
  persistentBytes: pGiB * GiB,
  ephemeralBytes: eGiB * GiB,
  load,
  ...extra,
});
const on = (r: ReturnType<typeof packBestFit>, d: number) => [...(r.placement.get(d) ?? [])].sort();

test('best fit puts a model on the device it fills most tightly', () => {
  const devices = [dev(0, 40), dev(1, 20), dev(2, 80)];
  const r = packBestFit(devices, [mod('m', 15, 2)]);
  assert.deepEqual(on(r, 1), ['m'], 'the 20 GiB device leaves 3 GiB; the others leave more');
  // placeOne with the same rule, beside what is there: device 1 now has 3 GiB left, so a 10 GiB model goes to 0.
  assert.equal(placeOne(devices, [mod('m', 15, 2)], r.placement, mod('n', 8, 2)), 0);
  assert.equal(placeOne(devices, [mod('m', 15, 2)], r.placement, mod('tiny', 0.5, 0.25)), 1);
  assert.equal(placeOne(devices, [], new Map(), mod('huge', 100, 1)), undefined);
});

test('memory of a device is sum P + max E (Salus lanes), not sum (P + E)', () => {
  // Three models of 10 GiB weights and 8 GiB activations: 3 x 10 + 8 = 38 fits 40, 3 x 18 = 54 would not.
  const r = packBestFit([dev(0, 40)], [mod('a', 10, 8), mod('b', 10, 8), mod('c', 10, 8)]);
  assert.deepEqual(on(r, 0), ['a', 'b', 'c']);
  assert.equal(r.unplaced.length, 0);
});

test('load is a second dimension: a device carries at most maxLoad', () => {
  const r = packBestFit([dev(0, 80), dev(1, 80)], [mod('a', 1, 1, 0.5), mod('b', 1, 1, 0.5)], { maxLoad: 0.8 });
  assert.equal(on(r, 0).length, 1);
  assert.equal(on(r, 1).length, 1, 'two half-loaded models do not share a device that may carry 0.8');
});

test('a model hotter than one device gets replicas on different devices; its load splits between them', () => {
  const r = packBestFit([dev(0, 80), dev(1, 80), dev(2, 80)], [mod('hot', 10, 2, 1.5), mod('cold', 5, 1, 0.3)], {
    maxLoad: 0.8,
  });
  const holders = [0, 1, 2].filter((d) => on(r, d).includes('hot'));
  assert.equal(holders.length, 2, '1.5 / 0.8 -> two replicas');
  // Each replica carries 0.75: cold (0.3) must go to the third device.
  assert.deepEqual(on(r, [0, 1, 2].find((d) => !holders.includes(d))!), ['cold']);
});

test('replicas follow demand: SLO pressure adds one, falling load removes one', () => {
  assert.equal(replicasWanted(mod('m', 1, 1, 0.5)), 1);
  assert.equal(replicasWanted(mod('m', 1, 1, 2.0)), 3, '2.0 / 0.8');
  assert.equal(replicasWanted(mod('m', 1, 1, 0.5, { replicas: 1, sloPressure: 1.4 })), 2, 'missing its SLO');
  assert.equal(
    replicasWanted(mod('m', 1, 1, 0.5, { replicas: 2, sloPressure: 0.9 })),
    2,
    'one fewer would carry 0.5 > 0.4',
  );
  assert.equal(replicasWanted(mod('m', 1, 1, 0.3, { replicas: 2, sloPressure: 0.2 })), 1, 'load fell: 0.3 < 0.4');
  assert.equal(replicasWanted(mod('m', 1, 1, 1.2, { replicas: 3 })), 3, 'two would carry 0.6 each: all three stay');
  assert.equal(replicasWanted(mod('m', 1, 1, 0.1, { replicas: 3 })), 2, 'one replica goes per decision');
});

test('moves between placements: what to load (from the host store) and what to unload', () => {
  const from = new Map([
    [0, ['a', 'b']],
    [1, ['c']],
  ]);
  const to = new Map([
    [0, ['a']],
    [1, ['c', 'b']],
  ]);
  assert.deepEqual(movesBetween(from, to), { load: [[1, 'b']], unload: [[0, 'b']] });
});

test('on simulated sets, best fit serves at least as many models as first fit, far more than one per device, with less fragmentation', () => {
  // Eight devices of mixed sizes (GiB), 45 models of 1-40 GiB weights and 0.25-4 GiB activations: more than fits.
  const caps = [24, 80, 16, 141, 24, 48, 80, 16];
  const devices = caps.map((c, i) => dev(i, c));
  const sum = { best: [0, 0], first: [0, 0], single: [0, 0] } as Record<string, [number, number]>;
  for (let seed = 1; seed <= 50; seed++) {
    let s = seed * 7919;
    const rand = () => {
      s = (s * 48271) % 2147483647;
      return s / 2147483647;
    };
    const models = Array.from({ length: 45 }, (_, i) =>
      mod(`m${i}`, Math.round(2 ** (rand() * 5.3) * 4) / 4, Math.round((0.25 + rand() * 3.75) * 4) / 4, rand() * 0.1),
    );
    for (const [k, f] of [
      ['best', packBestFit],
      ['first', packFirstFit],
      ['single', packOnePerDevice],
    ] as const) {
      const r = reportPlacement(devices, models, f(devices, models));
      sum[k]![0] += r.modelsServed;
      sum[k]![1] += r.fragmentation;
    }
  }
  const [best, first, single] = [sum.best!, sum.first!, sum.single!];
  assert.ok(best[0] >= first[0], `models served: best fit ${best[0]}, first fit ${first[0]}`);
  assert.equal(single[0], 50 * 8, 'one per device serves as many models as devices');
  assert.ok(best[1] < first[1], `fragmentation: best fit ${best[1] / 50}, first fit ${first[1] / 50}`);
});

test('when everything fits, best fit leaves the free memory in one hole for the next large model', () => {
  // First fit in arrival order splits the 80 GiB device; best fit keeps it whole for the 70 GiB model that comes next.
  const devices = [dev(0, 80), dev(1, 40)];
  const models = [mod('a', 30, 1), mod('b', 5, 1)];
  const best = packBestFit(devices, models);
  const first = packFirstFit(devices, models);
  assert.deepEqual(on(best, 1), ['a', 'b']);
  assert.deepEqual(on(first, 0), ['a', 'b']);
  assert.equal(placeOne(devices, models, best.placement, mod('big', 70, 2)), 0);
  assert.equal(placeOne(devices, models, first.placement, mod('big', 70, 2)), undefined);
  assert.ok(
    reportPlacement(devices, models, best).fragmentation < reportPlacement(devices, models, first).fragmentation,
  );
});

test('a model no device can hold is reported unplaced, never dropped silently', () => {
  const r = packBestFit([dev(0, 10)], [mod('big', 20, 1), mod('ok', 2, 1)]);
  assert.deepEqual(r.unplaced, [{ key: 'big', replica: 0 }]);
  assert.deepEqual(on(r, 0), ['ok']);
  const rep = reportPlacement([dev(0, 10)], [mod('big', 20, 1), mod('ok', 2, 1)], r);
  assert.deepEqual([rep.replicasPlaced, rep.replicasWanted, rep.modelsServed, rep.devicesUsed], [1, 2, 1, 1]);
});

test('bad input is refused naming the problem', () => {
  assert.throws(() => packBestFit([dev(0, 1), dev(0, 2)], []), /device 0 is listed twice/);
  assert.throws(() => packBestFit([dev(0, 1)], [mod('m', 1, 1, -1)]), /model m: load must be >= 0/);
  assert.throws(() => packBestFit([dev(0, 1)], [], { maxLoad: 0 }), /maxLoad must be in \(0, 1\]/);
  assert.throws(() => packBestFit([{ index: 0, capacity: 1.5 }], []), /capacity must be a whole number/);
});
