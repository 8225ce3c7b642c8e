// Where things live, resolved in one place: explicit option > environment
// (TENSORSHARE_*) > default. Nothing else in the code reads process.env for
// paths, so tests and embedders pass what they need.
import os from 'node:os';
import path from 'node:path';

export interface Paths {
  repository: string;
  store: string;
}

export function defaultRepository(env: NodeJS.ProcessEnv = process.env): string {
  if (env.TENSORSHARE_REPOSITORY) return env.TENSORSHARE_REPOSITORY;
  const data = env.XDG_DATA_HOME || path.join(os.homedir(), '.local', 'share');
  return path.join(data, 'tensorshare');
}

export function defaultStore(env: NodeJS.ProcessEnv = process.env): string {
  return env.TENSORSHARE_STORE || '/dev/shm/tensorshare';
}

export function resolvePaths(p: Partial<Paths> = {}, env: NodeJS.ProcessEnv = process.env): Paths {
  return {
    repository: path.resolve(p.repository ?? defaultRepository(env)),
    store: path.resolve(p.store ?? defaultStore(env)),
  };
}

/** The daemon's socket: TENSORSHARE_SOCKET, else `<store>/daemon.sock`. */
export function defaultSocket(env: NodeJS.ProcessEnv = process.env, store = defaultStore(env)): string {
  return path.resolve(env.TENSORSHARE_SOCKET || path.join(store, 'daemon.sock'));
}
