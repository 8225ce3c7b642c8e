// Processes of the GPU benchmark (gpu.ts, gpu-speed.ts): a gpu-worker.ts
// child per instance, read as JSON lines on its stdout, told what to do on
// its stdin; and the order statistics its timings are summarized with.
import { spawn, type ChildProcess } from 'node:child_process';
import path from 'node:path';
import { EXECUTOR_MALLOC_ENV } from '../device/executor-process.js';
import { packageRoot } from '../paths.js';
import { jsonLines } from '../proc/json-lines.js';
import type { GpuWorkerArgs } from './gpu-worker.js';
import { instanceEnvironment } from '../serve/instances/instance.js';

const WORKER = path.join(packageRoot, 'dist', 'src', 'bench', 'gpu-worker.js');

export interface Worker {
  proc: ChildProcess;
  lines: Record<string, unknown>[];
  /** The first line with `event` (from line `from` on). */
  wait(event: string, timeoutMs?: number, from?: number): Promise<Record<string, unknown>>;
  /** Writes `message` as a line to its stdin and waits for the next line with `event`. */
  ask(message: unknown, event: string, timeoutMs?: number): Promise<Record<string, unknown>>;
  exit(): Promise<void>;
}

export function worker(args: GpuWorkerArgs): Worker {
  const proc = spawn(process.execPath, [WORKER, JSON.stringify(args)], {
    stdio: ['pipe', 'pipe', 'pipe'],
    // A tensorshare process starts without NODE_EXTRA_CA_CERTS, as serve's instances do; a plain one as is.
    env: args.executorThreads
      ? { ...process.env, ...EXECUTOR_MALLOC_ENV }
      : args.kind === 'ts'
        ? instanceEnvironment(process.env)
        : process.env,
  });
  let err = '';
  proc.stderr!.setEncoding('utf8').on('data', (d: string) => {
    err = (err + d).slice(-4000);
  });
  // A line that is not JSON (a library printing) is kept as text; no wait looks for it.
  const out = jsonLines<Record<string, unknown>>(proc, proc.stdout!, (line) => ({ event: 'text', line }));
  const lines = out.lines;
  const wait: Worker['wait'] = async (event, timeoutMs = 120_000, from = 0) =>
    (
      await out.wait(
        (l) => l.event === event,
        from,
        timeoutMs,
        (why) =>
          why === 'exit'
            ? `worker ${args.kind} ${args.model} exited before '${event}': ${err}`
            : `worker ${args.kind} ${args.model}: no '${event}' in ${timeoutMs} ms: ${err}`,
      )
    ).line;
  return {
    proc,
    lines,
    wait,
    ask(message, event, timeoutMs) {
      const from = lines.length;
      proc.stdin!.write(`${JSON.stringify(message)}\n`);
      return wait(event, timeoutMs, from);
    },
    async exit() {
      if (proc.exitCode !== null || proc.signalCode !== null) return;
      const gone = new Promise((r) => proc.once('exit', r));
      proc.stdin!.write('exit\n');
      await gone;
    },
  };
}

export const median = (xs: number[]) => {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor((s.length - 1) / 2)]!;
};
export const pct = (xs: number[], p: number) => {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.floor((p / 100) * s.length))]!;
};
