// Starts a daemon: one per store (a pid file says who owns it), the manager
// (state rebuilt from the repository and store), then the socket. close()
// stops serving and writes the state; leases stay in the state file, so
// clients that keep running re-register with the next daemon.
import fs from 'node:fs/promises';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import pino, { type Logger } from 'pino';
import { TensorshareError } from '../errors.js';
import { createTracer, type Tracer } from '../trace.js';
import { resolveDevices } from '../device/devices.js';
import { recordFileOf } from './device-record.js';
import {
  cpuExecutorRecordFile,
  cpuExecutorStatusFile,
  startDeviceTier,
  statusFileOf,
  type DeviceTier,
} from './device-tier.js';
import type { BeforeMaterialize } from './admission.js';
import { createManager, type Manager } from './manager.js';
import { prepareStoreRoot } from './permissions.js';
import { processState, readProcStat } from './process-check.js';
import { serve } from './server.js';
import { mountHugePageStore } from '../store/huge-pages.js';
import { ensureSafeDir } from '../store/layout.js';
import type { DaemonConfig } from './settings.js';
import { formatBytes } from '../bytes.js';

export interface RunningDaemon {
  socket: string;
  manager: Manager;
  /** The GPU tier: one executor per device (undefined without devices). */
  devices: DeviceTier | undefined;
  /** The CPU executor (`cpuExecutor` setting; undefined when off). */
  cpuExecutor: DeviceTier | undefined;
  log: Logger;
  close(): Promise<void>;
}

export function daemonLogger(level: string): Logger {
  return pino(
    { level, base: { pid: process.pid, name: 'tensorshare-daemon' } },
    pino.destination({ fd: 2, sync: true }),
  );
}

/**
 * Calls `onGone` when the owner's end of the pipe on `fd` closes: the owner
 * (a `serve` that started this daemon) exited or was killed, SIGKILL
 * included, since the kernel closes its descriptors either way.
 */
export function watchOwnerFd(fd: number, onGone: () => void): void {
  if (!Number.isInteger(fd) || fd < 3)
    throw new TensorshareError(
      'ERR_INVALID_ARGUMENT',
      `--owner-fd must be a file descriptor number of 3 or more, got '${fd}'`,
    );
  const pipe = new net.Socket({ fd, readable: true, writable: false });
  let gone = false;
  const done = () => {
    if (!gone) {
      gone = true;
      onGone();
    }
  };
  pipe.on('data', () => {});
  pipe.on('end', done);
  pipe.on('close', done);
  pipe.on('error', done);
  // The watch alone never keeps the daemon running.
  pipe.unref();
}

/** Claims the store for this process: <store>/.daemon/daemon.pid, unless a live daemon holds it. */
async function claimStore(config: DaemonConfig, log: Logger): Promise<() => Promise<void>> {
  const { store } = config;
  // Verified before use: a store root another user made first (or a symlink) is refused.
  await ensureSafeDir(store, 0o755);
  // Before anything is written into it: a mount over an empty root.
  const huge = await mountHugePageStore(store, config.hugePages, { isDefaultStore: config.storeIsDefault });
  if (huge.state === 'unavailable') log.warn({ store, hugePages: config.hugePages }, huge.detail);
  else log.info({ store, hugePages: huge.hugePages }, huge.detail);
  const dir = await prepareStoreRoot(store);
  const file = path.join(dir, 'daemon.pid');
  const me = `${process.pid} ${readProcStat(process.pid)?.startTime ?? ''}\n`;
  for (let attempt = 0; attempt < 3; attempt++) {
    try {
      await fs.writeFile(file, me, { flag: 'wx', mode: 0o600 });
      return async () => {
        const cur = await fs.readFile(file, 'utf8').catch(() => '');
        if (cur === me) await fs.rm(file, { force: true });
      };
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== 'EEXIST') throw e;
      const [pid, start] = (await fs.readFile(file, 'utf8').catch(() => '')).trim().split(' ');
      if (processState(Number(pid), start || undefined) !== 'dead' && Number(pid) !== process.pid) {
        throw new TensorshareError('ERR_UNAVAILABLE', `store ${store} is owned by a running daemon (pid ${pid})`);
      }
      await fs.rm(file, { force: true });
    }
  }
  throw new TensorshareError('ERR_UNAVAILABLE', `cannot claim store ${store}: another daemon is starting`);
}

export async function startDaemon(
  config: DaemonConfig,
  options: { log?: Logger; trace?: Tracer; beforeMaterialize?: BeforeMaterialize } = {},
): Promise<RunningDaemon> {
  const log = options.log ?? daemonLogger(config.logLevel);
  const release = await claimStore(config, log);
  const trace = options.trace ?? createTracer(config.profile, 'tensorshare daemon');
  try {
    const manager = createManager({ config, log, trace, beforeMaterialize: options.beforeMaterialize });
    await manager.start();
    const devices = await startDevices(config, manager, log);
    const cpuExecutor = await startCpuExecutor(config, manager, log);
    const server = await serve(manager, config, log);
    log.info(
      {
        socket: server.socket,
        store: config.store,
        repository: config.repository,
        budget: formatBytes(manager.budget()),
        policy: config.policy,
        tenants: config.tenants.map((t) => t.name),
        daemonId: manager.daemonId,
      },
      'listening',
    );
    let closing: Promise<void> | undefined;
    return {
      socket: server.socket,
      manager,
      devices,
      cpuExecutor,
      log,
      close() {
        closing ??= (async () => {
          await server.close();
          await devices?.stop();
          await cpuExecutor?.stop();
          await manager.stop();
          trace.close();
          await release();
          log.info('stopped');
        })();
        return closing;
      },
    };
  } catch (e) {
    trace.close();
    await release();
    throw e;
  }
}

/** Starts an executor per configured device (none without devices; `auto` logs why it found none). */
async function startDevices(config: DaemonConfig, manager: Manager, log: Logger): Promise<DeviceTier | undefined> {
  const resolved = resolveDevices(config.gpus);
  if (!resolved.devices.length) {
    if (resolved.reason) log.info({ reason: resolved.reason }, 'no device executors');
    return undefined;
  }
  return startDeviceTier({
    ...tierBase(config, manager, log),
    devices: resolved.devices,
    provider: resolved.provider,
    budget: config.gpuBudget,
    devicePolicy: config.gpuPolicy,
    cpus: config.gpuCpus,
    spinMs: config.gpuSpinMs,
    replicas: {
      addQueueDepth: config.gpuReplicaQueue,
      addAfterMs: config.gpuReplicaAfterMs,
      removeAfterMs: config.gpuReplicaAfterMs,
      maxReplicas: resolved.devices.length,
    },
    statusFile: statusFileOf(config.store),
    recordFile: recordFileOf(config.store),
  });
}

/**
 * The CPU executor (`cpuExecutor`): the GPU tier's process model on the host, one executor holding a CPU session
 * per resident model for every client, budgeted by its measured private memory.
 */
async function startCpuExecutor(config: DaemonConfig, manager: Manager, log: Logger): Promise<DeviceTier | undefined> {
  if (!config.cpuExecutor) return undefined;
  return startDeviceTier({
    ...tierBase(config, manager, log),
    tier: 'cpu',
    devices: [{ kind: 'host', index: 0, totalBytes: os.totalmem() }],
    provider: 'cpu',
    intraOpThreads: config.cpuExecutorThreads ?? os.availableParallelism(),
    budget: config.cpuExecutor,
    statusFile: cpuExecutorStatusFile(config.store),
    recordFile: cpuExecutorRecordFile(config.store),
  });
}

/** What both tiers take from the daemon alike. */
function tierBase(config: DaemonConfig, manager: Manager, log: Logger) {
  return {
    maxBatchSize: config.gpuMaxBatch,
    daemonSocket: config.socket,
    socketMode: config.socketMode,
    socketGroup: config.socketGroup,
    policy: manager.policy,
    ttlMs: config.ttlMs,
    reclaimIntervalMs: config.reclaimIntervalMs,
    tenants: config.tenants,
    admission: manager.admission,
    resolveRef: manager.resolveRef,
    log,
    now: Date.now,
  };
}
