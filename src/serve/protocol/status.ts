// Maps errors to protocol statuses. Typed errors (TensorshareError) keep their
// message, which names the problem; anything else is an internal error whose
// message and stack never reach the client.

import grpc from '@grpc/grpc-js';
import { TensorshareError, type ErrorCode } from '../../errors.js';
import { grpcStatusOf } from '../../grpc-status.js';

/** HTTP status per code; the gRPC status comes from the one table in src/grpc-status.ts. */
interface Mapping {
  http: number;
  /** Overload-type errors carry Retry-After. */
  retry?: boolean;
}

const BY_CODE: Record<ErrorCode, Mapping> = {
  ERR_INVALID_ARGUMENT: { http: 400 },
  ERR_UNSUPPORTED_DTYPE: { http: 400 },
  // The model needs something this ONNX Runtime lacks: the server cannot do it, whatever the request.
  ERR_UNSUPPORTED_OPERATOR: { http: 501 },
  ERR_UNSUPPORTED_OPSET: { http: 501 },
  ERR_RUNTIME_REJECTED: { http: 400 },
  // The store's own bytes are damaged: our fault, not the caller's.
  ERR_CORRUPT_TENSOR: { http: 500 },
  ERR_INVALID_MODEL: { http: 400 },
  ERR_UNSAFE_EXTERNAL_PATH: { http: 400 },
  ERR_MISSING_EXTERNAL_DATA: { http: 400 },
  ERR_MODEL_NOT_FOUND: { http: 404 },
  ERR_PERMISSION_DENIED: { http: 403 },
  ERR_VERSION_EXISTS: { http: 409 },
  // Too many requests for this function right now (queue full, concurrency cap).
  ERR_OVERLOADED: { http: 429, retry: true },
  // The machine is out of capacity (memory budget, instances) for now.
  ERR_RESOURCE_EXHAUSTED: { http: 503, retry: true },
  // Waited too long in a queue or for a cold start.
  ERR_TIMEOUT: { http: 503, retry: true },
  ERR_UNAVAILABLE: { http: 503, retry: true },
  ERR_NO_SPACE: { http: 507 },
  ERR_STORE: { http: 500 },
  ERR_INTERNAL: { http: 500 },
  ERR_PRECONDITION: { http: 412 },
  ERR_UNAUTHENTICATED: { http: 401 },
};

/** A request over a size limit: ERR_INVALID_ARGUMENT with `details.tooLarge: true`. */
const TOO_LARGE = { http: 413, grpc: grpc.status.RESOURCE_EXHAUSTED };

export interface ErrorStatus {
  http: number;
  grpc: number;
  /** Stable code for metrics and logs ('ERR_INTERNAL' for untyped errors). */
  code: ErrorCode;
  /** Safe to send to the client. */
  message: string;
  /** Whole seconds, set for overload-type errors. */
  retryAfterSeconds?: number;
  /** True when the error was not a TensorshareError (log it; the client saw a generic message). */
  unexpected: boolean;
}

/**
 * Status for an error thrown while serving a request. Retry-After comes from
 * `details.retryAfterMs` when the thrower set it, else `defaultRetryAfterSeconds`.
 */
export function errorStatus(e: unknown, defaultRetryAfterSeconds = 1): ErrorStatus {
  if (e instanceof TensorshareError) {
    const tooBig = e.details.tooLarge === true;
    const m: Mapping = tooBig ? TOO_LARGE : (BY_CODE[e.code] ?? BY_CODE.ERR_INTERNAL);
    const out: ErrorStatus = {
      http: m.http,
      grpc: tooBig ? TOO_LARGE.grpc : grpcStatusOf(e.code),
      code: e.code,
      message: e.message,
      unexpected: false,
    };
    if (m.retry) {
      const ms = e.details.retryAfterMs;
      out.retryAfterSeconds =
        typeof ms === 'number' && Number.isFinite(ms) && ms >= 0
          ? Math.max(1, Math.ceil(ms / 1000))
          : defaultRetryAfterSeconds;
    }
    return out;
  }
  return { http: 500, grpc: grpc.status.INTERNAL, code: 'ERR_INTERNAL', message: 'internal error', unexpected: true };
}

/** A body or message over `limit` bytes (413 / RESOURCE_EXHAUSTED). */
export function tooLarge(message: string, limit: number): TensorshareError {
  return new TensorshareError('ERR_INVALID_ARGUMENT', message, { tooLarge: true, limit });
}

/** Shorthand for the protocol layer's own validation failures. */
export function badRequest(message: string, details: Record<string, unknown> = {}): TensorshareError {
  return new TensorshareError('ERR_INVALID_ARGUMENT', message, details);
}
