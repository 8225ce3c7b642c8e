// A `tensorshare daemon` owning a benchmark's store, as `serve` runs one: the
// workers open daemonless in its store (as serve's instances do), so the
// daemon is the store's one cutter of fast-run originals
// (daemon/originals-keeper.ts). `settle` waits for the steady state a served
// model reaches: its originals cut once no creation has been in progress for
// the linger.
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { DaemonClient } from '../client/daemon-client.js';
import { packageRoot } from '../paths.js';
import type { WorkerPool } from './procs.js';
import { findFastRun } from '../store/fast-run.js';
import { layout } from '../store/layout.js';
import type { VariantManifest } from '../store/manifest.js';
import { cutBytesOf, cuttableTensors } from '../store/originals.js';
import { resolveModel } from '../store/repository.js';

const BIN = path.join(packageRoot, 'bin', 'tensorshare.js');
/** The daemon's default `originalsLinger` (settings.ts); the bench keeps the default. */
const DEFAULT_LINGER_MS = 10_000;

export interface StoreDaemon {
  /** Resolves once the variant's originals are off the store (or after the linger and a margin, saying so). */
  settle(): Promise<{ ms: number; cut: boolean }>;
  stop(): Promise<void>;
}

/**
 * `pool` kills the daemon with the benchmark's workers if the benchmark is interrupted (SIGINT/SIGTERM) or exits;
 * `args`: further daemon settings (the cold-start benchmark's CPU executor).
 */
export async function startStoreDaemon(
  repository: string,
  store: string,
  ref: string,
  pool: WorkerPool,
  args: readonly string[] = [],
): Promise<StoreDaemon> {
  const socket = path.join(store, 'daemon.sock');
  const proc = spawn(
    process.execPath,
    [BIN, 'daemon', '--repository', repository, '--store', store, '--log-level', 'warn', ...args],
    {
      stdio: ['ignore', 'inherit', 'inherit'],
      env: { ...process.env, TENSORSHARE_CONFIG: '' },
    },
  );
  pool.adopt(proc);
  const exited = new Promise<void>((r) => proc.once('exit', () => r()));
  const deadline = Date.now() + 60_000;
  const client = new DaemonClient({ socket, env: {}, name: 'bench-density' });
  for (;;) {
    if (proc.exitCode !== null) throw new Error(`the store's daemon exited (${proc.exitCode})`);
    if (
      fs.existsSync(socket) &&
      (await client.list().then(
        () => true,
        () => false,
      ))
    )
      break;
    if (Date.now() > deadline) throw new Error('the store daemon did not answer within 60 s');
    await new Promise((r) => setTimeout(r, 100));
  }
  await client.disconnect().catch(() => {});
  const m = await resolveModel(layout(repository), ref);
  const v: VariantManifest | undefined = await findFastRun(layout(repository), m.digest);
  const tail = v ? cuttableTensors(v).reduce((a, t) => a + t.bytes - t.cutAt, 0) : 0;
  return {
    async settle() {
      const t0 = performance.now();
      const end = Date.now() + DEFAULT_LINGER_MS + 15_000;
      for (;;) {
        if (!v || (await cutBytesOf(layout(store), v)) >= tail) return { ms: performance.now() - t0, cut: !!v };
        if (Date.now() > end) return { ms: performance.now() - t0, cut: false };
        await new Promise((r) => setTimeout(r, 100));
      }
    },
    async stop() {
      if (proc.exitCode === null) proc.kill('SIGTERM');
      await exited;
    },
  };
}
