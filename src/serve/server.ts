// `tensorshare serve`, assembled top to bottom: the daemon that keeps models
// resident (an existing one, or one this server starts and stops), the
// runtime that runs functions as instance processes opening models through
// it, and the KServe v2 gateway in front, with Prometheus metrics.
import { spawn, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import type { Logger as PinoLogger } from 'pino';
import { TensorshareError } from '../errors.js';
import { DaemonClient } from '../client/daemon-client.js';
import { packageRoot } from '../paths.js';
import { layout } from '../store/layout.js';
import { createRuntime, type Runtime } from './runtime.js';
import { startGateway, type RunningGateway } from './gateway/gateway.js';
import { runtimeBackend } from './backend.js';
import { wireServingMetrics } from './serving-metrics.js';

export interface ServeOptions {
  functionsDir: string;
  repository: string;
  store: string;
  host?: string;
  httpPort?: number;
  grpcPort?: number | false;
  /** 'auto': use the daemon on `socket` if one answers, else start one; 'off': instances open models without a daemon. */
  daemon?: 'auto' | 'off';
  socket?: string;
  pollIntervalMs?: number;
  logger: PinoLogger;
}

export interface RunningServer {
  gateway: RunningGateway;
  runtime: Runtime;
  /** How instances open models. */
  daemon: { mode: 'off' } | { mode: 'connected' | 'owned'; socket: string };
  close(): Promise<void>;
}

export async function startServer(o: ServeOptions): Promise<RunningServer> {
  const log = o.logger;
  const socket = path.resolve(o.socket ?? path.join(o.store, 'daemon.sock'));
  let owned: ChildProcess | undefined;
  let daemon: RunningServer['daemon'] = { mode: 'off' };
  if ((o.daemon ?? 'auto') === 'auto') {
    if (await daemonAnswers(socket)) daemon = { mode: 'connected', socket };
    else {
      owned = await startDaemon(o.repository, o.store, socket);
      daemon = { mode: 'owned', socket };
    }
    log.info({ socket, daemon: daemon.mode }, 'instances open models through the daemon');
  }

  const runtime = await createRuntime({
    functionsDir: o.functionsDir,
    repository: o.repository,
    store: o.store,
    pollIntervalMs: o.pollIntervalMs,
    logger: log.child({ component: 'runtime' }),
    ...(daemon.mode === 'off' ? {} : {
      openModel: { module: new URL('../client/open.js', import.meta.url).href, export: 'open' },
      env: { ...process.env, TENSORSHARE_SOCKET: socket },
    }),
  }).catch(async (e) => {
    owned?.kill('SIGTERM');
    throw e;
  });
  const gateway = await startGateway({
    backend: runtimeBackend(runtime),
    host: o.host,
    httpPort: o.httpPort,
    grpcPort: o.grpcPort,
    logger: log.child({ component: 'gateway' }),
  }).catch(async (e) => {
    await runtime.close({ timeoutMs: 5000 });
    owned?.kill('SIGTERM');
    throw e;
  });
  const unwire = wireServingMetrics(gateway.metrics.registry, runtime, layout(o.store));

  let closing: Promise<void> | undefined;
  return {
    gateway,
    runtime,
    daemon,
    close() {
      // Graceful: stop accepting, let in-flight requests finish, drain instances, then the daemon.
      closing ??= (async () => {
        await gateway.close();
        await runtime.close({ timeoutMs: 30_000 });
        unwire();
        if (owned && owned.exitCode === null) {
          const exited = new Promise((r) => owned!.once('exit', r));
          owned.kill('SIGTERM');
          await exited;
        }
      })();
      return closing;
    },
  };
}

async function daemonAnswers(socket: string): Promise<boolean> {
  if (!fs.existsSync(socket)) return false;
  const c = new DaemonClient({ socket, connectTimeoutMs: 1000 });
  try {
    await c.list();
    return true;
  } catch {
    return false;
  } finally {
    await c.disconnect().catch(() => {});
  }
}

/** Starts `tensorshare daemon` as a child of this server and waits until it answers. */
async function startDaemon(repository: string, store: string, socket: string): Promise<ChildProcess> {
  const child = spawn(process.execPath, [path.join(packageRoot, 'bin/tensorshare.js'), 'daemon', '--repository', repository, '--store', store, '--socket', socket], {
    stdio: ['ignore', 'inherit', 'inherit'],
  });
  const deadline = Date.now() + 20_000;
  while (Date.now() < deadline) {
    if (child.exitCode !== null) break;
    if (await daemonAnswers(socket)) return child;
    await new Promise((r) => setTimeout(r, 100));
  }
  child.kill('SIGKILL');
  throw new TensorshareError('ERR_UNAVAILABLE', `the daemon did not start on ${socket} (exit code ${child.exitCode}); see its log above`);
}
