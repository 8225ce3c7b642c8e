// The serving runtime: functions from a repository folder, each served by a
// pool of instance processes that the autoscaler grows and shrinks, under a
// machine-wide memory guard. This is what the gateway's backend calls:
// list / metadata / ready / infer / load / unload / close, plus events for
// metrics. Protocol-neutral: requests and responses are KServe-v2-shaped
// tensors (functions/tensors.ts).
import { TensorshareError, isTensorshareError } from '../errors.js';
import { resolvePaths } from '../config.js';
import { localResidency, type Residency } from '../client/residency.js';
import { realClock, type Clock, type TimerHandle } from './autoscaler/clock.js';
import { createAutoscalerDriver, type AutoscalerDriver } from './autoscaler/driver.js';
import { deployFunction, type DeployedFunction } from './functions/deploy.js';
import { fingerprintFunction, listFunctionNames, readFunction } from './functions/repository.js';
import type { FunctionMetadata, InferRequest, InferResponse } from './functions/tensors.js';
import { describeHandlerIn } from './instances/describe.js';
import type { EventSink, RuntimeEvent } from './instances/events.js';
import { startInstance, type Instance } from './instances/instance.js';
import { createMemoryGuard, readMemAvailable, readPssAnon, type MemoryGuard } from './instances/memory.js';
import { DEFAULT_OPENER, type OpenerSpec } from './instances/opener.js';
import { createPool, type FunctionPool, type InferOptions, type PoolStats } from './instances/pool.js';
import { createFifoQueue, type QueueFactory } from './instances/queue.js';
import type { CoreBudget, CoreReservation } from '../sched/cores.js';

export type { InferOptions } from './instances/pool.js';
export type { RuntimeEvent } from './instances/events.js';

/** pino-compatible subset. */
export interface Logger {
  debug(obj: object, msg?: string): void;
  info(obj: object, msg?: string): void;
  warn(obj: object, msg?: string): void;
  error(obj: object, msg?: string): void;
}

const silent: Logger = { debug() {}, info() {}, warn() {}, error() {} };

export interface RuntimeOptions {
  /** Folder with one sub-folder per function. */
  functionsDir: string;
  repository?: string;
  store?: string;
  /** How instances open models (default: daemonless openSession). */
  openModel?: OpenerSpec;
  /** How deploy makes models resident (default: daemonless, in repository/store; server.ts passes the daemon's). */
  residency?: Residency;
  clock?: Clock;
  logger?: Logger;
  /** Called with every RuntimeEvent (metrics). More listeners: subscribe(). */
  onEvent?: EventSink;
  /** Scan functionsDir for changes this often; 0: only explicit load/unload. Default 2000. */
  pollIntervalMs?: number;
  /** Deploy every function found at start (default true). */
  loadAll?: boolean;
  /** Autoscaler decision interval (default 1000 ms). */
  autoscaleTickMs?: number;
  memory?: {
    /** Bytes instances may hold privately in total; default budgetFraction x MemAvailable at start. */
    budgetBytes?: number;
    budgetFraction?: number;
    /** Private memory assumed for an instance of a function not seen running yet (default 256 MiB). */
    defaultInstanceMb?: number;
    /** Sample each instance's Pss_Anon this often (default 1000 ms). */
    sampleMs?: number;
  };
  /** Kill an instance not ready after this long (default 120 s). */
  startTimeoutMs?: number;
  /** Kill a draining instance whose requests are still running after this long (default 60 s). */
  drainTimeoutMs?: number;
  /** Replaces the per-function FIFO (e.g. with src/sched). */
  queue?: QueueFactory;
  /**
   * CPU cores for instances' intra-op threads: each instance reserves its
   * function's intraOpThreads for its lifetime; one asking for more than is
   * free runs with what is free, and none starts when no core is free
   * (ERR_RESOURCE_EXHAUSTED, as with memory). Default: no accounting.
   */
  cores?: CoreBudget;
  /** Environment of instance processes (default: this process's). */
  env?: NodeJS.ProcessEnv;
}

export type FunctionState = 'LOADING' | 'READY' | 'UNAVAILABLE' | 'UNLOADING';

export interface FunctionStatus {
  name: string;
  version?: string;
  state: FunctionState;
  /** Why it is unavailable, or why its last update failed while the previous version keeps serving. */
  reason?: string;
  instances: { starting: number; ready: number; draining: number };
  queueLength: number;
}

/** What a function was deployed as: its settings, protocol metadata, handler. Plain data. */
export interface Deployment {
  name: string;
  version: string;
  config: DeployedFunction['config'];
  metadata: FunctionMetadata;
  hasHandler: boolean;
}

export interface RuntimeStats {
  functions: (PoolStats & { instances: (PoolStats['instances'][number] & { memoryBytes?: number })[] })[];
  memory: { budgetBytes: number; reservedBytes: number };
}

export interface Runtime {
  list(): FunctionStatus[];
  metadata(fn: string): FunctionMetadata | undefined;
  /** The current deployment of `fn` (undefined while none is serving). */
  deployment(fn: string): Deployment | undefined;
  /** A function deployed and taking requests (instances may be at zero); without fn: the runtime is up and not closing. */
  ready(fn?: string): boolean;
  infer(fn: string, request: InferRequest, opts?: InferOptions): Promise<InferResponse>;
  /** Deploys (or redeploys) `functionsDir/<fn>`. Throws when it is invalid; a previous good version keeps serving. */
  load(fn: string): Promise<FunctionStatus>;
  /** Stops taking requests for `fn`, serves what is queued, drains its instances. */
  unload(fn: string): Promise<void>;
  /**
   * Requests for `fn` waiting upstream of the runtime (in the scheduler), in
   * runs they will need: counted by the autoscaler as waiting demand, and a
   * function at zero instances with a backlog starts one.
   */
  setBacklog(fn: string, runs: number): void;
  /** Scans functionsDir now (what polling does). */
  poll(): Promise<void>;
  stats(): RuntimeStats;
  subscribe(listener: EventSink): () => void;
  /** Graceful: stops polling and scaling, serves queued requests, drains every instance (killed after timeoutMs). */
  close(opts?: { timeoutMs?: number }): Promise<void>;
}

interface Entry {
  name: string;
  state: FunctionState;
  /** Fingerprint of the files last deployed or tried. */
  fingerprint?: string;
  pool?: FunctionPool;
  error?: string;
  /** Serializes load/unload of this function. */
  op: Promise<unknown>;
  deployments: number;
}

export async function createRuntime(o: RuntimeOptions): Promise<Runtime> {
  const paths = resolvePaths({ repository: o.repository, store: o.store });
  const clock = o.clock ?? realClock;
  const log = o.logger ?? silent;
  const opener = o.openModel ?? DEFAULT_OPENER;
  const residency = o.residency ?? localResidency(paths);
  const listeners = new Set<EventSink>(o.onEvent ? [o.onEvent] : []);
  const emit: EventSink = (e: RuntimeEvent) => {
    for (const l of listeners) {
      try { l(e); } catch (err) { log.warn({ err }, 'runtime event listener threw'); }
    }
  };
  const mem = o.memory ?? {};
  const guard: MemoryGuard = createMemoryGuard({
    budgetBytes: mem.budgetBytes ?? Math.floor((mem.budgetFraction ?? 0.8) * (await readMemAvailable())),
    defaultInstanceBytes: (mem.defaultInstanceMb ?? 256) * 2 ** 20,
  });
  const memBytes = new Map<string, number>();
  const entries = new Map<string, Entry>();
  /** Functions unloaded explicitly, with the fingerprint they had: polling leaves them alone until their files change. */
  const unloaded = new Map<string, string | undefined>();
  const describeHandler = describeHandlerIn(30_000, o.env);
  const driver: AutoscalerDriver = createAutoscalerDriver({ clock, tickMs: o.autoscaleTickMs ?? 1000 });
  let seq = 0;
  let closed = false;

  const pools = () => [...entries.values()].flatMap((e) => (e.pool ? [e.pool] : []));
  const mib = (b: number) => `${Math.round(b / 2 ** 20)} MiB`;

  /** Functions whose last start was refused for cores (logged once until one starts). */
  const coreBlocked = new Set<string>();
  /** Reserves intra-op threads for instance `id`: what is free down to one thread, or why none can start. */
  const reserveCores = (d: DeployedFunction, id: string): CoreReservation | TensorshareError | undefined => {
    if (!o.cores) return undefined;
    const want = d.config.intraOpThreads;
    try {
      const lease = o.cores.reserve(id, want, { min: 1 });
      coreBlocked.delete(d.name);
      if (lease.threads < want) {
        log.warn({ function: d.name, instance: id, intraOpThreads: want, granted: lease.threads, cores: o.cores.total },
          `instance ${id} asked for ${want} intra-op threads but only ${lease.threads} of ${o.cores.total} cores are free: it runs with ${lease.threads}`);
      }
      return lease;
    } catch (e) {
      if (!isTensorshareError(e, 'ERR_RESOURCE_EXHAUSTED')) throw e;
      const holders = o.cores.holders().map((h) => `${h.owner}:${h.threads}`).join(', ');
      const err = new TensorshareError('ERR_RESOURCE_EXHAUSTED',
        `not enough CPU cores to start an instance of function '${d.name}': it needs ${want} intra-op thread${want === 1 ? '' : 's'} and all ${o.cores.total} cores are held by instances (${holders})`,
        { function: d.name, resource: 'cores', requested: want, available: o.cores.available(), total: o.cores.total });
      if (!coreBlocked.has(d.name)) {
        coreBlocked.add(d.name);
        log.warn({ function: d.name, intraOpThreads: want, cores: o.cores.total, holders }, err.message);
      }
      return err;
    }
  };

  const spawn = (d: DeployedFunction, hooks: { onReady(i: Instance): void; onExit(i: Instance, info: import('./instances/instance.js').ExitInfo): void }) => {
    const id = `${d.name}-v${d.version}-${++seq}`;
    const limit = d.config.memoryLimitMb !== undefined ? d.config.memoryLimitMb * 2 ** 20 : undefined;
    const r = guard.reserve(d.name, id, limit);
    if (!r.ok) {
      return new TensorshareError('ERR_RESOURCE_EXHAUSTED',
        `not enough memory to start an instance of function '${d.name}': it needs about ${mib(r.estimate)} and ${mib(r.reserved)} of the ${mib(r.budget)} instance budget is taken`,
        { function: d.name, estimateBytes: r.estimate, reservedBytes: r.reserved, budgetBytes: r.budget });
    }
    const lease = reserveCores(d, id);
    if (lease instanceof TensorshareError) {
      guard.release(id);
      return lease;
    }
    // An instance granted fewer threads than configured opens its sessions with what it got.
    const runAs = lease && lease.threads !== d.config.intraOpThreads ? { ...d, config: { ...d.config, intraOpThreads: lease.threads } } : d;
    return startInstance({
      id,
      deployed: runAs,
      repository: paths.repository,
      store: paths.store,
      opener,
      startTimeoutMs: o.startTimeoutMs ?? 120_000,
      drainTimeoutMs: o.drainTimeoutMs ?? 60_000,
      exitTimeoutMs: 5_000,
      env: o.env,
      onReady: (i) => {
        log.info({ function: d.name, instance: i.id, pid: i.pid, coldStartMs: Math.round(i.coldStartMs ?? 0) }, 'instance ready');
        hooks.onReady(i);
      },
      onExit: (i, info) => {
        guard.release(id);
        lease?.release();
        memBytes.delete(id);
        const level = info.reason === 'crash' || info.reason === 'start-failed' ? 'warn' : 'info';
        log[level]({ function: d.name, instance: i.id, pid: i.pid, reason: info.reason, code: info.code, signal: info.signal, error: info.error?.message }, 'instance exited');
        hooks.onExit(i, info);
        // Memory freed: functions waiting for room may start now.
        if (!closed) for (const p of pools()) if (p !== entries.get(d.name)?.pool && p.counts().current === 0 && p.waiting() > 0) driver.poke(p.name);
      },
    });
  };

  const reclaim = (fn: string): boolean => {
    for (const p of pools()) if (p.counts().draining > 0) return true;
    for (const p of pools()) if (p.name !== fn && p.evictIdle()) return true;
    return false;
  };

  const newPool = (d: DeployedFunction): FunctionPool => {
    const pool = createPool({
      deployed: d,
      clock,
      queue: o.queue ?? createFifoQueue,
      spawn,
      reclaim,
      poke: () => { if (!closed) driver.poke(d.name); },
      emit,
    });
    driver.add({
      name: d.name,
      config: () => pool.kpaConfig(),
      sample: (now) => pool.meter.take(now),
      instant: () => pool.meter.value,
      counts: () => pool.counts(),
      apply: (n, decision) => pool.scaleTo(n, decision),
    });
    return pool;
  };

  const entryFor = (name: string): Entry => {
    let e = entries.get(name);
    if (!e) {
      e = { name, state: 'LOADING', op: Promise.resolve(), deployments: 0 };
      entries.set(name, e);
    }
    return e;
  };

  const status = (e: Entry): FunctionStatus => {
    const c = e.pool?.counts();
    const s = e.pool?.stats();
    return {
      name: e.name,
      ...(e.pool ? { version: e.pool.deployed.version } : {}),
      state: e.state,
      ...(e.error ? { reason: e.error } : {}),
      instances: { starting: c?.starting ?? 0, ready: c?.ready ?? 0, draining: c?.draining ?? 0 },
      queueLength: s?.queueLength ?? 0,
    };
  };

  const serial = <T>(e: Entry, f: () => Promise<T>): Promise<T> => {
    const next = e.op.then(f, f);
    e.op = next.catch(() => {});
    return next;
  };

  const deploy = (name: string, force: boolean): Promise<FunctionStatus> => {
    unloaded.delete(name);
    const e = entryFor(name);
    return serial(e, async () => {
      if (closed) throw new TensorshareError('ERR_UNAVAILABLE', 'runtime is closing');
      if (!entries.has(name)) entries.set(name, e); // re-deploy after an unload
      if (e.pool?.closing) { e.pool = undefined; e.fingerprint = undefined; }
      const fingerprint = await fingerprintFunction(o.functionsDir, name);
      if (!force && fingerprint !== undefined && fingerprint === e.fingerprint && e.state !== 'UNLOADING') return status(e);
      if (!e.pool) e.state = 'LOADING';
      e.fingerprint = fingerprint;
      try {
        const def = await readFunction(o.functionsDir, name);
        e.fingerprint = def.source.fingerprint;
        const prev = e.pool?.deployed;
        const d = await deployFunction(def, { repository: paths.repository, residency, version: String(e.deployments + 1), describeHandler });
        if (prev && sameDeployment(prev, d)) {
          e.error = undefined;
          return status(e);
        }
        e.deployments++;
        if (closed) throw new TensorshareError('ERR_UNAVAILABLE', 'runtime is closing');
        if (e.pool && !e.pool.closing) {
          e.pool.update(d);
          emit({ type: 'function', function: name, action: 'updated', version: d.version });
          log.info({ function: name, version: d.version }, 'function updated');
        } else {
          e.pool = newPool(d);
          emit({ type: 'function', function: name, action: 'deployed', version: d.version });
          log.info({ function: name, version: d.version }, 'function deployed');
          driver.poke(name); // minInstances
        }
        e.state = 'READY';
        e.error = undefined;
        return status(e);
      } catch (err) {
        if (e.fingerprint === undefined && !e.pool) {
          entries.delete(name); // no such function: nothing to list
          throw err;
        }
        e.error = (err as Error).message;
        if (!e.pool) e.state = 'UNAVAILABLE';
        emit({ type: 'function', function: name, action: 'failed', error: e.error });
        log.warn({ function: name, err: e.error }, e.pool ? 'function update failed; the previous version keeps serving' : 'function failed to deploy');
        throw err;
      }
    });
  };

  const remove = (name: string, reason: 'unload' | 'close'): Promise<void> => {
    const e = entries.get(name);
    if (!e) return Promise.resolve();
    return serial(e, async () => {
      if (!e.pool) {
        entries.delete(name);
        return;
      }
      e.state = 'UNLOADING';
      const pool = e.pool;
      await pool.close(reason);
      driver.remove(name);
      if (entries.get(name) === e) entries.delete(name);
      emit({ type: 'function', function: name, action: 'removed', version: pool.deployed.version });
      log.info({ function: name }, 'function removed');
    });
  };

  // Polling.
  let polling: Promise<void> | undefined;
  const poll = (): Promise<void> => {
    polling ??= (async () => {
      try {
        const names = await listFunctionNames(o.functionsDir);
        const present = new Set(names);
        await Promise.all(names.map(async (name) => {
          const fp = await fingerprintFunction(o.functionsDir, name);
          if (unloaded.has(name) && unloaded.get(name) === fp) return;
          const e = entries.get(name);
          if (e && e.fingerprint === fp) return;
          await deploy(name, false).catch(() => {}); // recorded in the entry and logged
        }));
        for (const [name, e] of entries) {
          if (present.has(name) || e.state === 'UNLOADING') continue;
          // Listed before an explicit load created it? Only a folder that is really gone unloads.
          if ((await fingerprintFunction(o.functionsDir, name)) !== undefined) continue;
          await remove(name, 'unload').catch((err) => log.error({ function: name, err }, 'unload failed'));
        }
        for (const name of unloaded.keys()) if (!present.has(name)) unloaded.delete(name);
      } finally {
        polling = undefined;
      }
    })();
    return polling;
  };
  let pollTimer: TimerHandle | undefined;
  const pollEvery = o.pollIntervalMs ?? 2000;
  const schedulePoll = () => {
    if (closed || pollEvery <= 0) return;
    pollTimer = clock.setTimeout(() => {
      poll().catch((err) => log.error({ err }, 'function repository poll failed')).finally(schedulePoll);
    }, pollEvery);
  };

  // Memory sampling and per-instance limits.
  let sampleTimer: TimerHandle | undefined;
  const sampleMs = mem.sampleMs ?? 1000;
  const sample = async () => {
    for (const p of pools()) {
      for (const i of p.instances) {
        if (i.pid === undefined || i.state === 'exited') continue;
        const bytes = await readPssAnon(i.pid);
        if (bytes === undefined || (i.state as string) === 'exited') continue;
        guard.observe(i.fn, i.id, bytes);
        memBytes.set(i.id, bytes);
        const limitMb = p.deployed.version === i.version ? p.deployed.config.memoryLimitMb : undefined;
        if (limitMb !== undefined && bytes > limitMb * 2 ** 20 && i.state === 'ready') {
          emit({ type: 'recycle', function: i.fn, instance: i.id, bytes, limitBytes: limitMb * 2 ** 20 });
          log.warn({ function: i.fn, instance: i.id, bytes, limitMb }, 'instance over its memory limit: recycling');
          p.recycle(i, 'memory');
        }
      }
    }
  };
  const scheduleSample = () => {
    if (closed) return;
    sampleTimer = clock.setTimeout(() => {
      sample().catch((err) => log.error({ err }, 'memory sampling failed')).finally(scheduleSample);
    }, sampleMs);
  };

  const runtime: Runtime = {
    list: () => [...entries.values()].sort((a, b) => (a.name < b.name ? -1 : 1)).map(status),
    metadata: (fn) => entries.get(fn)?.pool?.deployed.metadata,
    deployment(fn) {
      const d = entries.get(fn)?.pool?.deployed;
      return d && { name: d.name, version: d.version, config: d.config, metadata: d.metadata, hasHandler: d.source.handlerFile !== undefined };
    },
    setBacklog(fn, runs) {
      const p = entries.get(fn)?.pool;
      if (p && !p.closing) p.setBacklog(runs);
    },
    ready: (fn) => {
      if (fn === undefined) return !closed;
      const e = entries.get(fn);
      return e?.state === 'READY' && !!e.pool && !e.pool.closing;
    },
    async infer(fn, request, opts) {
      const e = entries.get(fn);
      if (!e) throw new TensorshareError('ERR_MODEL_NOT_FOUND', `function '${fn}' not found`, { function: fn });
      if (e.state === 'LOADING' && !e.pool) await e.op;
      if (e.state === 'UNLOADING') throw new TensorshareError('ERR_UNAVAILABLE', `function '${fn}' is being unloaded`, { function: fn });
      if (!e.pool) throw new TensorshareError('ERR_UNAVAILABLE', `function '${fn}' is unavailable: ${e.error ?? 'not deployed'}`, { function: fn });
      return e.pool.submit(request, opts);
    },
    load: (fn) => deploy(fn, true),
    async unload(fn) {
      const e = entries.get(fn);
      if (!e) throw new TensorshareError('ERR_MODEL_NOT_FOUND', `function '${fn}' not found`, { function: fn });
      unloaded.set(fn, await fingerprintFunction(o.functionsDir, fn));
      await remove(fn, 'unload');
    },
    poll,
    stats: () => ({
      functions: pools().map((p) => {
        const s = p.stats();
        return { ...s, instances: s.instances.map((i) => ({ ...i, memoryBytes: memBytes.get(i.id) })) };
      }),
      memory: { budgetBytes: guard.budgetBytes, reservedBytes: guard.reserved() },
    }),
    subscribe(l) {
      listeners.add(l);
      return () => listeners.delete(l);
    },
    async close(opts = {}) {
      if (closed) return;
      closed = true;
      if (pollTimer !== undefined) clock.clearTimeout(pollTimer);
      if (sampleTimer !== undefined) clock.clearTimeout(sampleTimer);
      driver.stop();
      await polling?.catch(() => {});
      const all = [...entries.values()];
      for (const e of all) await e.op.catch(() => {});
      const done = Promise.all(all.map((e) => (e.pool ? e.pool.close('close') : undefined)));
      const timeoutMs = opts.timeoutMs ?? o.drainTimeoutMs ?? 60_000;
      let timer: ReturnType<typeof setTimeout> | undefined;
      const timedOut = await Promise.race([
        done.then(() => false),
        new Promise<boolean>((r) => { timer = setTimeout(() => r(true), timeoutMs); }),
      ]);
      clearTimeout(timer);
      if (timedOut) {
        log.warn({ timeoutMs }, 'instances still busy at close timeout: killing them');
        for (const e of all) e.pool?.kill('close');
        await done;
      }
      for (const e of all) driver.remove(e.name);
      entries.clear();
    },
  };

  if (o.loadAll !== false) await poll();
  driver.start();
  scheduleSample();
  schedulePoll();
  return runtime;
}

function sameDeployment(a: DeployedFunction, b: DeployedFunction): boolean {
  if (a.source.fingerprint !== b.source.fingerprint) return false;
  const refs = (d: DeployedFunction) => Object.values(d.models).map((m) => `${m.alias}=${m.ref}/${m.mode}`).sort().join(',');
  return refs(a) === refs(b);
}
