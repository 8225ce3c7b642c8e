// One commit lock per root. Import and materialize publish files under it;
// gc and eviction hold it while deciding what is unreferenced, so a tensor is
// never deleted between "it exists, reuse it" and the manifest that uses it.
// proper-lockfile's lock is a mkdir with a heartbeat: a holder killed by
// SIGKILL goes stale after `stale` ms and the next caller takes over.
import path from 'node:path';
import lockfile from 'proper-lockfile';
import type { Layout } from './layout.js';

export async function withLock<T>(l: Layout, fn: () => Promise<T>): Promise<T> {
  const release = await lockfile.lock(l.root, {
    lockfilePath: path.join(l.root, '.commit.lock'),
    realpath: false,
    stale: 10_000,
    update: 2_000,
    retries: { retries: 600, minTimeout: 5, maxTimeout: 100, factor: 1.5 },
  });
  try {
    return await fn();
  } finally {
    await release().catch(() => {});
  }
}
