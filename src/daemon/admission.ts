// Admission and eviction: the daemon's picture of the store (residency.ts)
// and every change to the store's contents. Materializations and evictions
// run one at a time in one queue (storeOp), so admission sees exact numbers
// and an eviction never races a copy; concurrent needs of one unit or one
// variant build share a single flight. A unit is protected from eviction
// from the moment something starts needing it (pending) until its last
// reference ends. Making a model resident follows the store's one sequence
// (src/store/resident.ts) with these guards around each step.
import type { Logger } from 'pino';
import { TensorshareError, isTensorshareError } from '../errors.js';
import type { Tracer } from '../trace.js';
import { evictResident, filesOf } from '../store/evict.js';
import { findFastRun } from '../store/fast-run.js';
import { buildFastRunIsolated } from '../store/runtime-process.js';
import { graphPath, manifestPath, variantPath } from '../store/layout.js';
import type { Manifest, OpenMode, VariantManifest } from '../store/manifest.js';
import { freeBytes, materialize, materializeVariant } from '../store/materialize.js';
import { makeResident } from '../store/resident.js';
import type { Policy, PolicyContext } from './policy/index.js';
import {
  addResident,
  candidates,
  fastRunResident,
  isReferenced,
  missingBytes,
  modelUnitKey,
  newResidency,
  newUnit,
  planEviction,
  removeResident,
  toCandidate,
  usedBytes,
  variantUnitKey,
  type Residency,
  type Unit,
} from './residency.js';
import { displayName, type Namespace } from './tenants.js';
import { formatBytes } from '../bytes.js';

export interface Counters {
  opens: number;
  hits: number;
  materializations: number;
  evictions: number;
  evictedBytes: number;
  fastRunBuilds: number;
}

export interface AdmissionDeps {
  policy: Policy;
  namespaces: ReadonlyMap<string, Namespace>;
  ttlMs: number;
  log: Logger;
  trace: Tracer;
  now: () => number;
  /** Writes the daemon state after an eviction that no caller waits for. */
  persist(): Promise<void>;
  /** Runs before a model's files are copied from the repository: the node agent's peer warm-up (src/cluster). */
  beforeMaterialize?: BeforeMaterialize;
}

/**
 * Brings some of a model's (or, with `variant`, its fast-run variant's)
 * missing tensors into the store by other means than the repository copy
 * that follows. `credential`: the token of the tenant whose open asked for it
 * (absent for pins restored at start-up and without tenants).
 */
export type BeforeMaterialize = (
  ns: Namespace,
  m: Manifest,
  ctx: { credential?: string; variant?: VariantManifest },
) => Promise<unknown>;

/** A unit made resident for a caller, with one pending reference the caller must drop (drop()). */
export interface Acquired {
  unit: Unit;
  mode: OpenMode;
  variant?: VariantManifest;
  wasResident: boolean;
  waitMs: number;
}

export type Admission = ReturnType<typeof createAdmission>;

export function createAdmission(deps: AdmissionDeps) {
  const { policy: pol, log, trace, now } = deps;
  const r: Residency = newResidency();
  const inflight = new Map<string, Promise<unknown>>();
  const counters: Counters = {
    opens: 0,
    hits: 0,
    materializations: 0,
    evictions: 0,
    evictedBytes: 0,
    fastRunBuilds: 0,
  };
  let budget = 0;
  let opSeq = 0;
  let storeChain: Promise<unknown> = Promise.resolve();
  let stopped = false;

  const ctx = (): PolicyContext => ({ now: now(), ttlMs: deps.ttlMs, inflation: r.inflation });
  const nsOf = (u: Unit): Namespace => deps.namespaces.get(u.ns)!;
  const unitName = (u: Unit) => displayName(u.ns, u.name, u.version);

  /** Runs store-changing work one at a time. */
  function storeOp<T>(fn: () => Promise<T>): Promise<T> {
    const p = storeChain.then(fn);
    storeChain = p.catch(() => {});
    return p;
  }

  /** Concurrent callers with the same key share one run of fn. */
  function singleFlight<T>(key: string, fn: () => Promise<T>): Promise<T> {
    const existing = inflight.get(key) as Promise<T> | undefined;
    if (existing) return existing;
    const p = fn().finally(() => inflight.delete(key));
    inflight.set(key, p);
    return p;
  }

  function modelUnit(ns: Namespace, m: Manifest): Unit {
    const key = modelUnitKey(ns.name, m.name, m.version);
    let u = r.units.get(key);
    if (!u) {
      u = newUnit(
        {
          key,
          ns: ns.name,
          mode: 'fast-open',
          name: m.name,
          version: m.version,
          digest: m.digest,
          manifestFile: manifestPath(ns.store, m.name, m.version),
          graphPath: graphPath(ns.store, m.graph.sha256),
          files: filesOf(ns.store, m.graph, m.tensors),
        },
        now(),
      );
      r.units.set(key, u);
    }
    return u;
  }

  function variantUnit(ns: Namespace, m: Pick<Manifest, 'name' | 'version'>, v: VariantManifest, key: string): Unit {
    const ukey = variantUnitKey(ns.name, v.modelDigest, key);
    let u = r.units.get(ukey);
    if (!u) {
      u = newUnit(
        {
          key: ukey,
          ns: ns.name,
          mode: 'fast-run',
          name: m.name,
          version: m.version,
          digest: v.modelDigest,
          manifestFile: variantPath(ns.store, v.modelDigest, key),
          graphPath: graphPath(ns.store, v.graph.sha256),
          files: filesOf(ns.store, v.graph, v.tensors),
        },
        now(),
      );
      r.units.set(ukey, u);
    }
    return u;
  }

  function touch(u: Unit): void {
    const t = now();
    u.lastUse = t;
    u.priority = pol.onAccess(toCandidate(u), ctx());
    for (const f of u.files) {
      const e = r.files.get(f.path);
      if (e) {
        e.hits++;
        e.lastUse = t;
      }
    }
  }

  async function evictUnits(victims: Unit[], reason: string): Promise<number> {
    // Update the picture first, synchronously: an open arriving during the
    // deletes sees the units as not resident and queues behind this op.
    const work = victims.map((u) => {
      r.inflation = pol.onEvict(toCandidate(u), ctx());
      return { u, files: removeResident(r, u) };
    });
    let total = 0;
    for (const { u, files } of work) {
      const res = await trace.span(
        'evict',
        `evict-${++opSeq}`,
        () =>
          evictResident(
            nsOf(u).store,
            u.manifestFile,
            files.map((f) => f.path),
          ),
        { model: unitName(u), mode: u.mode, reason },
      );
      counters.evictions++;
      counters.evictedBytes += res.bytes;
      total += res.bytes;
      log.info({ model: unitName(u), mode: u.mode, reason, bytes: res.bytes, files: res.files }, 'evicted');
    }
    return total;
  }

  async function admit(u: Unit, need: number): Promise<void> {
    const protect = new Set(u.files.map((f) => f.path));
    const plan = planEviction(r, pol, ctx(), need, budget, protect);
    if (!plan.ok) {
      const used = usedBytes(r);
      throw new TensorshareError(
        'ERR_RESOURCE_EXHAUSTED',
        `cannot make ${unitName(u)} (${u.mode}) resident: it needs ${formatBytes(need)} (${need} bytes) more but only ${formatBytes(plan.available)} (${plan.available} bytes) is free ` +
          `in the store budget of ${formatBytes(budget)} (${formatBytes(used)} used; ${formatBytes(plan.reclaimable)} could be evicted, the rest is leased or pinned)`,
        { need, free: plan.available, budget, used, reclaimable: plan.reclaimable },
      );
    }
    if (plan.victims.length) await evictUnits(plan.victims, 'pressure');
  }

  /** Makes a unit resident (one materialization however many callers wait). */
  async function ensureUnitResident(
    u: Unit,
    copy: () => Promise<unknown>,
  ): Promise<{ wasResident: boolean; waitMs: number }> {
    if (u.resident) return { wasResident: true, waitMs: 0 };
    const t0 = performance.now();
    await singleFlight(`materialize:${u.key}`, () =>
      storeOp(async () => {
        if (u.resident) return;
        const need = missingBytes(r, u);
        await admit(u, need);
        const t = performance.now();
        try {
          await trace.span('materialize', `mat-${++opSeq}`, copy, { model: unitName(u), mode: u.mode, bytes: need });
        } catch (e) {
          if (isTensorshareError(e, 'ERR_NO_SPACE')) {
            const free = await freeBytes(nsOf(u).store.root).catch(() => 0);
            throw new TensorshareError(
              'ERR_RESOURCE_EXHAUSTED',
              `cannot make ${unitName(u)} resident: it needs ${formatBytes(need)} (${need} bytes) but the store file system has only ${formatBytes(free)} (${free} bytes) free`,
              { need, free },
              { cause: e },
            );
          }
          throw e;
        }
        u.costMs = performance.now() - t;
        addResident(r, u, now());
        counters.materializations++;
        log.info({ model: unitName(u), mode: u.mode, bytes: need, ms: Math.round(u.costMs) }, 'materialized');
      }),
    );
    return { wasResident: false, waitMs: performance.now() - t0 };
  }

  /**
   * A fast-open unit whose model's fast-run variant is resident: fast-run
   * opens map the variant, so the originals it replaced by prepacked tensors
   * need not stay (the repository keeps them; a fast-open open brings them
   * back). Files the variant shares stay, being the variant's too. Under the
   * `never` policy nothing leaves the store by itself.
   */
  function replaced(u: Unit): boolean {
    return u.mode === 'fast-open' && pol.name !== 'never' && fastRunResident(r, u);
  }

  const evictable = (u: Unit): 'expired' | 'replaced by fast-run variant' | undefined =>
    isReferenced(u) || !u.resident
      ? undefined
      : pol.expired(toCandidate(u), ctx())
        ? 'expired'
        : replaced(u)
          ? 'replaced by fast-run variant'
          : undefined;

  /** Evicts a unit the policy says has expired (or a replaced one), once nothing references it. */
  function maybeExpire(u: Unit): Promise<void> {
    if (stopped || !evictable(u)) return Promise.resolve();
    return storeOp(async () => {
      const reason = evictable(u);
      if (!reason) return;
      await evictUnits([u], reason);
      await deps.persist();
    }).catch((e) => log.error({ err: e, model: unitName(u) }, 'eviction failed'));
  }

  /** The model's fast-open units that a now resident fast-run variant replaces, evicted when unreferenced. */
  function evictReplaced(ns: Namespace, digest: string): Promise<unknown> {
    const units = [...r.units.values()].filter(
      (u) => u.ns === ns.name && u.mode === 'fast-open' && u.digest === digest,
    );
    return Promise.all(units.map(maybeExpire));
  }

  /** Drops the pending reference acquire() took. */
  function drop(u: Unit): void {
    u.pending--;
    if (!isReferenced(u)) maybeExpire(u);
  }

  /** Takes a pending reference on a unit and makes it resident; on failure the reference is dropped again. */
  async function hold(
    unit: Unit,
    copy: () => Promise<unknown>,
  ): Promise<{ unit: Unit; wasResident: boolean; waitMs: number }> {
    unit.pending++;
    try {
      return { unit, ...(await ensureUnitResident(unit, copy)) };
    } catch (e) {
      drop(unit);
      throw e;
    }
  }

  /** A unit serving the model in the mode, resident, with one pending reference the caller must drop(). */
  async function acquire(ns: Namespace, m: Manifest, mode: OpenMode, credential?: string): Promise<Acquired> {
    const t0 = performance.now();
    let built = false;
    const res = await makeResident(mode, {
      model: () =>
        hold(modelUnit(ns, m), async () => {
          await deps.beforeMaterialize?.(ns, m, { credential });
          return materialize(ns.repo, ns.store, m);
        }),
      async variant() {
        const v = await findFastRun(ns.repo, m.digest);
        if (v) return v;
        built = true;
        return buildVariant(ns, m, credential);
      },
      variantFiles: (v, key) =>
        hold(variantUnit(ns, m, v, key), async () => {
          await deps.beforeMaterialize?.(ns, m, { credential, variant: v });
          return materializeVariant(ns.repo, ns.store, v, key);
        }),
    });
    const { unit, wasResident } = res.held;
    if (res.mode === 'fast-run') await evictReplaced(ns, m.digest);
    return {
      unit,
      mode: res.mode,
      variant: res.variant,
      wasResident: wasResident && !built,
      waitMs: mode === 'fast-open' ? res.held.waitMs : performance.now() - t0,
    };
  }

  /** Builds the fast-run variant into the repository (once, however many callers), in a build process. */
  function buildVariant(ns: Namespace, m: Manifest, credential?: string): Promise<VariantManifest> {
    return singleFlight(`build:${ns.name}:${m.digest}`, async () => {
      const existing = await findFastRun(ns.repo, m.digest);
      if (existing) return existing;
      const base = await acquire(ns, m, 'fast-open', credential);
      try {
        const res = await trace.span(
          'build-fast-run',
          `build-${++opSeq}`,
          () => buildFastRunIsolated(ns.repo, ns.store, m),
          { model: displayName(ns.name, m.name, m.version) },
        );
        if (res.built) {
          counters.fastRunBuilds++;
          log.info(
            { model: displayName(ns.name, m.name, m.version), ms: res.variant.buildMs },
            'built fast-run variant',
          );
        }
        return res.variant;
      } finally {
        drop(base.unit);
      }
    });
  }

  /** Periodic: expired units, then the budget (it may have shrunk, or restored units may not fit). */
  function reclaim(): Promise<boolean> {
    return storeOp(async () => {
      const expired = candidates(r).filter((u) => pol.expired(toCandidate(u), ctx()));
      if (expired.length) await evictUnits(expired, 'expired');
      const superseded = candidates(r).filter(replaced);
      if (superseded.length) await evictUnits(superseded, 'replaced by fast-run variant');
      const plan = planEviction(r, pol, ctx(), 0, budget);
      if (plan.ok && plan.victims.length) await evictUnits(plan.victims, 'over budget');
      return expired.length > 0 || superseded.length > 0 || (plan.ok && plan.victims.length > 0);
    });
  }

  /** No more expiry evictions; resolves once the store queue is idle. */
  async function stop(): Promise<void> {
    stopped = true;
    await storeChain.catch(() => {});
  }

  function unitsOfModel(ns: Namespace, m: Manifest): Unit[] {
    return [...r.units.values()].filter(
      (u) =>
        u.ns === ns.name &&
        ((u.mode === 'fast-open' && u.name === m.name && u.version === m.version) ||
          (u.mode === 'fast-run' && u.digest === m.digest)),
    );
  }

  return {
    residency: r,
    counters,
    storeOp,
    modelUnit,
    variantUnit,
    touch,
    evictUnits,
    maybeExpire,
    drop,
    acquire,
    buildVariant,
    reclaim,
    stop,
    unitsOfModel,
    ctx,
    unitName,
    budget: () => budget,
    setBudget: (bytes: number) => {
      budget = bytes;
    },
  };
}
