// Scenario 1: no batching vs fixed batching vs AIMD. Each configuration's
// highest offered rate whose p99 stays within the SLO with >= 99% answered,
// from rate ladders that alternate configurations at every rate.
import type { Harness } from './harness.js';
import { fmtStep } from './harness.js';
import { median, nearest } from './numbers.js';
import { MAX_RETRIES, NOISY_CORES, SLO_MS, type Scenario1 } from './results.js';
import { nice, type ScenarioContext } from './scenario.js';

export async function batchingScenario(h: Harness, c: ScenarioContext): Promise<Scenario1> {
  const q = h.quick;
  const { instances, functionBase, ideal } = c;
  const configs = {
    nobatch: { ...functionBase, minInstances: instances, maxInstances: instances },
    fixed: {
      ...functionBase,
      minInstances: instances,
      maxInstances: instances,
      batching: { maxBatchSize: 8, maxQueueDelayMs: 5 },
    },
    aimd: {
      ...functionBase,
      minInstances: instances,
      maxInstances: instances,
      batching: { maxBatchSize: 32, sloMs: 60 },
    },
  };
  // Three configurations stay warm side by side (the budget covers all of their instances); only one is loaded at a time.
  const s = await h.serve('batching', configs, { policy: 'fifo', cores: instances * 3 });
  const ladder = (q ? [0.15, 0.3, 0.6] : [0.12, 0.18, 0.24, 0.3, 0.39, 0.5, 0.62, 0.75, 0.9, 1.08]).map((f) =>
    nice(f * ideal),
  );
  const stepMs = q ? 1000 : 2500;
  const reps = q ? 1 : 3;
  const names = Object.keys(configs);
  for (const n of names) await h.measure(s, [{ name: n, fn: n, rate: 40 }], q ? 400 : 2000); // warm-up (arenas, AIMD cap)
  const runs: Scenario1['runs'] = [];
  let retries = 0;
  for (let rep = 0; rep < reps; rep++) {
    const failures = new Map(names.map((n) => [n, 0]));
    for (const [i, rate] of ladder.entries()) {
      const order = names.map((_, k) => names[(k + i + rep) % names.length]!).filter((n) => failures.get(n)! < 2);
      if (order.length === 0) break;
      for (const n of order) {
        let r = (await h.measure(s, [{ name: n, fn: n, rate }], stepMs)).all;
        let sustainable = r.p99 <= SLO_MS && r.okFraction >= 0.99;
        if (!sustainable && r.bgCores > NOISY_CORES && !q && retries++ < MAX_RETRIES) {
          h.log(
            `  [1] rep ${rep} ${n.padEnd(7)} @${rate}/s: ${fmtStep(r)}  (over SLO beside other work: measured again)`,
          );
          await h.pause(700);
          r = (await h.measure(s, [{ name: n, fn: n, rate }], stepMs)).all;
          sustainable = r.p99 <= SLO_MS && r.okFraction >= 0.99;
        }
        failures.set(n, sustainable ? 0 : failures.get(n)! + 1);
        runs.push({ config: n, rep, ...r, sustainable });
        h.log(`  [1] rep ${rep} ${n.padEnd(7)} @${rate}/s: ${fmtStep(r)}${sustainable ? '' : '  (over SLO)'}`);
        await h.pause(q ? 200 : 700);
      }
    }
  }
  await h.stop(s);
  const maxRate: Scenario1['maxRate'] = {};
  for (const n of names) {
    const perRep = Array.from({ length: reps }, (_, rep) => {
      const ok = runs.filter((r) => r.config === n && r.rep === rep && r.sustainable);
      return ok.length ? Math.max(...ok.map((r) => r.rate)) : 0;
    });
    const med = median(perRep);
    const at = runs.filter((r) => r.config === n && r.rate === nearest(perRep, med) && r.sustainable);
    maxRate[n] = {
      rates: perRep,
      median: med,
      best: Math.max(...perRep),
      throughputAtMax: median(at.map((r) => r.throughput)),
      p99AtMax: median(at.map((r) => r.p99)),
    };
  }
  const speed = (n: string) => (maxRate.nobatch!.median > 0 ? maxRate[n]!.median / maxRate.nobatch!.median : NaN);
  const speedBest = (n: string) => (maxRate.nobatch!.best > 0 ? maxRate[n]!.best / maxRate.nobatch!.best : NaN);
  return {
    compute: c.computeBySeq[String(c.seq)]!,
    computeBySeq: c.computeBySeq,
    configs,
    instances,
    stepMs,
    repetitions: reps,
    ladder,
    runs,
    maxRate,
    speedup: { fixed: speed('fixed'), aimd: speed('aimd'), fixedBest: speedBest('fixed'), aimdBest: speedBest('aimd') },
    targetSpeedup: 3,
    met: { median: speed('aimd') >= 3, best: speedBest('aimd') >= 3 },
  };
}
