// The planner's entry: functions with their profiles and demands in, one
// configuration per function out, exact where the search finishes and the
// greedy heuristic beside it with its gap.
import type { MeasuredProfile } from './profile.js';
import { type Choice, type Demand, type Limits, checkLimits, choicesFor } from './instance.js';
import { type FleetResult, gap, planExact, planGreedy } from './fleet.js';
import { PLAN_FORMAT, type PlanFile } from './plan-file.js';

export interface PlanInput {
  profile: MeasuredProfile;
  demand: Demand;
}

export interface PlanResult {
  schedulable: boolean;
  /** The configuration chosen: exact's when it finished, else the better of the two. */
  method: 'exact' | 'greedy';
  choices: Choice[];
  memoryBytes: number | null;
  cores: number | null;
  exact: FleetResult;
  greedy: FleetResult;
  /** Greedy's extra memory over exact, as a fraction; null unless both have a plan and exact finished. */
  gap: number | null;
  /** Why nothing is schedulable. */
  reasons: string[];
}

export function planFunctions(inputs: readonly PlanInput[], limits: Limits, exactNodeBudget?: number): PlanResult {
  const l = checkLimits(limits);
  const options = inputs.map((x) => choicesFor(x.profile, x.demand, l));
  const reasons = inputs.flatMap((x, i) =>
    options[i]!.length === 0
      ? [
          `${x.demand.fn}: no configuration meets the ${x.demand.sloMs} ms SLO at ${x.demand.ratePerS} requests/s within ${l.cores} cores and ${l.maxInstances} instances (fastest run measured: ${Math.min(...x.profile.points.map((p) => p.latencyMs)).toFixed(2)} ms, needs 2 x run <= SLO)`,
        ]
      : [],
  );
  const exact = planExact(options, l.cores, exactNodeBudget);
  const greedy = planGreedy(options, l.cores);
  if (!reasons.length && !exact.plan && !greedy.plan)
    reasons.push(`every function meets its SLO alone, but together they need more than ${l.cores} cores`);
  const useExact =
    exact.plan !== null && (exact.complete || !greedy.plan || exact.plan.memoryBytes <= greedy.plan.memoryBytes);
  const chosen = useExact ? exact.plan : greedy.plan;
  return {
    schedulable: chosen !== null,
    method: useExact || !chosen ? 'exact' : 'greedy',
    choices: chosen?.choices ?? [],
    memoryBytes: chosen?.memoryBytes ?? null,
    cores: chosen?.cores ?? null,
    exact,
    greedy,
    gap: exact.complete ? gap(exact, greedy) : null,
    reasons,
  };
}

/** The plan file serve applies. */
export function toPlanFile(
  choices: readonly Choice[],
  devices: Record<string, 'cpu' | `gpu:${number}`> = {},
): PlanFile {
  return {
    format: PLAN_FORMAT,
    functions: Object.fromEntries(
      choices.map((c) => [
        c.fn,
        {
          instances: c.instances,
          intraOpThreads: c.threads,
          maxBatchSize: c.maxBatchSize,
          ...(devices[c.fn] ? { device: devices[c.fn] } : {}),
        },
      ]),
    ),
  };
}
