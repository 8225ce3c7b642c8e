// `tensorshare sim`: simulators that run the product's own policy code on
// traces, on a simulated clock (src/sim, docs/simulation.md). Each subcommand
// lives in sim-<sub>.ts.
import type { Command } from 'commander';
import { registerSimAlloc } from './sim-alloc.js';
import { registerSimBatch } from './sim-batch.js';
import { registerSimCluster, registerSimTrims } from './sim-cluster.js';
import { registerSimSched } from './sim-sched.js';

export function registerSim(program: Command): Command {
  const sim = program
    .command('sim')
    .description("simulate workloads under tensorshare's own policies on a simulated clock (see docs/simulation.md)");
  registerSimAlloc(sim);
  registerSimSched(sim);
  registerSimCluster(sim);
  registerSimTrims(sim);
  registerSimBatch(sim);
  return sim;
}
