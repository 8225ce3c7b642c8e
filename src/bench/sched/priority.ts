// Scenario 2: a realtime tenant beside a besteffort tenant that overloads the
// machine (one shared function, per-request priority): realtime p99 against
// its p99 alone, under `priority` (with and without a realtime reserve) and,
// for contrast, `fifo`.
import type { ServeProcess } from '../serve-process.js';
import { fmtStep, type Harness } from './harness.js';
import { median } from './numbers.js';
import type { Scenario2 } from './results.js';
import { nice, sharedFunction, type ScenarioContext } from './scenario.js';

/** `fifo` is a running server of the shared function under the fifo policy (scenario 3 uses it too). */
export async function priorityScenario(h: Harness, c: ScenarioContext, fifo: ServeProcess): Promise<Scenario2> {
  const q = h.quick;
  const sharedFn = sharedFunction(c);
  const prio = await h.serve('priority', sharedFn, { policy: 'priority', cores: 2, tenantFromRequest: true });
  const reserve = await h.serve('priority-reserve', sharedFn, {
    policy: 'priority',
    cores: 2,
    tenantFromRequest: true,
    realtimeReserve: 1,
  });
  const rtRate = nice(0.1 * c.ideal);
  const beRate = nice(c.ideal);
  const rt = { name: 'rt', fn: 'shared', rate: rtRate, parameters: { priority: 'realtime', tenant: 'rt' } };
  const be = { name: 'be', fn: 'shared', rate: beRate, parameters: { priority: 'besteffort', tenant: 'be' } };
  const durationMs = q ? 1500 : 6000;
  for (const srv of [prio, reserve, fifo]) await h.measure(srv, [rt, be], q ? 400 : 2000); // warm-up
  const runs: Scenario2['runs'] = [];
  for (let rep = 0; rep < (q ? 1 : 3); rep++) {
    const phases: Array<[string, ServeProcess, boolean]> = [
      ['alone', prio, false],
      ['priority', prio, true],
      ['reserve', reserve, true],
      ['fifo', fifo, true],
    ];
    for (const [phase, server, mixed] of phases.map((_, k) => phases[(k + rep) % phases.length]!)) {
      const r = await h.measure(server, mixed ? [rt, be] : [rt], durationMs);
      runs.push({ phase, rep, rt: r.byClass.rt!, ...(mixed ? { be: r.byClass.be! } : {}) });
      h.log(
        `  [2] rep ${rep} ${phase.padEnd(8)} rt ${fmtStep(r.byClass.rt!)}${mixed ? ` | be ${fmtStep(r.byClass.be!)}` : ''}`,
      );
      await h.pause(q ? 300 : 1500);
    }
  }
  await h.stop(prio);
  await h.stop(reserve);
  const p99 = (phase: string) => median(runs.filter((r) => r.phase === phase).map((r) => r.rt.p99));
  const rtP99 = { alone: p99('alone'), priority: p99('priority'), reserve: p99('reserve'), fifo: p99('fifo') };
  return {
    rtRate,
    beRate,
    batching: sharedFn.shared.batching,
    runs,
    rtP99,
    ratio: {
      priority: rtP99.priority / rtP99.alone,
      reserve: rtP99.reserve / rtP99.alone,
      fifo: rtP99.fifo / rtP99.alone,
    },
    target: 1.5,
    met: { priority: rtP99.priority <= 1.5 * rtP99.alone, reserve: rtP99.reserve <= 1.5 * rtP99.alone },
  };
}
