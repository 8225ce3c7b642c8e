// A daemon of the executor tests (GPU tier with fake devices, the CPU
// executor): temp roots, the daemon process on them and a client of it, and
// the output comparison those tests share.
import assert from 'node:assert/strict';
import { DaemonClient } from '../client/daemon-client.js';
import { spawnDaemon, type DaemonProc } from './daemon.js';
import { tempRoots, type TempRoots } from './tmp.js';

export interface DaemonEnv {
  roots: TempRoots;
  d: DaemonProc;
  c: DaemonClient;
}

/** `args`: daemon settings beside its repository and store. */
export async function startDaemonEnv(prefix: string, args: readonly string[]): Promise<DaemonEnv> {
  const roots = await tempRoots(prefix);
  const d = await spawnDaemon(['--repository', roots.repository, '--store', roots.store, ...args]);
  return { roots, d, c: new DaemonClient({ env: {}, socket: d.socket, name: `${prefix}-test` }) };
}

export async function stopDaemonEnv(e: DaemonEnv | undefined): Promise<void> {
  if (!e) return;
  await e.c.disconnect().catch(() => {});
  await e.d.stop();
  await e.roots.cleanup();
}

/** Outputs against the model's reference, within float32 rounding of a MatMul. */
export function assertClose(got: readonly number[], want: Float32Array, what: string): void {
  assert.equal(got.length, want.length, `${what}: length`);
  for (let i = 0; i < got.length; i++)
    assert.ok(Math.abs(got[i]! - want[i]!) < 1e-4, `${what}[${i}]: ${got[i]} vs ${want[i]}`);
}
