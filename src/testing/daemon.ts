// Real processes for the daemon and client tests: a daemon started through
// the CLI command, and client workers (src/testing/client-worker.ts) that open
// models through it. Every child gets testEnv(): none sees the caller's
// TENSORSHARE_* variables, so each runs on the roots its test passes.
import { spawn, type ChildProcess } from 'node:child_process';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { packageRoot } from '../paths.js';
import { jsonLines } from '../proc/json-lines.js';
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
  options: {
    env?: Record<string, string>;
    timeoutMs?: number;
    /** Runs the daemon under this command (e.g. `ip netns exec <ns>`: a node of the cluster tests). */
    wrap?: string[];
  } = {},
): Promise<DaemonProc> {
  const cli = pathToFileURL(path.join(DIST, 'cli', 'commands', 'daemon.js')).href;
  const code = `import { Command } from 'commander'; import { registerDaemon } from ${JSON.stringify(cli)};
const p = new Command(); p.exitOverride(); registerDaemon(p); await p.parseAsync(process.argv.slice(1), { from: 'user' });`;
  const argv = [process.execPath, '--input-type=module', '-e', code, '--', 'daemon', '--log-level', 'debug', ...args];
  const [file, ...rest] = [...(options.wrap ?? []), ...argv];
  const proc = spawn(file!, rest, {
    cwd: packageRoot,
    env: testEnv(options.env),
    stdio: ['ignore', 'ignore', 'pipe'],
  });
  running.add(proc);
  proc.on('exit', () => running.delete(proc));
  let raw = '';
  proc.stderr!.setEncoding('utf8');
  proc.stderr!.on('data', (d: string) => {
    raw += d;
  });
  const log = jsonLines<LogLine>(proc, proc.stderr!, (line) => ({ msg: line }));
  const logs = log.lines;
  const waitLog = (pred: (l: LogLine) => boolean, timeoutMs = 20_000) =>
    log
      .wait(pred, 0, timeoutMs, (why) =>
        why === 'exit'
          ? `daemon exited (${proc.exitCode ?? proc.signalCode}) before the expected log line:\n${raw}`
          : `timed out waiting for a daemon log line:\n${raw}`,
      )
      .then((hit) => hit.line);
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
  return spawnScriptWorker('client-worker.js', args, env);
}

/** Starts a worker script of src/testing (JSON args in argv[2], JSON lines on stdout, commands on stdin). */
export function spawnScriptWorker(script: string, args: unknown, env: Record<string, string> = {}): WorkerProc {
  const proc = spawn(process.execPath, [path.join(DIST, 'testing', script), JSON.stringify(args)], {
    cwd: packageRoot,
    env: testEnv(env),
    stdio: ['pipe', 'pipe', 'pipe'],
  });
  running.add(proc);
  proc.on('exit', () => running.delete(proc));
  let err = '';
  proc.stderr!.setEncoding('utf8');
  proc.stderr!.on('data', (d: string) => {
    err += d;
  });
  const out = jsonLines<Record<string, unknown>>(proc, proc.stdout!, (line) => ({ event: 'text', line }));
  const events = out.lines;
  let seen = 0;
  const waitFor = async (pred: (ev: Record<string, unknown>) => boolean, timeoutMs = 20_000) => {
    const hit = await out.wait(pred, seen, timeoutMs, (why) =>
      why === 'exit' ? `worker exited (${proc.exitCode ?? proc.signalCode}):\n${err}` : `worker timed out:\n${err}`,
    );
    seen = hit.index + 1;
    return hit.line;
  };
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
