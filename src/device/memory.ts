// Device memory through one small interface, whatever the device: NVML on a
// real NVIDIA GPU (libnvidia-ml.so.1 through koffi, the FFI the daemon already
// uses for SO_PEERCRED), or a fake device of N bytes for tests and CI, where
// the CPU execution provider stands in for the GPU. The fake books the bytes a
// session loads (reserve/release) and refuses what does not fit the way CUDA
// does (an out-of-memory error at load), so residency and admission see the
// same numbers and failures on both.
import fs from 'node:fs';
import koffi from 'koffi';
import { formatBytes } from '../bytes.js';
import { TensorshareError } from '../errors.js';

export interface DeviceMemory {
  readonly kind: 'nvml' | 'fake' | 'host';
  readonly index: number;
  /** Device name as the driver reports it ("NVIDIA H200"), or "fake device". */
  readonly name: string;
  /** Driver version, when the device has a driver. */
  readonly driver?: string;
  total(): number;
  /** Bytes in use on the whole device (every process), as the driver counts them. */
  used(): number;
  /** GPU utilization in percent over the driver's last sample period, when known. */
  utilization(): number | undefined;
  /** The fake's bookkeeping of a loaded session; a real device allocates by itself. Throws an out-of-memory error. */
  reserve(key: string, bytes: number): void;
  release(key: string): void;
  /**
   * A run of `key` is on the device with inputs of `inputBytes`. A real device's allocator counts what the run
   * takes by itself; the fake with `runBytes` books twice the inputs (the inputs and an activation as large) until
   * endRun, and refuses what does not fit like CUDA's out-of-memory: the stand-in's ephemeral memory.
   */
  beginRun(key: string, inputBytes: number): void;
  endRun(key: string): void;
  /** The most bytes in use since the last call (NVML: in use now; the CUDA arena keeps a run's memory after it). */
  takePeak(): number;
}

export type DeviceSpec =
  | { kind: 'nvml'; index: number }
  | { kind: 'fake'; index: number; totalBytes: number; runBytes?: boolean }
  | { kind: 'host'; index: number; totalBytes: number };

export function openDevice(spec: DeviceSpec): DeviceMemory {
  if (spec.kind === 'fake') return fakeDevice(spec.index, spec.totalBytes, spec.runBytes);
  return spec.kind === 'host' ? hostMemory(spec.index, spec.totalBytes) : nvmlDevice(spec.index);
}

/** The private (anonymous) resident bytes of this process: what the CPU executor's sessions hold beside the store's mapped files. */
function rssAnonBytes(): number {
  const m = /^RssAnon:\s+(\d+) kB/m.exec(fs.readFileSync('/proc/self/status', 'utf8'));
  return m ? Number(m[1]) * 1024 : process.memoryUsage().rss;
}

/**
 * The host's memory as the CPU executor sees it: `used` is the executor process's own private memory (so a load's
 * persistent and ephemeral bytes are measured, as NVML measures a GPU's); the weights the sessions map from the host
 * store are counted by the store's budget, not here. Nothing is refused at load: the daemon admits by its budget.
 */
export function hostMemory(index: number, totalBytes: number): DeviceMemory {
  let peak = 0;
  const used = () => {
    const u = rssAnonBytes();
    peak = Math.max(peak, u);
    return u;
  };
  return {
    kind: 'host',
    index,
    name: 'host CPU',
    total: () => totalBytes,
    used,
    utilization: () => undefined,
    reserve() {},
    release() {},
    beginRun() {},
    endRun() {},
    takePeak() {
      const p = Math.max(peak, used());
      peak = 0;
      return p;
    },
  };
}

/** What CUDA says when an allocation fails; the executor maps it to RESOURCE_EXHAUSTED (oom.ts). */
export const OOM_MESSAGE = 'out of memory';

export function fakeDevice(index: number, totalBytes: number, runBytes = false): DeviceMemory {
  const booked = new Map<string, number>();
  const used = () => [...booked.values()].reduce((a, b) => a + b, 0);
  let peak = 0;
  let runs = 0;
  const book = (key: string, bytes: number) => {
    const free = totalBytes - used();
    if (bytes > free)
      throw new Error(
        `fake device ${index}: ${OOM_MESSAGE}: cannot allocate ${formatBytes(bytes)}, ${formatBytes(free)} free`,
      );
    booked.set(key, (booked.get(key) ?? 0) + bytes);
    peak = Math.max(peak, used());
  };
  return {
    kind: 'fake',
    index,
    name: 'fake device',
    total: () => totalBytes,
    used,
    utilization: () => undefined,
    reserve: book,
    release(key) {
      booked.delete(key);
    },
    beginRun(key, inputBytes) {
      if (runBytes) book(`${key}\u0000run${++runs}`, 2 * inputBytes);
    },
    endRun(key) {
      // The oldest booking of this model's runs (one run per model at a time).
      for (const k of booked.keys())
        if (k.startsWith(`${key}\u0000run`)) {
          booked.delete(k);
          return;
        }
    },
    takePeak() {
      const p = Math.max(peak, used());
      peak = used();
      return p;
    },
  };
}

// ---- NVML ----

interface Nvml {
  count(): number;
  memory(index: number): { total: number; used: number };
  name(index: number): string;
  driver(): string;
  utilization(index: number): number | undefined;
  /** Device memory per process using the GPU (compute processes), when the driver says. */
  processes(index: number): { pid: number; usedBytes: number }[] | undefined;
  /** The device's PCI address as sysfs names it (`0000:18:00.0`), when the driver says. */
  pciBusId(index: number): string | undefined;
}

/** nvmlPciInfo_t: busIdLegacy char[16], then domain, bus, device (u32 each), pciDeviceId, pciSubSystemId, busId char[32]. */
const PCI_INFO_BYTES = 68;

/** nvmlProcessInfo_t (NVML 12+): pid u32, usedGpuMemory u64 at 8, gpuInstanceId u32, computeInstanceId u32. */
const PROCESS_INFO_BYTES = 24;

let nvml: Nvml | undefined;

/** NVML bound once per process; throws ERR_UNAVAILABLE naming the library when it is missing. */
export function loadNvml(): Nvml {
  if (nvml) return nvml;
  let lib: ReturnType<typeof koffi.load>;
  try {
    lib = koffi.load('libnvidia-ml.so.1');
  } catch (e) {
    throw new TensorshareError(
      'ERR_UNAVAILABLE',
      'no NVIDIA GPU driver: cannot load libnvidia-ml.so.1 (NVML, part of the NVIDIA driver)',
      { library: 'libnvidia-ml.so.1' },
      { cause: e },
    );
  }
  const Memory = koffi.struct('ts_nvmlMemory_t', { total: 'uint64', free: 'uint64', used: 'uint64' });
  const Util = koffi.struct('ts_nvmlUtilization_t', { gpu: 'uint32', memory: 'uint32' });
  const init = lib.func('int nvmlInit_v2()');
  const count = lib.func('int nvmlDeviceGetCount_v2(_Out_ uint32_t *count)');
  const handle = lib.func('int nvmlDeviceGetHandleByIndex_v2(uint32_t index, _Out_ void **device)');
  const memInfo = lib.func('int nvmlDeviceGetMemoryInfo(void *device, _Out_ ts_nvmlMemory_t *memory)');
  const name = lib.func('int nvmlDeviceGetName(void *device, _Out_ uint8_t *name, uint32_t length)');
  const driver = lib.func('int nvmlSystemGetDriverVersion(_Out_ uint8_t *version, uint32_t length)');
  const util = lib.func('int nvmlDeviceGetUtilizationRates(void *device, _Out_ ts_nvmlUtilization_t *util)');
  const procs = lib.func(
    'int nvmlDeviceGetComputeRunningProcesses_v3(void *device, _Inout_ uint32_t *count, _Out_ uint8_t *infos)',
  );
  const pci = lib.func('int nvmlDeviceGetPciInfo_v3(void *device, _Out_ uint8_t *pci)');
  void Memory;
  void Util;
  const check = (rc: number, what: string) => {
    if (rc !== 0) throw new TensorshareError('ERR_UNAVAILABLE', `NVML ${what} failed (NVML error ${rc})`, { rc });
  };
  check(init() as number, 'nvmlInit');
  const handles = new Map<number, unknown>();
  const dev = (i: number) => {
    let h = handles.get(i);
    if (h === undefined) {
      const out = [null];
      check(handle(i, out) as number, `nvmlDeviceGetHandleByIndex(${i})`);
      h = out[0];
      handles.set(i, h);
    }
    return h;
  };
  const cString = (b: Buffer) => b.subarray(0, Math.max(0, b.indexOf(0))).toString('utf8');
  nvml = {
    count() {
      const out = [0];
      check(count(out) as number, 'nvmlDeviceGetCount');
      return out[0]!;
    },
    memory(i) {
      const m: { total?: number | bigint; used?: number | bigint } = {};
      check(memInfo(dev(i), m) as number, 'nvmlDeviceGetMemoryInfo');
      return { total: Number(m.total), used: Number(m.used) };
    },
    name(i) {
      const b = Buffer.alloc(96);
      check(name(dev(i), b, b.length) as number, 'nvmlDeviceGetName');
      return cString(b);
    },
    driver() {
      const b = Buffer.alloc(80);
      check(driver(b, b.length) as number, 'nvmlSystemGetDriverVersion');
      return cString(b);
    },
    utilization(i) {
      const u: { gpu?: number } = {};
      return util(dev(i), u) === 0 ? u.gpu : undefined;
    },
    processes(i) {
      const max = 256;
      const b = Buffer.alloc(max * PROCESS_INFO_BYTES);
      const n = [max];
      if (procs(dev(i), n, b) !== 0) return undefined;
      return Array.from({ length: Math.min(max, n[0]!) }, (_, k) => ({
        pid: b.readUInt32LE(k * PROCESS_INFO_BYTES),
        usedBytes: Number(b.readBigUInt64LE(k * PROCESS_INFO_BYTES + 8)),
      }));
    },
    pciBusId(i) {
      const b = Buffer.alloc(PCI_INFO_BYTES);
      if (pci(dev(i), b) !== 0) return undefined;
      const hex = (v: number, n: number) => v.toString(16).padStart(n, '0');
      return `${hex(b.readUInt32LE(16), 4)}:${hex(b.readUInt32LE(20), 2)}:${hex(b.readUInt32LE(24), 2)}.0`;
    },
  };
  return nvml;
}

export function nvmlDevice(index: number): DeviceMemory {
  const n = loadNvml();
  const devices = n.count();
  if (index < 0 || index >= devices)
    throw new TensorshareError(
      'ERR_UNAVAILABLE',
      `no GPU ${index}: the NVIDIA driver reports ${devices} device${devices === 1 ? '' : 's'}`,
      { index, devices },
    );
  return {
    kind: 'nvml',
    index,
    name: n.name(index),
    driver: n.driver(),
    total: () => n.memory(index).total,
    used: () => n.memory(index).used,
    utilization: () => n.utilization(index),
    reserve() {},
    release() {},
    beginRun() {},
    endRun() {},
    takePeak: () => n.memory(index).used,
  };
}

/** How many NVIDIA GPUs this machine has (0 without a driver). */
export function gpuCount(): number {
  try {
    return loadNvml().count();
  } catch {
    return 0;
  }
}
