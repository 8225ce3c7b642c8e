// Calls to a node agent's network API (agent-server.ts) over HTTP: bounded
// JSON answers, a timeout on every call, errors with stable codes that name
// the agent. Tensor bytes come back as a stream the caller verifies.
import { TensorshareError } from '../errors.js';
import type { Inventory, Summary } from './inventory.js';
import type { ClusterToken } from './token.js';

export interface ModelTensorList {
  model: string;
  ns: string;
  digest: string;
  tensors: { hash: string; bytes: number }[];
}

export interface TensorStream {
  length: number;
  body: AsyncIterable<Uint8Array>;
}

export interface AgentClient {
  readonly url: string;
  summary(): Promise<Summary>;
  inventory(): Promise<Inventory>;
  modelTensors(ns: string, model: string): Promise<ModelTensorList>;
  /** Opens a tensor's bytes; ERR_MODEL_NOT_FOUND when the agent does not hold it (or may not say). */
  tensor(hash: string, ns: string, signal: AbortSignal): Promise<TensorStream>;
}

export interface AgentClientOptions {
  token: ClusterToken;
  /** Per JSON call (connect, answer and body). */
  timeoutMs?: number;
  /** Largest JSON answer read (a full inventory of many tensors is the big one). */
  maxJsonBytes?: number;
  /** A tenant's token, sent as x-tensorshare-tenant-token for its namespace's tensors. */
  tenantToken?: string;
}

/** A base URL from `host:port` or `http://host:port`, checked. */
export function agentUrl(s: string): string {
  const withScheme = /^[a-z]+:\/\//i.test(s) ? s : `http://${s}`;
  let u: URL;
  try {
    u = new URL(withScheme);
  } catch {
    throw new TensorshareError(
      'ERR_INVALID_ARGUMENT',
      `'${s}' is not an agent address (host:port or http://host:port)`,
    );
  }
  if (u.protocol !== 'http:' && u.protocol !== 'https:')
    throw new TensorshareError('ERR_INVALID_ARGUMENT', `agent address '${s}': only http:// and https:// are spoken`);
  if (!u.port && !/^https?:\/\/[^/]+:\d+/.test(withScheme) && u.protocol === 'http:')
    throw new TensorshareError('ERR_INVALID_ARGUMENT', `agent address '${s}' has no port`);
  return `${u.protocol}//${u.host}`;
}

async function readBounded(res: Response, max: number, what: string): Promise<string> {
  const reader = res.body?.getReader();
  if (!reader) return '';
  const chunks: Uint8Array[] = [];
  let n = 0;
  for (;;) {
    const { done, value } = await reader.read();
    if (done) break;
    n += value.length;
    if (n > max) {
      await reader.cancel();
      throw new TensorshareError('ERR_UNAVAILABLE', `${what}: answer larger than ${max} bytes`);
    }
    chunks.push(value);
  }
  return Buffer.concat(chunks).toString('utf8');
}

function unreachable(what: string, e: unknown): TensorshareError {
  if (e instanceof TensorshareError) return e;
  const cause = (e as { cause?: { code?: string; message?: string } }).cause;
  const name = (e as Error).name;
  if (name === 'TimeoutError' || name === 'AbortError')
    return new TensorshareError('ERR_TIMEOUT', `${what}: no answer in time`, {}, { cause: e });
  return new TensorshareError(
    'ERR_UNAVAILABLE',
    `${what}: ${cause?.code ?? cause?.message ?? (e as Error).message}`,
    {},
    { cause: e },
  );
}

async function failure(res: Response, what: string): Promise<TensorshareError> {
  let body: { code?: string; message?: string } = {};
  try {
    body = JSON.parse(await readBounded(res, 64 * 1024, what)) as typeof body;
  } catch {}
  const code =
    res.status === 401
      ? 'ERR_UNAUTHENTICATED'
      : res.status === 404
        ? 'ERR_MODEL_NOT_FOUND'
        : res.status === 400
          ? 'ERR_INVALID_ARGUMENT'
          : 'ERR_UNAVAILABLE';
  return new TensorshareError(code, `${what}: HTTP ${res.status}${body.message ? `: ${body.message}` : ''}`, {
    status: res.status,
  });
}

export function createAgentClient(address: string, options: AgentClientOptions): AgentClient {
  const url = agentUrl(address);
  const timeoutMs = options.timeoutMs ?? 5000;
  const maxJsonBytes = options.maxJsonBytes ?? 64 * 1024 * 1024;
  const headers = (): Record<string, string> => ({
    authorization: options.token.header,
    ...(options.tenantToken ? { 'x-tensorshare-tenant-token': `Bearer ${options.tenantToken}` } : {}),
  });
  async function getJson<T>(pathAndQuery: string): Promise<T> {
    const what = `agent ${url}${pathAndQuery.split('?')[0]}`;
    const signal = AbortSignal.timeout(timeoutMs);
    try {
      const res = await fetch(`${url}${pathAndQuery}`, { headers: headers(), signal });
      if (!res.ok) throw await failure(res, what);
      const text = await readBounded(res, maxJsonBytes, what);
      try {
        return JSON.parse(text) as T;
      } catch {
        throw new TensorshareError('ERR_UNAVAILABLE', `${what}: the answer is not JSON`);
      }
    } catch (e) {
      throw unreachable(what, e);
    }
  }
  return {
    url,
    async summary() {
      const s = await getJson<Summary>('/v1/summary');
      if (s?.format !== 'tensorshare.summary/v1' || typeof s.node !== 'string')
        throw new TensorshareError('ERR_UNAVAILABLE', `agent ${url}: /v1/summary is not a tensorshare summary`);
      return s;
    },
    inventory: () => getJson<Inventory>('/v1/inventory'),
    modelTensors: (ns, model) =>
      getJson<ModelTensorList>(`/v1/models/tensors?ns=${encodeURIComponent(ns)}&model=${encodeURIComponent(model)}`),
    async tensor(hash, ns, signal) {
      const what = `agent ${url} tensor ${hash.slice(0, 12)}`;
      try {
        const res = await fetch(`${url}/v1/tensors/${hash}?ns=${encodeURIComponent(ns)}`, {
          headers: headers(),
          signal,
        });
        if (!res.ok) throw await failure(res, what);
        const length = Number(res.headers.get('content-length'));
        if (!res.body || !Number.isSafeInteger(length)) {
          await res.body?.cancel();
          throw new TensorshareError('ERR_UNAVAILABLE', `${what}: the answer has no length`);
        }
        return { length, body: res.body as unknown as AsyncIterable<Uint8Array> };
      } catch (e) {
        throw unreachable(what, e);
      }
    },
  };
}
