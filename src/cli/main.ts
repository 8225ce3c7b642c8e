// The `tensorshare` command line. Each command lives in commands/<name>.ts
// and calls the library underneath; this file only assembles them.
import { Command } from 'commander';
import { createRequire } from 'node:module';
import { defaultRepository } from '../config.js';
import { registerImport } from './commands/import.js';
import { registerLs } from './commands/ls.js';
import { registerInspect } from './commands/inspect.js';
import { registerMaintenance } from './commands/maintenance.js';
import { registerRun } from './commands/run.js';
import { registerDemo } from './commands/demo.js';
import { registerGen } from './commands/gen.js';
import { registerDaemon } from './commands/daemon.js';
import { registerServe } from './commands/serve.js';
import { registerBench } from './commands/bench.js';
import { registerLoad } from './commands/load.js';
import { registerCompat } from './commands/compat.js';
import { registerTop } from './commands/top.js';
import { registerGpu } from './commands/gpu.js';
import { registerSim } from './commands/sim.js';
import { registerPlan } from './commands/plan.js';
import { registerExtender } from './commands/extender.js';
import { registerPlace } from './commands/place.js';

const pkg = createRequire(import.meta.url)('../../../package.json') as { version: string };

export function buildProgram(): Command {
  const program = new Command('tensorshare')
    .description('share deep-learning model weights across isolated inference processes')
    .version(pkg.version)
    .option(
      '--repository <dir>',
      `durable model repository (env TENSORSHARE_REPOSITORY; default ${defaultRepository({ ...process.env, TENSORSHARE_REPOSITORY: '' })})`,
    )
    .option('--store <dir>', 'tmpfs store that processes map (env TENSORSHARE_STORE; default /dev/shm/tensorshare)')
    .showHelpAfterError()
    .configureHelp({ showGlobalOptions: true });
  registerImport(program);
  registerLs(program);
  registerInspect(program);
  registerMaintenance(program);
  registerRun(program);
  registerDemo(program);
  registerGen(program);
  registerDaemon(program);
  registerServe(program);
  registerBench(program);
  registerLoad(program);
  registerCompat(program);
  registerTop(program);
  registerGpu(program);
  registerSim(program);
  registerPlan(program);
  registerExtender(program);
  registerPlace(program);
  return program;
}

await buildProgram().parseAsync(process.argv);
