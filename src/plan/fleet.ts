// Choosing one configuration per function so that all of them fit the
// machine's cores together, at the least total memory: a multiple-choice
// knapsack (Tetris's scaling problem on one node). `planExact` searches every
// combination (branch and bound, exact when it finishes within its node
// budget); `planGreedy` is the heuristic for many functions. Pure and
// deterministic: ties break by the order functions and choices are given in.
import type { Choice } from './instance.js';
import { paretoFront } from './instance.js';

export interface FleetPlan {
  choices: Choice[];
  memoryBytes: number;
  cores: number;
}

export interface FleetResult {
  /** null: no combination fits (some function has no choice, or the cores are too few). */
  plan: FleetPlan | null;
  /** false: the search stopped at its node budget; `plan` is the best found, not proven optimal. */
  complete: boolean;
  nodes: number;
  /** Functions without any configuration meeting their SLO. */
  unschedulable: string[];
}

function total(choices: Choice[]): FleetPlan {
  return {
    choices,
    memoryBytes: choices.reduce((a, c) => a + c.memoryBytes, 0),
    cores: choices.reduce((a, c) => a + c.cores, 0),
  };
}

/** The result when some function has no choice at all (its index stands in for its name). */
function withoutChoices(options: readonly (readonly Choice[])[]): FleetResult | null {
  const missing = options.flatMap((o, i) => (o.length === 0 ? [`#${i}`] : []));
  return missing.length ? { plan: null, complete: true, nodes: 0, unschedulable: missing } : null;
}

/** Exhaustive branch and bound over each function's Pareto choices (memory vs cores). */
export function planExact(options: readonly (readonly Choice[])[], cores: number, nodeBudget = 5_000_000): FleetResult {
  const none = withoutChoices(options);
  if (none) return none;
  const fronts = options.map((o) => paretoFront(o));
  // Suffix bounds: the least memory and the fewest cores the remaining functions need.
  const n = fronts.length;
  const minMem = new Array<number>(n + 1).fill(0);
  const minCores = new Array<number>(n + 1).fill(0);
  for (let i = n - 1; i >= 0; i--) {
    const f = fronts[i]!;
    minMem[i] = minMem[i + 1]! + Math.min(...f.map((c) => c.memoryBytes));
    minCores[i] = minCores[i + 1]! + Math.min(...f.map((c) => c.cores));
  }
  let best: Choice[] | null = null;
  let bestMem = Infinity;
  let nodes = 0;
  let complete = true;
  const pick: Choice[] = [];
  const visit = (i: number, mem: number, used: number): void => {
    if (++nodes > nodeBudget) {
      complete = false;
      return;
    }
    if (i === n) {
      if (mem < bestMem) {
        bestMem = mem;
        best = [...pick];
      }
      return;
    }
    for (const c of fronts[i]!) {
      if (!complete) return;
      if (used + c.cores + minCores[i + 1]! > cores) continue;
      if (mem + c.memoryBytes + minMem[i + 1]! >= bestMem) break; // sorted by memory: the rest are worse
      pick.push(c);
      visit(i + 1, mem + c.memoryBytes, used + c.cores);
      pick.pop();
    }
  };
  visit(0, 0, 0);
  return { plan: best ? total(best) : null, complete, nodes, unschedulable: [] };
}

/**
 * Greedy: every function starts at its least-memory choice; while the cores
 * are over budget, make the move (one function to a choice with fewer cores)
 * that adds the least memory per core it frees.
 */
export function planGreedy(options: readonly (readonly Choice[])[], cores: number): FleetResult {
  const none = withoutChoices(options);
  if (none) return none;
  const fronts = options.map((o) => paretoFront(o));
  const at = fronts.map(() => 0);
  let used = fronts.reduce((a, f) => a + f[0]!.cores, 0);
  let nodes = 0;
  while (used > cores) {
    let move: { i: number; j: number; rate: number } | null = null;
    fronts.forEach((f, i) => {
      const cur = f[at[i]!]!;
      for (let j = at[i]! + 1; j < f.length; j++) {
        nodes++;
        const c = f[j]!;
        const rate = (c.memoryBytes - cur.memoryBytes) / (cur.cores - c.cores);
        if (move === null || rate < move.rate) move = { i, j, rate };
      }
    });
    if (move === null) return { plan: null, complete: true, nodes, unschedulable: [] };
    const { i, j } = move as { i: number; j: number };
    used += fronts[i]![j]!.cores - fronts[i]![at[i]!]!.cores;
    at[i] = j;
  }
  return { plan: total(fronts.map((f, i) => f[at[i]!]!)), complete: true, nodes, unschedulable: [] };
}

/** The greedy plan's extra memory over the exact one, as a fraction (0 = optimal); null when either has no plan. */
export function gap(exact: FleetResult, greedy: FleetResult): number | null {
  if (!exact.plan || !greedy.plan) return null;
  return (greedy.plan.memoryBytes - exact.plan.memoryBytes) / exact.plan.memoryBytes;
}
