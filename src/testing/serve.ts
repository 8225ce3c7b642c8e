// A real `tensorshare serve` in a child process for tests: started on
// temporary roots with any port (HTTP; gRPC only when the flags ask for it),
// ready once it prints where it listens. `stop` sends SIGTERM and waits.
import { spawn, type ChildProcess } from 'node:child_process';
import path from 'node:path';
import { packageRoot } from '../paths.js';
import { testEnv } from './env.js';
import type { TempRoots } from './tmp.js';
import { until } from './until.js';

export interface ServeChild {
  child: ChildProcess;
  url: string;
  /** host:port, when started with a gRPC port. */
  grpcAddress?: string;
  /** What it has printed on stdout so far. */
  stdout(): string;
  stop(): Promise<void>;
}

/** `serve --functions <functions> --http-port 0 --log-level warn <flags>`; pass `--no-bundled`, `--daemon`, `--grpc-port` as the test needs. */
/** Node's arguments for `tensorshare serve` over these roots (any free HTTP port, warnings only), then `flags`. */
export function serveArgv(
  roots: Pick<TempRoots, 'repository' | 'store'>,
  functions: string,
  flags: readonly string[],
): string[] {
  return [
    path.join(packageRoot, 'bin/tensorshare.js'),
    '--repository',
    roots.repository,
    '--store',
    roots.store,
    'serve',
    '--functions',
    functions,
    '--http-port',
    '0',
    '--log-level',
    'warn',
    ...flags,
  ];
}

export async function spawnServe(
  roots: Pick<TempRoots, 'repository' | 'store'>,
  functions: string,
  flags: readonly string[],
  env: NodeJS.ProcessEnv = testEnv(),
): Promise<ServeChild> {
  const child = spawn(process.execPath, serveArgv(roots, functions, flags), {
    stdio: ['ignore', 'pipe', 'inherit'],
    env,
  });
  const exited = new Promise<void>((r) => child.once('exit', () => r()));
  let out = '';
  child.stdout!.on('data', (d) => {
    out += d;
  });
  const stop = async () => {
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGTERM');
    await exited;
  };
  try {
    // The line names gRPC too when it listens: wait for the whole line.
    const line = await until(
      () => /on (http:\/\/\S+)(?: and grpc (\S+))? \(/.exec(out) ?? (child.exitCode !== null ? 'exited' : undefined),
      60_000,
      `serve to listen: ${out}`,
    );
    if (line === 'exited') throw new Error(`serve exited (code ${child.exitCode}) before serving: ${out}`);
    return { child, url: line[1]!, grpcAddress: line[2], stdout: () => out, stop };
  } catch (e) {
    await stop();
    throw e;
  }
}
