// One commit lock per root. Import and materialize publish files under it;
// gc and eviction hold it while deciding what is unreferenced, so a tensor is
// never deleted between "it exists, reuse it" and the manifest that uses it.
// proper-lockfile's lock is a mkdir with a heartbeat: a holder killed by
// SIGKILL goes stale after `stale` ms and the next caller takes over.
// Callers in one process take turns in a queue first: only one of them at a
// time polls for the file lock, so concurrent imports of one process (serve's
// background imports) do not each retry the mkdir every few milliseconds,
// and a caller with another queued behind it hands the file lock on instead of
// releasing it (for up to HAND_ON_MS), and with nobody queued keeps it LINGER_MS
// for the next (imports come in streams): a burst of a thousand imports took
// and dropped it a thousand times, each a mkdir, a stat and an rmdir, and on
// an ext4 without a journal each rmdir left a freed inode that every later
// allocation in its group skipped (one inode-table lookup each) for a minute.
// A holder's own nested call on the same root (gc inside a commit, say) runs
// at once: it holds the lock already, and queued it would wait for itself.
import { AsyncLocalStorage } from 'node:async_hooks';
import path from 'node:path';
import type { Layout } from './layout.js';

/**
 * The holds of the current call chain, by root: a holder's own nested withLock runs at once instead
 * of waiting for itself. A hold is over when its holder's function returns, so work it left
 * running (a callback that fires later) takes the lock again like anyone else.
 */
const holding = new AsyncLocalStorage<ReadonlyMap<string, { over: boolean }>>();

/** proper-lockfile, loaded on the first lock: opening a resident model takes none (its import cost ~20 ms under load). */
let lockfileModule: Promise<typeof import('proper-lockfile')> | undefined;
const lockfileLib = () => (lockfileModule ??= import('proper-lockfile'));

/** The tail of each root's in-process queue. */
const queues = new Map<string, Promise<unknown>>();

interface Held {
  release: () => Promise<void>;
  since: number;
  /** Gives the lock back unless this process's next caller takes it first. */
  linger?: ReturnType<typeof setTimeout>;
}

/** A file lock handed on to the next caller of this process. */
const handedOn = new Map<string, Held>();

/** How long a file lock may pass from caller to caller of one process before it goes back (other processes get their turn). */
export const HAND_ON_MS = 250;
/** How long a file lock nobody of this process is queued for stays held for the next caller. */
export const LINGER_MS = 50;

export async function withLock<T>(l: Layout, fn: () => Promise<T>): Promise<T> {
  const held = holding.getStore();
  if (held?.get(l.root)?.over === false) return fn();
  const before = queues.get(l.root) ?? Promise.resolve();
  let done!: () => void;
  const mine = new Promise<void>((r) => {
    done = r;
  });
  const tail = before.then(() => mine);
  queues.set(l.root, tail);
  try {
    await before;
    let lock = handedOn.get(l.root);
    handedOn.delete(l.root);
    clearTimeout(lock?.linger);
    lock ??= {
      release: await (await lockfileLib()).lock(l.root, {
        lockfilePath: path.join(l.root, '.commit.lock'),
        realpath: false,
        stale: 10_000,
        update: 2_000,
        retries: { retries: 600, minTimeout: 5, maxTimeout: 100, factor: 1.5 },
      }),
      since: performance.now(),
    };
    const hold = { over: false };
    try {
      return await holding.run(new Map([...(held ?? []), [l.root, hold]]), fn);
    } finally {
      hold.over = true;
      const h = lock;
      if (performance.now() - h.since >= HAND_ON_MS) await h.release().catch(() => {});
      else {
        handedOn.set(l.root, h);
        if (queues.get(l.root) === tail)
          h.linger = setTimeout(() => {
            if (handedOn.get(l.root) !== h) return;
            handedOn.delete(l.root);
            void h.release().catch(() => {});
          }, LINGER_MS);
      }
    }
  } finally {
    done();
    if (queues.get(l.root) === tail) queues.delete(l.root);
  }
}
