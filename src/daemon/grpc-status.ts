// How errors cross the daemon's wire. The status code says what kind of
// failure it was (the table in src/grpc-status.ts); several codes share a
// status, so the stable code itself travels in trailing metadata
// (`tensorshare-error-code`) and the client restores it exactly. A peer that
// sends no such entry (or one this build does not know) gets the status's
// general code.
import grpc from '@grpc/grpc-js';
import { TensorshareError, type ErrorCode } from '../errors.js';
import { errorCodeOfStatus, grpcStatusOf, GRPC_STATUS } from '../grpc-status.js';

export const ERROR_CODE_KEY = 'tensorshare-error-code';

const isErrorCode = (v: unknown): v is ErrorCode => typeof v === 'string' && Object.hasOwn(GRPC_STATUS, v);

/** The status a TensorshareError is sent as, with its code in the trailers. */
export function toServiceError(e: TensorshareError): Partial<grpc.StatusObject> {
  const metadata = new grpc.Metadata();
  metadata.set(ERROR_CODE_KEY, e.code);
  return { code: grpcStatusOf(e.code), details: e.message, metadata };
}

/** A TensorshareError from a failed call's status and trailers; keeps the daemon's message. */
export function fromServiceError(
  e: grpc.ServiceError | (Error & { code?: number; details?: string; metadata?: grpc.Metadata }),
): TensorshareError {
  const status = (e.code ?? grpc.status.UNKNOWN) as grpc.status;
  const sent = e.metadata?.get(ERROR_CODE_KEY)[0];
  const code = isErrorCode(sent) ? sent : errorCodeOfStatus(status);
  return new TensorshareError(
    code,
    e.details || e.message,
    { grpcCode: status, grpcStatus: grpc.status[status] },
    { cause: e },
  );
}
