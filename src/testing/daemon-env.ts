// A daemon of the executor tests (GPU tier with fake devices, the CPU
// executor): temp roots, the daemon process on them and a client of it, and
// the output comparison and the register-hook check those tests share.
import assert from 'node:assert/strict';
import path from 'node:path';
import ort from 'onnxruntime-node';
import { DaemonClient } from '../client/daemon-client.js';
import { installHook } from '../client/hook.js';
import { clientSettings } from '../client/settings.js';
import { writeBatchedMatMul } from './device.js';
import { until } from './until.js';
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

/**
 * The register hook on this daemon: an unchanged `InferenceSession.create(file, options)` with the client
 * environment `env` (given, never read from this process) gives the model's outputs, warns of nothing, and is a
 * client of the executor whose resident model `resident` reads (from its status file), imported as `auto-app-model`.
 */
export async function assertHookedSessionOnExecutor(
  e: DaemonEnv,
  o: {
    env: Record<string, string>;
    options?: ort.InferenceSession.SessionOptions;
    executor: string;
    resident(): { model: string; clients: number } | undefined;
  },
): Promise<void> {
  const m = await writeBatchedMatMul(path.join(e.roots.dir, 'app-model.onnx'), 64, 32, 9);
  const warnings: string[] = [];
  const uninstall = installHook(ort.InferenceSession, {
    settings: clientSettings({ socket: e.d.socket }, o.env),
    client: () => e.c,
    warn: (msg) => warnings.push(msg),
  });
  try {
    const s = await ort.InferenceSession.create(m.file, o.options);
    const x = Float32Array.from({ length: 64 }, (_, i) => i / 64);
    const y = await s.run({ x: new ort.Tensor('float32', x, [1, 64]) });
    assertClose(Array.from(y.y!.data as Float32Array), m.reference(x), 'hooked session');
    assert.deepEqual(warnings, []);
    const model = await until(
      () => {
        const resident = o.resident();
        return resident?.clients === 1 ? resident.model : undefined;
      },
      10_000,
      `the hooked session is a client of the ${o.executor}`,
    );
    assert.match(model, /^auto-app-model:/);
    await s.release();
  } finally {
    uninstall();
  }
}
