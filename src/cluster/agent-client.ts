// Calls to a node agent's network API (agent-server.ts) over HTTP or HTTPS
// with mutual TLS (node:http and node:https, so a client certificate can be
// presented; fetch cannot without another package): bounded
// JSON answers, a timeout on every call, errors with stable codes that name
// the agent. Tensor bytes come back as a stream the caller verifies.
import http from 'node:http';
import https from 'node:https';
import { TensorshareError } from '../errors.js';
import type { Inventory, Summary } from './inventory.js';
import { TENANT_TOKEN_HEADER } from './rights.js';
import { clientAgent, tlsFailure, type AgentTls } from './tls.js';
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
  /**
   * Opens a tensor's bytes; ERR_MODEL_NOT_FOUND when the agent does not hold it (or may not say).
   * `tenantToken`: the rights of the tenant whose namespace `ns` is (rights.ts).
   */
  tensor(hash: string, ns: string, signal: AbortSignal, tenantToken?: string): Promise<TensorStream>;
}

export interface AgentClientOptions {
  /** The shared cluster token; optional with `tls` (mutual TLS admits the caller). */
  token?: ClusterToken;
  /** Mutual TLS: this node's certificate and the cluster CA (tls.ts); addresses without a scheme are https. */
  tls?: AgentTls;
  /** Per JSON call (connect, answer and body). */
  timeoutMs?: number;
  /** Largest JSON answer read (a full inventory of many tensors is the big one). */
  maxJsonBytes?: number;
  /** A tenant's token, sent as x-tensorshare-tenant-token on every call (inventory as that tenant sees it). */
  tenantToken?: string;
}

/** A base URL from `host:port` or `http(s)://host:port`, checked; `scheme` is the one assumed without one. */
export function agentUrl(s: string, scheme: 'http' | 'https' = 'http'): string {
  const withScheme = /^[a-z]+:\/\//i.test(s) ? s : `${scheme}://${s}`;
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

/** An answer: status, headers, and the body as a stream (destroy it to give the connection up). */
interface Answer {
  status: number;
  header(name: string): string | undefined;
  body: http.IncomingMessage;
}

async function readBounded(body: http.IncomingMessage, max: number, what: string): Promise<string> {
  const chunks: Buffer[] = [];
  let n = 0;
  for await (const chunk of body as AsyncIterable<Buffer>) {
    n += chunk.length;
    if (n > max) {
      body.destroy();
      throw new TensorshareError('ERR_UNAVAILABLE', `${what}: answer larger than ${max} bytes`);
    }
    chunks.push(chunk);
  }
  return Buffer.concat(chunks).toString('utf8');
}

function unreachable(what: string, e: unknown, t: AgentTls | undefined): TensorshareError {
  if (e instanceof TensorshareError) return e;
  const err = e as NodeJS.ErrnoException;
  if (err.name === 'TimeoutError' || err.name === 'AbortError' || err.code === 'ABORT_ERR')
    return new TensorshareError('ERR_TIMEOUT', `${what}: no answer in time`, {}, { cause: e });
  const tlsErr = tlsFailure(what, err.code, t);
  if (tlsErr) return tlsErr;
  return new TensorshareError('ERR_UNAVAILABLE', `${what}: ${err.code ?? err.message}`, {}, { cause: e });
}

async function failure(res: Answer, what: string): Promise<TensorshareError> {
  let body: { code?: string; message?: string } = {};
  try {
    body = JSON.parse(await readBounded(res.body, 64 * 1024, what)) as typeof body;
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

// Connections are kept open between calls (a warm-up asks one peer for many tensors).
const plainAgent = new http.Agent({ keepAlive: true });

export function createAgentClient(address: string, options: AgentClientOptions): AgentClient {
  if (!options.token && !options.tls)
    throw new TensorshareError('ERR_INVALID_ARGUMENT', 'an agent client needs the cluster token or mutual TLS');
  const url = agentUrl(address, options.tls ? 'https' : 'http');
  const secure = url.startsWith('https:');
  if (secure && !options.tls)
    throw new TensorshareError(
      'ERR_INVALID_ARGUMENT',
      `agent address ${url}: https needs this node's certificate and the cluster CA (--agent-tls-cert, --agent-tls-key, --agent-tls-ca)`,
    );
  const tlsAgent = secure && options.tls ? clientAgent(options.tls) : undefined;
  const timeoutMs = options.timeoutMs ?? 5000;
  const maxJsonBytes = options.maxJsonBytes ?? 64 * 1024 * 1024;
  const headers = (tenantToken = options.tenantToken): Record<string, string> => ({
    ...(options.token ? { authorization: options.token.header } : {}),
    ...(tenantToken ? { [TENANT_TOKEN_HEADER]: `Bearer ${tenantToken}` } : {}),
  });

  /** One GET; the answer comes once its headers do. An abort of `signal` ends the request and its body. */
  function get(pathAndQuery: string, h: Record<string, string>, signal: AbortSignal): Promise<Answer> {
    return new Promise((resolve, reject) => {
      const req = (secure ? https : http).request(`${url}${pathAndQuery}`, {
        method: 'GET',
        headers: h,
        agent: tlsAgent ?? plainAgent,
        signal,
      });
      req.once('response', (res) =>
        resolve({
          status: res.statusCode ?? 0,
          header: (n) => {
            const v = res.headers[n.toLowerCase()];
            return Array.isArray(v) ? v[0] : v;
          },
          body: res,
        }),
      );
      req.once('error', reject);
      req.end();
    });
  }

  async function getJson<T>(pathAndQuery: string): Promise<T> {
    const what = `agent ${url}${pathAndQuery.split('?')[0]}`;
    const signal = AbortSignal.timeout(timeoutMs);
    try {
      const res = await get(pathAndQuery, headers(), signal);
      if (res.status < 200 || res.status >= 300) throw await failure(res, what);
      const text = await readBounded(res.body, maxJsonBytes, what);
      try {
        return JSON.parse(text) as T;
      } catch {
        throw new TensorshareError('ERR_UNAVAILABLE', `${what}: the answer is not JSON`);
      }
    } catch (e) {
      throw unreachable(what, e, options.tls);
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
    async tensor(hash, ns, signal, tenantToken) {
      const what = `agent ${url} tensor ${hash.slice(0, 12)}`;
      try {
        const res = await get(`/v1/tensors/${hash}?ns=${encodeURIComponent(ns)}`, headers(tenantToken), signal);
        if (res.status !== 200) throw await failure(res, what);
        const length = Number(res.header('content-length'));
        if (!Number.isSafeInteger(length)) {
          res.body.destroy();
          throw new TensorshareError('ERR_UNAVAILABLE', `${what}: the answer has no length`);
        }
        return { length, body: guarded(res.body, what, options.tls) };
      } catch (e) {
        throw unreachable(what, e, options.tls);
      }
    },
  };
}

/** The body, with a broken connection reported as a TensorshareError naming the agent. */
async function* guarded(body: http.IncomingMessage, what: string, t: AgentTls | undefined): AsyncIterable<Uint8Array> {
  try {
    for await (const chunk of body as AsyncIterable<Buffer>) yield chunk;
    // A connection that closed before the announced length is a short body: the caller counts the bytes.
  } catch (e) {
    throw unreachable(what, e, t);
  } finally {
    body.destroy();
  }
}
