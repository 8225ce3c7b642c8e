// Prometheus metrics on a private Registry (never prom-client's global one).
// The gateway records per-function request metrics; the rest of the serving
// layer registers its own gauges and counters on the same registry with
// registerServingMetrics() (or the small helpers below), and everything is
// served together at GET /metrics.

import { Counter, Gauge, Histogram, Registry } from 'prom-client';

export const METRIC_PREFIX = 'tensorshare_';

/** Seconds; from 1 ms to 30 s. */
export const LATENCY_BUCKETS = [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30];
/** Seconds; cold starts run from tens of milliseconds to a minute. */
export const COLD_START_BUCKETS = [0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60];

/** Label used for requests naming no known function (keeps label cardinality bounded). */
export const UNKNOWN_FUNCTION = '_unknown';

export interface GatewayMetrics {
  registry: Registry;
  /** Inference requests by function, protocol, HTTP-equivalent status and error code ('OK' on success). */
  requests: Counter<'function' | 'protocol' | 'status' | 'code'>;
  /** Failed inference requests by function and error code. */
  failures: Counter<'function' | 'protocol' | 'code'>;
  /** Seconds from request arrival to response encoded. */
  latency: Histogram<'function' | 'protocol'>;
  /** Seconds spent queued, as reported by the backend (InferResponse.timing.queueMs). */
  queueTime: Histogram<'function'>;
  /** Seconds of each stage of a successful inference request (REQUEST_STAGES). */
  stages: Histogram<'function' | 'protocol' | 'stage'>;
}

/**
 * The stages of the request path, in order: decode (body parse, validation
 * and conversion to tensors), queue (waiting for a batch and an instance),
 * dispatch (batching and the runtime's bookkeeping around the run), transfer
 * (to the instance process and back), run (inside the instance), encode (the
 * response body).
 */
export const REQUEST_STAGES = ['decode', 'queue', 'dispatch', 'transfer', 'run', 'encode'] as const;
export type RequestStage = (typeof REQUEST_STAGES)[number];

/** Seconds; from 10 µs to 10 s (stages are far shorter than whole requests). */
export const STAGE_BUCKETS = [
  1e-5, 5e-5, 1e-4, 2.5e-4, 5e-4, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 1, 10,
];

/** Returns the metric already registered under `name`, or registers the one `make` builds. */
function once<T>(registry: Registry, name: string, make: () => T): T {
  return (registry.getSingleMetric(name) as T | undefined) ?? make();
}

export function createGatewayMetrics(registry: Registry = new Registry(), prefix = METRIC_PREFIX): GatewayMetrics {
  const registers = [registry];
  return {
    registry,
    requests: once(
      registry,
      `${prefix}requests_total`,
      () =>
        new Counter({
          name: `${prefix}requests_total`,
          help: 'Inference requests by function, protocol, HTTP-equivalent status and error code',
          labelNames: ['function', 'protocol', 'status', 'code'] as const,
          registers,
        }),
    ),
    failures: once(
      registry,
      `${prefix}request_failures_total`,
      () =>
        new Counter({
          name: `${prefix}request_failures_total`,
          help: 'Failed inference requests by function, protocol and error code',
          labelNames: ['function', 'protocol', 'code'] as const,
          registers,
        }),
    ),
    latency: once(
      registry,
      `${prefix}request_duration_seconds`,
      () =>
        new Histogram({
          name: `${prefix}request_duration_seconds`,
          help: 'Inference request latency in seconds, arrival to response',
          labelNames: ['function', 'protocol'] as const,
          buckets: LATENCY_BUCKETS,
          registers,
        }),
    ),
    stages: once(
      registry,
      `${prefix}request_stage_seconds`,
      () =>
        new Histogram({
          name: `${prefix}request_stage_seconds`,
          help: 'Seconds of each stage of successful inference requests: decode, queue, dispatch, transfer, run, encode',
          labelNames: ['function', 'protocol', 'stage'] as const,
          buckets: STAGE_BUCKETS,
          registers,
        }),
    ),
    queueTime: once(
      registry,
      `${prefix}queue_duration_seconds`,
      () =>
        new Histogram({
          name: `${prefix}queue_duration_seconds`,
          help: 'Seconds inference requests spent queued before running',
          labelNames: ['function'] as const,
          buckets: LATENCY_BUCKETS,
          registers,
        }),
    ),
  };
}

export interface ServingMetrics {
  /** Running instances per function. */
  instances: Gauge<'function'>;
  coldStarts: Counter<'function'>;
  coldStartSeconds: Histogram<'function'>;
  /** Store size in bytes: kind="logical" (sum of models' tensors) or kind="physical" (deduplicated, on tmpfs). */
  storeBytes: Gauge<'kind'>;
  /** Bytes not held in memory thanks to weight sharing. */
  bytesSavedBySharing: Gauge;
  /** Current batch-size cap per function (AIMD). */
  batchCap: Gauge<'function'>;
  /** Requests answered per function by where their models ran: device="gpu" (the executor) or "cpu". */
  requestsByDevice: Counter<'function' | 'device'>;
  /** 1 while besteffort work of `device: auto` functions falls back from this GPU to CPU (its executor is saturated by realtime work). */
  gpuFallbackState: Gauge<'device'>;
}

/**
 * Registers the serving layer's metrics on `registry` (idempotent: a second call returns the same metrics).
 * `collectStore` runs before a scrape reads the store gauges (the first registration's is kept): the
 * store is measured when someone looks, not on a timer.
 */
export function registerServingMetrics(
  registry: Registry,
  prefix = METRIC_PREFIX,
  collectStore?: () => Promise<void>,
): ServingMetrics {
  const registers = [registry];
  const collect = collectStore && (() => collectStore());
  return {
    instances: once(
      registry,
      `${prefix}instances`,
      () =>
        new Gauge({
          name: `${prefix}instances`,
          help: 'Running instances per function',
          labelNames: ['function'] as const,
          registers,
        }),
    ),
    coldStarts: once(
      registry,
      `${prefix}cold_starts_total`,
      () =>
        new Counter({
          name: `${prefix}cold_starts_total`,
          help: 'Instance cold starts per function',
          labelNames: ['function'] as const,
          registers,
        }),
    ),
    coldStartSeconds: once(
      registry,
      `${prefix}cold_start_duration_seconds`,
      () =>
        new Histogram({
          name: `${prefix}cold_start_duration_seconds`,
          help: 'Seconds from instance spawn to ready, per function',
          labelNames: ['function'] as const,
          buckets: COLD_START_BUCKETS,
          registers,
        }),
    ),
    storeBytes: once(
      registry,
      `${prefix}store_bytes`,
      () =>
        new Gauge({
          name: `${prefix}store_bytes`,
          help: 'Tensor store size in bytes (kind: logical | physical)',
          labelNames: ['kind'] as const,
          registers,
          ...(collect ? { collect } : {}),
        }),
    ),
    bytesSavedBySharing: once(
      registry,
      `${prefix}bytes_saved_by_sharing`,
      () =>
        new Gauge({
          name: `${prefix}bytes_saved_by_sharing`,
          help: 'Bytes of weights not duplicated thanks to sharing',
          registers,
          ...(collect ? { collect } : {}),
        }),
    ),
    batchCap: once(
      registry,
      `${prefix}batch_cap`,
      () =>
        new Gauge({
          name: `${prefix}batch_cap`,
          help: 'Current batch-size cap per function',
          labelNames: ['function'] as const,
          registers,
        }),
    ),
    requestsByDevice: once(
      registry,
      `${prefix}requests_by_device_total`,
      () =>
        new Counter({
          name: `${prefix}requests_by_device_total`,
          help: 'Requests answered per function by where its models ran (device: gpu | cpu)',
          labelNames: ['function', 'device'] as const,
          registers,
        }),
    ),
    gpuFallbackState: once(
      registry,
      `${prefix}gpu_fallback_state`,
      () =>
        new Gauge({
          name: `${prefix}gpu_fallback_state`,
          help: '1 while besteffort requests of device: auto functions fall back from this GPU to CPU (realtime work saturates its executor), else 0',
          labelNames: ['device'] as const,
          registers,
        }),
    ),
  };
}

/** Registers (or returns the existing) histogram. */
export function registerHistogram<L extends string = string>(
  registry: Registry,
  opts: { name: string; help: string; labelNames?: readonly L[]; buckets?: number[] },
): Histogram<L> {
  return once(
    registry,
    opts.name,
    () => new Histogram<L>({ buckets: LATENCY_BUCKETS, ...opts, registers: [registry] }),
  );
}
