// The model resource manager: the daemon's API as plain functions over its
// parts -- admission.ts (the store's picture, admission, eviction, single
// flight), leases.ts (clients and their leases), recovery.ts (state file,
// rebuild after a restart) -- plus imports, pins, listings and statistics.
// Transport-free, and it returns domain data: server.ts shapes the wire
// messages.
import fs from 'node:fs/promises';
import path from 'node:path';
import { createHash } from 'node:crypto';
import type { Logger } from 'pino';
import { TensorshareError, isTensorshareError } from '../errors.js';
import { noTracer, type Tracer } from '../trace.js';
import { findFastRun } from '../store/fast-run.js';
import { importModel, type ImportResult } from '../store/import.js';
import { isValidName, isValidVersion } from '../store/layout.js';
import type { Manifest, OpenMode, VariantManifest } from '../store/manifest.js';
import { listModels, resolveModel } from '../store/repository.js';
import { createStaging } from '../store/staging.js';
import { createAdmission, type BeforeMaterialize, type Counters } from './admission.js';
import { createOriginalsKeeper } from './originals-keeper.js';
import { createLeases, randomId, type Attachment, type LeaseRec, type Reattached } from './leases.js';
import { prepareRoots } from './permissions.js';
import { policy as policyByName } from './policy/index.js';
import { pinKey, recover, snapshotWriter } from './recovery.js';
import { exclusiveBytes, isReferenced, usedBytes, type FileEntry, type Unit } from './residency.js';
import type { DaemonConfig } from './settings.js';
import { stateWriter, type PersistedPin } from './state-file.js';
import {
  displayName,
  namespaces,
  notFound,
  PUBLIC_NS,
  readable,
  scopeRef,
  writable,
  type Caller,
  type Namespace,
} from './tenants.js';
import { formatBytes } from '../bytes.js';
import { resolveBudget } from './units.js';
import type * as P from './proto.js';

export { randomId };
export type { Attachment, LeaseRec, Reattached };

export interface ManagerDeps {
  config: DaemonConfig;
  log: Logger;
  now?: () => number;
  trace?: Tracer;
  beforeMaterialize?: BeforeMaterialize;
}

/** An Open's result: the lease and what it makes resident. */
export interface Opened {
  lease: LeaseRec;
  unit: Unit;
  manifest: Manifest;
  /** The fast-run variant the lease maps (fast-run leases only). */
  variant?: VariantManifest;
  tensorsDir: string;
  wasResident: boolean;
  waitMs: number;
}

export interface Imported {
  ns: string;
  result: ImportResult;
}

export interface ListedModel {
  model: string;
  manifest: Manifest;
  residentModes: OpenMode[];
  pinnedModes: OpenMode[];
  leases: number;
  fastRunBuilt: boolean;
}

export interface DaemonStats {
  budget: number;
  used: number;
  logical: number;
  leasedLogical: number;
  referenced: number;
  policy: string;
  leases: number;
  clients: number;
  counters: Counters;
  daemonId: string;
  uptimeS: number;
  units: { unit: Unit; name: string; exclusiveBytes: number }[];
  /** Resident files with the caller-visible units using them (includeTensors only). */
  files: { file: FileEntry; users: Unit[] }[];
  /** The caller's leases, with whether their client is attached now. */
  leaseList: { lease: LeaseRec; attachmentId: string }[];
}

export type Manager = ReturnType<typeof createManager>;

export function createManager(deps: ManagerDeps) {
  const { config, log } = deps;
  const now = deps.now ?? Date.now;
  const trace = deps.trace ?? noTracer;
  const nss = namespaces(config);
  const pol = policyByName(config.policy);
  const pins = new Map<string, PersistedPin>();
  const daemonId = randomId();
  const startedAt = now();
  const stateFile = path.join(config.store, '.daemon', 'state.json');
  const persist = (): Promise<void> => writer.save().catch((e) => log.warn({ err: e }, 'cannot write daemon state'));
  const admission = createAdmission({
    policy: pol,
    namespaces: nss,
    ttlMs: config.ttlMs,
    log,
    trace,
    now,
    persist,
    beforeMaterialize: deps.beforeMaterialize,
  });
  const keeper = createOriginalsKeeper({
    admission,
    namespaces: nss,
    originals: config.originals,
    lingerMs: config.originalsLingerMs,
    log,
    now,
  });
  const leases = createLeases({
    admission,
    namespaces: nss,
    restoreGraceMs: config.restoreGraceMs,
    log,
    trace,
    now,
    persist,
    onRelease: (l) =>
      void keeper.leaseEnded(l.id).catch((e) => log.warn({ err: e, lease: l.id }, 'cannot close a creation window')),
  });
  const snapshotText = snapshotWriter(admission, leases, pins);
  const writer = stateWriter(stateFile, () => snapshotText(now()));
  const r = admission.residency;
  let opSeq = 0;
  let reclaimTimer: NodeJS.Timeout | undefined;
  let originalsTimer: NodeJS.Timeout | undefined;

  async function start(): Promise<void> {
    await prepareRoots(config.repository, config.store, nss.values(), config.tenants.length > 0);
    const st = await fs.statfs(config.store);
    admission.setBudget(resolveBudget(config.budget, st.blocks * st.bsize));
    const { restoredLeases, lostPins } = await recover({
      stateFile,
      namespaces: nss,
      admission,
      leases,
      pins,
      policy: pol,
      log,
      now,
    });
    for (const p of lostPins) {
      // A pinned model that is not resident (store wiped): bring it back.
      const caller: Caller = { tenant: p.ns, publish: true, visible: [p.ns] };
      void pinIn(caller, nss.get(p.ns)!, p.name, p.version, p.mode).catch((e) =>
        log.warn({ err: e, model: p.name }, 'cannot restore pin'),
      );
    }
    await persist();
    reclaimTimer = setInterval(
      () => void reclaim().catch((e) => log.error({ err: e }, 'reclaimer failed')),
      config.reclaimIntervalMs,
    );
    reclaimTimer.unref();
    if (config.originals === 'cut') {
      originalsTimer = setInterval(
        () => void keeper.tick().catch((e) => log.error({ err: e }, 'cutting fast-run originals failed')),
        Math.min(1000, Math.max(50, config.originalsLingerMs / 2)),
      );
      originalsTimer.unref();
    }
    log.info(
      {
        resident: [...r.units.values()].filter((u) => u.resident).length,
        used: usedBytes(r),
        budget: admission.budget(),
        restoredLeases,
        policy: pol.name,
      },
      'state rebuilt',
    );
  }

  /** Periodic: dead restored clients, expired models, budget overrun. */
  async function reclaim(): Promise<void> {
    leases.checkDetached();
    if (await admission.reclaim()) await persist();
  }

  async function stop(): Promise<void> {
    if (reclaimTimer) clearInterval(reclaimTimer);
    if (originalsTimer) clearInterval(originalsTimer);
    keeper.stop();
    await admission.stop();
    await persist();
  }

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

  /** `ownWindow`: the client brackets its fast-run creations with windows itself (or creates none). */
  async function open(
    caller: Caller,
    attachmentId: string,
    ref: string,
    modeIn: string,
    ownWindow = false,
  ): Promise<Opened> {
    const a = leases.attachments.get(attachmentId);
    if (!a || a.detached || a.tenant !== caller.tenant) {
      throw new TensorshareError(
        'ERR_PRECONDITION',
        'attachment is not active: open an Attach stream first (again after a daemon restart) and pass its attachment id',
      );
    }
    const { ns, m } = await resolveRef(caller, ref);
    const asked = (modeIn || m.defaultMode) as OpenMode;
    return trace.span(
      'open',
      `open-${++opSeq}`,
      async () => {
        const got = await admission.acquire(ns, m, asked, caller.credential);
        const u = got.unit;
        let lease: LeaseRec;
        try {
          if (!leases.attachments.has(a.id))
            throw new TensorshareError('ERR_UNAVAILABLE', 'the client detached while its open was in progress');
          lease = leases.grant(a, u, {
            tenant: caller.tenant,
            model: displayName(ns.name, m.name, m.version),
            mode: got.mode,
            graphSha256: path.basename(u.graphPath, '.onnx'),
          });
          u.opens++;
          admission.counters.opens++;
          if (got.wasResident) {
            u.hits++;
            admission.counters.hits++;
          }
          admission.touch(u);
          // Fast-run: the originals ORT reads while the client creates its session are whole
          // (restored) before the answer, and stay for the lease unless the client opens its own windows.
          await keeper.leaseOpened(lease.id, u, a.pid, ownWindow).catch((e) => {
            leases.release(lease);
            throw e;
          });
        } finally {
          admission.drop(u);
        }
        await persist();
        if (config.prebuildFastRun && asked === 'fast-open') {
          void findFastRun(ns.repo, m.digest)
            .then((v) => v ?? admission.buildVariant(ns, m))
            .catch((e) => log.warn({ err: e, model: lease.model }, 'fast-run prebuild failed'));
        }
        log.debug(
          {
            lease: lease.id,
            model: lease.model,
            mode: got.mode,
            wasResident: got.wasResident,
            waitMs: Math.round(got.waitMs),
          },
          'open',
        );
        return {
          lease,
          unit: u,
          manifest: m,
          variant: got.variant,
          tensorsDir: ns.store.tensors,
          wasResident: got.wasResident,
          waitMs: got.waitMs,
        };
      },
      { model: ref, mode: asked },
    );
  }

  function close(caller: Caller, leaseId: string): void {
    const l = leases.leases.get(leaseId);
    if (!l || l.tenant !== caller.tenant)
      throw new TensorshareError('ERR_MODEL_NOT_FOUND', `lease '${leaseId}' not found`);
    leases.release(l);
    writer.saveSoon(); // a release lost in a crash only keeps the files longer: written with the next change
  }

  function checkImportName(caller: Caller, full: string, version: string): { ns: Namespace; name: string } {
    let nsName = caller.tenant;
    let name = full;
    if (full.startsWith(`${PUBLIC_NS}/`)) {
      nsName = PUBLIC_NS;
      name = full.slice(PUBLIC_NS.length + 1);
    }
    if (!isValidName(name))
      throw new TensorshareError(
        'ERR_INVALID_ARGUMENT',
        `invalid model name '${full}': use letters, digits, '.', '_' and '-' (at most 128, starting with a letter or digit), optionally after 'public/'`,
      );
    if (version && !isValidVersion(version))
      throw new TensorshareError('ERR_INVALID_ARGUMENT', `invalid version '${version}'`);
    return { ns: writable(nss, caller, nsName), name };
  }

  async function importPath(caller: Caller, req: P.ImportRequest): Promise<Imported> {
    if (!config.pathImport)
      throw new TensorshareError(
        'ERR_PERMISSION_DENIED',
        'Import of a file path is disabled on this daemon (pathImport); send the bytes with Upload',
      );
    if (!path.isAbsolute(req.path))
      throw new TensorshareError('ERR_INVALID_ARGUMENT', `path '${req.path}' must be absolute`);
    const { ns, name } = checkImportName(caller, req.name, req.version);
    const res = await trace.span(
      'import',
      `import-${++opSeq}`,
      () =>
        importModel(ns.repo.root, req.path, {
          name,
          version: req.version || undefined,
          defaultMode: (req.defaultMode || undefined) as OpenMode | undefined,
          hashSource: true, // ImportResponse/ModelInfo report it; the client hook checks models by it
        }),
      { name: req.name },
    );
    log.info(
      {
        model: displayName(ns.name, res.manifest.name, res.manifest.version),
        outcome: res.outcome,
        bytesAdded: res.bytesAdded,
      },
      'imported',
    );
    return { ns: ns.name, result: res };
  }

  async function upload(caller: Caller, header: P.UploadHeader, chunks: AsyncIterable<Buffer>): Promise<Imported> {
    const { ns, name } = checkImportName(caller, header.name, header.version);
    if (header.size > config.maxUploadBytes) {
      throw new TensorshareError(
        'ERR_RESOURCE_EXHAUSTED',
        `upload of ${formatBytes(header.size)} exceeds this daemon's limit of ${formatBytes(config.maxUploadBytes)} (maxUpload)`,
      );
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
          if (size > header.size)
            throw new TensorshareError(
              'ERR_INVALID_ARGUMENT',
              `upload sent more than the ${header.size} bytes its header announced`,
            );
          hash.update(c);
          await fh.write(c);
        }
      } finally {
        await fh.close();
      }
      if (size !== header.size)
        throw new TensorshareError(
          'ERR_INVALID_ARGUMENT',
          `upload ended after ${size} of the ${header.size} bytes its header announced`,
        );
      const sha = hash.digest('hex');
      if (header.sha256 && header.sha256 !== sha)
        throw new TensorshareError(
          'ERR_INVALID_ARGUMENT',
          `upload's SHA-256 is ${sha}, not ${header.sha256} as announced`,
        );
      const res = await trace.span(
        'import',
        `import-${++opSeq}`,
        () =>
          importModel(ns.repo.root, file, {
            name,
            version: header.version || undefined,
            defaultMode: (header.defaultMode || undefined) as OpenMode | undefined,
            hashSource: true,
          }),
        { name: header.name, bytes: size },
      );
      log.info(
        { model: displayName(ns.name, res.manifest.name, res.manifest.version), outcome: res.outcome, bytes: size },
        'uploaded',
      );
      return { ns: ns.name, result: res };
    } finally {
      await fs.rm(staging, { recursive: true, force: true });
    }
  }

  async function list(caller: Caller): Promise<ListedModel[]> {
    const models: ListedModel[] = [];
    for (const nsName of caller.visible) {
      const ns = nss.get(nsName);
      if (!ns) continue;
      for (const m of await listModels(ns.repo)) {
        const us = admission.unitsOfModel(ns, m);
        const model = displayName(ns.name, m.name, m.version);
        models.push({
          model,
          manifest: m,
          residentModes: [...new Set(us.filter((u) => u.resident).map((u) => u.mode))],
          pinnedModes: [...new Set(us.filter((u) => u.pinned).map((u) => u.mode))],
          leases: [...leases.leases.values()].filter((l) => l.tenant === caller.tenant && l.model === model).length,
          fastRunBuilt: !!(await findFastRun(ns.repo, m.digest)),
        });
      }
    }
    return models;
  }

  function stats(caller: Caller, includeTensors: boolean): DaemonStats {
    const visible = new Set(caller.visible);
    const units = [...r.units.values()].filter(
      (u) => visible.has(u.ns) && (u.resident || u.opens > 0 || isReferenced(u)),
    );
    let logical = 0;
    let referenced = 0;
    const refFiles = new Set<string>();
    for (const u of r.units.values()) {
      if (u.resident) logical += u.bytes;
      if (u.resident && isReferenced(u)) for (const f of u.files) refFiles.add(f.path);
    }
    for (const p of refFiles) referenced += r.files.get(p)?.bytes ?? 0;
    let leasedLogical = 0;
    for (const l of leases.leases.values()) leasedLogical += r.units.get(l.unitKey)?.bytes ?? 0;
    const files: DaemonStats['files'] = [];
    if (includeTensors) {
      for (const f of r.files.values()) {
        const users = [...f.users].map((k) => r.units.get(k)!).filter((u) => u && visible.has(u.ns));
        if (users.length) files.push({ file: f, users });
      }
    }
    return {
      budget: admission.budget(),
      used: usedBytes(r),
      logical,
      leasedLogical,
      referenced,
      policy: pol.name,
      leases: leases.leases.size,
      clients: [...leases.attachments.values()].filter((a) => !a.detached).length,
      counters: { ...admission.counters },
      daemonId,
      uptimeS: (now() - startedAt) / 1000,
      units: units.map((u) => ({
        unit: u,
        name: admission.unitName(u),
        exclusiveBytes: u.resident ? exclusiveBytes(r, u) : 0,
      })),
      files,
      leaseList: [...leases.leases.values()]
        .filter((l) => l.tenant === caller.tenant)
        .map((l) => {
          const a = leases.attachments.get(l.attachmentId);
          return { lease: l, attachmentId: a && !a.detached ? a.id : '' };
        }),
    };
  }

  async function evict(caller: Caller, ref: string): Promise<{ bytesFreed: number; evicted: number }> {
    const { ns, m } = await resolveRef(caller, ref);
    return admission.storeOp(async () => {
      const us = admission.unitsOfModel(ns, m).filter((u) => u.resident);
      const busy = us.filter(isReferenced);
      if (busy.length) {
        const n = busy.reduce((a, u) => a + u.leases, 0);
        throw new TensorshareError(
          'ERR_PRECONDITION',
          `model '${ref}' is in use (${n} lease${n === 1 ? '' : 's'}${busy.some((u) => u.pinned) ? ', pinned' : ''}); it stays resident`,
        );
      }
      const freed = await admission.evictUnits(us, 'requested');
      await persist();
      return { bytesFreed: freed, evicted: us.length };
    });
  }

  async function pinIn(
    caller: Caller,
    ns: Namespace,
    name: string,
    version: string,
    mode: OpenMode,
  ): Promise<{ model: string; pinned: boolean }> {
    const m = await resolveIn(ns, name, version, displayName(ns.name, name, version));
    const got = await admission.acquire(ns, m, mode, caller.credential);
    got.unit.pinned = true;
    got.unit.pending--;
    // Under the mode that is resident (fast-run falls back to fast-open without a loadable variant).
    pins.set(pinKey(ns.name, m.name, m.version, got.mode), {
      ns: ns.name,
      name: m.name,
      version: m.version,
      mode: got.mode,
    });
    await persist();
    log.info({ model: displayName(ns.name, m.name, m.version), mode, by: caller.tenant }, 'pinned');
    return { model: displayName(ns.name, m.name, m.version), pinned: true };
  }

  async function pin(caller: Caller, ref: string, modeIn: string): Promise<{ model: string; pinned: boolean }> {
    const { ns, m } = await resolveRef(caller, ref);
    return pinIn(caller, ns, m.name, m.version, (modeIn || m.defaultMode) as OpenMode);
  }

  async function unpin(caller: Caller, ref: string, modeIn: string): Promise<{ model: string; pinned: boolean }> {
    const { ns, m } = await resolveRef(caller, ref);
    const asked = (modeIn || m.defaultMode) as OpenMode;
    // As pin() recorded it: fast-run of a model without a loadable variant pinned its fast-open files.
    const variant = asked === 'fast-run' ? await findFastRun(ns.repo, m.digest) : undefined;
    const mode = variant && variant.status !== 'ok' ? 'fast-open' : asked;
    pins.delete(pinKey(ns.name, m.name, m.version, mode));
    for (const u of admission.unitsOfModel(ns, m).filter((x) => x.mode === mode && x.pinned)) {
      u.pinned = false;
      u.lastRelease = now();
      admission.maybeExpire(u);
    }
    await persist();
    return { model: displayName(ns.name, m.name, m.version), pinned: false };
  }

  return {
    daemonId,
    start,
    stop,
    reclaim,
    open,
    close,
    importPath,
    upload,
    list,
    stats,
    evict,
    pin,
    unpin,
    attach: leases.attach,
    detach: leases.detach,
    /** The fast-run originals' cutter (tests drive its tick). */
    originals: keeper,
    /** For tests and the CLI: the current budget in bytes. */
    budget: admission.budget,
    /** For the device tier (device-tier.ts): store residency and model resolution. */
    admission,
    resolveRef,
    policy: pol,
  };
}
