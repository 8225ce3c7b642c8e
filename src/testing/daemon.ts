// Real processes for the daemon and client tests: a daemon started through
// the CLI command, and client workers (src/testing/client-worker.ts) that open
// models through it. Every child gets testEnv(): none sees the caller's
// TENSORSHARE_* variables, so each runs on the roots its test passes.
import { spawn, type ChildProcess } from 'node:child_process';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { packageRoot } from '../paths.js';
import { testEnv } from './env.js';

const DIST = path.join(packageRoot, 'dist', 'src');

export interface LogLine {
  msg?: string;
  level?: number;
  [k: string]: unknown;
}

export interface DaemonProc {
  proc: ChildProcess;
  pid: number;
  socket: string;
  logs: LogLine[];
  stderr(): string;
  waitLog(pred: (l: LogLine) => boolean, timeoutMs?: number): Promise<LogLine>;
  /** Signals the daemon and waits for it to exit. */
  stop(signal?: NodeJS.Signals): Promise<void>;
}

const running = new Set<ChildProcess>();

/** Kills every child these helpers started (for `after` hooks). */
export function killAll(): void {
  for (const p of running) if (p.exitCode === null && p.signalCode === null) p.kill('SIGKILL');
}

/** Starts `tensorshare daemon <args>` in a child process and waits until it listens. */
export async function spawnDaemon(
  args: string[],
  options: { env?: Record<string, string>; timeoutMs?: number } = {},
): Promise<DaemonProc> {
  const cli = pathToFileURL(path.join(DIST, 'cli', 'commands', 'daemon.js')).href;
  const code = `import { Command } from 'commander'; import { registerDaemon } from ${JSON.stringify(cli)};
const p = new Command(); p.exitOverride(); registerDaemon(p); await p.parseAsync(process.argv.slice(1), { from: 'user' });`;
  const proc = spawn(
    process.execPath,
    ['--input-type=module', '-e', code, '--', 'daemon', '--log-level', 'debug', ...args],
    {
      cwd: packageRoot,
      env: testEnv(options.env),
      stdio: ['ignore', 'ignore', 'pipe'],
    },
  );
  running.add(proc);
  proc.on('exit', () => running.delete(proc));
  const logs: LogLine[] = [];
  let raw = '';
  let buf = '';
  const listeners = new Set<() => void>();
  proc.stderr!.setEncoding('utf8');
  proc.stderr!.on('data', (d: string) => {
    raw += d;
    buf += d;
    for (let i = buf.indexOf('\n'); i >= 0; i = buf.indexOf('\n')) {
      const line = buf.slice(0, i);
      buf = buf.slice(i + 1);
      try {
        logs.push(JSON.parse(line) as LogLine);
      } catch {
        logs.push({ msg: line });
      }
    }
    for (const l of listeners) l();
  });
  const waitLog = (pred: (l: LogLine) => boolean, timeoutMs = 20_000) =>
    new Promise<LogLine>((resolve, reject) => {
      const check = () => {
        const hit = logs.find(pred);
        if (hit) {
          done();
          resolve(hit);
        }
      };
      const onExit = () => {
        done();
        reject(new Error(`daemon exited (${proc.exitCode ?? proc.signalCode}) before the expected log line:\n${raw}`));
      };
      const timer = setTimeout(() => {
        done();
        reject(new Error(`timed out waiting for a daemon log line:\n${raw}`));
      }, timeoutMs);
      const done = () => {
        clearTimeout(timer);
        listeners.delete(check);
        proc.off('exit', onExit);
      };
      listeners.add(check);
      proc.once('exit', onExit);
      check();
    });
  const listening = await waitLog((l) => l.msg === 'listening', options.timeoutMs ?? 20_000);
  return {
    proc,
    pid: proc.pid!,
    socket: listening.socket as string,
    logs,
    stderr: () => raw,
    waitLog,
    async stop(signal: NodeJS.Signals = 'SIGTERM') {
      if (proc.exitCode !== null || proc.signalCode !== null) return;
      const exited = new Promise<void>((r) => proc.once('exit', () => r()));
      proc.kill(signal);
      await exited;
    },
  };
}

export interface WorkerProc {
  proc: ChildProcess;
  pid: number;
  events: Record<string, unknown>[];
  waitFor(pred: (ev: Record<string, unknown>) => boolean, timeoutMs?: number): Promise<Record<string, unknown>>;
  send(cmd: string): void;
  /** Sends `status` and returns the answer. */
  status(): Promise<Record<string, unknown>>;
}

/** Starts src/testing/client-worker.ts: opens `model` through the daemon, runs it, optionally keeps running. */
export function spawnWorker(
  args: {
    socket: string;
    token?: string;
    model: string;
    mode?: string;
    input: { name: string; dims: number[] };
    loopMs?: number;
  },
  env: Record<string, string> = {},
): WorkerProc {
  const proc = spawn(process.execPath, [path.join(DIST, 'testing', 'client-worker.js'), JSON.stringify(args)], {
    cwd: packageRoot,
    env: testEnv(env),
    stdio: ['pipe', 'pipe', 'pipe'],
  });
  running.add(proc);
  proc.on('exit', () => running.delete(proc));
  const events: Record<string, unknown>[] = [];
  let out = '';
  let err = '';
  const listeners = new Set<() => void>();
  proc.stdout!.setEncoding('utf8');
  proc.stderr!.setEncoding('utf8');
  proc.stderr!.on('data', (d: string) => {
    err += d;
  });
  proc.stdout!.on('data', (d: string) => {
    out += d;
    for (let i = out.indexOf('\n'); i >= 0; i = out.indexOf('\n')) {
      const line = out.slice(0, i);
      out = out.slice(i + 1);
      try {
        events.push(JSON.parse(line) as Record<string, unknown>);
      } catch {
        events.push({ event: 'text', line });
      }
    }
    for (const l of listeners) l();
  });
  let seen = 0;
  const waitFor = (pred: (ev: Record<string, unknown>) => boolean, timeoutMs = 20_000) =>
    new Promise<Record<string, unknown>>((resolve, reject) => {
      const from = seen;
      const check = () => {
        const i = events.findIndex((e, k) => k >= from && pred(e));
        if (i >= 0) {
          seen = i + 1;
          done();
          resolve(events[i]!);
        }
      };
      const onExit = () => {
        done();
        reject(new Error(`worker exited (${proc.exitCode ?? proc.signalCode}):\n${err}`));
      };
      const timer = setTimeout(() => {
        done();
        reject(new Error(`worker timed out:\n${err}`));
      }, timeoutMs);
      const done = () => {
        clearTimeout(timer);
        listeners.delete(check);
        proc.off('exit', onExit);
      };
      listeners.add(check);
      proc.once('exit', onExit);
      check();
    });
  return {
    proc,
    pid: proc.pid!,
    events,
    waitFor,
    send: (cmd) => proc.stdin!.write(`${cmd}\n`),
    async status() {
      const p = waitFor((e) => e.event === 'status');
      proc.stdin!.write('status\n');
      return p;
    },
  };
}
