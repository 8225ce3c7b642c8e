// The function registry: one entry per function the runtime knows, with its
// lifecycle state (Triton's LOADING / READY / UNAVAILABLE / UNLOADING plus a
// reason), the pool serving its current deployment, and the plain views the
// rest of the serving layer reads (status, deployment). It changes nothing by
// itself: lifecycle.ts moves entries between states.
import type { DeployedFunction } from '../functions/deploy.js';
import type { FunctionDefinition } from '../functions/repository.js';
import type { ModelMetadata } from '../../tensor/index.js';
import type { FunctionPool } from '../instances/pool.js';

export type FunctionState = 'LOADING' | 'READY' | 'UNAVAILABLE' | 'UNLOADING';

export interface FunctionStatus {
  name: string;
  version?: string;
  state: FunctionState;
  /** Why it is unavailable, or why its last update failed while the previous version keeps serving. */
  reason?: string;
  instances: { starting: number; ready: number; draining: number };
}

/** What a function was deployed as: its settings, protocol metadata, handler. Plain data. */
export interface Deployment {
  name: string;
  version: string;
  config: DeployedFunction['config'];
  metadata: ModelMetadata;
  hasHandler: boolean;
  /** The exact model references (`name:version`) its instances open. */
  models: string[];
}

export interface Entry {
  name: string;
  state: FunctionState;
  /** Fingerprint of the files last deployed or tried. */
  fingerprint?: string;
  pool?: FunctionPool;
  error?: string;
  /** Serializes load/unload of this function. */
  op: Promise<unknown>;
  deployments: number;
  /** Runs the scheduler holds for this function (kept here so a pool created later starts with it). */
  backlog: number;
  /**
   * While its background import is queued: the definition read when it was deferred, used again
   * when its files still have this fingerprint (not read and validated a second time).
   */
  deferred?: FunctionDefinition;
}

export interface FunctionRegistry {
  get(name: string): Entry | undefined;
  /** The entry of `name`, created LOADING when there is none. */
  entryFor(name: string): Entry;
  /** Registers `entry` again (a re-deploy after an unload removed it). */
  put(entry: Entry): void;
  /** Forgets `name` (only while `entry` is still the one registered, when given). */
  delete(name: string, entry?: Entry): void;
  entries(): Entry[];
  pools(): FunctionPool[];
  status(name: string): FunctionStatus | undefined;
  statusOf(entry: Entry): FunctionStatus;
  list(): FunctionStatus[];
  deployment(name: string): Deployment | undefined;
  /** Functions unloaded explicitly, with the fingerprint they had: polling leaves them alone until their files change. */
  readonly unloaded: Map<string, string | undefined>;
  clear(): void;
}

export function createFunctionRegistry(): FunctionRegistry {
  const entries = new Map<string, Entry>();
  const unloaded = new Map<string, string | undefined>();

  const statusOf = (e: Entry): FunctionStatus => {
    const c = e.pool?.counts();
    return {
      name: e.name,
      ...(e.pool ? { version: e.pool.deployed.version } : {}),
      state: e.state,
      ...(e.error ? { reason: e.error } : {}),
      instances: { starting: c?.starting ?? 0, ready: c?.ready ?? 0, draining: c?.draining ?? 0 },
    };
  };

  return {
    get: (name) => entries.get(name),
    entryFor(name) {
      let e = entries.get(name);
      if (!e) {
        e = { name, state: 'LOADING', op: Promise.resolve(), deployments: 0, backlog: 0 };
        entries.set(name, e);
      }
      return e;
    },
    put(entry) {
      entries.set(entry.name, entry);
    },
    delete(name, entry) {
      if (entry === undefined || entries.get(name) === entry) entries.delete(name);
    },
    entries: () => [...entries.values()],
    pools: () => [...entries.values()].flatMap((e) => (e.pool ? [e.pool] : [])),
    status(name) {
      const e = entries.get(name);
      return e && statusOf(e);
    },
    statusOf,
    list: () => [...entries.values()].sort((a, b) => (a.name < b.name ? -1 : 1)).map(statusOf),
    deployment(name) {
      const d = entries.get(name)?.pool?.deployed;
      return (
        d && {
          name: d.name,
          version: d.version,
          config: d.config,
          metadata: d.metadata,
          hasHandler: d.source.handlerFile !== undefined,
          models: Object.values(d.models).map((m) => m.ref),
        }
      );
    },
    unloaded,
    clear: () => entries.clear(),
  };
}
