// Maps errors to protocol statuses. Typed errors (TensorshareError) keep their
// message, which names the problem; anything else is an internal error whose
// message and stack never reach the client.

import { TensorshareError, type ErrorCode } from '../../errors.js';

/** gRPC status codes (numeric values fixed by the gRPC spec). */
export const GrpcStatus = {
  OK: 0,
  CANCELLED: 1,
  UNKNOWN: 2,
  INVALID_ARGUMENT: 3,
  DEADLINE_EXCEEDED: 4,
  NOT_FOUND: 5,
  ALREADY_EXISTS: 6,
  PERMISSION_DENIED: 7,
  RESOURCE_EXHAUSTED: 8,
  FAILED_PRECONDITION: 9,
  ABORTED: 10,
  OUT_OF_RANGE: 11,
  UNIMPLEMENTED: 12,
  INTERNAL: 13,
  UNAVAILABLE: 14,
  DATA_LOSS: 15,
  UNAUTHENTICATED: 16,
} as const;

interface Mapping {
  http: number;
  grpc: number;
  /** Overload-type errors carry Retry-After. */
  retry?: boolean;
}

const BY_CODE: Record<ErrorCode, Mapping> = {
  ERR_INVALID_ARGUMENT: { http: 400, grpc: GrpcStatus.INVALID_ARGUMENT },
  ERR_UNSUPPORTED_DTYPE: { http: 400, grpc: GrpcStatus.INVALID_ARGUMENT },
  // The model needs something this ONNX Runtime lacks: the server cannot do it, whatever the request.
  ERR_UNSUPPORTED_OPERATOR: { http: 501, grpc: GrpcStatus.UNIMPLEMENTED },
  ERR_UNSUPPORTED_OPSET: { http: 501, grpc: GrpcStatus.UNIMPLEMENTED },
  ERR_RUNTIME_REJECTED: { http: 400, grpc: GrpcStatus.INVALID_ARGUMENT },
  // The store's own bytes are damaged: our fault, not the caller's.
  ERR_CORRUPT_TENSOR: { http: 500, grpc: GrpcStatus.INTERNAL },
  ERR_INVALID_MODEL: { http: 400, grpc: GrpcStatus.INVALID_ARGUMENT },
  ERR_UNSAFE_EXTERNAL_PATH: { http: 400, grpc: GrpcStatus.INVALID_ARGUMENT },
  ERR_MISSING_EXTERNAL_DATA: { http: 400, grpc: GrpcStatus.INVALID_ARGUMENT },
  ERR_MODEL_NOT_FOUND: { http: 404, grpc: GrpcStatus.NOT_FOUND },
  ERR_PERMISSION_DENIED: { http: 403, grpc: GrpcStatus.PERMISSION_DENIED },
  ERR_VERSION_EXISTS: { http: 409, grpc: GrpcStatus.ALREADY_EXISTS },
  // Too many requests for this function right now (queue full, concurrency cap).
  ERR_OVERLOADED: { http: 429, grpc: GrpcStatus.RESOURCE_EXHAUSTED, retry: true },
  // The machine is out of capacity (memory budget, instances) for now.
  ERR_RESOURCE_EXHAUSTED: { http: 503, grpc: GrpcStatus.RESOURCE_EXHAUSTED, retry: true },
  // Waited too long in a queue or for a cold start.
  ERR_TIMEOUT: { http: 503, grpc: GrpcStatus.DEADLINE_EXCEEDED, retry: true },
  ERR_UNAVAILABLE: { http: 503, grpc: GrpcStatus.UNAVAILABLE, retry: true },
  ERR_NO_SPACE: { http: 507, grpc: GrpcStatus.RESOURCE_EXHAUSTED },
  ERR_STORE: { http: 500, grpc: GrpcStatus.INTERNAL },
  ERR_INTERNAL: { http: 500, grpc: GrpcStatus.INTERNAL },
  ERR_PRECONDITION: { http: 412, grpc: GrpcStatus.FAILED_PRECONDITION },
  ERR_UNAUTHENTICATED: { http: 401, grpc: GrpcStatus.UNAUTHENTICATED },
};

/** A request over a size limit: ERR_INVALID_ARGUMENT with `details.tooLarge: true`. */
const TOO_LARGE: Mapping = { http: 413, grpc: GrpcStatus.RESOURCE_EXHAUSTED };

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
    const m = e.details['tooLarge'] === true ? TOO_LARGE : (BY_CODE[e.code] ?? BY_CODE.ERR_INTERNAL);
    const out: ErrorStatus = { http: m.http, grpc: m.grpc, code: e.code, message: e.message, unexpected: false };
    if (m.retry) {
      const ms = e.details['retryAfterMs'];
      out.retryAfterSeconds =
        typeof ms === 'number' && Number.isFinite(ms) && ms >= 0 ? Math.max(1, Math.ceil(ms / 1000)) : defaultRetryAfterSeconds;
    }
    return out;
  }
  return { http: 500, grpc: GrpcStatus.INTERNAL, code: 'ERR_INTERNAL', message: 'internal error', unexpected: true };
}

/** A body or message over `limit` bytes (413 / RESOURCE_EXHAUSTED). */
export function tooLarge(message: string, limit: number): TensorshareError {
  return new TensorshareError('ERR_INVALID_ARGUMENT', message, { tooLarge: true, limit });
}

/** Shorthand for the protocol layer's own validation failures. */
export function badRequest(message: string, details: Record<string, unknown> = {}): TensorshareError {
  return new TensorshareError('ERR_INVALID_ARGUMENT', message, details);
}
