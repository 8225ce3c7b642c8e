// Memory of instance processes: each one's private memory (Pss_Anon: heap,
// ORT arenas, copies; not the shared weight pages it maps from the store),
// and the machine-wide guard that refuses to start an instance which would
// push the box past its budget.
import fs from 'node:fs/promises';

/** The text of /proc/<pid>/smaps_rollup; undefined when the process is gone or it cannot be read. */
export async function readSmapsRollup(pid: number): Promise<string | undefined> {
  try {
    return await fs.readFile(`/proc/${pid}/smaps_rollup`, 'utf8');
  } catch {
    return undefined;
  }
}

/** Private anonymous memory of a process in bytes (Pss_Anon of /proc/<pid>/smaps_rollup); undefined when it is gone. */
export async function readPssAnon(pid: number): Promise<number | undefined> {
  const text = await readSmapsRollup(pid);
  if (text === undefined) return undefined;
  return parseKb(text, 'Pss_Anon') ?? parseKb(text, 'Anonymous');
}

/** MemAvailable of /proc/meminfo in bytes. */
export async function readMemAvailable(): Promise<number> {
  const text = await fs.readFile('/proc/meminfo', 'utf8');
  const kb = parseKb(text, 'MemAvailable');
  if (kb === undefined) throw new Error('/proc/meminfo has no MemAvailable line');
  return kb;
}

/** A `Key:   123 kB` line of a /proc file, in bytes; undefined when the key is absent. */
export function parseKb(text: string, key: string): number | undefined {
  const m = new RegExp(`^${key}:\\s+(\\d+) kB`, 'm').exec(text);
  return m ? Number(m[1]) * 1024 : undefined;
}

export interface MemoryGuardOptions {
  /** Bytes all instances together may hold privately. */
  budgetBytes: number;
  /** Estimate for an instance of a function never seen running. */
  defaultInstanceBytes: number;
}

export type Reservation =
  | { ok: true; estimate: number }
  | { ok: false; estimate: number; reserved: number; budget: number };

export interface MemoryGuard {
  readonly budgetBytes: number;
  /** Private memory an instance of `fn` is expected to need: the largest seen for its instances, else the default; never more than its limit. */
  estimate(fn: string, limitBytes?: number): number;
  /** Reserves room for a new instance, or says why not. */
  reserve(fn: string, instance: string, limitBytes?: number): Reservation;
  /** Records a sample of an instance's private memory. */
  observe(fn: string, instance: string, bytes: number): void;
  release(instance: string): void;
  /** Bytes currently reserved by live instances. */
  reserved(): number;
}

export function createMemoryGuard(o: MemoryGuardOptions): MemoryGuard {
  const peakByFn = new Map<string, number>();
  const live = new Map<string, { fn: string; estimate: number; observed: number }>();
  const estimate = (fn: string, limit?: number) =>
    Math.min(peakByFn.get(fn) ?? o.defaultInstanceBytes, limit ?? Infinity);
  const reserved = () => {
    let sum = 0;
    // Before its first sample an instance counts as its estimate; after, as the
    // larger of what it holds and the most any instance of its function held.
    for (const r of live.values()) sum += r.observed > 0 ? Math.max(r.observed, peakByFn.get(r.fn) ?? 0) : r.estimate;
    return sum;
  };
  return {
    budgetBytes: o.budgetBytes,
    estimate,
    reserve(fn, instance, limit) {
      const e = estimate(fn, limit);
      const r = reserved();
      if (r + e > o.budgetBytes) return { ok: false, estimate: e, reserved: r, budget: o.budgetBytes };
      live.set(instance, { fn, estimate: e, observed: 0 });
      return { ok: true, estimate: e };
    },
    observe(fn, instance, bytes) {
      peakByFn.set(fn, Math.max(peakByFn.get(fn) ?? 0, bytes));
      const r = live.get(instance);
      if (r) r.observed = bytes;
    },
    release(instance) {
      live.delete(instance);
    },
    reserved,
  };
}
