// Repository polling: scans the functions folder, deploys new and changed
// functions, removes those whose folder is gone, and leaves an explicitly
// unloaded function alone until its files change. One scan at a time.
import { mapBounded } from '../../bounded.js';
import type { Clock, TimerHandle } from '../autoscaler/clock.js';
import { folderCatalog, type FunctionCatalog } from '../functions/repository.js';
import type { Lifecycle } from './lifecycle.js';
import type { Logger } from './log.js';
import type { FunctionRegistry } from './registry.js';

/**
 * Deploys at once in a scan: a deploy mostly waits (file reads, the daemon's
 * open and close of a lease), so enough to overlap those waits across a
 * thousand functions; bounded so that a thousand new functions do not read a
 * thousand model files and queue a thousand imports together.
 */
export const DEPLOY_CONCURRENCY = 32;

export interface RepositoryPoller {
  /** Scans now (joins a scan under way). */
  poll(): Promise<void>;
  /** Scans every `everyMs` (0: never) until stop(). */
  start(): void;
  /** Stops the timer; resolves when a scan under way has finished. */
  stop(): Promise<void>;
}

export function createRepositoryPoller(o: {
  functionsDir: string;
  /** How functionsDir is read (default: one sub-folder per function). */
  catalog?: FunctionCatalog;
  everyMs: number;
  clock: Clock;
  registry: FunctionRegistry;
  lifecycle: Pick<Lifecycle, 'deploy' | 'remove'>;
  log: Logger;
  /** Deploys a scan runs at once (default DEPLOY_CONCURRENCY). */
  deployConcurrency?: number;
}): RepositoryPoller {
  const { registry, lifecycle, log } = o;
  const catalog = o.catalog ?? folderCatalog(o.functionsDir);
  let polling: Promise<void> | undefined;
  let timer: TimerHandle | undefined;
  let stopped = false;

  const poll = (): Promise<void> => {
    polling ??= (async () => {
      try {
        const names = await catalog.list();
        const present = new Set(names);
        await mapBounded(names, o.deployConcurrency ?? DEPLOY_CONCURRENCY, async (name) => {
          const fp = await catalog.fingerprint(name);
          if (registry.unloaded.has(name) && registry.unloaded.get(name) === fp) return;
          const e = registry.get(name);
          if (e && e.fingerprint === fp) return;
          await lifecycle.deploy(name, false, fp, 'scan').catch(() => {}); // recorded in the entry and logged
        });
        for (const e of registry.entries()) {
          if (present.has(e.name) || e.state === 'UNLOADING') continue;
          // Listed before an explicit load created it? Only a folder that is really gone unloads.
          if ((await catalog.fingerprint(e.name)) !== undefined) continue;
          await lifecycle
            .remove(e.name, 'unload')
            .catch((err) => log.error({ function: e.name, err }, 'unload failed'));
        }
        for (const name of registry.unloaded.keys()) if (!present.has(name)) registry.unloaded.delete(name);
      } finally {
        polling = undefined;
      }
    })();
    return polling;
  };

  const schedule = () => {
    if (stopped || o.everyMs <= 0) return;
    timer = o.clock.setTimeout(() => {
      poll()
        .catch((err) => log.error({ err }, 'function repository poll failed'))
        .finally(schedule);
    }, o.everyMs);
  };

  return {
    poll,
    start: schedule,
    async stop() {
      stopped = true;
      if (timer !== undefined) o.clock.clearTimeout(timer);
      await polling?.catch(() => {});
    },
  };
}
