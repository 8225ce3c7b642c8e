// The inference path both transports share: find the model, decode and
// validate the request against its metadata, call the backend, check and
// encode its answer, and record per-function metrics whatever the outcome.

import { performance } from 'node:perf_hooks';
import { TensorshareError } from '../../errors.js';
import type { LargeRequestCollector } from './collector.js';
import type { InferResponse, ModelMetadata, Tensor } from '../../tensor/index.js';
import type { InferenceBackend, ValidatedInferRequest } from '../protocol/backend.js';
import type { DecodeLimits } from '../protocol/limits.js';
import { checkInferResponse } from '../protocol/request.js';
import { errorStatus, type ErrorStatus } from '../protocol/status.js';
import { UNKNOWN_FUNCTION, type GatewayMetrics, type RequestStage } from './metrics.js';
import type { BufferPool } from '../../shm/index.js';

/** The part of a pino logger the gateway uses. */
export interface GatewayLogger {
  error(obj: object, msg?: string): void;
  warn(obj: object, msg?: string): void;
}

export interface GatewayContext {
  backend: InferenceBackend;
  metrics: GatewayMetrics;
  logger: GatewayLogger;
  /** Retry-After for overload errors that name no delay of their own. */
  retryAfterSeconds: number;
  /** What one request may make the gateway decode and encode. */
  limits: DecodeLimits;
  /** Told each request's size, so memory goes back after large ones. */
  collector?: LargeRequestCollector;
  /** Where a sent response's buffers go back (see GatewayOptions.readBuffers). */
  readBuffers?: BufferPool;
}

export interface InferCall {
  model: string;
  /** Bytes of the request as received. */
  bytes?: number;
  version: string | undefined;
  protocol: 'http' | 'grpc';
  /** performance.now() at arrival. */
  receivedAt: number;
  signal: AbortSignal;
}

/** Metadata of `name` (and `version`), or ERR_MODEL_NOT_FOUND naming which one is missing. */
export async function lookupModel(
  backend: InferenceBackend,
  name: string,
  version: string | undefined,
): Promise<ModelMetadata> {
  const meta = await backend.modelMetadata(name, version);
  if (meta) return meta;
  if (version !== undefined && (await backend.modelMetadata(name))) {
    throw new TensorshareError('ERR_MODEL_NOT_FOUND', `model '${name}' has no version '${version}'`, {
      model: name,
      version,
    });
  }
  throw new TensorshareError('ERR_MODEL_NOT_FOUND', `unknown model '${name}'`, { model: name });
}

/**
 * Runs one inference. `decode` turns the transport's body into the validated
 * request (plus whatever the transport needs to encode the answer), inline or
 * in a decode worker; `encode` builds the transport's response. Throws the
 * first error met, after recording it.
 */
export async function serveInfer<X, E>(
  ctx: GatewayContext,
  call: InferCall,
  decode: (meta: ModelMetadata) => Promise<{ request: ValidatedInferRequest; extra: X }>,
  encode: (req: ValidatedInferRequest, res: InferResponse, outputs: Tensor[], extra: X) => E | Promise<E>,
): Promise<E> {
  let fn = UNKNOWN_FUNCTION;
  let queueMs: number | undefined;
  let moved = call.bytes ?? 0;
  try {
    const meta = await lookupModel(ctx.backend, call.model, call.version);
    fn = call.model;
    const { request: req, extra } = await decode(meta);
    const decoded = performance.now();
    const res = await ctx.backend.infer(req, {
      signal: call.signal,
      receivedAt: call.receivedAt,
      protocol: call.protocol,
    });
    const answered = performance.now();
    queueMs = res?.timing?.queueMs;
    const outputs = checkInferResponse(req, res, meta);
    for (const t of outputs) if (ArrayBuffer.isView(t.data)) moved += t.data.byteLength;
    const encoded = await encode(req, res, outputs, extra);
    recordInfer(ctx, fn, call, undefined, queueMs);
    recordStages(ctx, fn, call, {
      decodeMs: decoded - call.receivedAt,
      inferMs: answered - decoded,
      encodeMs: performance.now() - answered,
      timing: res.timing,
    });
    return encoded;
  } catch (e) {
    recordInfer(ctx, fn, call, e, queueMs);
    throw e;
  } finally {
    ctx.collector?.note(moved);
  }
}

/** Records one inference request's outcome (`err` undefined on success). */
export function recordInfer(
  ctx: GatewayContext,
  fn: string,
  call: Pick<InferCall, 'protocol' | 'receivedAt' | 'model'>,
  err: unknown,
  queueMs?: number,
): ErrorStatus | undefined {
  const m = ctx.metrics;
  const seconds = (performance.now() - call.receivedAt) / 1000;
  m.latency.observe({ function: fn, protocol: call.protocol }, seconds);
  if (typeof queueMs === 'number' && Number.isFinite(queueMs) && queueMs >= 0)
    m.queueTime.observe({ function: fn }, queueMs / 1000);
  if (err === undefined) {
    m.requests.inc({ function: fn, protocol: call.protocol, status: '200', code: 'OK' });
    return undefined;
  }
  const st = errorStatus(err, ctx.retryAfterSeconds);
  m.requests.inc({ function: fn, protocol: call.protocol, status: String(st.http), code: st.code });
  m.failures.inc({ function: fn, protocol: call.protocol, code: st.code });
  return st;
}

/**
 * Records where a successful request's time went (REQUEST_STAGES). The
 * backend's own timing splits its part: queue, then the instance round trip
 * (transfer + run); what is left of it is dispatch.
 */
function recordStages(
  ctx: GatewayContext,
  fn: string,
  call: Pick<InferCall, 'protocol'>,
  t: { decodeMs: number; inferMs: number; encodeMs: number; timing: InferResponse['timing'] },
): void {
  const queue = t.timing?.queueMs ?? 0;
  const instance = t.timing?.instanceMs;
  const run = t.timing?.runMs;
  // JSON text an instance wrote is encoding done elsewhere, not transfer.
  const format = t.timing?.formatMs ?? 0;
  const ms: Partial<Record<RequestStage, number>> = { decode: t.decodeMs, queue, encode: t.encodeMs + format };
  if (instance !== undefined && run !== undefined) {
    ms.run = run;
    ms.transfer = Math.max(0, instance - run - format);
    ms.dispatch = Math.max(0, t.inferMs - queue - instance);
  } else ms.dispatch = Math.max(0, t.inferMs - queue);
  for (const [stage, v] of Object.entries(ms))
    if (Number.isFinite(v)) ctx.metrics.stages.observe({ function: fn, protocol: call.protocol, stage }, v / 1000);
}

/** Maps an error for a response, logging the ones that are not typed (their details stay server-side). */
export function describeError(ctx: GatewayContext, e: unknown, where: Record<string, unknown>): ErrorStatus {
  const st = errorStatus(e, ctx.retryAfterSeconds);
  if (st.unexpected) ctx.logger.error({ err: e, ...where }, 'request failed with an unexpected error');
  else if (st.http >= 500) ctx.logger.warn({ code: st.code, message: st.message, ...where }, 'request failed');
  return st;
}
