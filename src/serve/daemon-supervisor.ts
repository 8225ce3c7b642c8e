// The daemon under `serve`: one this server found on the socket (connected)
// or one it started (owned). The supervisor watches it through an Attach
// stream, which breaks the moment the daemon's socket closes, so readiness
// follows reachability; an owned daemon that exits is started again with
// capped exponential backoff. Instances' daemon clients re-send their leases
// to the new daemon by themselves (src/client/daemon-client.ts).
//
// An owned daemon gets the read end of a pipe as fd 3 (`--owner-fd 3`); it
// exits when that pipe reaches EOF, which the kernel delivers when this
// process dies by any means, SIGKILL included.
import { spawn, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import type { Logger } from 'pino';
import { TensorshareError } from '../errors.js';
import { DaemonClient } from '../client/daemon-client.js';
import { packageRoot } from '../paths.js';

export interface DaemonSupervisor {
  readonly mode: 'connected' | 'owned';
  readonly socket: string;
  /** Whether the daemon answers now (its Attach stream is up). */
  reachable(): boolean;
  /** Stops watching; stops the owned daemon (SIGTERM, then waits for it). */
  close(): Promise<void>;
}

export interface SuperviseOptions {
  repository: string;
  store: string;
  socket: string;
  env: NodeJS.ProcessEnv;
  log: Logger;
  /**
   * Group of an owned daemon's socket (instances running as another user
   * connect through it); such a daemon keeps fast-run originals whole.
   */
  socketGroup?: number;
  /** First restart delay of an owned daemon; doubles per crash in a row up to maxBackoffMs. */
  initialBackoffMs?: number;
  maxBackoffMs?: number;
  /** A daemon that ran this long before it exited counts as healthy: the next restart starts from initialBackoffMs again. */
  healthyAfterMs?: number;
}

const RECONNECT_PROBE_MS = 2000;
const WATCH_INTERVAL_MS = 50;

/** Uses the daemon answering on `socket`, or starts one and keeps it running. */
export async function superviseDaemon(o: SuperviseOptions): Promise<DaemonSupervisor> {
  const initial = o.initialBackoffMs ?? 100;
  const maxBackoff = o.maxBackoffMs ?? 5000;
  const healthyAfter = o.healthyAfterMs ?? 30_000;
  const mode = (await daemonAnswers(o.socket, o.env)) ? 'connected' : 'owned';
  let child = mode === 'owned' ? await startDaemon(o) : undefined;
  let startedAt = Date.now();
  let crashesInARow = 0;
  let closed = false;
  let restartTimer: NodeJS.Timeout | undefined;

  const watcher = new DaemonClient({
    socket: o.socket,
    name: `tensorshare serve[${process.pid}] supervisor`,
    env: o.env,
    onWarning: () => {},
  });
  let wasReachable = true;
  // The pause between checks ends at close: an unref'd timer alone keeps nothing alive, so a close awaited
  // on an error path (nothing else pending) would let the process exit 0 before it reported the error.
  let wake = () => {};
  const pause = () =>
    new Promise<void>((r) => {
      wake = r;
      setTimeout(r, WATCH_INTERVAL_MS).unref();
    });
  // Keeps a pending ready() so the client reconnects (backoff at most 1 s) while the daemon is away.
  const watch = async () => {
    while (!closed) {
      if (watcher.attached) {
        if (!wasReachable) {
          wasReachable = true;
          o.log.info({ socket: o.socket, mode }, 'the daemon is reachable again');
        }
        await pause();
        continue;
      }
      if (wasReachable) {
        wasReachable = false;
        o.log.error(
          { socket: o.socket, mode },
          'the daemon is not reachable: the server reports not ready until it answers again',
        );
      }
      await watcher.ready(RECONNECT_PROBE_MS).catch(() => {});
    }
  };
  await watcher.ready(RECONNECT_PROBE_MS).catch(() => {});
  const watching = watch();

  const onExit = (proc: ChildProcess) => (code: number | null, signal: NodeJS.Signals | null) => {
    if (closed || proc !== child) return;
    child = undefined;
    const ranMs = Date.now() - startedAt;
    crashesInARow = ranMs >= healthyAfter ? 1 : crashesInARow + 1;
    const delay = Math.min(maxBackoff, initial * 2 ** (crashesInARow - 1));
    o.log.error({ code, signal, ranMs, restartInMs: delay }, 'the daemon this server owns exited; restarting it');
    scheduleRestart(delay);
  };
  const scheduleRestart = (delay: number) => {
    restartTimer = setTimeout(() => {
      restartTimer = undefined;
      if (closed) return;
      startDaemon(o).then(
        (c) => {
          if (closed) {
            c.kill('SIGTERM');
            return;
          }
          child = c;
          startedAt = Date.now();
          c.once('exit', onExit(c));
          o.log.info({ pid: c.pid }, 'restarted the daemon');
        },
        (e: Error) => {
          crashesInARow++;
          const next = Math.min(maxBackoff, initial * 2 ** (crashesInARow - 1));
          o.log.error({ err: e, restartInMs: next }, 'the daemon did not start again');
          scheduleRestart(next);
        },
      );
    }, delay);
  };
  child?.once('exit', onExit(child));

  return {
    mode,
    socket: o.socket,
    reachable: () => watcher.attached,
    async close() {
      if (closed) return;
      closed = true;
      if (restartTimer) clearTimeout(restartTimer);
      wake();
      await watcher.disconnect().catch(() => {});
      await watching;
      const c = child;
      if (c && c.exitCode === null && c.signalCode === null) {
        const exited = new Promise((r) => c.once('exit', r));
        c.kill('SIGTERM');
        await exited;
      }
    },
  };
}

/** Attached: the daemon answers (a List would read every manifest of the repository, 1,000 at a restart of 1,000 functions). */
async function daemonAnswers(socket: string, env: NodeJS.ProcessEnv): Promise<boolean> {
  if (!fs.existsSync(socket)) return false;
  const c = new DaemonClient({ socket, connectTimeoutMs: 1000, env });
  try {
    await c.ready(1000);
    return true;
  } catch {
    return false;
  } finally {
    await c.disconnect().catch(() => {});
  }
}

/** Starts `tensorshare daemon` as a child of this server, tied to it by the fd-3 pipe, and waits until it answers. */
async function startDaemon(o: SuperviseOptions): Promise<ChildProcess> {
  const child = spawn(
    process.execPath,
    [
      path.join(packageRoot, 'bin/tensorshare.js'),
      'daemon',
      '--repository',
      o.repository,
      '--store',
      o.store,
      '--socket',
      o.socket,
      '--owner-fd',
      '3',
      ...(o.socketGroup === undefined ? [] : ['--socket-group', String(o.socketGroup)]),
      // Instances of other users cannot open creation windows in the store (store/originals.ts).
      ...(o.socketGroup === undefined ? [] : ['--originals', 'keep']),
    ],
    {
      env: o.env,
      stdio: ['ignore', 'inherit', 'inherit', 'pipe'],
    },
  );
  // fd 3 stays open for this process's lifetime (nothing is ever written); its death closes it.
  child.stdio[3]?.on('error', () => {});
  // While the daemon loads its modules this process is idle: a client parses the daemon's wire contract
  // once (cached), which the first probe would otherwise do after the daemon listens.
  void new DaemonClient({ socket: o.socket, env: o.env }).disconnect();
  const deadline = Date.now() + 20_000;
  while (Date.now() < deadline) {
    if (child.exitCode !== null || child.signalCode !== null) break;
    if (await daemonAnswers(o.socket, o.env)) return child;
    // Until the socket exists a probe is one stat.
    await new Promise((r) => setTimeout(r, 20));
  }
  child.kill('SIGKILL');
  throw new TensorshareError(
    'ERR_UNAVAILABLE',
    `the daemon did not start on ${o.socket} (exit code ${child.exitCode}); see its log above`,
    { socket: o.socket },
  );
}
