// A stand-in for the Kubernetes API server for the inventory-annotation
// tests: a real local HTTP server that speaks the two endpoints the agent
// uses (GET and merge-PATCH of /api/v1/nodes/<name>), checks the bearer
// token, and refuses a PATCH of any node but the ones allowed, as the
// deploy/ RBAC and admission policy do. It records every request.
import http from 'node:http';
import type { AddressInfo } from 'node:net';

export interface FakeKubeApi {
  url: string;
  nodes: Map<string, { metadata: { name: string; annotations: Record<string, string> } }>;
  requests: { method: string; path: string; contentType?: string }[];
  /** The token it accepts now (change it to rotate). */
  token: string;
  /** Nodes the caller may patch. */
  mayPatch: Set<string>;
  close(): Promise<void>;
}

/** RFC 7386 merge patch. */
function merge(target: unknown, patch: unknown): unknown {
  if (typeof patch !== 'object' || patch === null || Array.isArray(patch)) return patch;
  const out: Record<string, unknown> =
    typeof target === 'object' && target !== null && !Array.isArray(target) ? { ...(target as object) } : {};
  for (const [k, v] of Object.entries(patch)) {
    if (v === null) delete out[k];
    else out[k] = merge(out[k], v);
  }
  return out;
}

export async function startFakeKubeApi(o: { token: string; nodes: string[] }): Promise<FakeKubeApi> {
  const api: Omit<FakeKubeApi, 'url' | 'close'> = {
    nodes: new Map(o.nodes.map((n) => [n, { metadata: { name: n, annotations: {} } }])),
    requests: [],
    token: o.token,
    mayPatch: new Set(o.nodes),
  };
  const status = (res: http.ServerResponse, code: number, message: string) => {
    res.writeHead(code, { 'content-type': 'application/json' });
    res.end(JSON.stringify({ kind: 'Status', apiVersion: 'v1', status: 'Failure', message, code }));
  };
  const server = http.createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const path = req.url ?? '';
      api.requests.push({ method: req.method ?? '', path, contentType: req.headers['content-type'] });
      if (req.headers.authorization !== `Bearer ${api.token}`) return status(res, 401, 'Unauthorized');
      const m = /^\/api\/v1\/nodes\/([^/?]+)$/.exec(path);
      if (!m) return status(res, 404, `the server could not find the requested resource (${path})`);
      const name = decodeURIComponent(m[1]!);
      const node = api.nodes.get(name);
      if (!node) return status(res, 404, `nodes "${name}" not found`);
      if (req.method === 'GET') {
        res.writeHead(200, { 'content-type': 'application/json' });
        return res.end(JSON.stringify(node));
      }
      if (req.method !== 'PATCH') return status(res, 405, 'method not allowed');
      if (req.headers['content-type'] !== 'application/merge-patch+json')
        return status(res, 415, `unsupported media type ${req.headers['content-type']}`);
      if (!api.mayPatch.has(name)) return status(res, 403, `nodes "${name}" is forbidden: not this agent's node`);
      let patch: unknown;
      try {
        patch = JSON.parse(Buffer.concat(chunks).toString('utf8'));
      } catch {
        return status(res, 400, 'invalid JSON');
      }
      const merged = merge(node, patch) as typeof node;
      api.nodes.set(name, merged);
      res.writeHead(200, { 'content-type': 'application/json' });
      res.end(JSON.stringify(merged));
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const a = server.address() as AddressInfo;
  return Object.assign(api, {
    url: `http://127.0.0.1:${a.port}`,
    close: () =>
      new Promise<void>((r) => {
        server.closeAllConnections();
        server.close(() => r());
      }),
  }) as FakeKubeApi;
}
