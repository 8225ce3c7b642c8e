// Test helpers: temporary roots that clean themselves up.
import { spawn } from 'node:child_process';
import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { testEnv } from './env.js';

export interface TempRoots {
  /** Scratch folder for the test's own files; the repository lives inside it. */
  dir: string;
  repository: string;
  store: string;
  cleanup(): Promise<void>;
}

/** A repository under the OS temp folder and a store under /dev/shm (tmpfs), unique per call. */
export async function tempRoots(prefix = 'ts-test'): Promise<TempRoots> {
  const dir = await fs.mkdtemp(path.join(os.tmpdir(), `${prefix}-`));
  const store = await fs.mkdtemp(path.join('/dev/shm', `${prefix}-`));
  return {
    dir,
    repository: path.join(dir, 'repo'),
    store,
    async cleanup() {
      for (const d of [dir, store]) await removeTree(d);
    },
  };
}

/** Runs `fn` with a fresh folder under `base`, removed afterwards. */
export async function withTempDir<T>(base: string, fn: (dir: string) => Promise<T>): Promise<T> {
  const dir = await fs.mkdtemp(path.join(base, 'ts-test-'));
  try {
    return await fn(dir);
  } finally {
    await removeTree(dir);
  }
}

/** A tmpfs of `size` (mount's form, e.g. '24m') mounted at `dir`, for tests that run out of space. */
export interface SmallTmpfs {
  /** False where this process may not mount (not root): the tests that need it skip. */
  mounted: boolean;
  unmount(): Promise<void>;
}

export async function mountSmallTmpfs(dir: string, size: string): Promise<SmallTmpfs> {
  const run = (cmd: string, args: string[]) =>
    new Promise<number | null>((resolve) =>
      spawn(cmd, args, { stdio: 'ignore', env: testEnv() })
        .on('close', resolve)
        .on('error', () => resolve(1)),
    );
  await fs.mkdir(dir, { recursive: true });
  const mounted = (await run('mount', ['-t', 'tmpfs', '-o', `size=${size}`, 'tmpfs', dir])) === 0;
  return {
    mounted,
    async unmount() {
      if (mounted) await run('umount', [dir]);
    },
  };
}

async function removeTree(dir: string): Promise<void> {
  // Tensor files are 0444 (removing them needs only the folder's write bit),
  // but some folders are 0711 and tests chmod files they corrupt.
  await fs.chmod(dir, 0o755).catch(() => {});
  await fs.rm(dir, { recursive: true, force: true }).catch(async () => {
    await chmodTree(dir);
    await fs.rm(dir, { recursive: true, force: true });
  });
}

async function chmodTree(dir: string): Promise<void> {
  await fs.chmod(dir, 0o755).catch(() => {});
  for (const e of await fs.readdir(dir, { withFileTypes: true }).catch(() => [])) {
    if (e.isDirectory()) await chmodTree(path.join(dir, e.name));
  }
}
