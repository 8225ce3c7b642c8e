// The one table of TensorshareError codes -> gRPC status codes, used by every
// gRPC edge (the daemon's API and the KServe gateway). grpc-js's own enum, so
// the numbers are never copied by hand.
import grpc from '@grpc/grpc-js';
import type { ErrorCode } from './errors.js';

const S = grpc.status;

export const GRPC_STATUS: Readonly<Record<ErrorCode, grpc.status>> = {
  ERR_INVALID_ARGUMENT: S.INVALID_ARGUMENT,
  ERR_INVALID_MODEL: S.INVALID_ARGUMENT,
  ERR_UNSUPPORTED_DTYPE: S.INVALID_ARGUMENT,
  ERR_UNSUPPORTED_OPERATOR: S.UNIMPLEMENTED,
  ERR_UNSUPPORTED_OPSET: S.UNIMPLEMENTED,
  ERR_RUNTIME_REJECTED: S.INVALID_ARGUMENT,
  ERR_UNSAFE_EXTERNAL_PATH: S.INVALID_ARGUMENT,
  ERR_MISSING_EXTERNAL_DATA: S.INVALID_ARGUMENT,
  ERR_MODEL_NOT_FOUND: S.NOT_FOUND,
  ERR_VERSION_EXISTS: S.ALREADY_EXISTS,
  ERR_NO_SPACE: S.RESOURCE_EXHAUSTED,
  ERR_RESOURCE_EXHAUSTED: S.RESOURCE_EXHAUSTED,
  ERR_OVERLOADED: S.RESOURCE_EXHAUSTED,
  ERR_PERMISSION_DENIED: S.PERMISSION_DENIED,
  ERR_UNAUTHENTICATED: S.UNAUTHENTICATED,
  ERR_PRECONDITION: S.FAILED_PRECONDITION,
  ERR_UNAVAILABLE: S.UNAVAILABLE,
  ERR_TIMEOUT: S.DEADLINE_EXCEEDED,
  // The store's own bytes are damaged: our fault, not the caller's.
  ERR_CORRUPT_TENSOR: S.INTERNAL,
  ERR_STORE: S.INTERNAL,
  ERR_INTERNAL: S.INTERNAL,
};

/**
 * The code a status means when the peer sent no code of its own (several
 * codes share a status: RESOURCE_EXHAUSTED is the most general of its three).
 */
const BY_STATUS: Partial<Record<grpc.status, ErrorCode>> = {
  [S.INVALID_ARGUMENT]: 'ERR_INVALID_ARGUMENT',
  [S.NOT_FOUND]: 'ERR_MODEL_NOT_FOUND',
  [S.ALREADY_EXISTS]: 'ERR_VERSION_EXISTS',
  [S.RESOURCE_EXHAUSTED]: 'ERR_RESOURCE_EXHAUSTED',
  [S.PERMISSION_DENIED]: 'ERR_PERMISSION_DENIED',
  [S.UNAUTHENTICATED]: 'ERR_UNAUTHENTICATED',
  [S.FAILED_PRECONDITION]: 'ERR_PRECONDITION',
  [S.UNAVAILABLE]: 'ERR_UNAVAILABLE',
  [S.CANCELLED]: 'ERR_UNAVAILABLE',
  [S.DEADLINE_EXCEEDED]: 'ERR_TIMEOUT',
};

export function grpcStatusOf(code: ErrorCode): grpc.status {
  return GRPC_STATUS[code] ?? S.INTERNAL;
}

export function errorCodeOfStatus(status: grpc.status): ErrorCode {
  return BY_STATUS[status] ?? 'ERR_INTERNAL';
}
