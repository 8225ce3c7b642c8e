// Scenario 4: srtf vs fifo on a mix of a short function (MLP) and a long one
// (BERT), one execution slot: mean latency, live and simulated.
import type { ServeProcess } from '../serve-process.js';
import type { Harness } from './harness.js';
import { median } from './numbers.js';
import type { Scenario4 } from './results.js';
import { simulateOneSlot } from './simulate.js';

export async function srtfScenario(h: Harness): Promise<Scenario4> {
  const q = h.quick;
  const fns = {
    short: { model: 'mlp', minInstances: 1, maxInstances: 1, maxQueueLength: 4000, requestTimeoutMs: 5000 },
    long: { model: 'bert', minInstances: 1, maxInstances: 1, maxQueueLength: 4000, requestTimeoutMs: 5000 },
  };
  const sf = await h.serve('srtf', fns, { policy: 'srtf', cores: 2, slots: 1 });
  const ff = await h.serve('fifo-1slot', fns, { policy: 'fifo', cores: 2, slots: 1 });
  // Service times from a light probe (each alone, low rate): the load levels follow from them.
  const probe = async (fn: string) => (await h.measure(ff, [{ name: fn, fn, rate: 10 }], q ? 700 : 2500)).all.p50;
  await h.measure(
    sf,
    [
      { name: 'short', fn: 'short', rate: 10 },
      { name: 'long', fn: 'long', rate: 10 },
    ],
    q ? 400 : 1500,
  ); // warm-up (profile)
  const serviceMs = { short: await probe('short'), long: await probe('long') };
  const perPair = (serviceMs.short + serviceMs.long) / 1000; // seconds of one short + one long request, end to end
  const rates = (q ? [0.7] : [0.5, 0.8]).map((rho) => Math.max(4, Math.round((2 * rho) / perPair)));
  const runs: Scenario4['runs'] = [];
  for (let rep = 0; rep < (q ? 1 : 3); rep++) {
    for (const rate of rates) {
      const order: Array<[string, ServeProcess]> =
        (rep + rates.indexOf(rate)) % 2
          ? [
              ['fifo', ff],
              ['srtf', sf],
            ]
          : [
              ['srtf', sf],
              ['fifo', ff],
            ];
      for (const [policy, server] of order) {
        const r = await h.measure(
          server,
          [
            { name: 'short', fn: 'short', rate: rate / 2 },
            { name: 'long', fn: 'long', rate: rate / 2 },
          ],
          q ? 1500 : 5000,
        );
        runs.push({ policy, rate, rep, all: r.all, short: r.byClass.short!, long: r.byClass.long! });
        h.log(
          `  [4] rep ${rep} ${policy} @${rate}/s: mean all ${r.all.mean.toFixed(1)} short ${r.byClass.short!.mean.toFixed(1)} long ${r.byClass.long!.mean.toFixed(1)} ms`,
        );
        await h.pause(q ? 300 : 1000);
      }
    }
  }
  await h.stop(sf);
  await h.stop(ff);
  const meanMs: Scenario4['meanMs'] = {};
  for (const policy of ['fifo', 'srtf']) {
    meanMs[policy] = {};
    for (const rate of rates) {
      const rs = runs.filter((r) => r.policy === policy && r.rate === rate);
      meanMs[policy]![String(rate)] = {
        all: median(rs.map((r) => r.all.mean)),
        short: median(rs.map((r) => r.short.mean)),
        long: median(rs.map((r) => r.long.mean)),
      };
    }
  }
  const simulatedMeanMs: Scenario4['simulatedMeanMs'] = {};
  for (const policy of ['fifo', 'srtf'] as const) {
    simulatedMeanMs[policy] = {};
    for (const rate of rates) simulatedMeanMs[policy]![String(rate)] = simulateOneSlot(policy, rate, serviceMs);
  }
  return { rates, serviceMs, runs, meanMs, simulatedMeanMs };
}
