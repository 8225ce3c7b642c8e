// The serving runtime: functions from a repository folder, each served by a
// pool of instance processes that the autoscaler grows and shrinks, within
// the memory and core guards. It is the scheduler's runner (../scheduling.ts
// is the only way requests reach it): it reports each function's slots and
// runs a request on a free one; it holds no queue and no request timer.
// Protocol-neutral: requests and responses are KServe-v2-shaped tensors
// (src/tensor). The parts, one file each under runtime/:
//   registry.ts   functions, their states and plain views
//   resources.ts  memory guard and core reservations for instance starts
//   pools.ts      a pool per deployment, wired to resources, autoscaler, scheduler
//   sampling.ts   memory samples -> guard, per-instance memory limits
//   lifecycle.ts  deploy / remove, one at a time per function
//   polling.ts    repository scans
import { TensorshareError } from '../errors.js';
import { resolvePaths } from '../config.js';
import { localResidency, type Residency } from '../client/residency.js';
import { realClock, type Clock } from './autoscaler/clock.js';
import { createAutoscalerDriver } from './autoscaler/driver.js';
import { folderCatalog, type FunctionCatalog } from './functions/repository.js';
import type { InferRequest, InferResponse, ModelMetadata } from '../tensor/index.js';
import { describeHandlerIn } from './instances/describe.js';
import type { InstanceUsers } from './instances/user.js';
import type { EventSink, RuntimeEvent } from './instances/events.js';
import type { MemoryLimitOptions } from './instances/memory-limit.js';
import { createMemoryGuard, readMemAvailable } from './instances/memory.js';
import { DEFAULT_OPENER, type OpenerSpec } from './instances/opener.js';
import type { PoolStats, RunOptions } from './instances/pool.js';
import { createPrestartPool, PRESTART_ESTIMATE_BYTES } from './instances/prestart.js';
import type { CoreBudget } from '../sched/cores.js';
import { createLifecycle } from './runtime/lifecycle.js';
import type { BufferPool } from '../shm/index.js';
import { EXTRA_CA_CERTS_VAR, instanceEnvironment } from './instances/instance.js';
import { silentLogger, type Logger } from './runtime/log.js';
import { createPoolWiring, type RunnerListener } from './runtime/pools.js';
import { createRepositoryPoller } from './runtime/polling.js';
import { createFunctionRegistry, type Deployment, type FunctionStatus } from './runtime/registry.js';
import { createResources } from './runtime/resources.js';
import { createMemorySampler } from './runtime/sampling.js';

export type { RunOptions } from './instances/pool.js';
export type { RuntimeEvent } from './instances/events.js';
export type { Logger } from './runtime/log.js';
export type { RunnerListener } from './runtime/pools.js';
export type { Deployment, FunctionState, FunctionStatus } from './runtime/registry.js';

export interface RuntimeOptions {
  /** Folder with one sub-folder per function. */
  functionsDir: string;
  /** How functionsDir is read (default: one sub-folder per function; a Triton model repository has its own). */
  catalog?: FunctionCatalog;
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
    /** memoryLimitMb while a request runs: a cgroup per instance where possible, else polling (see instances/memory-limit.ts). */
    enforce?: MemoryLimitOptions['enforce'];
  };
  /** Kill an instance not ready after this long (default 120 s). */
  startTimeoutMs?: number;
  /** Kill a draining instance whose requests are still running after this long (default 60 s). */
  drainTimeoutMs?: number;
  /**
   * CPU cores for instances' intra-op threads: each instance reserves its
   * function's intraOpThreads for its lifetime; one asking for more than is
   * free runs with what is free, and none starts when no core is free
   * (ERR_RESOURCE_EXHAUSTED, as with memory). Default: no accounting.
   */
  cores?: CoreBudget;
  /** Environment of instance processes (default: this process's), without NODE_EXTRA_CA_CERTS unless `instanceExtraCaCerts`. */
  env?: NodeJS.ProcessEnv;
  /** Instance processes keep NODE_EXTRA_CA_CERTS (default: they start without it: instances/instance.ts says why). */
  instanceExtraCaCerts?: boolean;
  /** Users instance processes (and handler describe processes) run as, by function tenant (default: this process's). */
  instanceUsers?: InstanceUsers;
  /**
   * Idle instance processes kept pre-started (Node and ONNX Runtime loaded,
   * no function yet) for starts of functions that run as the default user,
   * within the memory budget. Default 0 (every start forks); `serve` keeps 1.
   */
  prestart?: number;
  /**
   * Default true: when an instance starts, serve restores its fast-run models' cut originals itself, overlapping
   * the instance's start (runtime/originals-ahead.ts). false: the instance restores them inside its open (the
   * coldphases benchmark's comparison).
   */
  originalsAhead?: boolean;
  /** Buffers instances' large JSON text is read into; the gateway gives them back once a response is sent. */
  readBuffers?: BufferPool;
  /**
   * Import model files in the background, this many at once: a scan lists a new function at
   * minInstances 0 whose model file is not imported yet (no stamp: src/store/source-stamp.ts) as
   * LOADING and returns; its first request waits for its import, which then starts at once.
   * Default 0: every scan (and start) imports before it returns.
   */
  backgroundImports?: number;
  /**
   * Work nothing waits for starts when this resolves (default: at once): background imports (but not
   * one a request waits for) and forking the pre-started processes. serve: once the gateway listens,
   * so neither slows its start (a pre-started process loading ONNX Runtime beside the daemon's start
   * costs a restart a few hundred ms on two cores).
   */
  backgroundAfter?: Promise<unknown>;
}

export interface RuntimeStats {
  functions: (PoolStats & { instances: (PoolStats['instances'][number] & { memoryBytes?: number })[] })[];
  memory: { budgetBytes: number; reservedBytes: number };
  /** Idle pre-started instance processes: preloaded, and still loading. */
  prestart: { ready: number; starting: number };
  /** Background imports queued or running. */
  imports: { pending: number };
}

export interface Runtime {
  list(): FunctionStatus[];
  /** One function's status; undefined when the runtime does not know it. */
  status(fn: string): FunctionStatus | undefined;
  metadata(fn: string): ModelMetadata | undefined;
  /** The current deployment of `fn` (undefined while none is serving). */
  deployment(fn: string): Deployment | undefined;
  /** A function deployed and taking requests (instances may be at zero); without fn: the runtime is up and not closing. */
  ready(fn?: string): boolean;
  /** Requests `fn` takes at once now: ready instances x maxConcurrency (0 during a cold start). */
  slots(fn: string): number;
  /** Runs one request (or batch) on a free slot of `fn`; ERR_UNAVAILABLE when none is free. The scheduler's call. */
  run(fn: string, request: InferRequest, opts?: RunOptions): Promise<InferResponse>;
  /**
   * Requests for `fn` waiting in the scheduler, in runs they will need:
   * counted by the autoscaler as demand, and a function at zero instances
   * with a backlog starts one.
   */
  setBacklog(fn: string, runs: number): void;
  /** The scheduler's channel: slot changes, and requests nothing can serve. One listener. */
  watch(listener: RunnerListener): () => void;
  /** Deploys (or redeploys) `functionsDir/<fn>`. Throws when it is invalid; a previous good version keeps serving. */
  load(fn: string): Promise<FunctionStatus>;
  /** Stops taking requests for `fn`, serves what the scheduler holds for it, drains its instances. */
  unload(fn: string): Promise<void>;
  /**
   * Resolves once `fn` is past LOADING (deployed, failed or gone); a background import it waits
   * for starts now. At once for a function that is not loading.
   */
  whenLoaded(fn: string): Promise<void>;
  /** Scans functionsDir now (what polling does). */
  poll(): Promise<void>;
  stats(): RuntimeStats;
  subscribe(listener: EventSink): () => void;
  /** Graceful: stops polling and scaling, serves what is still scheduled, drains every instance (killed after timeoutMs). */
  close(opts?: { timeoutMs?: number }): Promise<void>;
  /** Hard: kills every instance now; their requests fail with ERR_UNAVAILABLE. */
  destroy(): void;
}

const noListener: RunnerListener = { slots() {}, unservable() {} };

export async function createRuntime(o: RuntimeOptions): Promise<Runtime> {
  const paths = resolvePaths({ repository: o.repository, store: o.store });
  const catalog = o.catalog ?? folderCatalog(o.functionsDir);
  const clock = o.clock ?? realClock;
  const log = o.logger ?? silentLogger;
  const residency = o.residency ?? localResidency(paths);
  const listeners = new Set<EventSink>(o.onEvent ? [o.onEvent] : []);
  const emit: EventSink = (e: RuntimeEvent) => {
    for (const l of listeners) {
      try {
        l(e);
      } catch (err) {
        log.warn({ err }, 'runtime event listener threw');
      }
    }
  };
  let runner: RunnerListener = noListener;
  // Forwarded late: the scheduler watches after the runtime exists.
  const listener: RunnerListener = {
    slots: (fn, n) => runner.slots(fn, n),
    unservable: (fn, e) => runner.unservable(fn, e),
  };
  const baseEnv = o.env ?? process.env;
  const instanceEnv = instanceEnvironment(baseEnv, o.instanceExtraCaCerts);
  if (instanceEnv !== baseEnv)
    log.info(
      {},
      `instances start without ${EXTRA_CA_CERTS_VAR} (Node parses that file at every start); serve --instance-extra-ca-certs keeps it`,
    );
  const mem = o.memory ?? {};
  const guard = createMemoryGuard({
    budgetBytes: mem.budgetBytes ?? Math.floor((mem.budgetFraction ?? 0.8) * (await readMemAvailable())),
    defaultInstanceBytes: (mem.defaultInstanceMb ?? 256) * 2 ** 20,
  });
  const resources = createResources({ guard, cores: o.cores, log });
  const opener = o.openModel ?? DEFAULT_OPENER;
  const prestart = createPrestartPool({
    size: o.prestart ?? 0,
    opener,
    store: paths.store,
    env: instanceEnv,
    user: o.instanceUsers?.default,
    // Only where the budget still has room for an instance at the default estimate beside it.
    reserve: (id) =>
      guard.reserved() + PRESTART_ESTIMATE_BYTES + guard.estimate('') <= guard.budgetBytes &&
      guard.reserve('(pre-started)', id, PRESTART_ESTIMATE_BYTES).ok,
    release: (id) => guard.release(id),
    onError: (message) => log.warn({}, message),
  });
  const registry = createFunctionRegistry();
  const driver = createAutoscalerDriver({ clock, tickMs: o.autoscaleTickMs ?? 1000 });
  let closed = false;
  const isClosed = () => closed;
  const { newPool } = createPoolWiring({
    repository: paths.repository,
    store: paths.store,
    opener,
    prestart,
    originalsAhead: o.originalsAhead ?? true,
    clock,
    log,
    emit,
    resources,
    registry,
    driver,
    listener,
    startTimeoutMs: o.startTimeoutMs ?? 120_000,
    drainTimeoutMs: o.drainTimeoutMs ?? 60_000,
    env: instanceEnv,
    users: o.instanceUsers,
    readBuffers: o.readBuffers,
    isClosed,
    memoryLimit: { enforce: o.memory?.enforce },
  });
  const lifecycle = createLifecycle({
    functionsDir: o.functionsDir,
    catalog,
    repository: paths.repository,
    residency,
    store: paths.store,
    registry,
    newPool,
    driver,
    describeHandler: describeHandlerIn(30_000, instanceEnv, o.instanceUsers),
    listener,
    emit,
    log,
    isClosed,
    backgroundImports: o.backgroundImports,
    ...(o.backgroundAfter ? { backgroundImportsAfter: o.backgroundAfter } : {}),
  });
  const poller = createRepositoryPoller({
    functionsDir: o.functionsDir,
    catalog,
    everyMs: o.pollIntervalMs ?? 2000,
    clock,
    registry,
    lifecycle,
    log,
  });
  const sampler = createMemorySampler({ clock, everyMs: mem.sampleMs ?? 1000, registry, resources, emit, log });

  const runtime: Runtime = {
    list: registry.list,
    status: registry.status,
    metadata: (fn) => registry.get(fn)?.pool?.deployed.metadata,
    deployment: registry.deployment,
    ready: (fn) => {
      if (fn === undefined) return !closed;
      const e = registry.get(fn);
      return e?.state === 'READY' && !!e.pool && !e.pool.closing;
    },
    slots: (fn) => registry.get(fn)?.pool?.slots() ?? 0,
    run(fn, request, opts) {
      const pool = registry.get(fn)?.pool;
      if (!pool)
        return Promise.reject(
          new TensorshareError('ERR_UNAVAILABLE', `function '${fn}' has no instances to run on`, { function: fn }),
        );
      return pool.run(request, opts);
    },
    setBacklog(fn, runs) {
      const e = registry.get(fn);
      if (!e) return;
      e.backlog = runs;
      e.pool?.setBacklog(runs);
      if (runs > 0 && !e.pool) lifecycle.promote(fn);
    },
    watch(l) {
      runner = l;
      return () => {
        if (runner === l) runner = noListener;
      };
    },
    load: (fn) => lifecycle.deploy(fn, true),
    async unload(fn) {
      if (!registry.get(fn))
        throw new TensorshareError('ERR_MODEL_NOT_FOUND', `function '${fn}' not found`, { function: fn });
      registry.unloaded.set(fn, await catalog.fingerprint(fn));
      await lifecycle.remove(fn, 'unload');
    },
    async whenLoaded(fn) {
      for (;;) {
        const e = registry.get(fn);
        if (!e || e.pool || e.state !== 'LOADING' || closed) return;
        lifecycle.promote(fn);
        const imported = lifecycle.importDone(fn); // queued behind other promoted imports, or running
        const op = e.op;
        await (imported ?? op);
        if (!imported && registry.get(fn) === e && e.op === op && e.state === 'LOADING' && !e.pool) return; // nothing more under way
      }
    },
    poll: poller.poll,
    stats: () => ({
      functions: registry.pools().map((p) => {
        const s = p.stats();
        return { ...s, instances: s.instances.map((i) => ({ ...i, memoryBytes: resources.memoryBytes(i.id) })) };
      }),
      memory: resources.memory(),
      prestart: prestart.counts(),
      imports: { pending: lifecycle.importsPending() },
    }),
    subscribe(l) {
      listeners.add(l);
      return () => listeners.delete(l);
    },
    async close(opts = {}) {
      if (closed) return;
      closed = true;
      lifecycle.close();
      await poller.stop();
      sampler.stop();
      driver.stop();
      const all = registry.entries();
      for (const e of all) await e.op.catch(() => {});
      const done = Promise.all(all.map((e) => e.pool?.close('close')));
      const timeoutMs = opts.timeoutMs ?? o.drainTimeoutMs ?? 60_000;
      let timer: ReturnType<typeof setTimeout> | undefined;
      const timedOut = await Promise.race([
        done.then(() => false),
        new Promise<boolean>((r) => {
          timer = setTimeout(() => r(true), timeoutMs);
        }),
      ]);
      clearTimeout(timer);
      if (timedOut) {
        log.warn({ timeoutMs }, 'instances still busy at close timeout: killing them');
        runtime.destroy();
        await done;
      }
      for (const e of all) driver.remove(e.name);
      registry.clear();
      await prestart.close();
    },
    destroy() {
      closed = true;
      lifecycle.close();
      void poller.stop();
      sampler.stop();
      driver.stop();
      void prestart.close();
      for (const p of registry.pools()) p.destroy('close');
    },
  };

  if (o.loadAll !== false) await poller.poll();
  if (o.backgroundAfter)
    void o.backgroundAfter.then(() => {
      if (!closed) prestart.refill();
    });
  else prestart.refill();
  driver.start();
  sampler.start();
  poller.start();
  return runtime;
}
