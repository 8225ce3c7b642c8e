// Facts about the machine a benchmark ran on, recorded beside every result:
// CPU model and ISA flags (prepacked weight formats depend on them), cores,
// memory, cgroup limit, kernel, Node and onnxruntime-node versions, and
// whether page caches can be dropped (needed for honest cold-start numbers).
import {
  accessSync,
  closeSync,
  constants,
  fdatasyncSync,
  openSync,
  readFileSync,
  rmSync,
  writeFileSync,
  writeSync,
  mkdtempSync,
} from 'node:fs';
import { createRequire } from 'node:module';
import { execFileSync } from 'node:child_process';
import os from 'node:os';
import path from 'node:path';
import { TensorshareError } from '../errors.js';

export interface CpuInfo {
  model: string;
  logicalCores: number;
  /** Distinct (physical id, core id) pairs; equals logicalCores when /proc/cpuinfo does not say. */
  physicalCores: number;
  flags: string[];
}

/** Parses /proc/cpuinfo (x86 "flags", Arm "Features"). */
export function parseCpuInfo(text: string): CpuInfo {
  const blocks = text.split(/\n\s*\n/).filter((b) => b.trim() !== '');
  const cores = new Set<string>();
  let model = '';
  let flags: string[] = [];
  let logical = 0;
  for (const block of blocks) {
    const fields = new Map<string, string>();
    for (const line of block.split('\n')) {
      const i = line.indexOf(':');
      if (i > 0) fields.set(line.slice(0, i).trim(), line.slice(i + 1).trim());
    }
    if (!fields.has('processor')) continue;
    logical++;
    model ||= fields.get('model name') ?? fields.get('Model') ?? fields.get('CPU part') ?? '';
    if (flags.length === 0) flags = (fields.get('flags') ?? fields.get('Features') ?? '').split(/\s+/).filter(Boolean);
    if (fields.has('core id')) cores.add(`${fields.get('physical id') ?? 0}/${fields.get('core id')}`);
  }
  return { model, logicalCores: logical, physicalCores: cores.size || logical, flags };
}

// Instruction-set extensions that decide ORT/MLAS kernels and prepacked formats.
const ISA_FLAGS = [
  'sse4_2',
  'avx',
  'avx2',
  'fma',
  'f16c',
  'avx512f',
  'avx512bw',
  'avx512vl',
  'avx512dq',
  'avx512_vnni',
  'avx512_bf16',
  'avx512_fp16',
  'avx_vnni',
  'avx_vnni_int8',
  'amx_tile',
  'amx_int8',
  'amx_bf16',
  'amx_fp16',
  'asimd',
  'asimddp',
  'asimdhp',
  'sve',
  'sve2',
  'i8mm',
  'bf16',
  'sme',
];

/** The flags of `flags` that matter for inference kernels, in a fixed order. */
export function isaFlags(flags: readonly string[]): string[] {
  const have = new Set(flags);
  return ISA_FLAGS.filter((f) => have.has(f));
}

/** Parses /proc/meminfo into bytes per key (MemTotal, MemAvailable, Cached, Shmem, ...). */
export function parseMemInfo(text: string): Record<string, number> {
  const out: Record<string, number> = {};
  for (const line of text.split('\n')) {
    const m = /^(\S+):\s+(\d+)(?: kB)?$/.exec(line.trim());
    if (m) out[m[1]!] = Number(m[2]) * (line.includes(' kB') ? 1024 : 1);
  }
  return out;
}

export function readMemInfo(procRoot = '/proc'): Record<string, number> {
  return parseMemInfo(readFileSync(path.join(procRoot, 'meminfo'), 'utf8'));
}

/** MemAvailable in bytes: what the kernel thinks can be allocated without swapping. */
export function memAvailable(procRoot = '/proc'): number {
  const m = readMemInfo(procRoot);
  const v = m.MemAvailable ?? m.MemFree;
  if (v === undefined) throw new TensorshareError('ERR_INTERNAL', `no MemAvailable in ${procRoot}/meminfo`);
  return v;
}

/** Memory limit of this process's cgroup (v2 memory.max or v1 limit_in_bytes); null when unlimited or unknown. */
export function cgroupMemoryLimit(): number | null {
  let lines: string[];
  try {
    lines = readFileSync('/proc/self/cgroup', 'utf8').split('\n');
  } catch {
    return null;
  }
  const candidates: string[] = [];
  for (const line of lines) {
    const [, controllers, p] = line.split(':');
    if (p === undefined) continue;
    if (controllers === '') candidates.push(path.join('/sys/fs/cgroup', p, 'memory.max'));
    else if (controllers!.split(',').includes('memory'))
      candidates.push(path.join('/sys/fs/cgroup/memory', p, 'memory.limit_in_bytes'));
  }
  for (const file of candidates) {
    try {
      const v = readFileSync(file, 'utf8').trim();
      if (v === 'max') return null;
      const n = Number(v);
      return Number.isFinite(n) && n < 2 ** 60 ? n : null;
    } catch {
      // try the next candidate
    }
  }
  return null;
}

/** Version of an installed package, read from its package.json; null when not installed. */
export function packageVersion(name: string, from: string = import.meta.url): string | null {
  const require = createRequire(from);
  try {
    const main = require.resolve(name);
    // Walk up from the entry point to the package's own package.json.
    let dir = path.dirname(main);
    while (dir !== path.dirname(dir)) {
      try {
        const pkg = JSON.parse(readFileSync(path.join(dir, 'package.json'), 'utf8')) as {
          name?: string;
          version?: string;
        };
        if (pkg.name === name) return pkg.version ?? null;
      } catch {
        // no package.json here
      }
      dir = path.dirname(dir);
    }
  } catch {
    // not installed
  }
  return null;
}

export interface DropCachesProbe {
  /** /proc/sys/vm/drop_caches accepted a write. */
  writable: boolean;
  /** The write measurably evicted a freshly written file from the page cache; null when not tried or not measurable. */
  works: boolean | null;
  detail: string;
}

/**
 * Drops clean page cache (level 1), dentries and inodes (2) or both (3) after
 * `sync`. Returns false, never throws, when the kernel refuses (containers
 * usually mount /proc/sys read-only).
 */
export function dropPageCache(level: 1 | 2 | 3 = 3, procRoot = '/proc'): boolean {
  try {
    execFileSync('sync', { stdio: 'ignore' });
  } catch {
    // sync missing: dirty pages simply stay cached
  }
  try {
    writeFileSync(path.join(procRoot, 'sys/vm/drop_caches'), String(level));
    return true;
  } catch {
    return false;
  }
}

/**
 * Tries dropping the page cache: writes `probeBytes` to a fresh file under
 * `probeDir` (must be a disk file system, not tmpfs), syncs it, then drops
 * clean page cache and checks that the kernel's Cached-Shmem figure fell by at
 * least half the file. Drops only clean cache (level 1): safe, but every
 * other process on the machine re-reads its files from disk afterwards.
 */
export function probeDropCaches(
  probeDir: string = os.tmpdir(),
  probeBytes = 16 << 20,
  procRoot = '/proc',
): DropCachesProbe {
  const ctl = path.join(procRoot, 'sys/vm/drop_caches');
  try {
    accessSync(ctl, constants.W_OK);
  } catch {
    return { writable: false, works: false, detail: `${ctl} is not writable by this process` };
  }
  const dir = mkdtempSync(path.join(probeDir, 'tensorshare-dropcache-'));
  try {
    const file = path.join(dir, 'probe.bin');
    const fd = openSync(file, 'w');
    try {
      const chunk = Buffer.alloc(1 << 20, 0x5a);
      for (let written = 0; written < probeBytes; written += chunk.length) writeSync(fd, chunk);
      fdatasyncSync(fd);
    } finally {
      closeSync(fd);
    }
    readFileSync(file); // make sure it is cached
    const cachedFile = (m: Record<string, number>) => (m.Cached ?? 0) - (m.Shmem ?? 0);
    const before = cachedFile(readMemInfo(procRoot));
    if (!dropPageCache(1, procRoot)) return { writable: false, works: false, detail: `writing ${ctl} failed` };
    const fell = before - cachedFile(readMemInfo(procRoot));
    const works = fell >= probeBytes / 2;
    return {
      writable: true,
      works,
      detail: works
        ? `file page cache fell by ${Math.round(fell / 2 ** 20)} MiB after writing 1 to ${ctl}`
        : `wrote ${ctl} but file page cache fell only ${Math.round(fell / 2 ** 20)} MiB (probe dir ${probeDir} may be tmpfs)`,
    };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

export interface MachineInfo {
  hostname: string;
  os: string;
  kernel: string;
  arch: string;
  cpuModel: string;
  logicalCores: number;
  physicalCores: number;
  isa: string[];
  memTotalBytes: number;
  memAvailableBytes: number;
  cgroupMemoryLimitBytes: number | null;
  node: string;
  onnxruntimeNode: string | null;
  dropCaches: DropCachesProbe;
}

export interface MachineInfoOptions {
  /** Actually try dropping caches (default true); false only checks writability. */
  probeDropCaches?: boolean;
  /** Disk folder for the drop-cache probe file (default os.tmpdir()). */
  probeDir?: string;
  procRoot?: string;
}

export function machineInfo(opts: MachineInfoOptions = {}): MachineInfo {
  const procRoot = opts.procRoot ?? '/proc';
  const cpu = parseCpuInfo(readFileSync(path.join(procRoot, 'cpuinfo'), 'utf8'));
  const mem = readMemInfo(procRoot);
  let dropCaches: DropCachesProbe;
  if (opts.probeDropCaches ?? true) {
    dropCaches = probeDropCaches(opts.probeDir, undefined, procRoot);
  } else {
    let writable = true;
    try {
      accessSync(path.join(procRoot, 'sys/vm/drop_caches'), constants.W_OK);
    } catch {
      writable = false;
    }
    dropCaches = { writable, works: null, detail: 'not tried (probeDropCaches: false)' };
  }
  return {
    hostname: os.hostname(),
    os: `${os.type()} ${os.version()}`,
    kernel: os.release(),
    arch: os.arch(),
    cpuModel: cpu.model || (os.cpus()[0]?.model ?? 'unknown'),
    logicalCores: cpu.logicalCores || os.cpus().length,
    physicalCores: cpu.physicalCores || os.cpus().length,
    isa: isaFlags(cpu.flags),
    memTotalBytes: mem.MemTotal ?? os.totalmem(),
    memAvailableBytes: mem.MemAvailable ?? os.freemem(),
    cgroupMemoryLimitBytes: cgroupMemoryLimit(),
    node: process.version,
    onnxruntimeNode: packageVersion('onnxruntime-node'),
    dropCaches,
  };
}
