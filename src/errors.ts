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

/** Maps an fs error that means "out of space" to ERR_NO_SPACE; rethrows anything else unchanged. */
export function rethrowNoSpace(e: unknown, where: string): never {
  const code = (e as NodeJS.ErrnoException)?.code;
  if (code === 'ENOSPC' || code === 'EDQUOT') {
    throw new TensorshareError('ERR_NO_SPACE', `no space left while writing ${where}`, { where }, { cause: e });
  }
  throw e;
}
