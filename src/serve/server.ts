// `tensorshare serve`, assembled top to bottom: the daemon that keeps models
// resident (an existing one, or one this server starts, restarts and stops:
// daemon-supervisor.ts), the runtime that runs functions as instance
// processes opening models through it (their intra-op threads within a core
// budget), the scheduler that
// batches requests and orders them by policy before they reach the runtime,
// and the KServe v2 gateway in front, with Prometheus metrics.
import fs from 'node:fs';
import { availableParallelism } from 'node:os';
import path from 'node:path';
import type { Logger as PinoLogger } from 'pino';
import { TensorshareError } from '../errors.js';
import { DaemonClient } from '../client/daemon-client.js';
import { daemonResidency, type Residency } from '../client/residency.js';
import { superviseDaemon, type DaemonSupervisor } from './daemon-supervisor.js';
import { layout } from '../store/layout.js';
import { createBufferPool } from '../shm/index.js';
import { createRuntime, type Runtime } from './runtime.js';
import type { EventSink } from './instances/events.js';
import { startGateway, type GatewayOptions, type RunningGateway } from './gateway/gateway.js';
import { createGatewayMetrics, registerHistogram, registerServingMetrics } from './gateway/metrics.js';
import { runtimeBackend } from './backend.js';
import type { InferenceBackend } from './protocol/backend.js';
import { createScheduling, type Scheduling } from './scheduling.js';
import { wireServingMetrics } from './serving-metrics.js';
import { createCoreBudget, type Policy } from '../sched/index.js';
import type { InstanceUsers } from './instances/user.js';
import { startDashboardFor, type DashboardFlag, type RunningDashboard } from './dashboard/index.js';
import { openModelRepository, type ModelRepositoryOptions } from './triton-repository/model-repository.js';
import { folderCatalog } from './functions/repository.js';
import { plannedCatalog, unknownPlanned } from './functions/planned-catalog.js';
import type { PlanFile } from '../plan/plan-file.js';
import type { FallbackConfig } from '../sched/fallback.js';
import { createGpuFallback, fallbackMarks } from './gpu-fallback.js';

export interface ServeOptions {
  functionsDir: string;
  /** Serve functionsDir as a Triton model repository (`<model>/config.pbtxt`, `<model>/<version>/model.onnx`) in this control mode. */
  modelRepository?: ModelRepositoryOptions;
  repository: string;
  store: string;
  host?: string;
  httpPort?: number;
  grpcPort?: number | false;
  /** 'auto': use the daemon on `socket` if one answers, else start one; 'off': instances open models without a daemon. */
  daemon?: 'auto' | 'off';
  socket?: string;
  pollIntervalMs?: number;
  /** Scheduling policy across requests and functions (default 'fifo'). */
  policy?: Policy;
  /** fair: weight per tenant (default 1 each). */
  tenantWeights?: Record<string, number>;
  /** Requests may name their tenant with the `tenant` parameter (default: the function's configured tenant). */
  tenantFromRequest?: boolean;
  /** Cores instances' intra-op threads may take in total (default: os.availableParallelism()). */
  cores?: number;
  /** Most batches running at once machine-wide (default: the functions' ready instances x targetConcurrency). */
  slots?: number;
  /** priority policy: runs of a function besteffort leaves free while realtime requests for it keep coming (default 0). */
  realtimeReserve?: number;
  logger: PinoLogger;
  /** Environment of the daemon this server starts and of instance processes (default process.env). */
  env?: NodeJS.ProcessEnv;
  /**
   * Users instance processes run as (needs root, and a daemon: with daemon 'off' instances write
   * the store themselves). The daemon's socket is given their group. Default: this process's user.
   */
  instanceUsers?: InstanceUsers;
  /** Idle pre-started instance processes (RuntimeOptions.prestart); default 1. */
  prestart?: number;
  /** Instance processes keep NODE_EXTRA_CA_CERTS (RuntimeOptions.instanceExtraCaCerts); default: they start without it. */
  instanceExtraCaCerts?: boolean;
  /** Model file imports in the background at once (RuntimeOptions.backgroundImports); default 0: imported before serving. */
  backgroundImports?: number;
  /** The gateway's size, time and decode bounds (default: the gateway's). */
  gateway?: GatewayBounds;
  /** Serve the live dashboard on its own listener (default: none). */
  dashboard?: DashboardFlag;
  /** `tensorshare plan`'s settings for the functions it names (instances, threads, batch cap, device). */
  plan?: PlanFile;
  /**
   * The GPU -> CPU fallback of besteffort requests of `device: auto` functions while realtime work saturates a GPU
   * executor (gpu-fallback.ts). Default: on, with FALLBACK_DEFAULTS' marks, sampled every 25 ms; needs a daemon.
   */
  gpuFallback?: { enabled?: boolean; marks?: Partial<FallbackConfig>; sampleMs?: number };
}

/** What `serve` lets its user set of the gateway's bounds. */
export type GatewayBounds = Pick<
  GatewayOptions,
  'maxBodyBytes' | 'limits' | 'requestTimeoutMs' | 'decodeWorkers' | 'decodeHeapMb'
>;

export interface RunningServer {
  gateway: RunningGateway;
  runtime: Runtime;
  scheduling: Scheduling;
  /** How instances open models. */
  daemon: { mode: 'off' } | { mode: 'connected' | 'owned'; socket: string };
  /** When started with `dashboard`. */
  dashboard?: RunningDashboard;
  close(): Promise<void>;
}

export async function startServer(o: ServeOptions): Promise<RunningServer> {
  const log = o.logger;
  // Bad fallback marks fail before anything starts.
  if (o.gpuFallback?.marks) fallbackMarks(o.gpuFallback.marks);
  const cores = createCoreBudget({ total: o.cores ?? availableParallelism() });
  log.info(
    { cores: cores.total },
    `core budget: instances' intra-op threads take at most ${cores.total} cores in total`,
  );
  const socket = path.resolve(o.socket ?? path.join(o.store, 'daemon.sock'));
  let supervisor: DaemonSupervisor | undefined;
  let daemon: RunningServer['daemon'] = { mode: 'off' };
  // Deploy makes models resident through the daemon too: while one is in use it is the only writer of the store.
  let storeClient: DaemonClient | undefined;
  // Instances as serve's own user need nothing of the socket beyond what serve has.
  const users =
    o.instanceUsers && otherInstanceUsers(o.instanceUsers, o.daemon ?? 'auto') ? o.instanceUsers : undefined;
  // The daemon starts while the function repository is scanned (the scan needs it only for a model that is
  // not resident yet): at a restart over 1,000 functions both take about a second.
  let daemonStarting: Promise<DaemonSupervisor> | undefined;
  if ((o.daemon ?? 'auto') === 'auto') {
    daemonStarting = superviseDaemon({
      repository: o.repository,
      store: o.store,
      socket,
      env: o.env ?? process.env,
      log: log.child({ component: 'daemon-supervisor' }),
      ...(users ? { socketGroup: users.default.gid } : {}),
    });
    daemonStarting.catch(() => {}); // awaited below; a deploy waiting on it sees the failure too
    storeClient = new DaemonClient({ socket, name: `tensorshare serve[${process.pid}]` });
  }
  const stopDaemon = async () => {
    await storeClient?.disconnect().catch(() => {});
    await (supervisor ?? (await daemonStarting?.catch(() => undefined)))?.close();
  };

  // Metrics hear the runtime from its first event (instances started while it deploys at start).
  const metrics = createGatewayMetrics();
  // Instances' JSON text is read into these buffers and given back once its response is sent.
  const readBuffers = createBufferPool();
  const listeners = new Set<EventSink>();
  const events = {
    subscribe: (l: EventSink) => {
      listeners.add(l);
      return () => listeners.delete(l);
    },
  };
  const unwire = wireServingMetrics(metrics.registry, events, layout(o.store));
  // The dashboard counts cold starts from the first instance too.
  const board = o.dashboard ? startDashboardFor(o.dashboard, events) : undefined;
  const triton =
    o.modelRepository &&
    openModelRepository({
      ...o.modelRepository,
      dir: o.functionsDir,
      repository: o.repository,
      pollIntervalMs: o.pollIntervalMs ?? 2000,
      log: log.child({ component: 'model-repository' }),
    });
  const planned = o.plan ? plannedCatalog(triton?.runtime.catalog ?? folderCatalog(o.functionsDir), o.plan) : undefined;
  if (planned && o.plan) {
    const unknown = await unknownPlanned(planned, o.plan);
    if (unknown.length)
      log.warn({ functions: unknown }, `the plan names functions this repository does not have: ${unknown.join(', ')}`);
  }
  // Work nothing waits for (background imports, pre-started processes) starts once the gateway listens.
  let listened = () => {};
  const listening = new Promise<void>((r) => {
    listened = r;
  });
  const runtime = await createRuntime({
    cores,
    onEvent: (e) => {
      for (const l of listeners) l(e);
    },
    functionsDir: o.functionsDir,
    repository: o.repository,
    store: o.store,
    pollIntervalMs: o.pollIntervalMs,
    ...(triton ? triton.runtime : {}),
    ...(planned ? { catalog: planned } : {}),
    logger: log.child({ component: 'runtime' }),
    env: o.env,
    instanceUsers: users,
    prestart: o.prestart ?? 1,
    instanceExtraCaCerts: o.instanceExtraCaCerts,
    readBuffers,
    backgroundImports: o.backgroundImports ?? 0,
    backgroundAfter: listening,
    ...(storeClient === undefined
      ? {}
      : {
          residency: afterDaemon(daemonResidency(storeClient), daemonStarting!),
          openModel: { module: new URL('../client/open.js', import.meta.url).href, export: 'open' },
          env: { ...(o.env ?? process.env), TENSORSHARE_SOCKET: socket },
        }),
  }).catch(async (e) => {
    unwire();
    await stopDaemon();
    throw e;
  });
  if (daemonStarting) {
    try {
      supervisor = await daemonStarting;
      daemon = { mode: supervisor.mode, socket };
      if (users && supervisor.mode === 'connected') checkSocketReachable(socket, users.default.gid);
    } catch (e) {
      unwire();
      await runtime.close({ timeoutMs: 5000 });
      await stopDaemon();
      throw e;
    }
    log.info({ socket, daemon: daemon.mode }, 'deploy and instances make models resident through the daemon');
  }
  let scheduling: Scheduling;
  const servingMetrics = registerServingMetrics(metrics.registry);
  const fallback =
    daemon.mode !== 'off' && (o.gpuFallback?.enabled ?? true)
      ? createGpuFallback({
          daemonSocket: socket,
          marks: o.gpuFallback?.marks,
          sampleMs: o.gpuFallback?.sampleMs,
          stateGauge: servingMetrics.gpuFallbackState,
          onChange: (device, onCpu, load) =>
            log.info(
              { device, onCpu, realtimeQueued: load.realtimeQueued, realtimeOldestWaitMs: load.realtimeOldestWaitMs },
              onCpu
                ? `GPU ${device} is saturated by realtime work: besteffort requests of device: auto functions run on CPU`
                : `GPU ${device} is calm again: besteffort requests of device: auto functions run on it`,
            ),
        })
      : undefined;
  try {
    scheduling = createScheduling({
      ...(fallback ? { route: fallback.route } : {}),
      runtime,
      policy: o.policy,
      tenantWeights: o.tenantWeights,
      tenantFromRequest: o.tenantFromRequest,
      slots: o.slots,
      realtimeReserve: o.realtimeReserve,
      logger: log.child({ component: 'scheduler' }),
      metrics: {
        batchCap: servingMetrics.batchCap,
        requestsByDevice: servingMetrics.requestsByDevice,
        batchSize: registerHistogram(metrics.registry, {
          name: 'tensorshare_batch_size',
          help: 'Rows per run of a function (requests batched along axis 0)',
          labelNames: ['function'] as const,
          buckets: [1, 2, 4, 8, 16, 32, 64, 128],
        }),
      },
    });
    await triton?.start(runtime);
  } catch (e) {
    unwire();
    await runtime.close({ timeoutMs: 5000 });
    await stopDaemon();
    throw e;
  }
  log.info(
    {
      policy: o.policy ?? 'fifo',
      slots: o.slots ?? 'instances',
      tenantWeights: o.tenantWeights ?? {},
      realtimeReserve: o.realtimeReserve ?? 0,
    },
    'scheduler ready',
  );
  const backend = runtimeBackend(runtime, scheduling);
  const gateway = await startGateway({
    backend: supervisedBackend(triton ? triton.backend(backend, runtime) : backend, supervisor),
    metrics,
    host: o.host,
    httpPort: o.httpPort,
    grpcPort: o.grpcPort,
    ...o.gateway,
    readBuffers,
    logger: log.child({ component: 'gateway' }),
  }).catch(async (e) => {
    unwire();
    scheduling.destroy();
    await runtime.close({ timeoutMs: 5000 });
    await stopDaemon();
    throw e;
  });
  const dashboard = await board
    ?.listen({
      runtime,
      scheduling,
      registry: metrics.registry,
      daemon: storeClient,
      daemonMode: daemon.mode,
      repository: o.repository,
      store: o.store,
      server: { httpUrl: gateway.httpUrl, grpcAddress: gateway.grpcAddress ?? null, slots: o.slots ?? null },
      logger: log.child({ component: 'dashboard' }),
    })
    .catch(async (e) => {
      unwire();
      await gateway.close();
      scheduling.destroy();
      await runtime.close({ timeoutMs: 5000 });
      await stopDaemon();
      throw e;
    });
  listened();

  let closing: Promise<void> | undefined;
  return {
    gateway,
    runtime,
    scheduling,
    daemon,
    ...(dashboard ? { dashboard } : {}),
    close() {
      // Graceful, as Triton stops: the gateway stops accepting and finishes its
      // requests, the scheduler runs what it still holds, the instances drain, then the daemon.
      closing ??= (async () => {
        await dashboard?.close();
        await gateway.close();
        await scheduling.close();
        await runtime.close({ timeoutMs: 30_000 });
        fallback?.close();
        unwire();
        await stopDaemon();
      })();
      return closing;
    },
  };
}

/** Residency through the daemon once it answers (deploys start while it is still starting). */
function afterDaemon(residency: Residency, up: Promise<unknown>): Residency {
  return {
    async ensureResident(ref, mode) {
      await up;
      return residency.ensureResident(ref, mode);
    },
  };
}

/** Not ready while the daemon instances open models through is unreachable. */
function supervisedBackend(backend: InferenceBackend, supervisor: DaemonSupervisor | undefined): InferenceBackend {
  if (!supervisor) return backend;
  return { ...backend, serverReady: async () => supervisor.reachable() && (await backend.serverReady()) };
}

/** Whether instances run as other users than this process: only under root, and only when a daemon (not they) writes the store. */
function otherInstanceUsers(users: InstanceUsers, daemon: 'auto' | 'off'): boolean {
  const me = process.geteuid?.() ?? 0;
  const others = [users.default, ...Object.values(users.tenants)].some(
    (u) => u.uid !== me || u.gid !== (process.getegid?.() ?? 0),
  );
  if (!others) return false;
  if (me !== 0)
    throw new TensorshareError(
      'ERR_INVALID_ARGUMENT',
      `instances can run as another user only when serve runs as root (this is uid ${me})`,
    );
  if (daemon === 'off')
    throw new TensorshareError(
      'ERR_INVALID_ARGUMENT',
      "instance users need a daemon: with --daemon off instances write the store themselves, so they run as serve's user",
    );
  return true;
}

/** A daemon started elsewhere: its socket must let the instances' group connect. */
function checkSocketReachable(socket: string, gid: number): void {
  const st = fs.statSync(socket);
  if ((st.gid === gid && (st.mode & 0o020) !== 0) || (st.mode & 0o002) !== 0) return;
  throw new TensorshareError(
    'ERR_PERMISSION_DENIED',
    `instances (group ${gid}) cannot connect to the daemon's socket ${socket} (group ${st.gid}, mode 0${(st.mode & 0o777).toString(8)}): start the daemon with --socket-group ${gid}`,
  );
}
