// The two Kubernetes API calls the agent makes, with the pod's service
// account: merge-patch its own Node's annotations, and read a Node. In a pod
// the API server, token and CA come from where Kubernetes puts them
// (KUBERNETES_SERVICE_HOST/PORT, /var/run/secrets/kubernetes.io/serviceaccount);
// the token file is read again on every call, since bound tokens rotate.
import fs from 'node:fs';
import http from 'node:http';
import https from 'node:https';
import { TensorshareError } from '../errors.js';

export const SERVICE_ACCOUNT_DIR = '/var/run/secrets/kubernetes.io/serviceaccount';

export interface KubeApiOptions {
  /** The API server's base URL (https://host:port; http:// for a local test server). */
  url: string;
  tokenFile: string;
  /** The CA that signed the API server's certificate (https only). */
  caFile?: string;
  timeoutMs?: number;
}

export interface KubeApi {
  readonly url: string;
  /** Merge-patches annotations onto a Node (a null value removes one). */
  patchNodeAnnotations(node: string, annotations: Record<string, string | null>): Promise<void>;
  getNode(node: string): Promise<{ metadata?: { name?: string; annotations?: Record<string, string> } }>;
}

/** The API server of the cluster this pod runs in, or undefined outside one. */
export function inClusterUrl(env: NodeJS.ProcessEnv): string | undefined {
  const host = env.KUBERNETES_SERVICE_HOST;
  const port = env.KUBERNETES_SERVICE_PORT ?? '443';
  if (!host) return undefined;
  return `https://${host.includes(':') ? `[${host}]` : host}:${port}`;
}

export function createKubeApi(o: KubeApiOptions): KubeApi {
  let base: URL;
  try {
    base = new URL(o.url);
  } catch {
    throw new TensorshareError('ERR_INVALID_ARGUMENT', `--kube-api: '${o.url}' is not a URL`);
  }
  if (base.protocol !== 'https:' && base.protocol !== 'http:')
    throw new TensorshareError('ERR_INVALID_ARGUMENT', `--kube-api: '${o.url}' is not http(s)`);
  const secure = base.protocol === 'https:';
  let agent: http.Agent | undefined;
  const agentOf = () => {
    if (agent) return agent;
    if (!secure) {
      agent = new http.Agent({ keepAlive: true });
      return agent;
    }
    let ca: Buffer | undefined;
    if (o.caFile) {
      try {
        ca = fs.readFileSync(o.caFile);
      } catch (e) {
        throw new TensorshareError(
          'ERR_UNAVAILABLE',
          `--kube-ca-file ${o.caFile}: cannot read it (${(e as NodeJS.ErrnoException).code})`,
        );
      }
    }
    agent = new https.Agent({ keepAlive: true, ...(ca ? { ca } : {}) });
    return agent;
  };
  const token = () => {
    try {
      return fs.readFileSync(o.tokenFile, 'utf8').trim();
    } catch (e) {
      throw new TensorshareError(
        'ERR_UNAVAILABLE',
        `--kube-token-file ${o.tokenFile}: cannot read the service account token (${(e as NodeJS.ErrnoException).code})`,
      );
    }
  };

  function call(method: string, path: string, body?: { type: string; json: unknown }): Promise<unknown> {
    const what = `Kubernetes API ${method} ${path}`;
    const payload = body ? Buffer.from(JSON.stringify(body.json)) : undefined;
    return new Promise((resolve, reject) => {
      let req: http.ClientRequest;
      try {
        req = (secure ? https : http).request(new URL(path, base), {
          method,
          agent: agentOf(),
          signal: AbortSignal.timeout(o.timeoutMs ?? 5000),
          headers: {
            authorization: `Bearer ${token()}`,
            accept: 'application/json',
            ...(payload ? { 'content-type': body!.type, 'content-length': String(payload.length) } : {}),
          },
        });
      } catch (e) {
        reject(e);
        return;
      }
      req.once('error', (e: NodeJS.ErrnoException) =>
        reject(
          e.name === 'AbortError' || e.name === 'TimeoutError'
            ? new TensorshareError('ERR_TIMEOUT', `${what}: no answer in time`)
            : new TensorshareError('ERR_UNAVAILABLE', `${what}: ${e.code ?? e.message}`),
        ),
      );
      req.once('response', (res) => {
        const chunks: Buffer[] = [];
        let n = 0;
        res.on('data', (c: Buffer) => {
          n += c.length;
          if (n <= 1 << 20) chunks.push(c);
        });
        res.once('error', (e) => reject(new TensorshareError('ERR_UNAVAILABLE', `${what}: ${e.message}`)));
        res.once('end', () => {
          const text = Buffer.concat(chunks).toString('utf8');
          let parsed: { message?: string } | undefined;
          try {
            parsed = JSON.parse(text) as { message?: string };
          } catch {}
          const status = res.statusCode ?? 0;
          if (status >= 200 && status < 300) return resolve(parsed);
          const why = parsed?.message ?? text.slice(0, 200);
          const code =
            status === 401
              ? 'ERR_UNAUTHENTICATED'
              : status === 403
                ? 'ERR_PERMISSION_DENIED'
                : status === 404
                  ? 'ERR_PRECONDITION'
                  : 'ERR_UNAVAILABLE';
          reject(new TensorshareError(code, `${what}: HTTP ${status}: ${why}`, { status }));
        });
      });
      req.end(payload);
    });
  }

  const nodePath = (node: string) => `/api/v1/nodes/${encodeURIComponent(node)}`;
  return {
    url: base.origin,
    async patchNodeAnnotations(node, annotations) {
      await call('PATCH', nodePath(node), {
        type: 'application/merge-patch+json',
        json: { metadata: { annotations } },
      });
    },
    getNode: async (node) => (await call('GET', nodePath(node))) as Awaited<ReturnType<KubeApi['getNode']>>,
  };
}
