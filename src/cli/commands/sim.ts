// `tensorshare sim`: simulators that run the product's own policies on a
// simulated clock. Each subcommand registers itself on the group.
import type { Command } from 'commander';
import { registerSimBatch } from './sim-batch.js';

export function registerSim(program: Command): void {
  const sim = program.command('sim').description("what-if simulations that run the product's own policy code");
  registerSimBatch(sim);
}
