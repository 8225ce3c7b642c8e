// The HTTP side of load generation against a KServe v2 gateway: build an
// inference body from the model's metadata (dynamic dimensions from the
// caller, deterministic values), and send it over kept-alive loopback
// connections. Failures reject with the HTTP status and the gateway's error
// text, so loadgen.ts reports them by status ("HTTP 429", "HTTP 503").
import http from 'node:http';
import { TensorshareError } from '../errors.js';
import { seededRandom } from '../prng.js';

export interface TensorMeta {
  name: string;
  datatype: string;
  shape: number[];
  optional?: boolean;
}

export interface ModelMeta {
  name: string;
  inputs: TensorMeta[];
  outputs: TensorMeta[];
}

export interface BodyOptions {
  /** Full shapes for inputs with dynamic (-1) dimensions, by input name; others: -1 becomes 1. */
  shapes?: Record<string, number[]>;
  /** Outputs to ask for (default: all). */
  outputs?: string[];
  /** Ask for outputs in the binary tensor extension (no JSON number formatting on either side). */
  binaryOutputs?: boolean;
  /** Request parameters (priority, timeout_ms, tenant, ...). */
  parameters?: Record<string, string | number | boolean>;
  seed?: number;
}

/** A JSON infer body for `meta`: integers are 1 (a valid token id, mask and segment), floats seeded in [-1, 1), BYTES "x". */
export function inferBody(meta: ModelMeta, o: BodyOptions = {}): string {
  const rand = seededRandom(o.seed ?? 1);
  const inputs = meta.inputs
    .filter((t) => !t.optional || o.shapes?.[t.name])
    .map((t) => {
      const shape = o.shapes?.[t.name] ?? t.shape.map((d) => (d < 0 ? 1 : d));
      if (shape.length !== t.shape.length || shape.some((d, i) => t.shape[i]! >= 0 && d !== t.shape[i])) {
        throw new TensorshareError(
          'ERR_INVALID_ARGUMENT',
          `shape [${shape}] given for input '${t.name}' does not fit its metadata [${t.shape}]`,
          { input: t.name },
        );
      }
      const n = shape.reduce((a, b) => a * b, 1);
      const data =
        t.datatype === 'BYTES'
          ? Array.from({ length: n }, () => 'x')
          : t.datatype === 'BOOL'
            ? Array.from({ length: n }, () => true)
            : /^FP|^BF/.test(t.datatype)
              ? Array.from({ length: n }, () => Math.round((rand() * 2 - 1) * 1e4) / 1e4)
              : Array.from({ length: n }, () => 1);
      return { name: t.name, datatype: t.datatype, shape, data };
    });
  const names = o.outputs ?? meta.outputs.map((t) => t.name);
  for (const n of names) {
    if (!meta.outputs.some((t) => t.name === n))
      throw new TensorshareError(
        'ERR_INVALID_ARGUMENT',
        `model '${meta.name}' has no output '${n}' (outputs: ${meta.outputs.map((t) => t.name).join(', ')})`,
      );
  }
  const outputs = names.map((name) => (o.binaryOutputs ? { name, parameters: { binary_data: true } } : { name }));
  return JSON.stringify({
    inputs,
    outputs,
    ...(o.parameters && Object.keys(o.parameters).length ? { parameters: o.parameters } : {}),
  });
}

export class HttpError extends Error {
  constructor(
    readonly status: number,
    message: string,
  ) {
    super(message);
    this.name = 'HttpError';
  }
}

export interface HttpClient {
  /** GET, parsed JSON; throws HttpError on a non-2xx status. */
  getJson<T>(path: string): Promise<T>;
  /** POSTs `body` to /v2/models/<model>/infer and reads the whole answer; rejects with HttpError on a non-200. */
  infer(model: string, body: string | Uint8Array, headers?: Record<string, string>): Promise<void>;
  close(): void;
}

export function httpClient(baseUrl: string, maxSockets = 256): HttpClient {
  const base = new URL(baseUrl);
  if (base.protocol !== 'http:')
    throw new TensorshareError('ERR_INVALID_ARGUMENT', `only http:// URLs are supported, got ${baseUrl}`);
  const agent = new http.Agent({ keepAlive: true, maxSockets });
  const request = (method: string, path: string, body?: string | Uint8Array, extra: Record<string, string> = {}) =>
    new Promise<{ status: number; text: string }>((resolve, reject) => {
      const req = http.request(
        {
          host: base.hostname,
          port: base.port || 80,
          path,
          method,
          agent,
          headers:
            body === undefined
              ? {}
              : { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body), ...extra },
        },
        (res) => {
          const chunks: Buffer[] = [];
          res.on('data', (c: Buffer) => chunks.push(c));
          res.on('end', () =>
            resolve({
              status: res.statusCode ?? 0,
              text: res.statusCode === 200 ? '' : Buffer.concat(chunks).toString('utf8'),
            }),
          );
          res.on('error', reject);
        },
      );
      req.on('error', reject);
      req.end(body);
    });
  const fail = (status: number, text: string) => {
    let msg = text;
    try {
      msg = (JSON.parse(text) as { error?: string }).error ?? text;
    } catch {
      /* not JSON */
    }
    return new HttpError(status, `HTTP ${status}: ${msg}`);
  };
  return {
    async getJson<T>(path: string): Promise<T> {
      const r = await new Promise<{ status: number; text: string }>((resolve, reject) => {
        http
          .get({ host: base.hostname, port: base.port || 80, path, agent }, (res) => {
            const chunks: Buffer[] = [];
            res.on('data', (c: Buffer) => chunks.push(c));
            res.on('end', () => resolve({ status: res.statusCode ?? 0, text: Buffer.concat(chunks).toString('utf8') }));
            res.on('error', reject);
          })
          .on('error', reject);
      });
      if (r.status < 200 || r.status >= 300) throw fail(r.status, r.text);
      return JSON.parse(r.text) as T;
    },
    async infer(model, body, headers) {
      const r = await request('POST', `/v2/models/${encodeURIComponent(model)}/infer`, body, headers);
      if (r.status !== 200) throw fail(r.status, r.text);
    },
    close: () => agent.destroy(),
  };
}
