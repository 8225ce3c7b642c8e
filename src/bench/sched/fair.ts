// Scenario 3: two tenants with equal weights, both asking for more than half
// the machine (one 2x the other): completed shares under `fair` and `fifo`.
import type { ServeProcess } from '../serve-process.js';
import type { Harness } from './harness.js';
import { median } from './numbers.js';
import type { Scenario3 } from './results.js';
import { nice, sharedFunction, type ScenarioContext } from './scenario.js';

/** `fifo` is a running server of the shared function under the fifo policy (scenario 2 uses it too). */
export async function fairScenario(h: Harness, c: ScenarioContext, fifo: ServeProcess): Promise<Scenario3> {
  const q = h.quick;
  const fair = await h.serve('fair', sharedFunction(c), { policy: 'fair', cores: 2, tenantFromRequest: true });
  const rates = { a: nice(0.9 * c.ideal), b: nice(0.45 * c.ideal) };
  const a = { name: 'a', fn: 'shared', rate: rates.a, parameters: { tenant: 'a', priority: 'besteffort' } };
  const b = { name: 'b', fn: 'shared', rate: rates.b, parameters: { tenant: 'b', priority: 'besteffort' } };
  const durationMs = q ? 1500 : 6000;
  await h.measure(fair, [a, b], q ? 400 : 2000); // warm-up
  const runs: Scenario3['runs'] = [];
  for (let rep = 0; rep < (q ? 1 : 2); rep++) {
    const order: Array<[string, ServeProcess]> =
      rep % 2
        ? [
            ['fifo', fifo],
            ['fair', fair],
          ]
        : [
            ['fair', fair],
            ['fifo', fifo],
          ];
    for (const [policy, server] of order) {
      const r = await h.measure(server, [a, b], durationMs);
      const ta = r.byClass.a!.throughput;
      const tb = r.byClass.b!.throughput;
      runs.push({ policy, rep, a: r.byClass.a!, b: r.byClass.b!, shareA: ta / (ta + tb) });
      h.log(
        `  [3] rep ${rep} ${policy.padEnd(5)} a ${ta.toFixed(1)}/s b ${tb.toFixed(1)}/s share a ${((100 * ta) / (ta + tb)).toFixed(1)}%`,
      );
      await h.pause(q ? 300 : 1500);
    }
  }
  await h.stop(fair);
  const share = (p: string) => median(runs.filter((r) => r.policy === p).map((r) => r.shareA));
  const deviation = Math.abs(2 * share('fair') - 1); // a / mean(a, b) - 1
  return {
    rates,
    runs,
    shareA: { fair: share('fair'), fifo: share('fifo') },
    deviation,
    target: 0.1,
    met: deviation <= 0.1,
  };
}
