// `tensorshare sim <sub>`: simulators that run the product's own policy code
// on traces (docs/simulation.md). One file per subcommand: sim-<sub>.ts.
import type { Command } from 'commander';
import { registerSimAlloc } from './sim-alloc.js';

export function registerSim(program: Command): Command {
  const sim = program.command('sim').description('simulate allocators, schedulers and placement on traces');
  registerSimAlloc(sim);
  return sim;
}
