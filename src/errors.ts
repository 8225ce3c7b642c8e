// Typed errors with stable codes (the undici/fastify convention): callers and
// the CLI branch on `code`, never on message text. Messages name the problem
// and the file or model involved.

export const ERROR_CODES = [
  'ERR_INVALID_ARGUMENT',
  'ERR_INVALID_MODEL',
  'ERR_UNSUPPORTED_DTYPE',
  /** ONNX Runtime has no kernel for an operator of the model (with its types). */
  'ERR_UNSUPPORTED_OPERATOR',
  /** The model's opset or IR version is newer than ONNX Runtime supports. */
  'ERR_UNSUPPORTED_OPSET',
  /** ONNX Runtime refuses a valid-looking model for another reason (its message is in details.ort). */
  'ERR_RUNTIME_REJECTED',
  'ERR_UNSAFE_EXTERNAL_PATH',
  'ERR_MISSING_EXTERNAL_DATA',
  'ERR_MODEL_NOT_FOUND',
  'ERR_VERSION_EXISTS',
  'ERR_NO_SPACE',
  'ERR_CORRUPT_TENSOR',
  'ERR_STORE',
  'ERR_RESOURCE_EXHAUSTED',
  'ERR_PERMISSION_DENIED',
  'ERR_UNAVAILABLE',
  'ERR_TIMEOUT',
  'ERR_OVERLOADED',
  'ERR_INTERNAL',
  'ERR_PRECONDITION',
  'ERR_UNAUTHENTICATED',
] as const;

export type ErrorCode = (typeof ERROR_CODES)[number];

/** Whether `s` is one of tensorshare's codes (for codes that arrive as plain strings, e.g. over IPC). */
export function isErrorCode(s: unknown): s is ErrorCode {
  return typeof s === 'string' && (ERROR_CODES as readonly string[]).includes(s);
}

export class TensorshareError extends Error {
  readonly code: ErrorCode;
  readonly details: Record<string, unknown>;
  constructor(code: ErrorCode, message: string, details: Record<string, unknown> = {}, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'TensorshareError';
    this.code = code;
    this.details = details;
  }
}

export function isTensorshareError(e: unknown, code?: ErrorCode): e is TensorshareError {
  return e instanceof TensorshareError && (code === undefined || e.code === code);
}

/** An error as it crosses to another process or thread (IPC, a socket, a worker's messages): plain data. */
export interface WireError {
  code: string;
  message: string;
  details?: Record<string, unknown>;
}

/**
 * `e` as a WireError: a TensorshareError keeps its code and details; anything else is ERR_INTERNAL
 * with its message. Recognized by name as well as by class: code with its own copy of this module
 * (a function's handler) makes TensorshareErrors of another class.
 */
export function toWireError(e: unknown): WireError {
  const err = e as { name?: unknown; code?: unknown; message?: unknown; details?: unknown } | undefined;
  const typed = e instanceof TensorshareError || (err?.name === 'TensorshareError' && typeof err.code === 'string');
  return {
    code: typed ? (err!.code as string) : 'ERR_INTERNAL',
    message: typeof err?.message === 'string' ? err.message : String(e),
    ...(typed && typeof err!.details === 'object' && err!.details
      ? { details: err!.details as Record<string, unknown> }
      : {}),
  };
}

/** A WireError back as a TensorshareError; a code this version does not know becomes ERR_INTERNAL. */
export function fromWireError(w: WireError): TensorshareError {
  return new TensorshareError(isErrorCode(w.code) ? w.code : 'ERR_INTERNAL', w.message, w.details ?? {});
}

/** Maps an fs error that means "out of space" to ERR_NO_SPACE; rethrows anything else unchanged. */
export function rethrowNoSpace(e: unknown, where: string): never {
  const code = (e as NodeJS.ErrnoException)?.code;
  if (code === 'ENOSPC' || code === 'EDQUOT') {
    throw new TensorshareError('ERR_NO_SPACE', `no space left while writing ${where}`, { where }, { cause: e });
  }
  throw e;
}
