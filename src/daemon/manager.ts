// The model resource manager: leases, reference counts, single-flight
// materialization and fast-run builds, admission against the memory budget,
// eviction and the reclaimer, and the state file that survives restarts.
// Transport-free: server.ts maps gRPC calls onto these functions.
//
// Concurrency: every change to the store's contents (materialize, evict) runs
// in one queue (storeOp), so admission sees exact numbers and an eviction
// never races a copy. Opens of resident models do not touch the store and
// skip the queue. A unit is protected from eviction from the moment an open
// starts needing it (pending) until its last lease ends.
import fs from 'node:fs/promises';
import path from 'node:path';
import { createHash, randomBytes } from 'node:crypto';
import type { Logger } from 'pino';
import { TensorshareError, isTensorshareError } from '../errors.js';
import { noTracer, type Tracer } from '../trace.js';
import { evictResident, filesOf, scanStore } from '../store/evict.js';
import { buildFastRun, fastRunKey, findFastRun } from '../store/fast-run.js';
import { importModel, type ImportResult } from '../store/import.js';
import { graphPath, isValidName, isValidVersion, manifestPath, variantPath } from '../store/layout.js';
import { uniqueTensors, type Manifest, type OpenMode, type VariantManifest } from '../store/manifest.js';
import { freeBytes, materialize, materializeVariant } from '../store/materialize.js';
import { listModels, resolveModel } from '../store/repository.js';
import { createStaging } from '../store/staging.js';
import { policy as policyByName, type PolicyContext } from './policy/index.js';
import { prepareRoots } from './permissions.js';
import { processState, readProcStat } from './process-check.js';
import {
  addResident, candidates, exclusiveBytes, isReferenced, missingBytes, modelUnitKey, newResidency, newUnit,
  planEviction, removeResident, toCandidate, usedBytes, variantUnitKey, type Unit,
} from './residency.js';
import type { DaemonConfig } from './settings.js';
import { loadState, stateWriter, STATE_FORMAT, type DaemonState, type PersistedLease } from './state-file.js';
import { displayName, namespaces, notFound, PUBLIC_NS, readable, scopeRef, writable, type Caller, type Namespace } from './tenants.js';
import { formatBytes, resolveBudget } from './units.js';
import type * as P from './proto.js';

export interface ManagerDeps {
  config: DaemonConfig;
  log: Logger;
  now?: () => number;
  trace?: Tracer;
}

interface Attachment {
  id: string;
  tenant: string;
  pid: number;
  pidStart: string | undefined;
  clientId: string;
  clientName: string;
  leases: Set<string>;
  /** No live stream: leases held until the client re-registers or its process is gone. */
  detached: boolean;
  since: number;
}

interface LeaseRec extends PersistedLease {
  attachmentId: string;
}

export interface OpenResult {
  lease: P.Lease;
}

export type Manager = ReturnType<typeof createManager>;

export const randomId = (): string => randomBytes(16).toString('hex');

export function createManager(deps: ManagerDeps) {
  const { config, log } = deps;
  const now = deps.now ?? Date.now;
  const trace = deps.trace ?? noTracer;
  const nss = namespaces(config);
  const pol = policyByName(config.policy);
  const r = newResidency();
  const attachments = new Map<string, Attachment>();
  const leases = new Map<string, LeaseRec>();
  const inflight = new Map<string, Promise<unknown>>();
  const counters = { opens: 0, hits: 0, materializations: 0, evictions: 0, evictedBytes: 0, fastRunBuilds: 0 };
  const pins = new Map<string, { ns: string; name: string; version: string; mode: OpenMode }>();
  const daemonId = randomId();
  const startedAt = now();
  const stateFile = path.join(config.store, '.daemon', 'state.json');
  const writer = stateWriter(stateFile, snapshot);
  let budget = 0;
  let opSeq = 0;
  let reclaimTimer: NodeJS.Timeout | undefined;
  let storeChain: Promise<unknown> = Promise.resolve();
  let stopped = false;

  const ctx = (): PolicyContext => ({ now: now(), ttlMs: config.ttlMs, inflation: r.inflation });
  const nsOf = (u: Unit): Namespace => nss.get(u.ns)!;
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

  function persist(): Promise<void> {
    return writer.save().catch((e) => log.warn({ err: e }, 'cannot write daemon state'));
  }

  function snapshot(): DaemonState {
    return {
      format: STATE_FORMAT,
      savedAt: now(),
      inflation: r.inflation,
      units: [...r.units.values()].filter((u) => u.resident).map((u) => ({
        key: u.key, name: u.name, version: u.version, opens: u.opens, hits: u.hits, lastUse: u.lastUse,
        loadedAt: u.loadedAt, lastRelease: u.lastRelease, costMs: u.costMs, priority: u.priority,
      })),
      pins: [...pins.values()],
      leases: [...leases.values()].map(({ attachmentId: _a, ...l }) => l),
    };
  }

  // ---- units -------------------------------------------------------------

  function modelUnit(ns: Namespace, m: Manifest): Unit {
    const key = modelUnitKey(ns.name, m.name, m.version);
    let u = r.units.get(key);
    if (!u) {
      u = newUnit({
        key, ns: ns.name, mode: 'fast-open', name: m.name, version: m.version, digest: m.digest,
        manifestFile: manifestPath(ns.store, m.name, m.version), graphPath: graphPath(ns.store, m.graph.sha256),
        files: filesOf(ns.store, m.graph, m.tensors),
      }, now());
      r.units.set(key, u);
    }
    return u;
  }

  function variantUnit(ns: Namespace, m: Pick<Manifest, 'name' | 'version'>, v: VariantManifest, key: string): Unit {
    const ukey = variantUnitKey(ns.name, v.modelDigest, key);
    let u = r.units.get(ukey);
    if (!u) {
      u = newUnit({
        key: ukey, ns: ns.name, mode: 'fast-run', name: m.name, version: m.version, digest: v.modelDigest,
        manifestFile: variantPath(ns.store, v.modelDigest, key), graphPath: graphPath(ns.store, v.graph.sha256),
        files: filesOf(ns.store, v.graph, v.tensors),
      }, now());
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
      if (e) { e.hits++; e.lastUse = t; }
    }
  }

  // ---- admission and eviction (inside storeOp) ---------------------------

  async function evictUnits(victims: Unit[], reason: string): Promise<number> {
    // Update the picture first, synchronously: an open arriving during the
    // deletes sees the units as not resident and queues behind this op.
    const work = victims.map((u) => {
      const c = ctx();
      r.inflation = pol.onEvict(toCandidate(u), c);
      return { u, files: removeResident(r, u) };
    });
    let total = 0;
    for (const { u, files } of work) {
      const id = ++opSeq;
      const res = await trace.span('evict', `evict-${id}`, () => evictResident(nsOf(u).store, u.manifestFile, files.map((f) => f.path)), { model: unitName(u), mode: u.mode, reason });
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
      throw new TensorshareError('ERR_RESOURCE_EXHAUSTED',
        `cannot make ${unitName(u)} (${u.mode}) resident: it needs ${formatBytes(need)} (${need} bytes) more but only ${formatBytes(plan.available)} (${plan.available} bytes) is free ` +
        `in the store budget of ${formatBytes(budget)} (${formatBytes(used)} used; ${formatBytes(plan.reclaimable)} could be evicted, the rest is leased or pinned)`,
        { need, free: plan.available, budget, used, reclaimable: plan.reclaimable });
    }
    if (plan.victims.length) await evictUnits(plan.victims, 'pressure');
  }

  /** Makes a unit resident (one materialization however many callers wait). */
  async function ensureResident(u: Unit, copy: () => Promise<unknown>): Promise<{ wasResident: boolean; waitMs: number }> {
    if (u.resident) return { wasResident: true, waitMs: 0 };
    const t0 = performance.now();
    await singleFlight(`materialize:${u.key}`, () => storeOp(async () => {
      if (u.resident) return;
      const need = missingBytes(r, u);
      await admit(u, need);
      const t = performance.now();
      try {
        await trace.span('materialize', `mat-${++opSeq}`, copy, { model: unitName(u), mode: u.mode, bytes: need });
      } catch (e) {
        if (isTensorshareError(e, 'ERR_NO_SPACE')) {
          const free = await freeBytes(nsOf(u).store.root).catch(() => 0);
          throw new TensorshareError('ERR_RESOURCE_EXHAUSTED',
            `cannot make ${unitName(u)} resident: it needs ${formatBytes(need)} (${need} bytes) but the store file system has only ${formatBytes(free)} (${free} bytes) free`,
            { need, free }, { cause: e });
        }
        throw e;
      }
      u.costMs = performance.now() - t;
      addResident(r, u, now());
      counters.materializations++;
      log.info({ model: unitName(u), mode: u.mode, bytes: need, ms: Math.round(u.costMs) }, 'materialized');
    }));
    return { wasResident: false, waitMs: performance.now() - t0 };
  }

  function maybeExpire(u: Unit): void {
    if (stopped || isReferenced(u) || !u.resident || !pol.expired(toCandidate(u), ctx())) return;
    storeOp(async () => {
      if (isReferenced(u) || !u.resident || !pol.expired(toCandidate(u), ctx())) return;
      await evictUnits([u], 'expired');
      await persist();
    }).catch((e) => log.error({ err: e, model: unitName(u) }, 'eviction failed'));
  }

  /** A unit of the model in the mode, resident, with one pending reference the caller must drop. */
  async function acquire(ns: Namespace, m: Manifest, mode: OpenMode): Promise<{ unit: Unit; variant?: VariantManifest; wasResident: boolean; waitMs: number; served?: OpenMode }> {
    if (mode === 'fast-open') {
      const unit = modelUnit(ns, m);
      unit.pending++;
      try {
        return { unit, ...(await ensureResident(unit, () => materialize(ns.repo, ns.store, m))) };
      } catch (e) {
        unit.pending--;
        maybeExpire(unit);
        throw e;
      }
    }
    const t0 = performance.now();
    let variant = await findFastRun(ns.repo, m.digest);
    const built = !variant;
    if (!variant) variant = await buildVariant(ns, m);
    // No usable variant (its manifest says why): serve the model's fast-open files.
    if (variant.status !== 'ok') return { ...(await acquire(ns, m, 'fast-open')), variant, served: 'fast-open' };
    const key = fastRunKey(variant.ortVersion, variant.target);
    const unit = variantUnit(ns, m, variant, key);
    unit.pending++;
    try {
      const res = await ensureResident(unit, () => materializeVariant(ns.repo, ns.store, variant, key));
      return { unit, variant, wasResident: res.wasResident && !built, waitMs: performance.now() - t0 };
    } catch (e) {
      unit.pending--;
      maybeExpire(unit);
      throw e;
    }
  }

  /** Builds the fast-run variant into the repository (once, however many callers). */
  function buildVariant(ns: Namespace, m: Manifest): Promise<VariantManifest> {
    return singleFlight(`build:${ns.name}:${m.digest}`, async () => {
      const existing = await findFastRun(ns.repo, m.digest);
      if (existing) return existing;
      const base = await acquire(ns, m, 'fast-open');
      try {
        const res = await trace.span('build-fast-run', `build-${++opSeq}`, () => buildFastRun(ns.repo, ns.store, m), { model: displayName(ns.name, m.name, m.version) });
        if (res.built) {
          counters.fastRunBuilds++;
          log.info({ model: displayName(ns.name, m.name, m.version), ms: res.variant.buildMs }, 'built fast-run variant');
        }
        return res.variant;
      } finally {
        base.unit.pending--;
        maybeExpire(base.unit);
      }
    });
  }

  // ---- leases ------------------------------------------------------------

  function releaseLease(l: LeaseRec): void {
    leases.delete(l.id);
    attachments.get(l.attachmentId)?.leases.delete(l.id);
    const u = r.units.get(l.unitKey);
    if (!u) return;
    u.leases = Math.max(0, u.leases - 1);
    u.lastRelease = u.lastUse = now();
    trace.instant('close', { lease: l.id, model: l.model });
    maybeExpire(u);
  }

  function releaseAttachment(a: Attachment, why: string): void {
    attachments.delete(a.id);
    if (a.leases.size) log.info({ client: a.clientName, pid: a.pid, leases: a.leases.size, why }, 'released leases');
    for (const id of [...a.leases]) {
      const l = leases.get(id);
      if (l) releaseLease(l);
    }
    void persist();
  }

  /** Detached attachments: release once their process is gone (or, if it cannot be checked, after the grace). */
  function checkDetached(): void {
    for (const a of [...attachments.values()]) {
      if (!a.detached) continue;
      const st = processState(a.pid, a.pidStart);
      if (st === 'dead') releaseAttachment(a, 'client process is gone');
      else if (st === 'unknown' && now() - a.since >= config.restoreGraceMs) releaseAttachment(a, 'not re-registered within the restore grace');
      else if (a.leases.size === 0) attachments.delete(a.id);
    }
  }

  // ---- lifecycle ---------------------------------------------------------

  async function start(): Promise<void> {
    await prepareRoots(config.repository, config.store, nss.values(), config.tenants.length > 0);
    const st = await fs.statfs(config.store);
    budget = resolveBudget(config.budget, st.blocks * st.bsize);
    const saved = await loadState(stateFile);
    const savedUnits = new Map((saved?.units ?? []).map((u) => [u.key, u]));
    const present = new Map<string, { bytes: number; ns: Namespace }>();
    for (const ns of nss.values()) {
      const scan = await scanStore(ns.store, { removeIncomplete: true });
      for (const [p, bytes] of scan.files) present.set(p, { bytes, ns });
      for (const e of scan.resident) {
        let u: Unit;
        if (e.kind === 'model') {
          u = modelUnit(ns, e.manifest);
        } else {
          const key = variantUnitKey(ns.name, e.variant.modelDigest, e.key);
          const s = savedUnits.get(key);
          u = variantUnit(ns, { name: s?.name ?? `@${e.variant.modelDigest.slice(0, 12)}`, version: s?.version ?? e.key }, e.variant, e.key);
        }
        const mt = (await fs.stat(e.manifestFile).catch(() => undefined))?.mtimeMs ?? now();
        addResident(r, u, mt);
        u.lastUse = u.lastRelease = mt;
        const s = savedUnits.get(u.key);
        if (s) Object.assign(u, { opens: s.opens, hits: s.hits, lastUse: s.lastUse, loadedAt: s.loadedAt, lastRelease: s.lastRelease, costMs: s.costMs, priority: s.priority });
        else u.priority = pol.onAccess(toCandidate(u), ctx());
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
    let restored = 0;
    for (const l of saved?.leases ?? []) {
      const u = r.units.get(l.unitKey);
      const state = processState(l.pid, l.pidStart);
      if (!u?.resident || state === 'dead' || !nss.has(u.ns)) continue;
      let a = [...attachments.values()].find((x) => x.detached && x.clientId === l.clientId);
      if (!a) {
        a = { id: randomId(), tenant: l.tenant, pid: l.pid, pidStart: l.pidStart, clientId: l.clientId, clientName: l.clientName, leases: new Set(), detached: true, since: now() };
        attachments.set(a.id, a);
      }
      a.leases.add(l.id);
      leases.set(l.id, { ...l, attachmentId: a.id });
      u.leases++;
      restored++;
    }
    for (const p of saved?.pins ?? []) pins.set(pinKey(p.ns, p.name, p.version, p.mode), p);
    for (const u of r.units.values()) {
      if (u.mode === 'fast-open' && pins.has(pinKey(u.ns, u.name, u.version, u.mode))) u.pinned = true;
    }
    for (const p of pins.values()) {
      const ns = nss.get(p.ns);
      if (!ns) continue;
      if (p.mode === 'fast-run') {
        const m = await resolveModel(ns.repo, { name: p.name, version: p.version }).catch(() => undefined);
        const v = m && (await findFastRun(ns.repo, m.digest));
        const u = v && r.units.get(variantUnitKey(ns.name, v.modelDigest, fastRunKey(v.ortVersion, v.target)));
        if (u?.resident) { u.pinned = true; continue; }
      } else if (r.units.get(modelUnitKey(ns.name, p.name, p.version))?.resident) continue;
      // A pinned model that is not resident (store wiped): bring it back.
      const caller: Caller = { tenant: p.ns, publish: true, visible: [p.ns] };
      void pinIn(caller, ns, p.name, p.version, p.mode).catch((e) => log.warn({ err: e, model: p.name }, 'cannot restore pin'));
    }
    await persist();
    reclaimTimer = setInterval(() => void reclaim().catch((e) => log.error({ err: e }, 'reclaimer failed')), config.reclaimIntervalMs);
    reclaimTimer.unref();
    log.info({ resident: [...r.units.values()].filter((u) => u.resident).length, used: usedBytes(r), budget, restoredLeases: restored, policy: pol.name }, 'state rebuilt');
  }

  /** Periodic: dead restored clients, expired models, budget overrun. */
  function reclaim(): Promise<void> {
    checkDetached();
    return storeOp(async () => {
      const expired = candidates(r).filter((u) => pol.expired(toCandidate(u), ctx()));
      if (expired.length) await evictUnits(expired, 'expired');
      const plan = planEviction(r, pol, ctx(), 0, budget);
      if (plan.ok && plan.victims.length) await evictUnits(plan.victims, 'over budget');
      if (expired.length || (plan.ok && plan.victims.length)) await persist();
    });
  }

  async function stop(): Promise<void> {
    stopped = true;
    if (reclaimTimer) clearInterval(reclaimTimer);
    await storeChain.catch(() => {});
    await persist();
  }

  // ---- API ---------------------------------------------------------------

  async function resolveIn(ns: Namespace, name: string, version: string | undefined, ref: string): Promise<Manifest> {
    try {
      return await resolveModel(ns.repo, { name, version });
    } catch (e) {
      if (isTensorshareError(e, 'ERR_MODEL_NOT_FOUND')) throw notFound(ref);
      throw e;
    }
  }

  async function resolveRef(caller: Caller, ref: string): Promise<{ ns: Namespace; m: Manifest }> {
    const s = scopeRef(caller, ref);
    const ns = readable(nss, caller, s, ref);
    return { ns, m: await resolveIn(ns, s.name, s.version, ref) };
  }

  function attach(caller: Caller, hello: P.Hello): { attachment: Attachment; attached: P.Attached } {
    const a: Attachment = {
      id: randomId(), tenant: caller.tenant, pid: hello.pid, pidStart: readProcStat(hello.pid)?.startTime,
      clientId: hello.clientId, clientName: hello.clientName, leases: new Set(), detached: false, since: now(),
    };
    attachments.set(a.id, a);
    const restored: string[] = [];
    const rejected: P.RejectedLease[] = [];
    const claimed = new Set<string>();
    for (const c of hello.leases) {
      claimed.add(c.leaseId);
      const l = leases.get(c.leaseId);
      if (l) {
        const prev = attachments.get(l.attachmentId);
        // The client id is a random secret of the client object: same id, same client.
        if (l.tenant === caller.tenant && l.clientId === hello.clientId) {
          prev?.leases.delete(l.id);
          l.attachmentId = a.id;
          l.pid = a.pid;
          l.pidStart = a.pidStart;
          a.leases.add(l.id);
          restored.push(l.id);
        } else {
          rejected.push({ leaseId: c.leaseId, reason: 'lease is held by another client' });
        }
        continue;
      }
      // Unknown here (state lost): re-create it if the same files are still resident.
      try {
        const s = scopeRef(caller, c.model);
        const ns = readable(nss, caller, s, c.model);
        const u = [...r.units.values()].find((x) => x.ns === ns.name && x.resident && x.mode === c.mode && x.graphPath.endsWith(`${c.graphSha256}.onnx`) &&
          (x.mode === 'fast-run' || (x.name === s.name && x.version === s.version)));
        if (!u) {
          rejected.push({ leaseId: c.leaseId, reason: 'model is no longer resident' });
          continue;
        }
        const l2: LeaseRec = {
          id: c.leaseId, unitKey: u.key, tenant: caller.tenant, model: c.model, mode: u.mode, graphSha256: c.graphSha256,
          pid: a.pid, pidStart: a.pidStart, clientId: a.clientId, clientName: a.clientName, openedAt: now(), attachmentId: a.id,
        };
        leases.set(l2.id, l2);
        a.leases.add(l2.id);
        u.leases++;
        restored.push(l2.id);
      } catch (e) {
        rejected.push({ leaseId: c.leaseId, reason: (e as Error).message });
      }
    }
    // Leases this client held before but no longer claims: released.
    for (const other of [...attachments.values()]) {
      if (other === a || !other.detached || other.clientId !== hello.clientId || other.tenant !== caller.tenant) continue;
      for (const id of [...other.leases]) if (!claimed.has(id)) releaseLease(leases.get(id)!);
      if (other.leases.size === 0) attachments.delete(other.id);
    }
    if (hello.leases.length) log.info({ client: a.clientName, pid: a.pid, restored: restored.length, rejected: rejected.length }, 're-registered leases');
    void persist();
    return { attachment: a, attached: { attachmentId: a.id, daemonId, restoredLeases: restored, rejectedLeases: rejected } };
  }

  /** The attach stream ended. A live client process keeps its leases until it re-registers or exits. */
  function detach(attachmentId: string): void {
    const a = attachments.get(attachmentId);
    if (!a || a.detached) return;
    if (a.leases.size === 0) {
      attachments.delete(a.id);
      return;
    }
    const st = processState(a.pid, a.pidStart);
    if (st === 'dead') return releaseAttachment(a, 'client disconnected and its process is gone');
    // The stream often ends while the process is still exiting: look again shortly.
    a.detached = true;
    a.since = now();
    log.debug({ client: a.clientName, pid: a.pid, leases: a.leases.size }, 'client detached; holding its leases while its process lives');
    for (const ms of [20, 100, 300, 1000, 2000]) setTimeout(checkDetached, ms).unref();
  }

  async function open(caller: Caller, attachmentId: string, ref: string, modeIn: string): Promise<OpenResult> {
    const a = attachments.get(attachmentId);
    if (!a || a.detached || a.tenant !== caller.tenant) {
      throw new TensorshareError('ERR_PRECONDITION', 'attachment is not active: open an Attach stream first (again after a daemon restart) and pass its attachment id');
    }
    const { ns, m } = await resolveRef(caller, ref);
    const asked = (modeIn || m.defaultMode) as OpenMode;
    const id = ++opSeq;
    return trace.span('open', `open-${id}`, async () => {
      const got = await acquire(ns, m, asked);
      const mode = got.served ?? asked;
      const u = got.unit;
      let lease: LeaseRec;
      try {
        if (!attachments.has(a.id)) throw new TensorshareError('ERR_UNAVAILABLE', 'the client detached while its open was in progress');
        lease = {
          id: randomId(), unitKey: u.key, tenant: caller.tenant, model: displayName(ns.name, m.name, m.version), mode, graphSha256: path.basename(u.graphPath, '.onnx'),
          pid: a.pid, pidStart: a.pidStart, clientId: a.clientId, clientName: a.clientName, openedAt: now(), attachmentId: a.id,
        };
        leases.set(lease.id, lease);
        a.leases.add(lease.id);
        u.leases++;
        u.opens++;
        counters.opens++;
        if (got.wasResident) { u.hits++; counters.hits++; }
        touch(u);
      } finally {
        u.pending--;
        if (!isReferenced(u)) maybeExpire(u);
      }
      await persist();
      if (config.prebuildFastRun && mode === 'fast-open') {
        void findFastRun(ns.repo, m.digest).then((v) => v ?? buildVariant(ns, m)).catch((e) => log.warn({ err: e, model: lease.model }, 'fast-run prebuild failed'));
      }
      log.debug({ lease: lease.id, model: lease.model, mode, wasResident: got.wasResident, waitMs: Math.round(got.waitMs) }, 'open');
      return {
        lease: {
          leaseId: lease.id, model: lease.model, mode, graphPath: u.graphPath, tensorsDir: ns.store.tensors,
          manifestJson: JSON.stringify(m), variantJson: got.variant ? JSON.stringify(got.variant) : '', wasResident: got.wasResident, waitMs: got.waitMs,
        },
      };
    }, { model: ref, mode: asked });
  }

  function close(caller: Caller, leaseId: string): void {
    const l = leases.get(leaseId);
    if (!l || l.tenant !== caller.tenant) throw new TensorshareError('ERR_MODEL_NOT_FOUND', `lease '${leaseId}' not found`);
    releaseLease(l);
    void persist();
  }

  function checkImportName(caller: Caller, full: string, version: string): { ns: Namespace; name: string } {
    let nsName = caller.tenant;
    let name = full;
    if (full.startsWith(`${PUBLIC_NS}/`)) {
      nsName = PUBLIC_NS;
      name = full.slice(PUBLIC_NS.length + 1);
    }
    if (!isValidName(name)) throw new TensorshareError('ERR_INVALID_ARGUMENT', `invalid model name '${full}': use letters, digits, '.', '_' and '-' (at most 128, starting with a letter or digit), optionally after 'public/'`);
    if (version && !isValidVersion(version)) throw new TensorshareError('ERR_INVALID_ARGUMENT', `invalid version '${version}'`);
    return { ns: writable(nss, caller, nsName), name };
  }

  function importResponse(ns: Namespace, res: ImportResult): P.ImportResponse {
    const m = res.manifest;
    return {
      model: displayName(ns.name, m.name, m.version), digest: m.digest, outcome: res.outcome, tensorsAdded: res.tensorsAdded,
      bytesAdded: res.bytesAdded, ms: res.ms, sourceSha256: m.source.sha256,
    };
  }

  async function importPath(caller: Caller, req: P.ImportRequest): Promise<P.ImportResponse> {
    if (!config.pathImport) throw new TensorshareError('ERR_PERMISSION_DENIED', 'Import of a file path is disabled on this daemon (pathImport); send the bytes with Upload');
    if (!path.isAbsolute(req.path)) throw new TensorshareError('ERR_INVALID_ARGUMENT', `path '${req.path}' must be absolute`);
    const { ns, name } = checkImportName(caller, req.name, req.version);
    const res = await trace.span('import', `import-${++opSeq}`, () => importModel(ns.repo.root, req.path, {
      name, version: req.version || undefined, defaultMode: (req.defaultMode || undefined) as OpenMode | undefined,
    }), { name: req.name });
    log.info({ model: displayName(ns.name, res.manifest.name, res.manifest.version), outcome: res.outcome, bytesAdded: res.bytesAdded }, 'imported');
    return importResponse(ns, res);
  }

  async function upload(caller: Caller, header: P.UploadHeader, chunks: AsyncIterable<Buffer>): Promise<P.ImportResponse> {
    const { ns, name } = checkImportName(caller, header.name, header.version);
    if (header.size > config.maxUploadBytes) {
      throw new TensorshareError('ERR_RESOURCE_EXHAUSTED', `upload of ${formatBytes(header.size)} exceeds this daemon's limit of ${formatBytes(config.maxUploadBytes)} (maxUpload)`);
    }
    const staging = await createStaging(ns.repo);
    try {
      const file = path.join(staging, `${name}.onnx`);
      const fh = await fs.open(file, 'w', 0o600);
      const hash = createHash('sha256');
      let size = 0;
      try {
        for await (const c of chunks) {
          size += c.length;
          if (size > header.size) throw new TensorshareError('ERR_INVALID_ARGUMENT', `upload sent more than the ${header.size} bytes its header announced`);
          hash.update(c);
          await fh.write(c);
        }
      } finally {
        await fh.close();
      }
      if (size !== header.size) throw new TensorshareError('ERR_INVALID_ARGUMENT', `upload ended after ${size} of the ${header.size} bytes its header announced`);
      const sha = hash.digest('hex');
      if (header.sha256 && header.sha256 !== sha) throw new TensorshareError('ERR_INVALID_ARGUMENT', `upload's SHA-256 is ${sha}, not ${header.sha256} as announced`);
      const res = await trace.span('import', `import-${++opSeq}`, () => importModel(ns.repo.root, file, {
        name, version: header.version || undefined, defaultMode: (header.defaultMode || undefined) as OpenMode | undefined,
      }), { name: header.name, bytes: size });
      log.info({ model: displayName(ns.name, res.manifest.name, res.manifest.version), outcome: res.outcome, bytes: size }, 'uploaded');
      return importResponse(ns, res);
    } finally {
      await fs.rm(staging, { recursive: true, force: true });
    }
  }

  const modelBytes = (m: Manifest) => m.graph.bytes + uniqueTensors(m.tensors).reduce((a, t) => a + t.bytes, 0);

  function unitsOfModel(ns: Namespace, m: Manifest): Unit[] {
    return [...r.units.values()].filter((u) => u.ns === ns.name && ((u.mode === 'fast-open' && u.name === m.name && u.version === m.version) || (u.mode === 'fast-run' && u.digest === m.digest)));
  }

  async function list(caller: Caller): Promise<P.ListResponse> {
    const models: P.ModelInfo[] = [];
    for (const nsName of caller.visible) {
      const ns = nss.get(nsName);
      if (!ns) continue;
      for (const m of await listModels(ns.repo)) {
        const us = unitsOfModel(ns, m);
        models.push({
          model: displayName(ns.name, m.name, m.version), digest: m.digest, bytes: modelBytes(m), tensors: uniqueTensors(m.tensors).length,
          defaultMode: m.defaultMode, residentModes: [...new Set(us.filter((u) => u.resident).map((u) => u.mode))],
          pinnedModes: [...new Set(us.filter((u) => u.pinned).map((u) => u.mode))],
          leases: [...leases.values()].filter((l) => l.tenant === caller.tenant && l.model === displayName(ns.name, m.name, m.version)).length,
          fastRunBuilt: !!(await findFastRun(ns.repo, m.digest)), sourceSha256: m.source.sha256,
        });
      }
    }
    return { models };
  }

  function stats(caller: Caller, includeTensors: boolean): P.StatsResponse {
    const visible = new Set(caller.visible);
    const units = [...r.units.values()].filter((u) => visible.has(u.ns) && (u.resident || u.opens > 0 || isReferenced(u)));
    let logical = 0;
    let referenced = 0;
    const refFiles = new Set<string>();
    for (const u of r.units.values()) {
      if (u.resident) logical += u.bytes;
      if (u.resident && isReferenced(u)) for (const f of u.files) refFiles.add(f.path);
    }
    for (const p of refFiles) referenced += r.files.get(p)?.bytes ?? 0;
    let leasedLogical = 0;
    for (const l of leases.values()) leasedLogical += r.units.get(l.unitKey)?.bytes ?? 0;
    const used = usedBytes(r);
    const tensors: P.TensorStats[] = [];
    if (includeTensors) {
      for (const f of r.files.values()) {
        const users = [...f.users].map((k) => r.units.get(k)!).filter((u) => u && visible.has(u.ns));
        if (users.length === 0) continue;
        tensors.push({ sha256: f.sha256, bytes: f.bytes, models: users.length, references: users.filter(isReferenced).length, hits: f.hits, lastUseMs: f.lastUse, kind: f.kind });
      }
    }
    return {
      totals: {
        budgetBytes: budget, usedBytes: used, freeBytes: Math.max(0, budget - used), logicalBytes: logical, leasedLogicalBytes: leasedLogical,
        referencedBytes: referenced, policy: pol.name, leases: leases.size, clients: [...attachments.values()].filter((a) => !a.detached).length,
        ...counters, daemonId, uptimeS: (now() - startedAt) / 1000,
      },
      models: units.map((u) => ({
        model: unitName(u), mode: u.mode, resident: u.resident, bytes: u.bytes, exclusiveBytes: u.resident ? exclusiveBytes(r, u) : 0,
        references: u.leases + (u.pinned ? 1 : 0), pinned: u.pinned, opens: u.opens, hits: u.hits, lastUseMs: u.lastUse,
        loadedAtMs: u.loadedAt, materializeMs: u.costMs, priority: u.priority,
      })),
      tensors,
      leases: [...leases.values()].filter((l) => l.tenant === caller.tenant).map((l) => {
        const a = attachments.get(l.attachmentId);
        return { leaseId: l.id, model: l.model, mode: l.mode, attachmentId: a && !a.detached ? a.id : '', pid: l.pid, clientName: l.clientName, openedAtMs: l.openedAt };
      }),
    };
  }

  async function evict(caller: Caller, ref: string): Promise<P.EvictResponse> {
    const { ns, m } = await resolveRef(caller, ref);
    return storeOp(async () => {
      const us = unitsOfModel(ns, m).filter((u) => u.resident);
      const busy = us.filter(isReferenced);
      if (busy.length) {
        const n = busy.reduce((a, u) => a + u.leases, 0);
        throw new TensorshareError('ERR_PRECONDITION', `model '${ref}' is in use (${n} lease${n === 1 ? '' : 's'}${busy.some((u) => u.pinned) ? ', pinned' : ''}); it stays resident`);
      }
      const freed = await evictUnits(us, 'requested');
      await persist();
      return { bytesFreed: freed, evicted: us.length };
    });
  }

  const pinKey = (ns: string, name: string, version: string, mode: string) => `${ns}/${name}:${version}#${mode}`;

  async function pinIn(caller: Caller, ns: Namespace, name: string, version: string, mode: OpenMode): Promise<P.PinResponse> {
    const m = await resolveIn(ns, name, version, displayName(ns.name, name, version));
    const got = await acquire(ns, m, mode);
    got.unit.pinned = true;
    got.unit.pending--;
    pins.set(pinKey(ns.name, m.name, m.version, mode), { ns: ns.name, name: m.name, version: m.version, mode });
    await persist();
    log.info({ model: displayName(ns.name, m.name, m.version), mode, by: caller.tenant }, 'pinned');
    return { model: displayName(ns.name, m.name, m.version), pinned: true };
  }

  async function pin(caller: Caller, ref: string, modeIn: string): Promise<P.PinResponse> {
    const { ns, m } = await resolveRef(caller, ref);
    return pinIn(caller, ns, m.name, m.version, (modeIn || m.defaultMode) as OpenMode);
  }

  async function unpin(caller: Caller, ref: string, modeIn: string): Promise<P.PinResponse> {
    const { ns, m } = await resolveRef(caller, ref);
    const mode = (modeIn || m.defaultMode) as OpenMode;
    pins.delete(pinKey(ns.name, m.name, m.version, mode));
    for (const u of unitsOfModel(ns, m).filter((x) => x.mode === mode && x.pinned)) {
      u.pinned = false;
      u.lastRelease = now();
      maybeExpire(u);
    }
    await persist();
    return { model: displayName(ns.name, m.name, m.version), pinned: false };
  }

  return {
    daemonId, start, stop, reclaim, attach, detach, open, close, importPath, upload, list, stats, evict, pin, unpin,
    /** For tests and the CLI: the current budget in bytes. */
    budget: () => budget,
  };
}
