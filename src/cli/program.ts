// The `tensorshare` program: each command lives in commands/<name>.ts and
// calls the library underneath; this file only assembles them. A run of one
// command loads only that command's module (and what it imports): the whole
// CLI's modules took about 0.65 s to load, and `serve` paid that twice at
// start (itself and the daemon it spawns). Help, --version and an unknown
// command load them all.
import { Command } from 'commander';
import { createRequire } from 'node:module';
import { defaultRepository } from '../config.js';

const pkg = createRequire(import.meta.url)('../../../package.json') as { version: string };

type Register = (program: Command) => unknown;

/** Command names -> the module registering them, in help order. cli.test.ts checks the names against the modules. */
export const COMMAND_MODULES: readonly { names: readonly string[]; load: () => Promise<Register> }[] = [
  { names: ['import'], load: async () => (await import('./commands/import.js')).registerImport },
  { names: ['ls'], load: async () => (await import('./commands/ls.js')).registerLs },
  { names: ['inspect'], load: async () => (await import('./commands/inspect.js')).registerInspect },
  {
    names: ['rm', 'gc', 'du', 'verify'],
    load: async () => (await import('./commands/maintenance.js')).registerMaintenance,
  },
  { names: ['run'], load: async () => (await import('./commands/run.js')).registerRun },
  { names: ['demo'], load: async () => (await import('./commands/demo.js')).registerDemo },
  { names: ['gen'], load: async () => (await import('./commands/gen.js')).registerGen },
  { names: ['daemon'], load: async () => (await import('./commands/daemon.js')).registerDaemon },
  { names: ['serve'], load: async () => (await import('./commands/serve.js')).registerServe },
  { names: ['bench'], load: async () => (await import('./commands/bench.js')).registerBench },
  {
    names: ['load', 'bench-sched', 'bench-hostile'],
    load: async () => (await import('./commands/load.js')).registerLoad,
  },
  { names: ['compat'], load: async () => (await import('./commands/compat.js')).registerCompat },
  { names: ['top'], load: async () => (await import('./commands/top.js')).registerTop },
  { names: ['gpu'], load: async () => (await import('./commands/gpu.js')).registerGpu },
  { names: ['sim'], load: async () => (await import('./commands/sim.js')).registerSim },
  { names: ['plan'], load: async () => (await import('./commands/plan.js')).registerPlan },
  { names: ['extender'], load: async () => (await import('./commands/extender.js')).registerExtender },
  { names: ['place'], load: async () => (await import('./commands/place.js')).registerPlace },
];

/** Global options that take a value (the command name is the first other word). */
const GLOBAL_WITH_VALUE = new Set(['--repository', '--store']);

/** The command `args` (after node and the script) run, when it is one a module registers; undefined for help and the like. */
export function commandOf(args: readonly string[]): string | undefined {
  for (let i = 0; i < args.length; i++) {
    const a = args[i]!;
    if (GLOBAL_WITH_VALUE.has(a)) {
      i++;
      continue;
    }
    if (a.startsWith('-')) continue; // --repository=x, or an option commander reports
    return COMMAND_MODULES.some((m) => m.names.includes(a)) ? a : undefined;
  }
  return undefined;
}

/** The program with every command registered, or with only `only`'s module. */
export async function buildProgram(only?: string): Promise<Command> {
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
  const modules = COMMAND_MODULES.filter((m) => only === undefined || m.names.includes(only));
  for (const register of await Promise.all(modules.map((m) => m.load()))) register(program);
  return program;
}
