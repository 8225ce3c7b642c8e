// Function lifecycle: deploy (or redeploy) and remove, one operation at a
// time per function. A redeploy keeps the serving version while the new one
// loads; when it fails, the old one keeps serving with the failure as its
// reason. A function that never deployed tells the scheduler, which fails the
// requests that waited for it.
import { TensorshareError, isTensorshareError } from '../../errors.js';
import type { AutoscalerDriver } from '../autoscaler/driver.js';
import type { Residency } from '../../client/residency.js';
import { deployFunction, type DeployedFunction, type DescribeHandler } from '../functions/deploy.js';
import { folderCatalog, type FunctionCatalog } from '../functions/repository.js';
import type { EventSink } from '../instances/events.js';
import type { ExitReason } from '../instances/instance.js';
import type { FunctionPool } from '../instances/pool.js';
import type { Logger } from './log.js';
import type { RunnerListener } from './pools.js';
import { createImportQueue } from './imports.js';
import { importThread } from '../../store/import-thread.js';
import type { Entry, FunctionRegistry, FunctionStatus } from './registry.js';

export interface Lifecycle {
  /** Deploys `functionsDir/<name>`; unless `force`, only when its files changed. */
  /** `fingerprint`: what a scan just computed for `name` (computed here when not given). */
  /**
   * `via: 'scan'`: a new function at minInstances 0 whose model files need an import stays LOADING
   * and is imported in the background (with `backgroundImports` on); its config is still read and
   * checked now. `'background-import'`: that import's deploy. Both deploy with DeployOptions.lazyResidency
   * (an explicit load, `via` undefined, makes every model resident).
   */
  deploy(name: string, force: boolean, fingerprint?: string, via?: DeployVia): Promise<FunctionStatus>;
  /** A request waits for `name`: its background import, if queued, starts now. */
  promote(name: string): void;
  /** Background imports queued or running. */
  importsPending(): number;
  /** Resolves when `name`'s background import (queued or running) finished; undefined when it has none. */
  importDone(name: string): Promise<void> | undefined;
  /** Resolves when no background import is queued or running. */
  importsIdle(): Promise<void>;
  /** Drops queued background imports (close). */
  close(): void;
  /** Stops serving `name`: its pool serves what the scheduler holds for it, drains, and the entry goes. */
  remove(name: string, reason: Extract<ExitReason, 'unload' | 'close'>): Promise<void>;
}

export interface LifecycleOptions {
  functionsDir: string;
  /** How functionsDir is read (default: one sub-folder per function). */
  catalog?: FunctionCatalog;
  repository: string;
  /** Makes a deployment's models resident (the daemon when serve uses one). */
  residency: Residency;
  /** The store `residency` fills. */
  store: string;
  registry: FunctionRegistry;
  newPool(d: DeployedFunction): FunctionPool;
  driver: AutoscalerDriver;
  describeHandler: DescribeHandler;
  listener: RunnerListener;
  emit: EventSink;
  log: Logger;
  isClosed(): boolean;
  /** Background imports at once (0 or unset: a deploy imports before it returns, as `load` always does). */
  backgroundImports?: number;
  /** Background imports start when this resolves (default: at once). */
  backgroundImportsAfter?: Promise<unknown>;
}

/** Who deploys: a repository scan, or the background import a scan queued (undefined: an explicit load). */
export type DeployVia = 'scan' | 'background-import';

export function createLifecycle(o: LifecycleOptions): Lifecycle {
  const { registry, log, emit } = o;
  const catalog = o.catalog ?? folderCatalog(o.functionsDir);
  const closing = () => new TensorshareError('ERR_UNAVAILABLE', 'runtime is closing');

  const serial = <T>(e: Entry, f: () => Promise<T>): Promise<T> => {
    const next = e.op.then(f, f);
    e.op = next.catch(() => {});
    return next;
  };
  const status = registry.statusOf;

  // Background imports run their importModel() on a thread of their own: the gateway's thread stays free.
  const thread = o.backgroundImports && o.backgroundImports > 0 ? importThread() : undefined;
  const imports =
    o.backgroundImports && o.backgroundImports > 0
      ? createImportQueue({
          concurrency: o.backgroundImports,
          ...(o.backgroundImportsAfter ? { after: o.backgroundImportsAfter } : {}),
          run: async (name) => {
            const e = registry.get(name);
            // Removed, unloaded or deployed by an explicit load since it was queued: nothing to import for.
            if (!e || e.pool || e.state !== 'LOADING' || o.isClosed()) return;
            await deploy(name, true, undefined, 'background-import');
          },
        })
      : undefined;

  const deploy = (name: string, force: boolean, scanned?: string, via?: DeployVia): Promise<FunctionStatus> => {
    registry.unloaded.delete(name);
    const e = registry.entryFor(name);
    return serial(e, async () => {
      if (o.isClosed()) throw closing();
      if (!registry.get(name)) registry.put(e); // re-deploy after an unload
      if (e.pool?.closing) {
        e.pool = undefined;
        e.fingerprint = undefined;
      }
      const fingerprint = scanned ?? (await catalog.fingerprint(name));
      if (!force && fingerprint !== undefined && fingerprint === e.fingerprint && e.state !== 'UNLOADING')
        return status(e);
      if (!e.pool) e.state = 'LOADING';
      e.fingerprint = fingerprint;
      try {
        const known = e.deferred;
        e.deferred = undefined;
        const def =
          known && fingerprint !== undefined && known.source.fingerprint === fingerprint
            ? known
            : await catalog.read(name, fingerprint);
        e.fingerprint = def.source.fingerprint;
        const prev = e.pool?.deployed;
        const deferrable = via === 'scan' && imports !== undefined && !e.pool && def.config.minInstances === 0;
        const d = await deployFunction(def, {
          repository: o.repository,
          residency: o.residency,
          store: o.store,
          version: String(e.deployments + 1),
          describeHandler: o.describeHandler,
          stampedOnly: deferrable,
          lazyResidency: via !== undefined,
          ...(via === 'background-import' && thread ? { importModel: thread.importModel } : {}),
        });
        if (d === undefined) {
          e.state = 'LOADING';
          e.error = undefined;
          e.deferred = def; // its background deploy reads the folder's fingerprint, not the whole definition again
          const first = imports!.pending() === 0;
          imports!.add(name);
          if (e.backlog > 0) imports!.promote(name); // requests already wait for it
          log.debug({ function: name }, 'function imports its model files in the background');
          if (first) {
            const t0 = performance.now();
            void imports!.idle().then(() => {
              if (!o.isClosed()) log.info({ ms: Math.round(performance.now() - t0) }, 'background imports done');
            });
          }
          return status(e);
        }
        if (prev && sameDeployment(prev, d)) {
          e.error = undefined;
          return status(e);
        }
        e.deployments++;
        if (o.isClosed()) throw closing();
        if (e.pool && !e.pool.closing) {
          e.pool.update(d);
          emit({ type: 'function', function: name, action: 'updated', version: d.version });
          log.info({ function: name, version: d.version }, 'function updated');
        } else {
          e.pool = o.newPool(d);
          e.pool.setBacklog(e.backlog); // requests that waited while it loaded
          emit({ type: 'function', function: name, action: 'deployed', version: d.version });
          log.info({ function: name, version: d.version }, 'function deployed');
          o.driver.poke(name); // minInstances
        }
        e.state = 'READY';
        e.error = undefined;
        return status(e);
      } catch (err) {
        if (e.fingerprint === undefined && !e.pool) {
          registry.delete(name); // no such function: nothing to list
          o.listener.unservable(
            name,
            isTensorshareError(err)
              ? err
              : new TensorshareError(
                  'ERR_UNAVAILABLE',
                  `function '${name}' could not be deployed: ${(err as Error).message}`,
                  { function: name },
                ),
          );
          throw err;
        }
        e.error = (err as Error).message;
        if (!e.pool) {
          e.state = 'UNAVAILABLE';
          o.listener.unservable(
            name,
            new TensorshareError('ERR_UNAVAILABLE', `function '${name}' is unavailable: ${e.error}`, {
              function: name,
            }),
          );
        }
        emit({ type: 'function', function: name, action: 'failed', error: e.error });
        log.warn(
          { function: name, err: e.error },
          e.pool ? 'function update failed; the previous version keeps serving' : 'function failed to deploy',
        );
        throw err;
      }
    });
  };

  const remove = (name: string, reason: 'unload' | 'close'): Promise<void> => {
    const e = registry.get(name);
    if (!e) return Promise.resolve();
    return serial(e, async () => {
      if (!e.pool) {
        registry.delete(name);
        return;
      }
      e.state = 'UNLOADING';
      const pool = e.pool;
      await pool.close(reason);
      o.driver.remove(name);
      registry.delete(name, e);
      o.listener.unservable(
        name,
        new TensorshareError('ERR_UNAVAILABLE', `function '${name}' was removed`, { function: name }),
      );
      emit({ type: 'function', function: name, action: 'removed', version: pool.deployed.version });
      log.info({ function: name }, 'function removed');
    });
  };

  return {
    deploy,
    remove,
    promote: (name) => imports?.promote(name),
    importsPending: () => imports?.pending() ?? 0,
    importDone: (name) => imports?.done(name),
    importsIdle: () => imports?.idle() ?? Promise.resolve(),
    close: () => {
      imports?.close();
      void thread?.close();
    },
  };
}

function sameDeployment(a: DeployedFunction, b: DeployedFunction): boolean {
  if (a.source.fingerprint !== b.source.fingerprint) return false;
  const refs = (d: DeployedFunction) =>
    Object.values(d.models)
      .map((m) => `${m.alias}=${m.ref}/${m.mode}`)
      .sort()
      .join(',');
  return refs(a) === refs(b);
}
