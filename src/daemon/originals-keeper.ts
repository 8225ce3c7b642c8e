// The daemon's side of the fast-run originals (src/store/originals.ts): it
// owns the store, so it is the one cutter. A fast-run file's original bytes
// are needed only while ONNX Runtime creates a session; the daemon keeps
// them while any creation window is open and for `originalsLinger` after the
// last one closed (a burst of instance starts restores nothing), then cuts
// them off every resident variant's files. Windows are marker files in the
// store's tmp: instances (daemonless openers in the daemon's store) open
// their own; for a lease whose client cannot (another user, or a client
// without `own_window`), the daemon opens one in the client's name for the
// lease's life and restores cut originals before the Open answers.
//
// The linger counts from the last change of a store's tmp folder (a window
// opened or closed there, a staging folder): windows are often shorter than
// the keeper's tick. A daemon restarted in the middle of a window sees the opener's marker
// (named after the opener's pid) like any other and does not cut; the linger
// starts again at its start. Cuts run in the store queue, so they never
// overlap a materialization or an eviction.
import fs from 'node:fs/promises';
import type { Logger } from 'pino';
import type { Layout } from '../store/layout.js';
import type { VariantManifest } from '../store/manifest.js';
import {
  closeTaggedWindows,
  cutBytesOf,
  cutOriginals,
  cuttableTensors,
  openWindow,
  restoreOriginals,
  windowOpen,
} from '../store/originals.js';
import type { Admission } from './admission.js';
import type { Namespace } from './tenants.js';
import type { Unit } from './residency.js';

export interface KeeperDeps {
  admission: Admission;
  namespaces: ReadonlyMap<string, Namespace>;
  /** `keep`: never cut (clients of other users cannot open windows); `cut`: cut after the linger. */
  originals: 'cut' | 'keep';
  lingerMs: number;
  log: Logger;
  now: () => number;
}

export type OriginalsKeeper = ReturnType<typeof createOriginalsKeeper>;

const leaseTag = (leaseId: string) => `lease-${leaseId}`;

/** A unit's variant key: the part of `<ns>/@<digest>#<key>` after '#'. */
const variantKeyOf = (u: Unit) => u.key.slice(u.key.lastIndexOf('#') + 1);

export function createOriginalsKeeper(deps: KeeperDeps) {
  const { admission, log, now } = deps;
  const r = admission.residency;
  /** Windows the daemon holds for leases, by lease id. */
  const held = new Map<string, () => Promise<void>>();
  const variants = new Map<string, VariantManifest | null>();
  // A restarted daemon lingers from its start: a window may have closed just before.
  let lastWindow = now();
  let cutting = false;

  const stores = (): Layout[] => [...deps.namespaces.values()].map((ns) => ns.store);

  async function variantOf(u: Unit): Promise<VariantManifest | null> {
    if (variants.has(u.key)) return variants.get(u.key)!;
    const v = await fs.readFile(u.manifestFile, 'utf8').then(
      (t) => JSON.parse(t) as VariantManifest,
      () => null,
    );
    // A variant without cuttable tensors (built before originalsTail existed, or nothing prepacked) is never cut.
    const keep = v && cuttableTensors(v).length ? v : null;
    variants.set(u.key, keep);
    return keep;
  }

  /**
   * A fast-run lease: with `ownWindow` the client opens its own windows (or
   * creates no session); otherwise the daemon opens one in the client's name
   * now, restores cut originals, and closes it when the lease ends.
   */
  async function leaseOpened(leaseId: string, u: Unit, clientPid: number, ownWindow: boolean): Promise<void> {
    if (ownWindow || u.mode !== 'fast-run') return;
    const v = await variantOf(u);
    if (!v) return;
    const ns = deps.namespaces.get(u.ns)!;
    const close = await openWindow(ns.store, clientPid, leaseTag(leaseId));
    held.set(leaseId, close);
    lastWindow = now();
    try {
      // In the store queue: after any cut that started before the window existed.
      const restored = await admission.storeOp(() => restoreOriginals(ns.repo, ns.store, v));
      if (restored) log.debug({ lease: leaseId, bytes: restored }, 'restored fast-run originals for a lease');
    } catch (e) {
      await leaseEnded(leaseId);
      throw e;
    }
  }

  /** The lease ended (closed, its client gone): its window closes -- one a previous daemon opened too. */
  async function leaseEnded(leaseId: string): Promise<void> {
    const close = held.get(leaseId);
    held.delete(leaseId);
    if (close) {
      lastWindow = now();
      await close();
    } else await closeTaggedWindows(stores(), leaseTag(leaseId));
  }

  /** Resident fast-run units with originals in the store now. */
  async function whole(): Promise<{ u: Unit; v: VariantManifest; ns: Namespace }[]> {
    const out: { u: Unit; v: VariantManifest; ns: Namespace }[] = [];
    for (const u of [...r.units.values()]) {
      if (!u.resident || u.mode !== 'fast-run') continue;
      const v = await variantOf(u);
      if (!v) continue;
      const ns = deps.namespaces.get(u.ns)!;
      const tail = cuttableTensors(v).reduce((a, t) => a + t.bytes - t.cutAt, 0);
      if ((await cutBytesOf(ns.store, v)) < tail) out.push({ u, v, ns });
    }
    return out;
  }

  let keptLogged = false;
  /** The activity stamp (lastWindow) of the last pass that found nothing to cut. */
  let settledAt = Number.NEGATIVE_INFINITY;
  /**
   * Periodic: while a window is open, or within the linger after the last,
   * nothing; else cuts the originals of every resident fast-run variant that
   * still has them. Returns the bytes cut.
   */
  async function tick(): Promise<number> {
    if (deps.originals === 'keep' || cutting) return 0;
    cutting = true;
    try {
      if (held.size || (await windowOpen(stores()))) {
        lastWindow = now();
        if (!keptLogged && (await whole()).length) {
          keptLogged = true;
          log.debug({ leaseWindows: held.size }, 'fast-run originals kept: a session creation window is open');
        }
        return 0;
      }
      keptLogged = false;
      // Windows are often shorter than a tick: every marker created or removed changes the mtime
      // of the tmp folder it lives in, so the linger counts from the last one closed.
      for (const st of stores()) {
        const m = await fs.stat(st.tmp).then(
          (x) => x.mtimeMs,
          () => 0,
        );
        lastWindow = Math.max(lastWindow, m);
      }
      if (now() - lastWindow < deps.lingerMs) return 0;
      // Nothing in any tmp changed since a pass left nothing to cut: no file can have become whole
      // (a restore runs in a window, a copy in a staging folder), so no pass -- no stat of every file.
      if (lastWindow <= settledAt) return 0;
      const seen = lastWindow;
      return await admission.storeOp(async () => {
        let total = 0;
        let settled = true;
        for (const { u, v, ns } of await whole()) {
          const res = await cutOriginals(ns.store, v, variantKeyOf(u), stores());
          if (res.kept === 'window-open') {
            lastWindow = now();
            settled = false;
            break;
          }
          if (res.mapped) settled = false;
          if (res.cutBytes || res.mapped) {
            total += res.cutBytes;
            log.info(
              { model: admission.unitName(u), bytes: res.cutBytes, mappedElsewhere: res.mapped },
              'cut fast-run originals off the store (no session creation in progress)',
            );
          }
        }
        // Its own cut markers changed the tmp folders: the next pass (after the linger) finds nothing and settles.
        if (settled && total === 0) settledAt = seen;
        return total;
      });
    } finally {
      cutting = false;
    }
  }

  /**
   * At a daemon's stop its windows stay: the leases outlive it (their clients
   * keep running and re-register with the next daemon, which closes them at
   * the lease's end). Only the in-memory record goes.
   */
  function stop(): void {
    held.clear();
  }

  return { leaseOpened, leaseEnded, tick, stop };
}
