// The messages of the device tier, as plain data. Two channels:
//  - client <-> executor: newline-delimited JSON on the executor's Unix
//    socket (framing.ts). Only control crosses it; tensors travel through
//    shared memory (transfer.ts) and the messages carry their place in it.
//  - daemon <-> executor: Node's IPC channel of the forked executor. The
//    daemon decides residency (load, unload); the executor asks it to admit a
//    model a client opens and tells it when a client lets go.
import fs from 'node:fs';
import path from 'node:path';
import type { WireError } from '../errors.js';
import type { DevicePolicy } from '../sched/device-policy.js';
import type { PriorityClass } from '../sched/dispatcher.js';
import type { LaneSnapshot, RealtimeLoad } from '../sched/lanes-scheduler.js';
import type { IoSpec, Manifest } from '../store/manifest.js';
import type { RunPlacement } from './device-lanes.js';
import type { CpuSetting } from './cpu-list.js';
import type { DeviceSpec } from './memory.js';
import type { WireTensor } from './transfer.js';

export type { WireError };

// ---- client -> executor ----
export type ClientMessage =
  | { op: 'hello'; id: number; region: string; token?: string }
  | { op: 'open'; id: number; model: string }
  | {
      op: 'run';
      id: number;
      key: string;
      inputs: WireTensor[];
      outputs?: string[];
      /** Realtime runs go ahead of besteffort ones on the device (default realtime). */
      priority?: PriorityClass;
      /** Who is charged for the device time under the fair policy (default: the model). */
      tenant?: string;
      /** The function's own device policy: orders this run among the model's runs with the same policy (default: the executor's). */
      policy?: DevicePolicy;
    }
  /**
   * The executor's realtime load now (no hello needed): what the gateway's GPU -> CPU fallback samples. Cheap: a
   * count over the queued requests, answered at once.
   */
  | { op: 'load'; id: number }
  | { op: 'close'; id: number; key: string }
  /** Model control (Triton's load/unload): pin keeps a model on this device, evict unloads an unused one. */
  | { op: 'control'; id: number; action: ControlAction; model: string; to?: number };

/**
 * `place`: which device a client that named none should open the model on (the daemon's best-fit placement);
 * `move`: load the model on device `to` from the host store, and unload it here if no client has it open.
 */
export type ControlAction = 'pin' | 'unpin' | 'evict' | 'place' | 'move';

export interface ModelIo {
  key: string;
  /** Display name `name:version`. */
  model: string;
  inputs: IoSpec[];
  outputs: IoSpec[];
  manifest: Manifest;
  /** Whether it was already resident on the device when this open arrived. */
  wasResident: boolean;
}

/**
 * A run's stages in the executor (ms): `executorMs` from reading the request to answering it, of which `readMs`
 * reading the inputs out of the client's segment, `queuedMs` waiting for its lane, `runMs` the device run (lane start
 * to end), of which `ortMs` inside ONNX Runtime's run call on the session's thread; `runMs - ortMs` is the hand-off
 * to and from that thread, the rest of `executorMs` the executor's own bookkeeping.
 */
export interface ExecutorTiming {
  executorMs: number;
  readMs: number;
  queuedMs: number;
  runMs: number;
  ortMs: number;
}

// ---- executor -> client ----
export type ExecutorReply =
  | {
      id: number;
      ok: true;
      region?: string;
      /**
       * hello: how long the executor keeps its event loop awake after an answer (ms; it also stays awake while a
       * run is in flight); 0 or absent: it sleeps, so a client gains nothing by staying awake for its answers.
       */
      awakeMs?: number;
      model?: ModelIo;
      outputs?: WireTensor[];
      batch?: number;
      /** Where a run's time went in the executor (ms); see ExecutorTiming. */
      timing?: ExecutorTiming;
      /**
       * run: how many other runs the executor had in flight when this one arrived. Clients stay awake for their next
       * answer only while it is 0: with runs of several clients in flight, every waiting client kept awake takes a
       * core the executor's threads need (16 clients on 16 CPUs served 0.70x the requests).
       */
      others?: number;
      /** The lane the run had and its timing on the executor's clock. */
      placement?: RunPlacement;
      freedBytes?: number;
      /** place: the device to open the model on. */
      device?: number;
      /** move: whether the model left the device it was moved from (not while a client has it open there). */
      unloaded?: boolean;
      /** load: the realtime pressure and what is resident. */
      load?: ExecutorLoad;
    }
  | { id: number; ok: false; error: WireError };

/** An executor's answer to `load`. */
export interface ExecutorLoad extends RealtimeLoad {
  /** Device index. */
  device: number;
  /** Display names (`name:version`) of the models resident on the device. */
  models: string[];
}

// ---- daemon -> executor ----
export interface ExecutorInit {
  kind: 'init';
  device: DeviceSpec;
  provider: 'cuda' | 'cpu';
  socket: string;
  /** The daemon socket's permissions and group, so the processes that may reach the daemon (instances of other users in its group) reach the executor too. */
  socketMode: number;
  socketGroup?: number;
  /** Folder (0711) for the executor's output regions. */
  regionDir: string;
  maxBatchSize: number;
  /** How the device is shared between resident models (default pack). */
  policy?: DevicePolicy;
  /** C of the lanes: device bytes for persistent and ephemeral memory (default: all of the device). */
  laneBudget?: { bytes: number } | { fraction: number };
  /** fair: device-time weight per tenant (default 1). */
  weights?: Record<string, number>;
  /** Where the executor's threads run (cpu-affinity.ts; default auto: the GPU's local CPUs). */
  cpus?: CpuSetting;
  /**
   * How long a session thread polls for its next run after an answer before it sleeps, and the executor's own event
   * loop stays awake after one, ms (session-worker.ts, awake.ts).
   */
  spinMs?: number;
  /** ORT intra-op threads of each session (default 1: a device's one stream; the CPU executor's `cpuExecutorThreads`). */
  intraOpThreads?: number;
}

export interface LoadRequest {
  kind: 'load';
  id: number;
  key: string;
  model: string;
  graph: string;
  tensorsDir: string;
  inputs: IoSpec[];
  outputs: IoSpec[];
  /** Bytes the fake device books for the session (the model's weights). */
  weightBytes: number;
}

export type DaemonToExecutor =
  | ExecutorInit
  | LoadRequest
  | { kind: 'unload'; id: number; key: string }
  /** `io` only the first time this executor process admits the model: it keeps it by key. */
  | { kind: 'admitted'; id: number; ok: true; key: string; wasResident: boolean; io?: ModelIo }
  | { kind: 'admitted'; id: number; ok: false; error: WireError }
  | { kind: 'controlled'; id: number; ok: true; freedBytes?: number; device?: number; unloaded?: boolean }
  | { kind: 'controlled'; id: number; ok: false; error: WireError };

export interface Measured {
  /** Device bytes the session holds after load (weights, CUDA context share): used after - before load. */
  persistentBytes: number;
  /** Extra device bytes after one run at the largest batch (activations, arena). */
  ephemeralBytes: number;
  loadMs: number;
}

export interface DeviceInfo {
  index: number;
  kind: DeviceSpec['kind'];
  name: string;
  driver?: string;
  totalBytes: number;
  usedBytes: number;
  utilization?: number;
  provider: 'cuda' | 'cpu';
  /** The CPUs the executor's threads are pinned to (gpuCpus); absent when they run wherever the system puts them. */
  cpus?: number[];
  /** ORT intra-op threads of each session, when more than 1 (the CPU executor). */
  intraOpThreads?: number;
}

export interface ExecutorStats {
  device: DeviceInfo;
  /** Requests waiting or running, per model key. */
  queueDepth: Record<string, number>;
  /** Batches run, by batch size in requests. */
  batchSizes: Record<string, number>;
  loads: number;
  /** The device's memory lanes and runs in flight. */
  lanes?: LaneSnapshot;
}

// ---- executor -> daemon ----
export type ExecutorToDaemon =
  | { kind: 'ready'; device: DeviceInfo }
  | { kind: 'admit'; id: number; model: string; token?: string }
  | { kind: 'control'; id: number; action: ControlAction; model: string; token?: string; to?: number }
  | { kind: 'release'; key: string }
  | { kind: 'used'; key: string }
  | { kind: 'loaded'; id: number; ok: true; measured: Measured }
  | { kind: 'unloaded'; id: number; ok: true; freedBytes: number }
  | { kind: 'loaded' | 'unloaded'; id: number; ok: false; error: WireError }
  | { kind: 'stats'; stats: ExecutorStats };

/** Which executors: a GPU's, or the daemon's CPU executor (`cpuExecutor` setting: sessions on the CPU provider shared by every client). */
export type ExecutorTier = 'gpu' | 'cpu';

/** Where the executor of device `index` listens: beside the daemon's socket (`.gpu<N>`, the CPU executor `.cpu0`). */
export function executorSocket(daemonSocket: string, index: number, tier: ExecutorTier = 'gpu'): string {
  return `${daemonSocket}.${tier}${index}`;
}

/** The devices whose executors listen beside the daemon's socket (`<socket>.gpu<N>`), ascending. */
export function executorDevices(daemonSocket: string): number[] {
  const base = `${path.basename(daemonSocket)}.gpu`;
  let names: string[];
  try {
    names = fs.readdirSync(path.dirname(daemonSocket));
  } catch {
    return [];
  }
  return names
    .filter((n) => n.startsWith(base) && /^\d+$/.test(n.slice(base.length)))
    .map((n) => Number(n.slice(base.length)))
    .sort((a, b) => a - b);
}

/** Whether the daemon beside this socket runs a CPU executor (its socket is there). */
export function hasCpuExecutor(daemonSocket: string): boolean {
  return fs.existsSync(executorSocket(daemonSocket, 0, 'cpu'));
}

/** What was resident on each device, for the daemon's next start (written and read by daemon/device-record.ts). */
export const residencyRecordFile = (store: string): string => `${store}/.daemon/devices-resident.json`;

/** The daemon's picture of its devices (<store>/.daemon/devices.json), for `tensorshare gpu` and metrics. */
export interface DevicesStatus {
  updatedAt: string;
  devices: DeviceStatus[];
}

export interface DeviceStatus {
  index: number;
  socket: string;
  state: 'starting' | 'ready' | 'restarting' | 'failed';
  pid?: number;
  restarts: number;
  budgetBytes: number;
  device?: DeviceInfo;
  queueDepth: Record<string, number>;
  batchSizes: Record<string, number>;
  loads: number;
  models: ResidentStatus[];
}

export interface ResidentStatus {
  key: string;
  model: string;
  /** Bytes counted against the budget: measured persistent + ephemeral, or the manifest's estimate until measured. */
  bytes: number;
  measured: boolean;
  persistentBytes?: number;
  ephemeralBytes?: number;
  loadMs?: number;
  clients: number;
  pinned: boolean;
}
