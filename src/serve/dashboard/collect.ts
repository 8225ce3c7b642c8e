// One dashboard snapshot per tick from what serve already keeps: the
// runtime's stats (instances, their pids, the memory guard), the scheduler's
// snapshot (queues, batch caps, tenants), the gateway's Prometheus registry
// (requests, latency, batch sizes, bytes saved by sharing), the daemon's
// Stats (budget, evictions, leases: client/daemon-view.ts, as `top` reads it),
// its devices file (GPUs), the store's files, and each instance's smaps.
// Keeps the charts' history: a point per tick, the last `historyPoints`.
import type { Registry } from 'prom-client';
import type { DaemonClient } from '../../client/daemon-client.js';
import { type DaemonView, daemonView } from '../../client/daemon-view.js';
import { readDevicesStatus } from '../device-metrics.js';
import { METRIC_PREFIX } from '../gateway/metrics.js';
import type { Runtime } from '../runtime.js';
import { planFor, type Scheduling } from '../scheduling.js';
import type { ColdStartLog } from './cold-starts.js';
import type { DashboardSnapshot, FunctionRow, GpuView, HistoryPoint, InstanceMemory, StoreView } from './model.js';
import { type Buckets, bucketsBy, perBucket, quantile, since, sumBy, total } from './registry-read.js';
import { readProcessMemory } from './smaps.js';
import { readStoreView } from './store-view.js';

export interface DashboardSources {
  runtime: Pick<Runtime, 'list' | 'stats' | 'deployment'>;
  scheduling: Pick<Scheduling, 'snapshot'>;
  registry: Registry;
  coldStarts: ColdStartLog;
  /** The daemon serve uses; undefined with --daemon off. */
  daemon: DaemonClient | undefined;
  daemonMode: DashboardSnapshot['server']['daemon'];
  repository: string;
  store: string;
  server: { httpUrl: string; grpcAddress: string | null; slots: number | null };
}

export interface CollectorOptions {
  /** Latency percentiles cover this much of the recent past (default 60 s). */
  windowMs?: number;
  /** The store's files are re-read this often (default 5 s). */
  storeEveryMs?: number;
  /** Points of history kept (default 600: ten minutes at one a second). */
  historyPoints?: number;
  now?: () => number;
}

export interface Collector {
  /** Reads every source once: the snapshot, and the history point it adds. */
  tick(): Promise<{ snapshot: DashboardSnapshot; point: HistoryPoint }>;
  history(): HistoryPoint[];
}

const M = METRIC_PREFIX;

export function createCollector(src: DashboardSources, o: CollectorOptions = {}): Collector {
  const now = o.now ?? Date.now;
  const windowMs = o.windowMs ?? 60_000;
  const storeEveryMs = o.storeEveryMs ?? 5_000;
  const historyPoints = o.historyPoints ?? 600;
  const latencyReads: { at: number; byFn: Map<string, Buckets> }[] = [];
  const history: HistoryPoint[] = [];
  let store: { at: number; view: StoreView } | undefined;

  /** Latency buckets per function over the window: this read less the one at least `windowMs` old. */
  async function latencyWindow(at: number): Promise<Map<string, Buckets>> {
    const current = await bucketsBy(src.registry, `${M}request_duration_seconds`, 'function');
    latencyReads.push({ at, byFn: current });
    while (latencyReads.length >= 2 && latencyReads[1]!.at <= at - windowMs) latencyReads.shift();
    // Younger than the window: the first read ever, and everything before it is in the window too.
    const base = latencyReads[0]!.at <= at - windowMs ? latencyReads[0]!.byFn : undefined;
    return new Map([...current].map(([fn, b]) => [fn, since(b, base?.get(fn))]));
  }

  async function readDaemon(): Promise<DaemonView | null> {
    if (!src.daemon) return null;
    return daemonView(src.daemon).catch(() => null);
  }

  return {
    history: () => [...history],
    async tick() {
      const at = now();
      const [daemon, devices, latency, batchSizes, requests, failures, saved] = await Promise.all([
        readDaemon(),
        readDevicesStatus(src.store),
        latencyWindow(at),
        bucketsBy(src.registry, `${M}batch_size`, 'function'),
        sumBy(src.registry, `${M}requests_total`, 'function'),
        sumBy(src.registry, `${M}request_failures_total`, 'function'),
        sumBy(src.registry, `${M}bytes_saved_by_sharing`, ''),
      ]);
      if (!store || at - store.at >= storeEveryMs)
        store = { at, view: await readStoreView({ repository: src.repository, store: src.store, daemon, devices }) };
      const sched = src.scheduling.snapshot();
      const stats = src.runtime.stats();
      const functions = src.runtime.list().map((f): FunctionRow => {
        const s = sched.functions.find((x) => x.fn === f.name);
        const d = src.runtime.deployment(f.name);
        const plan = d ? planFor(d) : undefined;
        const lat = latency.get(f.name);
        const p = (q: number) => (lat ? quantile(q, lat) : null);
        const p50 = p(0.5);
        const batches = batchSizes.get(f.name);
        return {
          name: f.name,
          state: f.state,
          reason: f.reason ?? null,
          version: f.version ?? null,
          instances: f.instances,
          queued: s?.queued ?? 0,
          inFlight: s?.inFlight ?? 0,
          batchCap: s?.cap ?? plan?.config.batching?.maxBatchSize ?? 1,
          batched: plan?.batched ?? false,
          whyNotBatched: plan?.whyNotBatched ?? null,
          batching: plan?.config.batching
            ? {
                maxBatchSize: plan.config.batching.maxBatchSize,
                maxQueueDelayMs: plan.config.batching.maxQueueDelayMs,
              }
            : null,
          aimdSloMs: plan?.config.aimd?.sloMs ?? null,
          tenant: plan?.tenant ?? null,
          priority: plan?.priority ?? null,
          targetConcurrency: plan?.targetConcurrency ?? null,
          requests: requests.get(f.name) ?? 0,
          failures: failures.get(f.name) ?? 0,
          latencyMs: p50 === null ? null : { p50: p50 * 1000, p95: p(0.95)! * 1000, p99: p(0.99)! * 1000 },
          latencyWindowRequests: lat ? total(lat) : 0,
          batchSizes: batches ? perBucket(batches).map((b) => ({ le: b.le, runs: b.count })) : [],
          coldStarts: src.coldStarts.stats(f.name),
        };
      });
      const instances = await Promise.all(
        stats.functions.flatMap((fn) =>
          fn.instances
            .filter((i) => i.state !== 'exited')
            .map(async (i): Promise<InstanceMemory> => {
              const m = i.pid === undefined ? undefined : await readProcessMemory(i.pid);
              return {
                function: fn.name,
                id: i.id,
                pid: i.pid ?? null,
                state: i.state,
                inflight: i.inflight,
                rssBytes: m?.rssBytes ?? null,
                sharedBytes: m?.sharedBytes ?? null,
                privateBytes: m?.privateBytes ?? null,
                pssBytes: m?.pssBytes ?? null,
              };
            }),
        ),
      );
      const savedBySharingBytes = saved.get('') ?? 0;
      const snapshot: DashboardSnapshot = {
        at,
        server: {
          ...src.server,
          daemon: src.daemonMode,
          policy: sched.policy,
          inFlight: sched.inFlight,
          tenants: sched.tenants,
        },
        store: store.view,
        functions,
        memory: {
          budgetBytes: stats.memory.budgetBytes,
          reservedBytes: stats.memory.reservedBytes,
          savedBySharingBytes,
          instances,
        },
        gpus: devices ? gpuView(devices) : null,
      };
      const point: HistoryPoint = {
        at,
        functions: Object.fromEntries(
          functions.map((f) => [
            f.name,
            {
              instances: f.instances.starting + f.instances.ready + f.instances.draining,
              queued: f.queued,
              batchCap: f.batchCap,
              p95Ms: f.latencyMs?.p95 ?? null,
            },
          ]),
        ),
        storeUsedBytes: daemon?.usedBytes ?? store.view.residentBytes,
        storeBudgetBytes: daemon?.budgetBytes ?? null,
        evictions: daemon?.evictions ?? null,
        savedBySharingBytes,
        coldStarts: src.coldStarts.take(),
      };
      history.push(point);
      if (history.length > historyPoints) history.shift();
      return { snapshot, point };
    },
  };
}

function gpuView(s: NonNullable<Awaited<ReturnType<typeof readDevicesStatus>>>): GpuView {
  return {
    updatedAt: s.updatedAt,
    devices: s.devices.map((d) => {
      // Lanes are not part of DevicesStatus yet: shown when a daemon's file has them.
      const lanes = (d as { lanes?: unknown }).lanes;
      return {
        index: d.index,
        state: d.state,
        name: d.device?.name ?? null,
        usedBytes: d.device?.usedBytes ?? null,
        totalBytes: d.device?.totalBytes ?? null,
        budgetBytes: d.budgetBytes,
        utilization: d.device?.utilization ?? null,
        restarts: d.restarts,
        queueDepth: Object.values(d.queueDepth).reduce((a, n) => a + n, 0),
        models: d.models.map((m) => ({ model: m.model, bytes: m.bytes, clients: m.clients, pinned: m.pinned })),
        lanes: Array.isArray(lanes) ? lanes : null,
      };
    }),
  };
}
