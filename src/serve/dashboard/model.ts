// What the dashboard sends its page: plain JSON-able data, one snapshot per
// tick plus a short history of points for the charts. Types only (no
// imports): the page (web/) type-checks against this file too.

export interface DashboardSnapshot {
  /** ms since the epoch. */
  at: number;
  server: {
    httpUrl: string;
    grpcAddress: string | null;
    /** How instances open models. */
    daemon: 'off' | 'connected' | 'owned';
    policy: string;
    /** Most batches at once machine-wide (null: the functions' slots). */
    slots: number | null;
    inFlight: number;
    tenants: { tenant: string; queued: number; deficitMs: number }[];
  };
  store: StoreView;
  functions: FunctionRow[];
  memory: MemoryView;
  /** null: no GPU tier (the daemon wrote no devices.json). */
  gpus: GpuView | null;
}

export interface StoreView {
  /** What separate copies of every model version would take, and what they take deduplicated (the repository). */
  logicalBytes: number;
  physicalBytes: number;
  /** Bytes resident in the store (tmpfs) now, fast-run variants included. */
  residentBytes: number;
  models: StoreModel[];
  /** Bytes of distinct files each pair of model versions shares; `bytes[i][i]` is model i's own size. */
  sharing: { refs: string[]; bytes: number[][] };
  /** The daemon's budget and evictions; null without a daemon. */
  budget: { budgetBytes: number; usedBytes: number; evictions: number; evictedBytes: number } | null;
}

export interface StoreModel {
  /** name:version */
  ref: string;
  name: string;
  version: string;
  tensors: number;
  /** Graph + every tensor, duplicates included. */
  logicalBytes: number;
  /** Bytes of files no other model version uses. */
  exclusiveBytes: number;
  /** Bytes of files it shares with another model version. */
  sharedBytes: number;
  /** Where it is: the repository on disk, resident in the store (host memory), on which GPUs. */
  tiers: { disk: boolean; host: boolean; gpus: number[] };
  /** Leases held on it (daemon), 0 when none or no daemon. */
  leases: number;
}

export interface FunctionRow {
  name: string;
  state: string;
  reason: string | null;
  version: string | null;
  instances: { starting: number; ready: number; draining: number };
  queued: number;
  inFlight: number;
  /** The scheduler's batch cap now (AIMD when the function adapts it). */
  batchCap: number;
  batched: boolean;
  whyNotBatched: string | null;
  batching: { maxBatchSize: number; maxQueueDelayMs: number } | null;
  /** The latency objective AIMD adapts the cap against; null: the cap is maxBatchSize. */
  aimdSloMs: number | null;
  tenant: string | null;
  priority: string | null;
  targetConcurrency: number | null;
  requests: number;
  failures: number;
  /** Request latency over the last window (ms); null when none was answered in it. */
  latencyMs: { p50: number; p95: number; p99: number } | null;
  /** Requests answered in that window. */
  latencyWindowRequests: number;
  /** Runs by batch size (upper bucket bound -> runs), since start. */
  batchSizes: { le: number; runs: number }[];
  coldStarts: { count: number; meanMs: number | null; lastMs: number | null };
}

export interface MemoryView {
  /** Bytes instances may hold privately in total, and what live instances reserve. */
  budgetBytes: number;
  reservedBytes: number;
  /** What private copies of the models instances map would take, less what the store holds. */
  savedBySharingBytes: number;
  instances: InstanceMemory[];
}

export interface InstanceMemory {
  function: string;
  id: string;
  pid: number | null;
  state: string;
  inflight: number;
  /** From /proc/<pid>/smaps_rollup; null when it could not be read. */
  rssBytes: number | null;
  /** Shared_Clean + Shared_Dirty: pages other processes map too (the store's weights). */
  sharedBytes: number | null;
  /** Private_Clean + Private_Dirty. */
  privateBytes: number | null;
  pssBytes: number | null;
}

export interface GpuView {
  updatedAt: string;
  devices: {
    index: number;
    state: string;
    name: string | null;
    usedBytes: number | null;
    totalBytes: number | null;
    budgetBytes: number;
    utilization: number | null;
    restarts: number;
    queueDepth: number;
    models: { model: string; bytes: number; clients: number; pinned: boolean }[];
    /** Execution lanes, when the daemon's devices.json reports them. */
    lanes: unknown[] | null;
  }[];
}

/** One point of the charts' history. */
export interface HistoryPoint {
  at: number;
  /** Per function: running instances, queued requests, p95 latency (ms, null: none answered). */
  functions: Record<string, { instances: number; queued: number; batchCap: number; p95Ms: number | null }>;
  storeUsedBytes: number | null;
  storeBudgetBytes: number | null;
  evictions: number | null;
  savedBySharingBytes: number;
  /** Cold starts that finished since the previous point: function and duration. */
  coldStarts: { function: string; ms: number }[];
}

/** The server-sent events of /dashboard/api/events. */
export type DashboardEvent =
  | { type: 'hello'; history: HistoryPoint[]; snapshot: DashboardSnapshot }
  | { type: 'tick'; point: HistoryPoint; snapshot: DashboardSnapshot };
