// Helpers for the daemon and client tests: temp roots (repository under the
// OS temp dir, store under /dev/shm), a real daemon process started through
// the CLI command, tiny synthetic models, and /proc readings. Not a test file
// itself; nothing outside tests imports it.
import { spawn, type ChildProcess } from 'node:child_process';
import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { onnxTypes } from '../onnx/schema.js';
import { bundledFile, packageRoot } from '../paths.js';

export const OCR_REC = bundledFile('ocrRec');
export const DIST = path.join(packageRoot, 'dist', 'src');

export interface Roots {
  repo: string;
  store: string;
  cleanup(): Promise<void>;
}

export async function tempRoots(): Promise<Roots> {
  const repo = await fs.mkdtemp(path.join(os.tmpdir(), 'ts-repo-'));
  const store = await fs.mkdtemp('/dev/shm/ts-store-');
  return {
    repo,
    store,
    async cleanup() {
      for (const d of [repo, store]) {
        // Tensor files are 0444 and some folders 0711: make them removable.
        await fs.chmod(d, 0o755).catch(() => {});
        await fs.rm(d, { recursive: true, force: true }).catch(async () => {
          await chmodTree(d);
          await fs.rm(d, { recursive: true, force: true });
        });
      }
    },
  };
}

async function chmodTree(dir: string): Promise<void> {
  await fs.chmod(dir, 0o755).catch(() => {});
  for (const e of await fs.readdir(dir, { withFileTypes: true }).catch(() => [])) {
    if (e.isDirectory()) await chmodTree(path.join(dir, e.name));
  }
}

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
export async function spawnDaemon(args: string[], options: { env?: NodeJS.ProcessEnv; timeoutMs?: number } = {}): Promise<DaemonProc> {
  const cli = pathToFileURL(path.join(DIST, 'cli', 'commands', 'daemon.js')).href;
  const code = `import { Command } from 'commander'; import { registerDaemon } from ${JSON.stringify(cli)};
const p = new Command(); p.exitOverride(); registerDaemon(p); await p.parseAsync(process.argv.slice(1), { from: 'user' });`;
  const proc = spawn(process.execPath, ['--input-type=module', '-e', code, '--', 'daemon', ...args], {
    cwd: packageRoot,
    env: { ...process.env, TENSORSHARE_LOG_LEVEL: 'debug', ...options.env },
    stdio: ['ignore', 'ignore', 'pipe'],
  });
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
    let i: number;
    while ((i = buf.indexOf('\n')) >= 0) {
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
  const waitLog = (pred: (l: LogLine) => boolean, timeoutMs = 20_000) => new Promise<LogLine>((resolve, reject) => {
    const check = () => {
      const hit = logs.find(pred);
      if (hit) { done(); resolve(hit); }
    };
    const onExit = () => { done(); reject(new Error(`daemon exited (${proc.exitCode ?? proc.signalCode}) before the expected log line:\n${raw}`)); };
    const timer = setTimeout(() => { done(); reject(new Error(`timed out waiting for a daemon log line:\n${raw}`)); }, timeoutMs);
    const done = () => { clearTimeout(timer); listeners.delete(check); proc.off('exit', onExit); };
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

/** Deterministic float32 weights: different seeds give different bytes (and hashes). */
function weights(count: number, seed: number): Buffer {
  const a = new Float32Array(count);
  let x = (seed * 2654435761) >>> 0 || 1;
  for (let i = 0; i < count; i++) {
    x ^= x << 13; x >>>= 0;
    x ^= x >>> 17;
    x ^= x << 5; x >>>= 0;
    a[i] = ((x % 2001) - 1000) / 100_000;
  }
  return Buffer.from(a.buffer);
}

export interface WeightSpec {
  rows: number;
  cols: number;
  seed: number;
}

/**
 * Writes a MatMul chain x[1,rows0] -> W0 -> W1 -> ... -> y as an ONNX file.
 * Weights with the same (rows, cols, seed) are byte-identical across models,
 * so they become one shared tensor in the store.
 */
export async function chainModel(file: string, ws: WeightSpec[]): Promise<string> {
  const { Model } = onnxTypes();
  const vi = (name: string, n: number) => ({ name, type: { tensorType: { elemType: 1, shape: { dim: [{ dimValue: 1 }, { dimValue: n }] } } } });
  const nodes = ws.map((_, i) => ({ input: [i === 0 ? 'x' : `h${i}`, `w${i}`], output: [i === ws.length - 1 ? 'y' : `h${i + 1}`], opType: 'MatMul', name: `mm${i}` }));
  const model = Model.fromObject({
    irVersion: 8,
    producerName: 'tensorshare-test',
    opsetImport: [{ domain: '', version: 13 }],
    graph: {
      name: 'chain',
      node: nodes,
      initializer: ws.map((w, i) => ({ name: `w${i}`, dims: [w.rows, w.cols], dataType: 1, rawData: weights(w.rows * w.cols, w.seed) })),
      input: [vi('x', ws[0]!.rows)],
      output: [vi('y', ws[ws.length - 1]!.cols)],
    },
  });
  await fs.writeFile(file, Model.encode(model).finish());
  return file;
}

/** Pss_Shmem and friends of a process, in bytes (from /proc/<pid>/smaps_rollup). */
export async function smapsRollup(pid: number): Promise<Record<string, number>> {
  const text = await fs.readFile(`/proc/${pid}/smaps_rollup`, 'utf8');
  const out: Record<string, number> = {};
  for (const m of text.matchAll(/^(\w+):\s+(\d+) kB/gm)) out[m[1]!] = Number(m[2]) * 1024;
  return out;
}

export async function until<T>(fn: () => Promise<T | undefined | false> | T | undefined | false, timeoutMs = 10_000, everyMs = 20): Promise<T> {
  const t0 = Date.now();
  for (;;) {
    const v = await fn();
    if (v) return v;
    if (Date.now() - t0 > timeoutMs) throw new Error(`condition not met within ${timeoutMs} ms`);
    await new Promise((r) => setTimeout(r, everyMs));
  }
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

/** Starts src/client/test-worker.ts: opens `model` through the daemon, runs it, optionally keeps running. */
export function spawnWorker(args: { socket: string; token?: string; model: string; mode?: string; input: { name: string; dims: number[] }; loopMs?: number }, env: NodeJS.ProcessEnv = {}): WorkerProc {
  const proc = spawn(process.execPath, [path.join(DIST, 'client', 'test-worker.js'), JSON.stringify(args)], {
    cwd: packageRoot,
    env: { ...process.env, ...env },
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
  proc.stderr!.on('data', (d: string) => { err += d; });
  proc.stdout!.on('data', (d: string) => {
    out += d;
    let i: number;
    while ((i = out.indexOf('\n')) >= 0) {
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
  const waitFor = (pred: (ev: Record<string, unknown>) => boolean, timeoutMs = 20_000) => new Promise<Record<string, unknown>>((resolve, reject) => {
    const from = seen;
    const check = () => {
      const i = events.findIndex((e, k) => k >= from && pred(e));
      if (i >= 0) { seen = i + 1; done(); resolve(events[i]!); }
    };
    const onExit = () => { done(); reject(new Error(`worker exited (${proc.exitCode ?? proc.signalCode}):\n${err}`)); };
    const timer = setTimeout(() => { done(); reject(new Error(`worker timed out:\n${err}`)); }, timeoutMs);
    const done = () => { clearTimeout(timer); listeners.delete(check); proc.off('exit', onExit); };
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
