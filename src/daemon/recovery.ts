// Persistence and recovery: what the daemon writes to
// <store>/.daemon/state.json (snapshot) and how a starting daemon rebuilds
// its picture from the store and that file (recover): resident units (a
// half-evicted or half-copied unit is dropped, orphaned files removed), their
// use statistics, leases of clients that may still run, and pins.
import type { Logger } from 'pino';
import { evictResident, scanStore } from '../store/evict.js';
import { fastRunKey, findFastRun } from '../store/fast-run.js';
import { resolveModel } from '../store/repository.js';
import type { Admission } from './admission.js';
import type { Leases } from './leases.js';
import type { Policy } from './policy/index.js';
import { addResident, modelUnitKey, toCandidate, variantUnitKey, type Unit } from './residency.js';
import { loadState, STATE_FORMAT, type DaemonState, type PersistedPin, type PersistedUnit } from './state-file.js';
import type { Namespace } from './tenants.js';

export const pinKey = (ns: string, name: string, version: string, mode: string) => `${ns}/${name}:${version}#${mode}`;

const persistedUnit = (u: Unit): PersistedUnit => ({
  key: u.key,
  name: u.name,
  version: u.version,
  opens: u.opens,
  hits: u.hits,
  lastUse: u.lastUse,
  loadedAt: u.loadedAt,
  lastRelease: u.lastRelease,
  costMs: u.costMs,
  priority: u.priority,
});

export function snapshot(
  admission: Admission,
  leases: Leases,
  pins: ReadonlyMap<string, PersistedPin>,
  now: number,
): DaemonState {
  const r = admission.residency;
  return {
    format: STATE_FORMAT,
    savedAt: now,
    inflation: r.inflation,
    units: [...r.units.values()].filter((u) => u.resident).map(persistedUnit),
    pins: [...pins.values()],
    leases: [...leases.leases.values()].map(({ attachmentId: _a, ...l }) => l),
  };
}

/**
 * snapshot() as the JSON text the state file holds, for a writer that saves
 * after every lease change: each unit's text is kept and made again only when
 * one of its fields changed. Serializing every unit at every open and close
 * made a thousand opens cost O(N^2) (2.6 ms per write at 1,000 units).
 */
export function snapshotWriter(
  admission: Admission,
  leases: Leases,
  pins: ReadonlyMap<string, PersistedPin>,
): (now: number) => string {
  const texts = new WeakMap<Unit, { of: PersistedUnit; text: string }>();
  // Field by field, no object made: this runs for every unit at every write.
  const same = (a: PersistedUnit, u: Unit) =>
    a.opens === u.opens &&
    a.hits === u.hits &&
    a.lastUse === u.lastUse &&
    a.loadedAt === u.loadedAt &&
    a.lastRelease === u.lastRelease &&
    a.costMs === u.costMs &&
    a.priority === u.priority &&
    a.name === u.name &&
    a.version === u.version &&
    a.key === u.key;
  return (now) => {
    const r = admission.residency;
    const units: string[] = [];
    for (const u of r.units.values()) {
      if (!u.resident) continue;
      let t = texts.get(u);
      if (!t || !same(t.of, u)) {
        const of = persistedUnit(u);
        t = { of, text: JSON.stringify(of) };
        texts.set(u, t);
      }
      units.push(t.text);
    }
    // The text JSON.stringify(snapshot(...)) gives, the units spliced in where they belong.
    const head = JSON.stringify({ format: STATE_FORMAT, savedAt: now, inflation: r.inflation });
    const leased = [...leases.leases.values()].map(({ attachmentId: _a, ...l }) => l);
    return `${head.slice(0, -1)},"units":[${units.join(',')}],"pins":${JSON.stringify([...pins.values()])},"leases":${JSON.stringify(leased)}}`;
  };
}

export interface RecoveryDeps {
  stateFile: string;
  namespaces: ReadonlyMap<string, Namespace>;
  admission: Admission;
  leases: Leases;
  pins: Map<string, PersistedPin>;
  policy: Policy;
  log: Logger;
  now: () => number;
}

/** Rebuilds the daemon's state. Returns the number of restored leases and the pins whose model is not resident (to pin again). */
export async function recover(deps: RecoveryDeps): Promise<{ restoredLeases: number; lostPins: PersistedPin[] }> {
  const { admission, namespaces: nss, pins, log, now } = deps;
  const r = admission.residency;
  const saved = await loadState(deps.stateFile);
  const savedUnits = new Map((saved?.units ?? []).map((u) => [u.key, u]));
  const present = new Map<string, { bytes: number; ns: Namespace }>();
  for (const ns of nss.values()) {
    const scan = await scanStore(ns.store, { removeIncomplete: true });
    for (const [p, bytes] of scan.files) present.set(p, { bytes, ns });
    for (const e of scan.resident) {
      let u: Unit;
      if (e.kind === 'model') {
        u = admission.modelUnit(ns, e.manifest);
      } else {
        const s = savedUnits.get(variantUnitKey(ns.name, e.variant.modelDigest, e.key));
        u = admission.variantUnit(
          ns,
          { name: s?.name ?? `@${e.variant.modelDigest.slice(0, 12)}`, version: s?.version ?? e.key },
          e.variant,
          e.key,
        );
      }
      const mt = e.mtimeMs ?? now();
      addResident(r, u, mt);
      u.lastUse = u.lastRelease = mt;
      const s = savedUnits.get(u.key);
      if (s)
        Object.assign(u, {
          opens: s.opens,
          hits: s.hits,
          lastUse: s.lastUse,
          loadedAt: s.loadedAt,
          lastRelease: s.lastRelease,
          costMs: s.costMs,
          priority: s.priority,
        });
      else u.priority = deps.policy.onAccess(toCandidate(u), admission.ctx());
    }
  }
  r.inflation = saved?.inflation ?? 0;
  // Files no resident model names: left by an eviction or copy cut short.
  const orphans = new Map<Namespace, string[]>();
  for (const [p, { ns }] of present) if (!r.files.has(p)) orphans.set(ns, [...(orphans.get(ns) ?? []), p]);
  for (const [ns, files] of orphans) {
    const res = await evictResident(ns.store, undefined, files);
    log.info({ namespace: ns.name, files: res.files, bytes: res.bytes }, 'removed orphaned store files');
  }
  // Leases of clients that were running when the previous daemon stopped.
  const restoredLeases = deps.leases.restore(saved?.leases ?? []);
  for (const p of saved?.pins ?? []) pins.set(pinKey(p.ns, p.name, p.version, p.mode), p);
  for (const u of r.units.values()) {
    if (u.mode === 'fast-open' && pins.has(pinKey(u.ns, u.name, u.version, u.mode))) u.pinned = true;
  }
  const lostPins: PersistedPin[] = [];
  for (const p of pins.values()) {
    const ns = nss.get(p.ns);
    if (!ns) continue;
    if (p.mode === 'fast-run') {
      const m = await resolveModel(ns.repo, { name: p.name, version: p.version }).catch(() => undefined);
      const v = m && (await findFastRun(ns.repo, m.digest));
      const u = v && r.units.get(variantUnitKey(ns.name, v.modelDigest, fastRunKey(v.ortVersion, v.target)));
      if (u?.resident) {
        u.pinned = true;
        continue;
      }
    } else if (r.units.get(modelUnitKey(ns.name, p.name, p.version))?.resident) continue;
    // A pinned model that is not resident (store wiped): the caller brings it back.
    lostPins.push(p);
  }
  return { restoredLeases, lostPins };
}
