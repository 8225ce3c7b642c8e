// Worker processes of a benchmark run. Every child forked through a
// WorkerPool is tracked until it exits; killAll() (also called on SIGINT,
// SIGTERM and process exit once guard() is installed) SIGKILLs whatever is
// left, so a failed or interrupted run never leaves model-holding processes
// behind.
import { fork, type ChildProcess } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { TensorshareError } from '../errors.js';
import { INSTANCE_ENV } from '../serve/instances/instance.js';
import type { WorkerMessage, WorkerTask } from './protocol.js';

export const WORKER_PATH = fileURLToPath(new URL('./worker.js', import.meta.url));

/**
 * Environment of every worker, plain or tensorshare alike: the one serve's
 * instances get (INSTANCE_ENV), so a benchmark's tensorshare process is a
 * served instance's: glibc returns large freed blocks (PrePack's transient
 * buffers, activations) to the OS instead of keeping them in per-thread
 * arenas.
 */
export const WORKER_ENV: Readonly<Record<string, string>> = Object.freeze({ ...INSTANCE_ENV });

export interface Worker {
  child: ChildProcess;
  pid: number;
  /** process.hrtime.bigint() right before fork(). */
  spawnedAt: bigint;
  /** Next message (of an optional type); rejects on an error message, exit or timeout. */
  next<T extends WorkerMessage['type']>(type: T, timeoutMs: number): Promise<Extract<WorkerMessage, { type: T }>>;
  /** Asks a holding worker to exit and waits (SIGKILL after graceMs). */
  stop(graceMs?: number): Promise<void>;
  kill(): Promise<void>;
  /** Last lines of the worker's stderr. */
  stderrTail(): string;
}

function exited(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve();
  return new Promise((resolve) => child.once('exit', () => resolve()));
}

export class WorkerPool {
  private readonly live = new Set<ChildProcess>();
  private readonly env: NodeJS.ProcessEnv;
  private guardCleanup?: () => void;

  constructor(env: Record<string, string | undefined> = {}) {
    this.env = { ...process.env, ...WORKER_ENV, ...env };
  }

  /** Environment overrides that undo WORKER_ENV: glibc's default malloc behaviour. */
  static readonly GLIBC_DEFAULTS: Readonly<Record<string, undefined>> = Object.freeze(
    Object.fromEntries(Object.keys(WORKER_ENV).map((k) => [k, undefined])),
  );

  get size(): number {
    return this.live.size;
  }

  /**
   * `env` adds to (or, with undefined values, removes from) the pool's
   * environment for this worker; `execArgv` are Node flags (default none).
   */
  spawn(
    task: WorkerTask,
    env: Record<string, string | undefined> = {},
    opts: { execArgv?: string[]; workerPath?: string } = {},
  ): Worker {
    const childEnv = { ...this.env };
    for (const [k, v] of Object.entries(env)) {
      if (v === undefined) delete childEnv[k];
      else childEnv[k] = v;
    }
    const spawnedAt = process.hrtime.bigint();
    const child = fork(opts.workerPath ?? WORKER_PATH, [JSON.stringify(task)], {
      execArgv: opts.execArgv ?? [],
      env: childEnv,
      stdio: ['ignore', 'ignore', 'pipe', 'ipc'],
      serialization: 'json',
    });
    this.adopt(child);
    let tail = '';
    child.stderr!.setEncoding('utf8');
    child.stderr!.on('data', (d: string) => {
      tail = (tail + d).slice(-4000);
    });
    const queue: WorkerMessage[] = [];
    const waiters: ((m: WorkerMessage) => void)[] = [];
    child.on('message', (m: WorkerMessage) => {
      const w = waiters.shift();
      if (w) w(m);
      else queue.push(m);
    });
    child.on('error', () => {}); // surfaced through 'exit'
    const worker: Worker = {
      child,
      pid: child.pid!,
      spawnedAt,
      next: (type, timeoutMs) =>
        new Promise((resolve, reject) => {
          const describe = () => `benchmark worker ${child.pid} (${task.task})`;
          const accept = (m: WorkerMessage) => {
            cleanup();
            if (m.type === 'error')
              reject(
                new TensorshareError('ERR_INTERNAL', `${describe()} failed: ${m.message}`, {
                  stack: m.stack,
                  stderr: tail,
                }),
              );
            else if (m.type !== type)
              reject(new TensorshareError('ERR_INTERNAL', `${describe()} sent '${m.type}', expected '${type}'`));
            else resolve(m as never);
          };
          const onExit = (code: number | null, signal: string | null) => {
            cleanup();
            reject(
              new TensorshareError(
                'ERR_INTERNAL',
                `${describe()} exited (code ${code}, signal ${signal}) before answering${tail ? `: ${tail.trim().split('\n').slice(-5).join(' | ')}` : ''}`,
              ),
            );
          };
          const timer = setTimeout(() => {
            cleanup();
            child.kill('SIGKILL');
            reject(new TensorshareError('ERR_TIMEOUT', `${describe()} did not answer within ${timeoutMs} ms`));
          }, timeoutMs);
          const cleanup = () => {
            clearTimeout(timer);
            child.off('exit', onExit);
            const i = waiters.indexOf(accept);
            if (i >= 0) waiters.splice(i, 1);
          };
          const queued = queue.shift();
          if (queued) return accept(queued);
          if (child.exitCode !== null || child.signalCode !== null) return onExit(child.exitCode, child.signalCode);
          waiters.push(accept);
          child.once('exit', onExit);
        }),
      stop: async (graceMs = 5000) => {
        if (child.exitCode !== null || child.signalCode !== null) return;
        if (child.connected) child.send('exit', () => {});
        const timer = setTimeout(() => child.kill('SIGKILL'), graceMs);
        await exited(child);
        clearTimeout(timer);
      },
      kill: async () => {
        if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
        await exited(child);
      },
      stderrTail: () => tail,
    };
    return worker;
  }

  /** SIGKILLs every live worker and waits for them to exit. */
  /** A child this pool did not fork (a store's daemon), killed with the workers on the way out, signals included. */
  adopt(child: ChildProcess): void {
    this.live.add(child);
    child.once('exit', () => this.live.delete(child));
  }

  async killAll(): Promise<void> {
    const all = [...this.live];
    for (const c of all) c.kill('SIGKILL');
    await Promise.all(all.map(exited));
  }

  /**
   * Kills the workers when this process is interrupted or exits. Returns a
   * function that removes the handlers again. On SIGINT/SIGTERM it kills
   * the workers, runs `onSignal` (temp folder cleanup) and exits 130/143.
   */
  guard(onSignal: () => Promise<void> = async () => {}): () => void {
    const killSync = () => {
      for (const c of this.live) c.kill('SIGKILL');
    };
    const signal = (sig: NodeJS.Signals) => {
      killSync();
      void onSignal().finally(() => process.exit(sig === 'SIGINT' ? 130 : 143));
    };
    const onInt = () => signal('SIGINT');
    const onTerm = () => signal('SIGTERM');
    process.on('SIGINT', onInt);
    process.on('SIGTERM', onTerm);
    process.on('exit', killSync);
    this.guardCleanup = () => {
      process.off('SIGINT', onInt);
      process.off('SIGTERM', onTerm);
      process.off('exit', killSync);
    };
    return this.guardCleanup;
  }
}
