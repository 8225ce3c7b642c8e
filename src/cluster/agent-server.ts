// The node agent's network API (HTTP, fastify), beside the daemon's Unix
// socket: what this node holds (inventory, bounded summary), the tensor list
// of a model, and tensor bytes by hash for peers. Every /v1 call needs the
// cluster token; what a caller may read beyond that is rights.ts's policy
// (a tenant's tensors need that tenant's token, and without it they answer
// exactly like a tensor this node lacks).
import fs from 'node:fs';
import fastify, { type FastifyInstance } from 'fastify';
import type { Logger } from 'pino';
import type { TLSSocket } from 'node:tls';
import { TensorshareError, isTensorshareError } from '../errors.js';
import type { TenantSpec } from '../daemon/settings.js';
import { isSha256, tensorPath, type Layout } from '../store/layout.js';
import { uniqueTensors } from '../store/manifest.js';
import { resolveModel } from '../store/repository.js';
import { displayName } from '../daemon/tenants.js';
import { takeInventory, type Inventory, type NodeView } from './inventory.js';
import { createRights, openSummary, TENANT_TOKEN_HEADER } from './rights.js';
import { refusal, serverTlsOptions, type AgentTls } from './tls.js';
import type { ClusterToken } from './token.js';

export interface AgentServerOptions {
  view: NodeView;
  /** The shared cluster token every /v1 call must carry; optional with `tls`. */
  token?: ClusterToken;
  /** Mutual TLS: HTTPS, and only callers with a certificate the cluster CA signed complete the handshake. */
  tls?: AgentTls;
  tenants: readonly TenantSpec[];
  log: Logger;
  /** An inventory is reused this long (scheduler calls come in bursts). */
  inventoryTtlMs?: number;
}

const NOT_HELD = { code: 'ERR_MODEL_NOT_FOUND', message: 'tensor not held here' };

/** fastify's logger is off: the agent logs through the daemon's pino logger, one line per failure. */
export function createAgentServer(o: AgentServerOptions): FastifyInstance {
  if (!o.token && !o.tls)
    throw new TensorshareError('ERR_INVALID_ARGUMENT', 'the agent API needs the cluster token or mutual TLS');
  const base = { logger: false, bodyLimit: 64 * 1024, connectionTimeout: 0, keepAliveTimeout: 10_000 } as const;
  const app = (o.tls ? fastify({ ...base, https: serverTlsOptions(o.tls) }) : fastify(base)) as FastifyInstance;
  const roots = new Map(o.view.roots.map((r) => [r.ns, r]));
  const ttl = o.inventoryTtlMs ?? 1000;
  let cached: { at: number; inv: Promise<Inventory> } | undefined;
  const inventory = () => {
    if (!cached || performance.now() - cached.at > ttl) {
      const inv = takeInventory(o.view);
      cached = { at: performance.now(), inv };
      inv.catch(() => {
        cached = undefined;
      });
    }
    return cached.inv;
  };

  const rights = createRights(o.view, o.tenants, ttl);
  const tenantHeader = (req: { headers: Record<string, string | string[] | undefined> }) => {
    const v = req.headers[TENANT_TOKEN_HEADER];
    return typeof v === 'string' ? v : undefined;
  };

  app.addHook('onRequest', async (req, reply) => {
    if (req.url === '/healthz') return;
    // Mutual TLS: a connection whose certificate the cluster CA did not sign makes no request (tls.ts says why not in the handshake).
    const refused = o.tls ? refusal(req.raw.socket as TLSSocket) : undefined;
    if (refused) {
      o.log.warn({ from: req.raw.socket.remoteAddress, why: refused }, 'agent refused a TLS client');
      return reply.code(401).send({ code: 'ERR_UNAUTHENTICATED', message: refused });
    }
    if (!req.url.startsWith('/v1/')) return;
    if (o.token && !o.token.accepts(req.headers.authorization))
      return reply.code(401).send({ code: 'ERR_UNAUTHENTICATED', message: 'a valid cluster token is required' });
  });
  app.setErrorHandler((e, _req, reply) => {
    if (isTensorshareError(e, 'ERR_MODEL_NOT_FOUND')) return reply.code(404).send({ code: e.code, message: e.message });
    if (isTensorshareError(e, 'ERR_INVALID_ARGUMENT'))
      return reply.code(400).send({ code: e.code, message: e.message });
    const status = (e as { statusCode?: number }).statusCode;
    if (status && status < 500)
      return reply.code(status).send({ code: 'ERR_INVALID_ARGUMENT', message: (e as Error).message });
    o.log.error({ err: e }, 'agent request failed');
    return reply.code(500).send({ code: 'ERR_INTERNAL', message: 'internal error' });
  });

  app.get('/healthz', async () => ({ ok: true, node: o.view.node }));
  app.get('/v1/inventory', async (req) => rights.inventoryFor(await inventory(), tenantHeader(req)));
  // Bounded, for everyone admitted: the hash-set digests cover every tensor (membership only: they
  // tell whether the node holds a hash the caller already knows), the named models only open ones.
  app.get('/v1/summary', async () => openSummary(await inventory(), o.tenants));

  app.get<{ Querystring: { ns?: string; model?: string } }>('/v1/models/tensors', async (req, reply) => {
    const ns = req.query.ns ?? 'default';
    const r = roots.get(ns);
    if (!r || typeof req.query.model !== 'string')
      return reply.code(404).send({ code: 'ERR_MODEL_NOT_FOUND', message: `model '${req.query.model}' not found` });
    const m = await resolveModel(r.repo, req.query.model);
    return {
      model: displayName(ns, m.name, m.version),
      ns,
      digest: m.digest,
      tensors: uniqueTensors(m.tensors).map((t) => ({ hash: t.sha256, bytes: t.bytes })),
    };
  });

  app.get<{ Params: { hash: string }; Querystring: { ns?: string } }>('/v1/tensors/:hash', async (req, reply) => {
    const ns = req.query.ns ?? 'default';
    const hash = req.params.hash;
    if (!isSha256(hash)) return reply.code(400).send({ code: 'ERR_INVALID_ARGUMENT', message: 'not a SHA-256' });
    if (!(await rights.mayRead(ns, hash, tenantHeader(req)))) return reply.code(404).send(NOT_HELD);
    const r = roots.get(ns)!;
    const opened = openTensor(r.store, hash) ?? openTensor(r.repo, hash);
    if (!opened) return reply.code(404).send(NOT_HELD);
    reply.header('content-type', 'application/octet-stream');
    reply.header('content-length', String(opened.size));
    reply.header('x-tensorshare-sha256', hash);
    return reply.send(opened.stream);
  });
  return app;
}

/** A tensor file opened without following a symlink (a name in a content-addressed folder is a plain file or nothing). */
function openTensor(root: Layout, hash: string): { size: number; stream: fs.ReadStream } | undefined {
  let fd: number;
  try {
    fd = fs.openSync(tensorPath(root, hash), fs.constants.O_RDONLY | fs.constants.O_NOFOLLOW);
  } catch {
    return undefined;
  }
  const st = fs.fstatSync(fd);
  if (!st.isFile()) {
    fs.closeSync(fd);
    return undefined;
  }
  return { size: st.size, stream: fs.createReadStream('', { fd, highWaterMark: 1 << 20 }) };
}
