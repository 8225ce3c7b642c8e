// TensorshareError codes <-> gRPC status codes, both directions: the daemon
// answers with a status, the client turns it back into a typed error.
import grpc from '@grpc/grpc-js';
import { TensorshareError, type ErrorCode } from '../errors.js';

const S = grpc.status;

const TO_GRPC: Record<ErrorCode, grpc.status> = {
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
  ERR_CORRUPT_TENSOR: S.INTERNAL,
  ERR_STORE: S.INTERNAL,
  ERR_INTERNAL: S.INTERNAL,
};

const FROM_GRPC: Partial<Record<grpc.status, ErrorCode>> = {
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

export function grpcCode(code: ErrorCode): grpc.status {
  return TO_GRPC[code] ?? S.INTERNAL;
}

/** A TensorshareError from a failed call's status; keeps the daemon's message. */
export function fromServiceError(e: grpc.ServiceError | (Error & { code?: number; details?: string })): TensorshareError {
  const status = (e.code ?? S.UNKNOWN) as grpc.status;
  const code = FROM_GRPC[status] ?? 'ERR_INTERNAL';
  return new TensorshareError(code, e.details || e.message, { grpcCode: status, grpcStatus: S[status] }, { cause: e });
}
