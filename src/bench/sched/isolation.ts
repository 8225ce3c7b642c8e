// Scenario 2, isolated (issue 14, DART on the CPU): a realtime function and
// a besteffort function of the same model on one server. The besteffort
// function's instances run at SCHED_IDLE (src/serve/instances/cpu-priority.ts)
// and hold their cores in the budget's yielding tier, so both functions'
// instances fit the 2 cores and the kernel preempts besteffort work the
// moment realtime work is runnable. Phases alternate: realtime alone,
// besteffort alone, both (besteffort overloading), and for contrast both on a
// server where the besteffort function is declared realtime (its instances at
// normal CPU priority, --cores 4 so all four instances fit the budget) and
// its requests say `priority: besteffort`: the same scheduler order, only the
// CPU class differs.
import { processTree } from '../cpu.js';
import { SCHED_POLICY, threadPriorities } from '../../proc/threads.js';
import type { ServeProcess } from '../serve-process.js';
import { fmtStep, type Harness, type MeasuredClass } from './harness.js';
import { median } from './numbers.js';
import type { Isolation } from './results.js';
import type { ScenarioContext } from './scenario.js';
import { nice } from './scenario.js';

export const ISOLATION_TARGETS = { rtRatio: 1.3, beShare: 0.5 } as const;

/** The two functions: the shared function's model and batching, one declared realtime, one besteffort. */
export function isolatedFunctions(c: ScenarioContext) {
  const base = {
    ...c.functionBase,
    minInstances: c.instances,
    maxInstances: c.instances,
    batching: { maxBatchSize: 32, sloMs: 30 },
  };
  return { rt: { ...base, priority: 'realtime' }, be: { ...base, priority: 'besteffort' } };
}

/** Instance processes of `server` whose every thread is at SCHED_IDLE, and all of them. */
function idleInstances(server: ServeProcess): { idle: number; instances: number } {
  const kids = processTree(server.pid).filter((p) => p !== server.pid);
  const idle = kids.filter((p) => {
    const ts = threadPriorities(p);
    return ts.length > 0 && ts.every((t) => t.policy === SCHED_POLICY.SCHED_IDLE);
  }).length;
  return { idle, instances: kids.length };
}

export async function isolationScenario(h: Harness, c: ScenarioContext): Promise<Isolation> {
  const q = h.quick;
  const fns = isolatedFunctions(c);
  const server = await h.serve('isolated', fns, { policy: 'priority', cores: 2 });
  const normal = await h.serve(
    'be-normal-cpu',
    { rt: fns.rt, be: { ...fns.be, priority: 'realtime' } },
    { policy: 'priority', cores: 4 },
  );
  const rtRate = nice(0.1 * c.ideal);
  const beRate = nice(c.ideal);
  const rt = { name: 'rt', fn: 'rt', rate: rtRate };
  const be = { name: 'be', fn: 'be', rate: beRate };
  const beByRequest = { ...be, parameters: { priority: 'besteffort' } };
  const durationMs = q ? 1500 : 6000;
  const classes = idleInstances(server);
  h.log(`  [2i] instances at SCHED_IDLE: ${classes.idle} of ${classes.instances}`);
  await h.measure(server, [rt, be], q ? 400 : 2000); // warm-up
  await h.measure(normal, [rt, beByRequest], q ? 400 : 2000);
  const runs: Isolation['runs'] = [];
  const phases: Array<[Isolation['runs'][number]['phase'], ServeProcess, MeasuredClass[]]> = [
    ['rt-alone', server, [rt]],
    ['mixed', server, [rt, be]],
    ['be-alone', server, [be]],
    ['mixed-normal-cpu', normal, [rt, beByRequest]],
  ];
  for (let rep = 0; rep < (q ? 1 : 3); rep++) {
    for (const [phase, srv, load] of phases.map((_, k) => phases[(k + rep) % phases.length]!)) {
      const r = await h.measure(srv, load, durationMs);
      const run = {
        phase,
        rep,
        ...(r.byClass.rt ? { rt: r.byClass.rt } : {}),
        ...(r.byClass.be ? { be: r.byClass.be } : {}),
      };
      runs.push(run);
      h.log(
        `  [2i] rep ${rep} ${phase.padEnd(16)}${run.rt ? ` rt ${fmtStep(run.rt)}` : ''}${run.be ? ` | be ${fmtStep(run.be)}` : ''}`,
      );
      await h.pause(q ? 300 : 1500);
    }
  }
  await h.stop(server);
  await h.stop(normal);
  const of = (phase: string, pick: (x: Isolation['runs'][number]) => number | undefined) =>
    median(runs.filter((r) => r.phase === phase).map((r) => pick(r) ?? Number.NaN));
  const rtP99 = {
    alone: of('rt-alone', (r) => r.rt?.p99),
    mixed: of('mixed', (r) => r.rt?.p99),
    mixedNormalCpu: of('mixed-normal-cpu', (r) => r.rt?.p99),
  };
  const beThroughput = {
    alone: of('be-alone', (r) => r.be?.throughput),
    mixed: of('mixed', (r) => r.be?.throughput),
    mixedNormalCpu: of('mixed-normal-cpu', (r) => r.be?.throughput),
  };
  const ratio = rtP99.mixed / rtP99.alone;
  const beShare = beThroughput.mixed / beThroughput.alone;
  return {
    rtRate,
    beRate,
    functions: fns,
    idleInstances: classes.idle,
    instances: classes.instances,
    runs,
    rtP99,
    ratio,
    beThroughput,
    beShare,
    targets: ISOLATION_TARGETS,
    met: { rt: ratio <= ISOLATION_TARGETS.rtRatio, be: beShare > ISOLATION_TARGETS.beShare },
  };
}
