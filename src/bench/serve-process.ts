// A `tensorshare serve` child process for benchmarks: its own event loop and
// CPU accounting apart from the load generator. Started with a functions
// folder and scheduling flags; ready when it prints its URL and every listed
// function reports its warm instances.
import { spawn, type ChildProcess } from 'node:child_process';
import fs from 'node:fs/promises';
import path from 'node:path';
import { TensorshareError } from '../errors.js';
import { packageRoot } from '../paths.js';

export interface ServeProcessOptions {
  repository: string;
  store: string;
  functionsDir: string;
  policy?: string;
  cores?: number;
  slots?: number;
  tenantFromRequest?: boolean;
  tenantWeights?: Record<string, number>;
  realtimeReserve?: number;
  /** Wait until each function has had this many cold starts (its minInstances). */
  warm?: Record<string, number>;
  logLevel?: string;
  /** Import the bundled models at start (default false: --no-bundled). */
  bundled?: boolean;
  /** Listen for gRPC on a free port too (default false). */
  grpc?: boolean;
  /** 'auto': serve uses (or starts) a daemon, as by default; 'off' (the default here): instances open models themselves. */
  daemon?: 'auto' | 'off';
  /** More `serve` flags (gateway bounds, for example). */
  extraArgs?: readonly string[];
  /** How long serve may take to print where it listens (default 120 s); past it the child is killed. */
  startTimeoutMs?: number;
  /** Environment of the serve process (default this process's). */
  env?: NodeJS.ProcessEnv;
}

export interface ServeProcess {
  url: string;
  /** host:port, when started with `grpc`. */
  grpcAddress?: string;
  pid: number;
  /** Lines the server wrote on stderr (warnings). */
  stderr: string[];
  stop(): Promise<void>;
}

export async function writeFunctions(dir: string, fns: Record<string, object>): Promise<void> {
  await fs.rm(dir, { recursive: true, force: true });
  for (const [name, config] of Object.entries(fns)) {
    await fs.mkdir(path.join(dir, name), { recursive: true });
    await fs.writeFile(path.join(dir, name, 'config.json'), JSON.stringify(config, null, 2));
  }
}

export async function startServeProcess(o: ServeProcessOptions): Promise<ServeProcess> {
  const args = [
    path.join(packageRoot, 'bin/tensorshare.js'),
    '--repository',
    o.repository,
    '--store',
    o.store,
    'serve',
    '--functions',
    o.functionsDir,
    '--daemon',
    o.daemon ?? 'off',
    ...(o.bundled ? [] : ['--no-bundled']),
    '--http-port',
    '0',
    '--grpc-port',
    o.grpc ? '0' : 'off',
    '--poll',
    '0',
    '--policy',
    o.policy ?? 'fifo',
    '--log-level',
    o.logLevel ?? 'warn',
    ...(o.cores ? ['--cores', String(o.cores)] : []),
    ...(o.slots ? ['--slots', String(o.slots)] : []),
    ...(o.tenantFromRequest ? ['--tenant-from-request'] : []),
    ...(o.realtimeReserve ? ['--realtime-reserve', String(o.realtimeReserve)] : []),
    ...Object.entries(o.tenantWeights ?? {}).flatMap(([t, w]) => ['--tenant-weight', `${t}=${w}`]),
    ...(o.extraArgs ?? []),
  ];
  const child: ChildProcess = spawn(process.execPath, args, {
    stdio: ['ignore', 'pipe', 'pipe'],
    ...(o.env ? { env: o.env } : {}),
  });
  const stderr: string[] = [];
  child.stderr!.setEncoding('utf8').on('data', (s: string) => stderr.push(...s.split('\n').filter(Boolean)));
  const exited = new Promise<void>((r) => child.once('exit', () => r()));
  const { url, grpcAddress } = await new Promise<{ url: string; grpcAddress?: string }>((resolve, reject) => {
    let out = '';
    const limitMs = o.startTimeoutMs ?? 120_000;
    let timedOut = false;
    // Past the limit the child is killed, and the promise fails once it is gone: the caller then removes its
    // folders with no serve still writing there.
    const timer = setTimeout(() => {
      timedOut = true;
      child.kill('SIGKILL');
    }, limitMs);
    child.stdout!.setEncoding('utf8').on('data', (s: string) => {
      out += s;
      const m = /on (http:\/\/[^\s]+)(?: and grpc (\S+))? \(/.exec(out);
      if (m) {
        clearTimeout(timer);
        resolve({ url: m[1]!, grpcAddress: m[2] });
      }
    });
    child.once('exit', (code) => {
      clearTimeout(timer);
      reject(
        new TensorshareError(
          'ERR_UNAVAILABLE',
          timedOut
            ? `tensorshare serve did not start within ${Math.round(limitMs / 1000)} s: ${stderr.slice(-5).join(' | ')}`
            : `tensorshare serve exited (code ${code}) before serving: ${stderr.slice(-5).join(' | ')}`,
        ),
      );
    });
  });
  const stop = async () => {
    if (child.exitCode !== null || child.signalCode !== null) return;
    child.kill('SIGTERM');
    const t = setTimeout(() => child.kill('SIGKILL'), 15_000);
    await exited;
    clearTimeout(t);
  };
  try {
    if (o.warm) await waitWarm(url, o.warm);
  } catch (e) {
    await stop();
    throw e;
  }
  return { url, grpcAddress, pid: child.pid!, stderr, stop };
}

/** Polls /metrics until every function has had its cold starts. */
async function waitWarm(url: string, warm: Record<string, number>, timeoutMs = 120_000): Promise<void> {
  const end = Date.now() + timeoutMs;
  for (;;) {
    const text = await (await fetch(`${url}/metrics`)).text();
    const missing = Object.entries(warm).filter(([fn, n]) => {
      const m = new RegExp(`^tensorshare_cold_starts_total\\{function="${fn}"\\} (\\d+)`, 'm').exec(text);
      return !m || Number(m[1]) < n;
    });
    if (missing.length === 0) return;
    if (Date.now() > end)
      throw new TensorshareError(
        'ERR_UNAVAILABLE',
        `instances of ${missing.map(([f]) => f).join(', ')} did not start within ${timeoutMs} ms`,
      );
    await new Promise((r) => setTimeout(r, 100));
  }
}
