// The dashboard's own HTTP listener (its own port, loopback unless asked):
// the page built by Vite (web/, built into ./public next to this file's
// compiled form) under /dashboard/, the current snapshot at
// /dashboard/api/snapshot, and a live stream of them at /dashboard/api/events
// (server-sent events: a `hello` with the history, then a `tick` each interval).
import fs from 'node:fs/promises';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import Fastify from 'fastify';
import type { ServerResponse } from 'node:http';
import type { Logger } from 'pino';
import { TensorshareError } from '../../errors.js';
import type { Collector } from './collect.js';
import type { DashboardEvent, DashboardSnapshot } from './model.js';

export const DASHBOARD_PATH = '/dashboard/';
/** Where `npm run build` puts the page (vite.config.ts's outDir, beside the compiled server). */
export const ASSETS_DIR = fileURLToPath(new URL('./public/', import.meta.url));

export interface DashboardOptions {
  collector: Collector;
  /** Default 127.0.0.1. */
  host?: string;
  /** 0: any free port. */
  port: number;
  /** A snapshot this often (default 1000 ms). */
  intervalMs?: number;
  logger?: Logger;
  /** The built page (default ASSETS_DIR). */
  assetsDir?: string;
}

export interface RunningDashboard {
  /** e.g. http://127.0.0.1:8080/dashboard/ */
  url: string;
  port: number;
  close(): Promise<void>;
}

const TYPES: Record<string, string> = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.svg': 'image/svg+xml',
  '.json': 'application/json',
};

/** The built files, read once: URLs map only to these, never to a path built from the request. */
async function loadAssets(dir: string): Promise<Map<string, { body: Buffer; type: string }>> {
  const files = await fs.readdir(dir, { recursive: true, withFileTypes: true }).catch(() => {
    throw new TensorshareError(
      'ERR_PRECONDITION',
      `the dashboard's page is not built (no ${dir}): run 'npm run build' in the package`,
    );
  });
  const assets = new Map<string, { body: Buffer; type: string }>();
  for (const f of files) {
    if (!f.isFile()) continue;
    const full = path.join(f.parentPath, f.name);
    const rel = path.relative(dir, full).split(path.sep).join('/');
    assets.set(rel, { body: await fs.readFile(full), type: TYPES[path.extname(f.name)] ?? 'application/octet-stream' });
  }
  if (!assets.has('index.html'))
    throw new TensorshareError(
      'ERR_PRECONDITION',
      `the dashboard's page is not built (no ${dir}/index.html): run 'npm run build'`,
    );
  return assets;
}

export async function startDashboard(o: DashboardOptions): Promise<RunningDashboard> {
  const assets = await loadAssets(o.assetsDir ?? ASSETS_DIR);
  const intervalMs = o.intervalMs ?? 1000;
  const clients = new Set<ServerResponse>();
  let latest: DashboardSnapshot | undefined;
  let ticking: Promise<DashboardSnapshot> | undefined;

  const send = (res: ServerResponse, e: DashboardEvent) =>
    res.write(`event: ${e.type}\ndata: ${JSON.stringify(e)}\n\n`);
  /** One tick at a time: a slow source (the daemon) delays the next one instead of piling them up. */
  const tick = (): Promise<DashboardSnapshot> => {
    ticking ??= o.collector
      .tick()
      .then(({ snapshot, point }) => {
        latest = snapshot;
        for (const res of clients) send(res, { type: 'tick', point, snapshot });
        return snapshot;
      })
      .finally(() => {
        ticking = undefined;
      });
    return ticking;
  };
  const timer = setInterval(() => {
    tick().catch((err) => o.logger?.warn({ err }, 'dashboard: a snapshot failed'));
  }, intervalMs);
  timer.unref();

  const app = Fastify({ logger: false });
  const page = (file: string) => assets.get(file);
  app.get('/', (_req, reply) => reply.redirect(DASHBOARD_PATH));
  app.get('/dashboard', (_req, reply) => reply.redirect(DASHBOARD_PATH));
  app.get('/dashboard/*', async (req, reply) => {
    const rel = (req.params as { '*': string })['*'] || 'index.html';
    const a = page(rel);
    if (!a) return reply.code(404).send({ error: `no ${DASHBOARD_PATH}${rel}` });
    // Vite names built files by their content hash: they never change under one name.
    reply.header('cache-control', rel === 'index.html' ? 'no-cache' : 'public, max-age=31536000, immutable');
    return reply.type(a.type).send(a.body);
  });
  app.get('/dashboard/api/snapshot', async () => latest ?? (await tick()));
  app.get('/dashboard/api/events', async (req, reply) => {
    const snapshot = latest ?? (await tick());
    reply.hijack();
    const res = reply.raw;
    res.writeHead(200, {
      'content-type': 'text/event-stream',
      'cache-control': 'no-cache',
      connection: 'keep-alive',
      'x-accel-buffering': 'no',
    });
    send(res, { type: 'hello', history: o.collector.history(), snapshot });
    clients.add(res);
    req.raw.once('close', () => clients.delete(res));
  });

  await app.listen({ host: o.host ?? '127.0.0.1', port: o.port });
  const addr = app.server.address();
  const port = typeof addr === 'object' && addr ? addr.port : o.port;
  const host = o.host ?? '127.0.0.1';
  const hostForUrl = host.includes(':') ? `[${host}]` : host;
  return {
    url: `http://${hostForUrl}:${port}${DASHBOARD_PATH}`,
    port,
    async close() {
      clearInterval(timer);
      for (const res of clients) res.end();
      clients.clear();
      await app.close();
      await ticking?.catch(() => {});
    },
  };
}
