// `tensorshare sim <subcommand>`: simulators that run the product's own policy code (docs/simulation.md).
import type { Command } from 'commander';
import { registerSimCluster, registerSimTrims } from './sim-cluster.js';

export function registerSim(program: Command): void {
  const sim = program.command('sim').description("simulators that run the product's own policy code");
  registerSimCluster(sim);
  registerSimTrims(sim);
}
