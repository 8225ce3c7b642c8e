// The GPU -> CPU fallback in the serving path (DART's shuffling): while
// realtime work saturates a GPU executor, besteffort requests of functions
// with `device: auto` run on CPU sessions in their own instances (opened
// there on the first such request, over the shared host store) instead of
// waiting behind it; they move back once the executor has been calm for
// `holdMs`. Realtime requests never leave the GPU.
//
// The decision is src/sched/fallback.ts (hysteresis, per executor); this
// module samples each executor's realtime load (`op: 'load'` on its socket,
// device/load-probe.ts) every `sampleMs` while `device: auto` functions have
// traffic (none for IDLE_STOP_MS and nothing on CPU: sampling stops), one sample per executor
// in flight. A failed sample (an executor restarting) leaves the state as it
// was. A function follows the executors that hold one of its models (none
// yet: it stays on the GPU path, whose first run makes the model resident).
import { TensorshareError } from '../errors.js';
import { createLoadProbe, type LoadProbe } from '../device/load-probe.js';
import { type ExecutorLoad, executorDevices, executorSocket } from '../device/protocol.js';
import type { PriorityClass } from '../sched/dispatcher.js';
import {
  type FallbackConfig,
  type FallbackState,
  type GpuLoad,
  FALLBACK_DEFAULTS,
  checkFallbackConfig,
  fallbackStep,
  initialFallback,
} from '../sched/fallback.js';

export interface GpuFallbackOptions {
  /** The daemon's socket: executor N listens at `<socket>.gpu<N>`. */
  daemonSocket: string;
  marks?: Partial<FallbackConfig>;
  /** Sample every executor this often while `device: auto` functions have traffic (default 25 ms). */
  sampleMs?: number;
  /** One sample's bound (default 1000 ms). */
  sampleTimeoutMs?: number;
  /** The fallback state's clock, ms (default performance.now). */
  now?: () => number;
  /** Devices with an executor (default: the sockets beside the daemon's). */
  devices?: () => number[];
  /** A device's load (default: a LoadProbe on its socket). */
  probe?: (device: number) => Promise<ExecutorLoad>;
  /** 1 while a device's besteffort `auto` work goes to CPU. */
  stateGauge?: { set(labels: { device: string }, v: number): void };
  onChange?(device: number, onCpu: boolean, load: GpuLoad): void;
}

export interface GpuFallback {
  /**
   * Where a run of a function goes: 'cpu' when the function is `device: auto`, every request of the run is
   * besteffort, and an executor holding one of its models is saturated; else undefined (its GPU path).
   */
  route(fn: { device: unknown; models: readonly string[] }, priorities: readonly PriorityClass[]): 'cpu' | undefined;
  /** One sample of every executor now (the timer's round; tests call it to step explicitly). */
  sample(): Promise<void>;
  /** Each executor's state, by device. */
  states(): { device: number; onCpu: boolean; models: string[] }[];
  readonly marks: Readonly<FallbackConfig>;
  close(): void;
}

const IDLE_STOP_MS = 10_000;

/** Validates fallback marks given in part (the rest: FALLBACK_DEFAULTS); ERR_INVALID_ARGUMENT names the mark. */
export function fallbackMarks(marks: Partial<FallbackConfig> = {}): FallbackConfig {
  const known = Object.keys(FALLBACK_DEFAULTS);
  for (const k of Object.keys(marks))
    if (!known.includes(k))
      throw new TensorshareError(
        'ERR_INVALID_ARGUMENT',
        `unknown GPU fallback mark '${k}' (the marks: ${known.join(', ')})`,
        { mark: k, allowed: known },
      );
  const c = { ...FALLBACK_DEFAULTS, ...marks };
  checkFallbackConfig(c);
  return c;
}

/** `enterQueueDepth=8,holdMs=1000` -> marks (the `--gpu-fallback-marks` flag); ERR_INVALID_ARGUMENT on a bad pair. */
export function parseFallbackMarks(spec: string): Partial<FallbackConfig> {
  const out: Record<string, number> = {};
  for (const part of spec.split(',').filter(Boolean)) {
    const m = /^\s*([A-Za-z]+)\s*=\s*(-?[\d.]+)\s*$/.exec(part);
    if (!m || !Number.isFinite(Number(m[2])))
      throw new TensorshareError(
        'ERR_INVALID_ARGUMENT',
        `--gpu-fallback-marks takes mark=number pairs separated by commas (e.g. enterQueueDepth=8,holdMs=1000), got '${part}'`,
      );
    out[m[1]!] = Number(m[2]);
  }
  return out as Partial<FallbackConfig>;
}

/** Whether a resident model (`name:version`) is the one a function's reference names (`name` or `name:version`). */
const sameModel = (resident: string, ref: string) =>
  ref.includes(':') ? resident === ref : resident.slice(0, resident.lastIndexOf(':')) === ref;

export function createGpuFallback(o: GpuFallbackOptions): GpuFallback {
  const marks = fallbackMarks(o.marks);
  const sampleMs = o.sampleMs ?? 25;
  if (!(Number.isFinite(sampleMs) && sampleMs > 0))
    throw new TensorshareError('ERR_INVALID_ARGUMENT', `GPU fallback sampleMs must be a number > 0, got ${sampleMs}`);
  const now = o.now ?? (() => performance.now());
  const devices = o.devices ?? (() => executorDevices(o.daemonSocket));
  const probes = new Map<number, LoadProbe>();
  const probe =
    o.probe ??
    ((d: number) => {
      let p = probes.get(d);
      if (!p) {
        p = createLoadProbe(executorSocket(o.daemonSocket, d), o.sampleTimeoutMs ?? 1000);
        probes.set(d, p);
      }
      return p.sample();
    });
  const state = new Map<number, { s: FallbackState; models: string[] }>();
  let timer: NodeJS.Timeout | undefined;
  let lastDemand = -Infinity;
  let round: Promise<void> | undefined;
  let closed = false;

  async function sampleOne(d: number): Promise<void> {
    let load: ExecutorLoad;
    try {
      load = await probe(d);
    } catch {
      return; // an executor restarting or gone: its state stays until it answers again
    }
    const cur = state.get(d) ?? { s: initialFallback(now()), models: [] };
    const t = now();
    const next = fallbackStep(cur.s, load, t, marks);
    state.set(d, { s: next, models: load.models });
    if (next.onCpu !== cur.s.onCpu) o.onChange?.(d, next.onCpu, load);
    o.stateGauge?.set({ device: String(d) }, next.onCpu ? 1 : 0);
  }

  function sample(): Promise<void> {
    round ??= (async () => {
      const ds = devices();
      for (const d of state.keys()) if (!ds.includes(d)) state.delete(d);
      await Promise.all(ds.map(sampleOne));
    })().finally(() => {
      round = undefined;
    });
    return round;
  }

  function tick(): void {
    // Idle: stop, but not while work is on CPU (its way back is decided by samples).
    if (performance.now() - lastDemand > IDLE_STOP_MS && ![...state.values()].some((x) => x.s.onCpu)) {
      clearInterval(timer);
      timer = undefined;
      return;
    }
    if (!round) void sample();
  }

  return {
    marks,
    route(fn, priorities) {
      if (fn.device !== 'auto' || closed) return undefined;
      lastDemand = performance.now();
      if (!timer && !o.probe) {
        timer = setInterval(tick, sampleMs);
        timer.unref();
        void sample();
      }
      if (priorities.length === 0 || priorities.some((p) => p !== 'besteffort')) return undefined;
      for (const { s, models } of state.values())
        if (s.onCpu && models.some((m) => fn.models.some((ref) => sameModel(m, ref)))) return 'cpu';
      return undefined;
    },
    sample,
    states: () => [...state].map(([device, { s, models }]) => ({ device, onCpu: s.onCpu, models })),
    close() {
      closed = true;
      clearInterval(timer);
      timer = undefined;
      for (const p of probes.values()) p.close();
      probes.clear();
    },
  };
}
