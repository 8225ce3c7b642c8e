// What every suite of one benchmark run shares: the worker pool, the temp
// folders, the prepared models and the mode settings.
import fs from 'node:fs/promises';
import path from 'node:path';
import { localResidency } from '../client/residency.js';
import type { MachineInfo } from './machine.js';
import type { PreparedModel } from './models.js';
import type { WorkerPool } from './procs.js';
import type { ModeId, ModeSettings } from './settings.js';
import { treeBytes } from './fsbytes.js';
import type { OpenMode } from '../store/manifest.js';

export interface BenchContext {
  quick: boolean;
  threads: number;
  pool: WorkerPool;
  /** Temp folder on disk (generated files, repositories). */
  work: string;
  /** Temp folder on tmpfs (stores). */
  shm: string;
  /** The benchmark repository (on disk) holding every model and its fast-run variant. */
  repository: string;
  models: PreparedModel[];
  settings: Record<ModeId, ModeSettings>;
  /** A weightless Identity model (runtime baseline). */
  identityFile: string;
  machine: MachineInfo;
  log(line: string): void;
}

/**
 * A fresh store under ctx.shm holding `model` as openSession() would leave it
 * (the same local residency): 'fast-open' the model; 'fast-run-only' its
 * fast-run variant (the default mode's store, as the daemon keeps it);
 * 'fast-run' both, for suites that open it in either mode. Returns the store
 * and its resident bytes.
 */
export async function preparedStore(
  ctx: BenchContext,
  model: PreparedModel,
  mode: 'fast-open' | 'fast-run' | 'fast-run-only' | 'none',
): Promise<{ store: string; bytes: number }> {
  const store = await fs.mkdtemp(path.join(ctx.shm, `store-${model.id}-${mode}-`));
  const residency = localResidency({ repository: ctx.repository, store });
  const modes = {
    'fast-open': ['fast-open'],
    'fast-run': ['fast-open', 'fast-run'],
    'fast-run-only': ['fast-run'],
    none: [],
  }[mode] as OpenMode[];
  for (const m of modes) await (await residency.ensureResident(model.ref, m)).release();
  return { store, bytes: (await treeBytes(store)).bytes };
}
