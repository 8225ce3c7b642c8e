// The GPU tier of the resource manager: one executor process per device
// (src/device/executor-child.ts), started, supervised and restarted here,
// and the daemon's decisions about what is resident on each device. A model
// goes onto a device from the host store (the store unit stays referenced
// while the model is on the device; evicted from the device, it stays in the
// store), once however many clients open it. Admission counts each model's
// bytes (the manifest's estimate until the executor has measured device
// memory before and after load and after a run at the largest batch) against
// the device's budget and evicts unused models with the daemon's policy.
// Device operations (load, unload, restart) run one at a time per device.
// With several devices, a client that names none is placed here: on a device
// that holds the model (the least busy replica), else by best fit of its
// bytes beside what each device holds (sched/packing.ts); a model whose
// queue stays long gets a replica on a further device, loaded from the host
// store, and gives it back when its queue stays empty (sched/replicas.ts).
import fs from 'node:fs';
import fsp from 'node:fs/promises';
import path from 'node:path';
import type { Logger } from 'pino';
import { formatBytes } from '../bytes.js';
import { TensorshareError, isTensorshareError } from '../errors.js';
import { startExecutor, type ExecutorHandle } from '../device/executor-process.js';
import type { DeviceSpec } from '../device/memory.js';
import {
  executorSocket,
  type ExecutorTier,
  type DeviceInfo,
  type DeviceStatus,
  type DevicesStatus,
  type ExecutorStats,
  type ControlAction,
  type ModelIo,
  type WireError,
} from '../device/protocol.js';
import { regionFolder, sweepRegionFolders } from '../device/transfer.js';
import { pidAlive } from '../store/staging.js';
import { modelDir } from '../store/layout.js';
import type { CpuSetting } from '../device/cpu-list.js';
import type { DevicePolicy } from '../sched/device-policy.js';
import { type PackModel, type Placement, placeOne } from '../sched/packing.js';
import {
  type ReplicaConfig,
  type ReplicaState,
  checkReplicaConfig,
  initialReplicaState,
  replicaStep,
} from '../sched/replicas.js';
import type { Manifest } from '../store/manifest.js';
import type { Admission } from './admission.js';
import { readRecord, writeRecord, type DevicesRecord } from './device-record.js';
import {
  deviceUsed,
  expiredOnDevice,
  inUse,
  planDeviceEviction,
  toDeviceCandidate,
  type DeviceModel,
} from './device-residency.js';
import type { Policy, PolicyContext } from './policy/index.js';
import type { Unit } from './residency.js';
import type { TenantSpec } from './settings.js';
import { authenticate, displayName, type Caller, type Namespace } from './tenants.js';
import { resolveBudget, type Budget } from './units.js';

export interface DeviceTierOptions {
  devices: DeviceSpec[];
  provider: 'cuda' | 'cpu';
  /** Whose executors: the GPUs' (default) or the daemon's CPU executor; names their sockets. */
  tier?: ExecutorTier;
  budget: Budget;
  maxBatchSize: number;
  /** How each executor shares its device between resident models (default pack). */
  devicePolicy?: DevicePolicy;
  /** Where each executor's threads run (default auto: its GPU's local CPUs). */
  cpus?: CpuSetting;
  /** How long an executor's session thread polls for its next run after an answer, ms (default 2). */
  spinMs?: number;
  /** ORT intra-op threads of each executor session (default 1; the CPU executor: `cpuExecutorThreads`). */
  intraOpThreads?: number;
  /** Replicas of a model on further devices by its queue (default: none). */
  replicas?: ReplicaConfig;
  /** How often replica pressure is sampled, ms (default 1000: the executors' stats period). */
  replicaIntervalMs?: number;
  daemonSocket: string;
  /** The daemon socket's mode and group: executor sockets get the same, so whoever may reach the daemon may reach its devices. */
  socketMode: number;
  socketGroup?: number;
  /** <store>/.daemon/devices.json */
  statusFile: string;
  /** <store>/.daemon/devices-resident.json: what was resident, restored at the next start (device-record.ts). */
  recordFile?: string;
  policy: Policy;
  ttlMs: number;
  reclaimIntervalMs: number;
  tenants: readonly TenantSpec[];
  admission: Admission;
  resolveRef(caller: Caller, ref: string): Promise<{ ns: Namespace; m: Manifest }>;
  log: Logger;
  now: () => number;
  initialBackoffMs?: number;
  maxBackoffMs?: number;
  healthyAfterMs?: number;
  /** Start attempts in a row that may fail before the device is marked failed. */
  maxStartFailures?: number;
}

interface Entry extends DeviceModel {
  ns: Namespace;
  manifest: Manifest;
  unit?: Unit;
  io: ModelIo;
}

interface Device {
  spec: DeviceSpec;
  socket: string;
  executor?: ExecutorHandle;
  state: DeviceStatus['state'];
  failure?: string;
  info?: DeviceInfo;
  budget: number;
  models: Map<string, Entry>;
  /** Measured bytes of models that were on this device, for the next admission. */
  measuredBytes: Map<string, number>;
  chain: Promise<unknown>;
  restarts: number;
  crashesInARow: number;
  startedAt: number;
  stats?: ExecutorStats;
  /** Device loads the daemon asked for (a model already resident is never loaded again). */
  loads: number;
  /** Models whose inputs, outputs and manifest this executor process was sent (it keeps them; opens then carry a key). */
  ioSent: Set<string>;
}

/** A resolved reference, kept while the folders it was read from are unchanged. */
interface Resolved {
  ns: Namespace;
  m: Manifest;
  /** The model's folder and the namespace's models folder, and their mtimes: an import or removal renames files there. */
  dirs: { dir: string; mtimeMs: number }[];
}

const MAX_RESOLVED = 1024;

const mtimes = (dirs: readonly string[]) =>
  Promise.all(dirs.map(async (dir) => ({ dir, mtimeMs: (await fsp.stat(dir).catch(() => undefined))?.mtimeMs ?? -1 })));

export type DeviceTier = Awaited<ReturnType<typeof startDeviceTier>>;

/** Estimate of a model's device bytes until measured: its weights as the manifest lists them. */
export function weightBytes(m: Manifest): number {
  const seen = new Set<string>();
  let n = m.embeddedBytes ?? 0;
  for (const t of m.tensors) {
    if (seen.has(t.sha256)) continue;
    seen.add(t.sha256);
    n += t.bytes;
  }
  return n;
}

function wire(e: unknown): WireError {
  if (isTensorshareError(e)) return { code: e.code, message: e.message, details: e.details };
  return { code: 'ERR_INTERNAL', message: (e as Error)?.message ?? String(e) };
}

/** The prefix of the folders the tier's executors write their segments in (transfer.ts regionFolder). */
const EXECUTOR_REGIONS = 'tensorshare-exec';

export async function startDeviceTier(o: DeviceTierOptions) {
  const { log, policy: pol, admission } = o;
  const initialBackoff = o.initialBackoffMs ?? 100;
  const maxBackoff = o.maxBackoffMs ?? 5000;
  const healthyAfter = o.healthyAfterMs ?? 30_000;
  const maxStartFailures = o.maxStartFailures ?? 5;
  // A daemon SIGKILLed (or crashed) before it could remove its folder left it, and any segment its executors had not
  // handed over yet, on tmpfs.
  const swept = sweepRegionFolders(EXECUTOR_REGIONS, pidAlive);
  if (swept.length) log.info({ folders: swept }, 'removed the region folders of daemons that are gone');
  const regionDir = regionFolder(EXECUTOR_REGIONS);
  const devices: Device[] = o.devices.map((spec) => ({
    spec,
    socket: executorSocket(o.daemonSocket, spec.index, o.tier),
    state: 'starting',
    budget: 0,
    models: new Map(),
    measuredBytes: new Map(),
    chain: Promise.resolve(),
    restarts: 0,
    crashesInARow: 0,
    startedAt: 0,
    loads: 0,
    ioSent: new Set(),
  }));
  let closing = false;
  let inflation = 0;
  const ctx = (): PolicyContext => ({ now: o.now(), ttlMs: o.ttlMs, inflation });
  const display = (e: Entry) => e.model;

  function deviceOp<T>(d: Device, fn: () => Promise<T>): Promise<T> {
    const p = d.chain.then(fn);
    d.chain = p.catch(() => {});
    return p;
  }

  // ---- status file ----
  let statusTimer: NodeJS.Timeout | undefined;
  function status(): DevicesStatus {
    return {
      updatedAt: new Date(o.now()).toISOString(),
      devices: devices.map((d) => ({
        index: d.spec.index,
        socket: d.socket,
        state: d.state,
        pid: d.executor?.pid,
        restarts: d.restarts,
        budgetBytes: d.budget,
        device: d.stats?.device ?? d.info,
        queueDepth: d.stats?.queueDepth ?? {},
        batchSizes: d.stats?.batchSizes ?? {},
        loads: d.loads,
        models: [...d.models.values()]
          .filter((e) => e.resident)
          .map((e) => ({
            key: e.key,
            model: e.model,
            bytes: e.bytes,
            measured: !!e.measured,
            persistentBytes: e.measured?.persistentBytes,
            ephemeralBytes: e.measured?.ephemeralBytes,
            loadMs: e.measured ? Math.round(e.measured.loadMs) : undefined,
            clients: e.clients,
            pinned: e.pinned,
          })),
      })),
    };
  }
  function record(): DevicesRecord {
    return {
      format: 'tensorshare.devices-resident/v1',
      devices: devices.map((d) => ({
        index: d.spec.index,
        models: [...d.models.values()]
          .filter((e) => e.resident)
          .map((e) => ({
            ns: e.ns.name,
            name: e.manifest.name,
            version: e.manifest.version,
            pinned: e.pinned,
            measuredBytes: e.measured ? e.bytes : undefined,
          })),
      })),
    };
  }
  function writeRecordFile(): void {
    if (!o.recordFile) return;
    try {
      writeRecord(o.recordFile, record());
    } catch (e) {
      log.warn({ err: e }, 'cannot write the devices residency record');
    }
  }
  function writeStatus(): void {
    writeRecordFile();
    const tmp = `${o.statusFile}.${process.pid}.tmp`;
    try {
      fs.writeFileSync(tmp, JSON.stringify(status(), null, 2), { mode: 0o644 });
      fs.renameSync(tmp, o.statusFile);
    } catch (e) {
      log.warn({ err: e }, 'cannot write the devices status file');
    }
  }
  function changed(): void {
    if (statusTimer || closing) return;
    statusTimer = setTimeout(() => {
      statusTimer = undefined;
      writeStatus();
    }, 100);
    statusTimer.unref();
  }

  // ---- executor lifecycle ----
  function spawn(d: Device): ExecutorHandle {
    d.ioSent = new Set();
    const ex = startExecutor(
      {
        device: d.spec,
        provider: o.provider,
        socket: d.socket,
        socketMode: o.socketMode,
        socketGroup: o.socketGroup,
        regionDir,
        maxBatchSize: o.maxBatchSize,
        policy: o.devicePolicy,
        cpus: o.cpus,
        spinMs: o.spinMs,
        intraOpThreads: o.intraOpThreads,
        // The lanes hold what the daemon's budget gives resident models: admitted work never runs past it.
        laneBudget: o.budget,
      },
      {
        admit: (id, model, token) => void admit(d, ex, id, model, token),
        control: (id, action, model, token, to) => void control(d, ex, id, action, model, token, to),
        release: (key) => release(d, key),
        used: (key) => {
          const e = d.models.get(key);
          if (e) e.lastUse = o.now();
        },
        stats: (s) => {
          d.stats = s;
          changed();
        },
        exit: (how) => onExit(d, ex, how),
      },
    );
    return ex;
  }

  /** Starts the executor, retrying with backoff; after maxStartFailures in a row the device is failed. */
  async function bringUp(d: Device, firstDelay: number): Promise<void> {
    let delay = firstDelay;
    for (let attempt = 1; !closing; attempt++) {
      if (delay) await new Promise((r) => setTimeout(r, delay));
      if (closing) return;
      const ex = spawn(d);
      d.executor = ex;
      try {
        d.info = await ex.ready;
        d.budget = resolveBudget(o.budget, d.info.totalBytes);
        d.state = 'ready';
        d.startedAt = Date.now();
        log.info(
          { device: d.spec.index, name: d.info.name, pid: ex.pid, budget: formatBytes(d.budget), socket: d.socket },
          'device executor ready',
        );
        changed();
        return;
      } catch (e) {
        ex.kill('SIGKILL');
        d.executor = undefined;
        d.failure = (e as Error).message;
        if (attempt >= maxStartFailures) {
          d.state = 'failed';
          log.error({ device: d.spec.index, err: e }, 'the device executor does not start; the device is off');
          changed();
          return;
        }
        delay = Math.min(maxBackoff, initialBackoff * 2 ** (attempt - 1));
        log.error({ device: d.spec.index, err: e, retryInMs: delay }, 'the device executor did not start');
      }
    }
  }

  function onExit(d: Device, ex: ExecutorHandle, how: string): void {
    if (d.executor !== ex) return;
    d.executor = undefined;
    if (closing) return;
    // Its connections died with it: no client holds a model now; they reconnect and open again.
    for (const e of d.models.values()) {
      e.clients = 0;
      if (e.resident) e.loading = true;
    }
    const ranMs = Date.now() - d.startedAt;
    d.crashesInARow = ranMs >= healthyAfter ? 1 : d.crashesInARow + 1;
    const delay = Math.min(maxBackoff, initialBackoff * 2 ** (d.crashesInARow - 1));
    d.state = 'restarting';
    d.restarts++;
    log.error({ device: d.spec.index, how, ranMs, restartInMs: delay }, 'the device executor exited; restarting it');
    changed();
    void deviceOp(d, async () => {
      await bringUp(d, delay);
      await reloadResident(d);
    });
  }

  /** After a restart: loads again every model that was resident, from the store. */
  async function reloadResident(d: Device): Promise<void> {
    for (const e of [...d.models.values()].filter((x) => x.resident)) {
      try {
        if (!d.executor) throw new TensorshareError('ERR_UNAVAILABLE', `device ${d.spec.index} is ${d.state}`);
        e.measured = await d.executor.load(loadRequest(e));
        d.loads++;
        e.loading = false;
        log.info({ device: d.spec.index, model: display(e) }, 'reloaded after executor restart');
      } catch (err) {
        log.error({ device: d.spec.index, model: display(e), err }, 'cannot reload after executor restart');
        forget(d, e);
      }
    }
    changed();
  }

  function loadRequest(e: Entry) {
    return {
      key: e.key,
      model: e.model,
      graph: e.unit!.graphPath,
      tensorsDir: e.ns.store.tensors,
      inputs: e.manifest.inputs,
      outputs: e.manifest.outputs,
      weightBytes: weightBytes(e.manifest),
    };
  }

  /** The model is off the device: the store unit's reference ends. */
  function forget(d: Device, e: Entry): void {
    d.ioSent.delete(e.key);
    e.resident = false;
    e.loading = false;
    d.models.delete(e.key);
    if (e.unit) admission.drop(e.unit);
    e.unit = undefined;
  }

  // ---- residency ----
  async function unload(d: Device, e: Entry, reason: string): Promise<number> {
    inflation = pol.onEvict(toDeviceCandidate(e), ctx());
    forget(d, e);
    const freed = d.executor ? await d.executor.unload(e.key).catch(() => 0) : 0;
    log.info({ device: d.spec.index, model: display(e), reason, bytes: e.bytes, freed }, 'evicted from device');
    changed();
    return freed;
  }

  function entryFor(d: Device, ns: Namespace, m: Manifest): Entry {
    const key = displayName(ns.name, m.name, m.version);
    let e = d.models.get(key);
    if (!e) {
      const t = o.now();
      const estimate = d.measuredBytes.get(key) ?? weightBytes(m);
      e = {
        key,
        model: key,
        ns,
        manifest: m,
        io: { key, model: key, inputs: m.inputs, outputs: m.outputs, manifest: m, wasResident: false },
        bytes: estimate,
        clients: 0,
        pinned: false,
        resident: false,
        loading: false,
        hits: 0,
        lastUse: t,
        loadedAt: t,
        lastRelease: t,
        costMs: 0,
        priority: 0,
      };
    }
    return e;
  }

  /** Makes the model resident on the device (admission, eviction, load) and counts one more holder. */
  async function acquireOn(d: Device, ns: Namespace, m: Manifest, hold: (e: Entry) => void): Promise<Entry> {
    const key = displayName(ns.name, m.name, m.version);
    const have = d.models.get(key);
    if (have?.resident && !have.loading) {
      hold(have);
      return have;
    }
    return deviceOp(d, async () => {
      if (d.state === 'failed' || !d.executor)
        throw new TensorshareError(
          'ERR_UNAVAILABLE',
          `device ${d.spec.index} is not available (${d.state}${d.failure ? `: ${d.failure}` : ''})`,
          { device: d.spec.index },
        );
      const e = entryFor(d, ns, m);
      if (!e.resident) await load(d, e);
      hold(e);
      return e;
    });
  }

  async function load(d: Device, e: Entry): Promise<void> {
    const got = await admission.acquire(e.ns, e.manifest, 'fast-open');
    const need = e.bytes;
    const plan = planDeviceEviction([...d.models.values()], pol, ctx(), need, d.budget);
    if (!plan.ok) {
      admission.drop(got.unit);
      throw new TensorshareError(
        'ERR_RESOURCE_EXHAUSTED',
        `cannot load ${e.model} onto device ${d.spec.index}: it needs ${formatBytes(need)} (${need} bytes) but only ${formatBytes(plan.free)} (${plan.free} bytes) is free ` +
          `in the device budget of ${formatBytes(d.budget)} (${formatBytes(plan.used)} used; ${formatBytes(plan.reclaimable)} could be evicted, the rest is in use or pinned)`,
        {
          need,
          free: plan.free,
          budget: d.budget,
          used: plan.used,
          reclaimable: plan.reclaimable,
          device: d.spec.index,
        },
      );
    }
    for (const v of plan.victims) await unload(d, v as Entry, 'pressure');
    e.unit = got.unit;
    e.loading = true;
    d.models.set(e.key, e);
    try {
      const measured = await d.executor!.load(loadRequest(e));
      d.loads++;
      e.measured = measured;
      const bytes = measured.persistentBytes + measured.ephemeralBytes;
      if (bytes > 0) e.bytes = bytes;
      d.measuredBytes.set(e.key, e.bytes);
      e.resident = true;
      e.loading = false;
      e.loadedAt = o.now();
      e.costMs = measured.loadMs;
      e.priority = pol.onAccess(toDeviceCandidate(e), ctx());
      log.info(
        {
          device: d.spec.index,
          model: e.model,
          persistent: measured.persistentBytes,
          ephemeral: measured.ephemeralBytes,
          ms: Math.round(measured.loadMs),
        },
        'loaded onto device',
      );
      changed();
    } catch (err) {
      forget(d, e);
      if (isTensorshareError(err, 'ERR_RESOURCE_EXHAUSTED'))
        throw new TensorshareError(
          'ERR_RESOURCE_EXHAUSTED',
          `cannot load ${e.model} onto device ${d.spec.index}: ${err.message} (needed about ${formatBytes(need)})`,
          { ...err.details, need },
          { cause: err },
        );
      throw err;
    }
  }

  // ---- opens ----
  // An open of a resident model is the hot path of the tier (TrIMS): its reference is resolved from the repository
  // once, then again only when the folders it was read from change (a stat each, no manifest read and parse).
  const resolved = new Map<string, Resolved>();
  async function resolveCached(caller: Caller, ref: string): Promise<{ ns: Namespace; m: Manifest }> {
    const k = `${caller.tenant}\0${ref}`;
    const hit = resolved.get(k);
    if (hit) {
      const now = await mtimes(hit.dirs.map((x) => x.dir));
      if (now.every((x, i) => x.mtimeMs === hit.dirs[i]!.mtimeMs && x.mtimeMs >= 0)) return hit;
      resolved.delete(k);
    }
    const r = await o.resolveRef(caller, ref);
    const names = [modelDir(r.ns.repo, r.m.name), r.ns.repo.models];
    const dirs = await mtimes(names);
    // Kept only if a resolution after those times still gives it: an import landing before the times were read
    // would otherwise be hidden behind them.
    const again = await o.resolveRef(caller, ref);
    if (again.m.digest === r.m.digest && again.ns.name === r.ns.name) {
      if (resolved.size >= MAX_RESOLVED) resolved.clear();
      resolved.set(k, { ...r, dirs });
    }
    return r;
  }

  async function admit(
    d: Device,
    ex: ExecutorHandle,
    id: number,
    ref: string,
    token: string | undefined,
  ): Promise<void> {
    try {
      const caller = authenticate(o.tenants, token);
      if (!caller) throw new TensorshareError('ERR_UNAUTHENTICATED', 'missing or unknown token');
      const { ns, m } = await resolveCached(caller, ref);
      let wasResident = false;
      const e = await acquireOn(d, ns, m, (x) => {
        wasResident = x.hits > 0;
        x.clients++;
        x.hits++;
        x.lastUse = o.now();
      });
      changed();
      const sent = d.ioSent.has(e.key);
      d.ioSent.add(e.key);
      ex.answerAdmit(id, { ok: true, key: e.key, wasResident, io: sent ? undefined : e.io });
    } catch (err) {
      ex.answerAdmit(id, { ok: false, error: wire(err) });
    }
  }

  async function control(
    d: Device,
    ex: ExecutorHandle,
    id: number,
    action: ControlAction,
    ref: string,
    token: string | undefined,
    to?: number,
  ): Promise<void> {
    try {
      const caller = authenticate(o.tenants, token);
      if (!caller) throw new TensorshareError('ERR_UNAUTHENTICATED', 'missing or unknown token');
      if (action === 'move') {
        if (!(Number.isSafeInteger(to) && to! >= 0))
          throw new TensorshareError('ERR_INVALID_ARGUMENT', `move needs a target device index, got ${String(to)}`);
        if (to === d.spec.index)
          throw new TensorshareError('ERR_INVALID_ARGUMENT', `model '${ref}' is on device ${to} already`);
        ex.answerControl(id, { ok: true, ...(await move(caller, ref, d.spec.index, to!)) });
      } else if (action === 'place') {
        ex.answerControl(id, { ok: true, device: await place(caller, ref) });
      } else if (action === 'evict') {
        const freedBytes = await evict(caller, ref, d.spec.index);
        ex.answerControl(id, { ok: true, freedBytes });
      } else if (action === 'pin' || action === 'unpin') {
        await (action === 'pin' ? pin : unpin)(caller, ref, d.spec.index);
        ex.answerControl(id, { ok: true });
      } else
        throw new TensorshareError(
          'ERR_INVALID_ARGUMENT',
          `unknown device control '${String(action)}': expected pin, unpin, evict, place or move`,
        );
    } catch (err) {
      ex.answerControl(id, { ok: false, error: wire(err) });
    }
  }

  /** Pins a model on a device (loaded now if it is not): it is never evicted until unpinned. */
  async function pin(caller: Caller, ref: string, index: number): Promise<void> {
    const { ns, m } = await o.resolveRef(caller, ref);
    await acquireOn(byIndex(index), ns, m, (e) => {
      e.pinned = true;
    });
    changed();
  }

  async function unpin(caller: Caller, ref: string, index: number): Promise<void> {
    const { ns, m } = await o.resolveRef(caller, ref);
    const d = byIndex(index);
    const e = d.models.get(displayName(ns.name, m.name, m.version));
    if (e) {
      e.pinned = false;
      e.lastRelease = o.now();
    }
    changed();
  }

  /** Unloads a model nothing uses from a device (it stays in the host store); the bytes it held. */
  async function evict(caller: Caller, ref: string, index: number): Promise<number> {
    const { ns, m } = await o.resolveRef(caller, ref);
    const d = byIndex(index);
    return deviceOp(d, async () => {
      const e = d.models.get(displayName(ns.name, m.name, m.version));
      if (!e?.resident) return 0;
      if (inUse(e))
        throw new TensorshareError(
          'ERR_PRECONDITION',
          `model '${ref}' is in use on device ${index} (${e.clients} client${e.clients === 1 ? '' : 's'}${e.pinned ? ', pinned' : ''}); it stays`,
        );
      return unload(d, e, 'requested');
    });
  }

  function release(d: Device, key: string): void {
    const e = d.models.get(key);
    if (!e || e.clients === 0) return;
    e.clients--;
    e.lastRelease = o.now();
    e.lastUse = e.lastRelease;
    changed();
    if (!inUse(e) && e.resident && pol.expired(toDeviceCandidate(e), ctx()))
      void deviceOp(d, async () => {
        if (!inUse(e) && e.resident && d.models.get(key) === e) await unload(d, e, 'expired');
      });
  }

  function reclaim(): void {
    for (const d of devices)
      for (const e of expiredOnDevice([...d.models.values()], pol, ctx()))
        void deviceOp(d, async () => {
          if (!inUse(e) && e.resident && d.models.get(e.key) === e) await unload(d, e as Entry, 'expired');
        });
  }

  // ---- placement over devices, replicas ----
  const ready = (d: Device) => d.state === 'ready' && !!d.executor;
  const holds = (d: Device, key: string) => {
    const e = d.models.get(key);
    return !!e && (e.resident || e.loading);
  };
  /** Requests queued or running for the model on the device, and its clients there. */
  const busy = (d: Device, key: string) => (d.stats?.queueDepth[key] ?? 0) + (d.models.get(key)?.clients ?? 0);
  /** The bytes admission would count: measured on some device, else the manifest's weights. */
  function bytesOf(key: string, m: Manifest): number {
    for (const d of devices) {
      const b = d.measuredBytes.get(key);
      if (b !== undefined) return b;
    }
    return weightBytes(m);
  }
  /**
   * The devices as the packer sees them. A model counts what admission counts (its persistent and ephemeral
   * bytes together, against the device's budget), so a device the packer finds is one admission takes without
   * evicting.
   */
  function packView(up: readonly Device[]) {
    const models = new Map<string, PackModel>();
    const placement: Placement = new Map();
    for (const d of up) {
      const keys: string[] = [];
      for (const e of d.models.values()) {
        if (!(e.resident || e.loading)) continue;
        keys.push(e.key);
        if (!models.has(e.key))
          models.set(e.key, { key: e.key, persistentBytes: Math.ceil(e.bytes), ephemeralBytes: 0, load: 0 });
      }
      placement.set(d.spec.index, keys);
    }
    return {
      devices: up.map((d) => ({ index: d.spec.index, capacity: Math.floor(d.budget) })),
      models: [...models.values()],
      placement,
    };
  }
  /** Best fit for the model on the devices (none of which holds it), or undefined when it fits none beside what they hold. */
  function bestFit(up: readonly Device[], key: string, m: Manifest): number | undefined {
    const v = packView(up);
    return placeOne(v.devices, v.models, v.placement, {
      key,
      persistentBytes: Math.ceil(bytesOf(key, m)),
      ephemeralBytes: 0,
      load: 0,
    });
  }

  /** The device a client that named none opens the model on. */
  async function place(caller: Caller, ref: string): Promise<number> {
    const { ns, m } = await resolveCached(caller, ref);
    const key = displayName(ns.name, m.name, m.version);
    const up = devices.filter(ready);
    if (up.length === 0)
      throw new TensorshareError(
        'ERR_UNAVAILABLE',
        `no device of this daemon is ready (${devices.map((d) => `${d.spec.index}: ${d.state}`).join(', ')})`,
        { devices: devices.map((d) => ({ index: d.spec.index, state: d.state })) },
      );
    const holding = up.filter((d) => holds(d, key));
    if (holding.length) return holding.reduce((a, b) => (busy(b, key) < busy(a, key) ? b : a)).spec.index;
    const at = bestFit(up, key, m);
    if (at !== undefined) return at;
    // It fits nowhere beside what is resident: the device where evicting unused models can free the most.
    const room = (d: Device) =>
      d.budget - [...d.models.values()].filter((e) => inUse(e)).reduce((a, e) => a + e.bytes, 0);
    return up.reduce((a, b) => (room(b) > room(a) ? b : a)).spec.index;
  }

  const replicaState = new Map<string, ReplicaState>();
  /** Samples each model's queue over its replicas and adds or removes one when the pressure says so. */
  function replicaTick(): void {
    const rc = o.replicas;
    if (!rc || rc.addQueueDepth === 0 || closing) return;
    const up = devices.filter(ready);
    if (up.length < 2) return;
    const holders = new Map<string, Device[]>();
    for (const d of up)
      for (const e of d.models.values())
        if (e.resident && !e.loading) holders.set(e.key, [...(holders.get(e.key) ?? []), d]);
    for (const k of replicaState.keys()) if (!holders.has(k)) replicaState.delete(k);
    const now = o.now();
    for (const [key, on] of holders) {
      const queued = on.reduce((a, d) => a + (d.stats?.queueDepth[key] ?? 0), 0);
      const unused = on.filter((d) => !inUse(d.models.get(key)!));
      const r = replicaStep(
        replicaState.get(key) ?? initialReplicaState(),
        { queued, replicas: on.length, unusedReplicas: unused.length },
        now,
        rc,
      );
      replicaState.set(key, r.state);
      const e = on[0]!.models.get(key)!;
      if (r.action === 'add') {
        const at = bestFit(
          up.filter((d) => !holds(d, key)),
          key,
          e.manifest,
        );
        if (at === undefined) {
          log.debug({ model: key, queued }, 'a replica would help but fits no other device');
          continue;
        }
        const d = byIndex(at);
        void acquireOn(d, e.ns, e.manifest, () => {}).then(
          () => log.info({ model: key, device: at, queued, replicas: on.length + 1 }, 'replica added'),
          (err) => log.warn({ model: key, device: at, err }, 'cannot add a replica'),
        );
      } else if (r.action === 'remove') {
        // The replica with the least use goes (never one a client has open or a pin holds).
        const d = unused.reduce((a, b) => (busy(b, key) < busy(a, key) ? b : a));
        void deviceOp(d, async () => {
          const x = d.models.get(key);
          if (x?.resident && !inUse(x) && devices.filter((y) => ready(y) && holds(y, key)).length > 1) {
            await unload(d, x, 'replica no longer needed');
            log.info({ model: key, device: d.spec.index }, 'replica removed');
          }
        });
      }
    }
  }

  /**
   * Moves a model between devices through the host store (never the disk): loaded on `to` from the store, then
   * unloaded from `from` if no client has it open there (clients keep their device; new opens find `to`).
   */
  async function move(caller: Caller, ref: string, from: number, to: number): Promise<{ unloaded: boolean }> {
    const { ns, m } = await o.resolveRef(caller, ref);
    const src = byIndex(from);
    const dst = byIndex(to);
    const key = displayName(ns.name, m.name, m.version);
    if (!holds(src, key))
      throw new TensorshareError('ERR_PRECONDITION', `model '${ref}' is not on device ${from}`, { device: from });
    await acquireOn(dst, ns, m, () => {});
    return deviceOp(src, async () => {
      const e = src.models.get(key);
      if (!e?.resident || inUse(e)) return { unloaded: false };
      await unload(src, e, `moved to device ${to}`);
      return { unloaded: true };
    });
  }

  const byIndex = (i: number): Device => {
    const d = devices.find((x) => x.spec.index === i);
    if (!d) throw new TensorshareError('ERR_INVALID_ARGUMENT', `this daemon has no device ${i}`);
    return d;
  };

  /** A restarted daemon loads what its devices held before, from the host store; opens queue behind it per device. */
  async function restore(d: Device, models: readonly DevicesRecord['devices'][number]['models'][number][]) {
    for (const r of models) {
      const ref = displayName(r.ns, r.name, r.version);
      try {
        const { ns, m } = await o.resolveRef({ tenant: r.ns, publish: false, visible: [r.ns] }, ref);
        if (r.measuredBytes) d.measuredBytes.set(displayName(ns.name, m.name, m.version), r.measuredBytes);
        await acquireOn(d, ns, m, (e) => {
          if (r.pinned) e.pinned = true;
        });
        log.info({ device: d.spec.index, model: ref, pinned: r.pinned }, 'restored onto device after daemon restart');
      } catch (err) {
        log.warn({ device: d.spec.index, model: ref, err }, 'cannot restore onto device after daemon restart');
      }
    }
    changed();
  }

  const previous = o.recordFile ? readRecord(o.recordFile) : {};
  if (previous.problem) log.warn({ problem: previous.problem }, 'device residency not restored');
  await Promise.all(devices.map((d) => deviceOp(d, () => bringUp(d, 0))));
  writeStatus();
  for (const d of devices) {
    const was = previous.record?.devices.find((x) => x.index === d.spec.index)?.models ?? [];
    if (was.length) void restore(d, was);
  }
  const reclaimTimer = setInterval(reclaim, o.reclaimIntervalMs);
  reclaimTimer.unref();
  if (o.replicas) checkReplicaConfig(o.replicas);
  const replicaTimer = setInterval(replicaTick, o.replicaIntervalMs ?? 1000);
  replicaTimer.unref();

  return {
    status,
    pin,
    unpin,
    evict,
    place,
    move,
    usedBytes: (index: number) => deviceUsed(byIndex(index).models.values()),
    async stop(): Promise<void> {
      // What is resident now is what the next start restores.
      if (!closing) writeRecordFile();
      closing = true;
      clearInterval(reclaimTimer);
      clearInterval(replicaTimer);
      if (statusTimer) clearTimeout(statusTimer);
      for (const d of devices) {
        const ex = d.executor;
        d.executor = undefined;
        if (ex) {
          ex.kill('SIGTERM');
          await ex.exited();
        }
        for (const e of [...d.models.values()]) forget(d, e);
      }
      fs.rmSync(regionDir, { recursive: true, force: true });
      fs.rmSync(o.statusFile, { force: true });
      for (const d of devices) fs.rmSync(d.socket, { force: true });
    },
  };
}

export const statusFileOf = (store: string): string => path.join(store, '.daemon', 'devices.json');
export { cpuExecutorStatusFile } from '../device/devices-status.js';
/** The CPU executor's residency record for the next start (devices-resident.json's shape). */
export const cpuExecutorRecordFile = (store: string): string =>
  path.join(store, '.daemon', 'cpu-executor-resident.json');
