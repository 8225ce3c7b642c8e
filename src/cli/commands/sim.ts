// `tensorshare sim <sub>`: simulators that run the product's own policy code
// on a simulated clock (src/sim). Each subcommand lives in sim-<sub>.ts.
import type { Command } from 'commander';
import { registerSimSched } from './sim-sched.js';

export function registerSim(program: Command): void {
  const sim = program
    .command('sim')
    .description("simulate workloads under tensorshare's own policies on a simulated clock (see docs/simulation.md)");
  registerSimSched(sim);
}
