// The daemon's memory across restarts, next to the store it describes
// (<store>/.daemon/state.json): leases (with their client's pid, so a
// restarted daemon keeps them until the client re-registers or dies), pins,
// and per-model statistics the policies use. Written atomically after every
// lease change; a missing or damaged file means "no leases, no history".
import fs from 'node:fs/promises';
import path from 'node:path';
import { randomBytes } from 'node:crypto';
import type { OpenMode } from '../store/manifest.js';
import type { UsageStats } from './policy/types.js';

export const STATE_FORMAT = 'tensorshare.daemon-state/v1';

export interface PersistedLease {
  id: string;
  unitKey: string;
  tenant: string;
  model: string;
  mode: OpenMode;
  graphSha256: string;
  pid: number;
  pidStart?: string;
  clientId: string;
  clientName: string;
  openedAt: number;
}

export interface PersistedUnit extends UsageStats {
  key: string;
  name: string;
  version: string;
  opens: number;
}

export interface PersistedPin {
  ns: string;
  name: string;
  version: string;
  mode: OpenMode;
}

export interface DaemonState {
  format: typeof STATE_FORMAT;
  savedAt: number;
  inflation: number;
  units: PersistedUnit[];
  pins: PersistedPin[];
  leases: PersistedLease[];
}

export async function loadState(file: string): Promise<DaemonState | undefined> {
  try {
    const s = JSON.parse(await fs.readFile(file, 'utf8')) as DaemonState;
    if (s.format !== STATE_FORMAT || !Array.isArray(s.leases) || !Array.isArray(s.units) || !Array.isArray(s.pins))
      return undefined;
    return s;
  } catch {
    return undefined;
  }
}

/**
 * How long a change that may be lost in a crash (a lease released: a restarted
 * daemon keeps it only until its client re-registers or is gone) waits to be
 * written with the next change that may not. A deploy opens and closes a lease
 * per model: writing at both made two writes of every unit per model.
 */
export const SAVE_SOON_MS = 200;

/**
 * A coalescing writer: save() resolves once a write that started after the
 * call has finished, so callers can rely on their change being on disk,
 * while a burst of changes costs one or two writes.
 */
export function stateWriter(
  file: string,
  snapshot: () => DaemonState | string,
  soonMs = SAVE_SOON_MS,
): { save(): Promise<void>; saveSoon(): void } {
  let running: Promise<void> | undefined;
  let dirty = false;
  let soon: ReturnType<typeof setTimeout> | undefined;
  const loop = async () => {
    while (dirty) {
      dirty = false;
      const tmp = path.join(path.dirname(file), `.state-${randomBytes(4).toString('hex')}`);
      const state = snapshot();
      await fs.writeFile(tmp, typeof state === 'string' ? state : JSON.stringify(state), { mode: 0o600 });
      await fs.rename(tmp, file);
    }
  };
  const save = (): Promise<void> => {
    clearTimeout(soon); // this write carries what saveSoon waited to write
    soon = undefined;
    dirty = true;
    if (!running)
      running = loop().finally(() => {
        running = undefined;
      });
    // A write in progress may have taken its snapshot before this change;
    // its loop goes round once more, and if it had just ended, save again.
    return running.then(() => (dirty ? save() : undefined));
  };
  const saveSoon = () => {
    if (soon) return;
    soon = setTimeout(() => {
      soon = undefined;
      void save().catch(() => {});
    }, soonMs);
    soon.unref();
  };
  return { save, saveSoon };
}
