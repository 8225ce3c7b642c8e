// Every request is checked before it reaches the manager: shapes, lengths,
// formats. A request that fails gets INVALID_ARGUMENT with a message naming
// the field -- never a crash. Bytes that do not even decode are marked by
// the tolerant deserializer (server.ts) and rejected here too.
import { TensorshareError } from '../errors.js';
import type * as P from './proto.js';

export const MALFORMED = Symbol('malformed');

const ID = /^[0-9a-f]{32}$/;
const SHA = /^[0-9a-f]{64}$/;
const MODES = ['', 'fast-open', 'fast-run'];

const invalid = (msg: string) => new TensorshareError('ERR_INVALID_ARGUMENT', msg);

export function checkDecoded(req: unknown): void {
  if (req === null || typeof req !== 'object') throw invalid('request is not a message');
  if (MALFORMED in (req as object))
    throw invalid(`request could not be decoded: ${String((req as Record<symbol, unknown>)[MALFORMED])}`);
}

function str(v: unknown, field: string, max: number, required = false): string {
  if (typeof v !== 'string') throw invalid(`${field} must be a string`);
  if (required && v.length === 0) throw invalid(`${field} is required`);
  if (v.length > max) throw invalid(`${field} is longer than ${max} characters`);
  if (v.includes('\0')) throw invalid(`${field} contains a NUL character`);
  return v;
}

export function checkId(v: unknown, field: string): string {
  const s = str(v, field, 64, true);
  if (!ID.test(s)) throw invalid(`${field} '${s.slice(0, 64)}' is not an id (32 lowercase hex digits)`);
  return s;
}

export function checkMode(v: unknown): '' | 'fast-open' | 'fast-run' {
  const s = str(v, 'mode', 20);
  if (!MODES.includes(s)) throw invalid(`mode '${s}' is not fast-open or fast-run`);
  return s as '' | 'fast-open' | 'fast-run';
}

export const checkModel = (v: unknown): string => str(v, 'model', 300, true);

export function checkHello(h: P.Hello | undefined | null): P.Hello {
  if (!h) throw invalid('the first Attach message must be a hello');
  if (!Number.isInteger(h.pid) || h.pid < 0) throw invalid('hello.pid must be a process id');
  const clientId = checkId(h.clientId, 'hello.client_id');
  const clientName = str(h.clientName, 'hello.client_name', 200);
  if (!Array.isArray(h.leases) || h.leases.length > 100_000)
    throw invalid('hello.leases must be a list of at most 100000 leases');
  const leases = h.leases.map((c, i) => {
    const graphSha256 = str(c.graphSha256, `hello.leases[${i}].graph_sha256`, 64, true);
    if (!SHA.test(graphSha256)) throw invalid(`hello.leases[${i}].graph_sha256 is not a SHA-256`);
    const mode = checkMode(c.mode);
    if (mode === '') throw invalid(`hello.leases[${i}].mode is required`);
    return {
      leaseId: checkId(c.leaseId, `hello.leases[${i}].lease_id`),
      model: checkModel(c.model),
      mode,
      graphSha256,
    };
  });
  return { pid: h.pid, clientId, clientName, leases };
}

export function checkOpen(r: P.OpenRequest): P.OpenRequest {
  return {
    attachmentId: checkId(r.attachmentId, 'attachment_id'),
    model: checkModel(r.model),
    mode: checkMode(r.mode),
    ownWindow: r.ownWindow === true,
  };
}

export function checkImport(r: P.ImportRequest): P.ImportRequest {
  return {
    path: str(r.path, 'path', 4096, true),
    name: str(r.name, 'name', 200, true),
    version: str(r.version, 'version', 64),
    defaultMode: checkMode(r.defaultMode),
  };
}

export function checkUploadHeader(h: P.UploadHeader | undefined | null): P.UploadHeader {
  if (!h) throw invalid('the first Upload message must be a header');
  if (!Number.isSafeInteger(h.size) || h.size <= 0)
    throw invalid('header.size must be the number of bytes that follow');
  const sha256 = str(h.sha256, 'header.sha256', 64);
  if (sha256 && !SHA.test(sha256)) throw invalid('header.sha256 is not a SHA-256 in lowercase hex');
  return {
    name: str(h.name, 'header.name', 200, true),
    version: str(h.version, 'header.version', 64),
    defaultMode: checkMode(h.defaultMode),
    size: h.size,
    sha256,
  };
}
