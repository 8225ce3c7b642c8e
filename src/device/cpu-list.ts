// CPU lists and the `gpuCpus` setting: which CPUs a device executor's threads
// should run on (cpu-affinity.ts pins them). Plain parsing and choice, no
// system calls, so the daemon's settings can check a value without loading
// the FFI.
import fs from 'node:fs';
import path from 'node:path';
import { TensorshareError } from '../errors.js';

export type CpuSetting = 'auto' | 'off' | number[];

/** Largest CPU number a mask holds (cpu_set_t's 1024 bits). */
export const MAX_CPUS = 1024;

/** A Linux CPU list (`0-3,8,10-11`, as in sysfs and taskset) as sorted CPU numbers; throws on anything else. */
export function parseCpuList(text: string, where = 'CPU list'): number[] {
  const s = text.trim();
  const out = new Set<number>();
  for (const part of s.split(',')) {
    const m = /^(\d+)(?:-(\d+))?$/.exec(part.trim());
    const from = m ? Number(m[1]) : Number.NaN;
    const to = m?.[2] !== undefined ? Number(m[2]) : from;
    if (!m || to < from || to >= MAX_CPUS)
      throw new TensorshareError(
        'ERR_INVALID_ARGUMENT',
        `${where}: expected CPU numbers or ranges below ${MAX_CPUS} such as 0-7,16-23, got '${s}'`,
      );
    for (let c = from; c <= to; c++) out.add(c);
  }
  return [...out].sort((a, b) => a - b);
}

/** The `gpuCpus` setting: auto, off, or a CPU list. */
export function parseCpuSetting(v: unknown, where: string): CpuSetting {
  const s = String(v).trim();
  if (s === 'auto' || s === 'off') return s;
  return parseCpuList(s, where);
}

/** The CPUs sysfs names local to a PCI device (`0000:18:00.0`); undefined when it says nothing usable. */
export function localCpus(busId: string, sysfs = '/sys/bus/pci/devices'): number[] | undefined {
  try {
    const cpus = parseCpuList(fs.readFileSync(path.join(sysfs, busId.toLowerCase(), 'local_cpulist'), 'utf8'));
    return cpus.length ? cpus : undefined;
  } catch {
    return undefined;
  }
}

/** What to pin to: the CPUs asked for (or local to the GPU) that this process may use, or why nothing. */
export function chooseCpus(
  setting: CpuSetting,
  local: number[] | undefined,
  allowed: number[],
): { cpus: number[] } | { reason: string } {
  if (setting === 'off') return { reason: 'gpuCpus is off' };
  const want = setting === 'auto' ? local : setting;
  if (!want) return { reason: "the GPU's local CPUs are unknown (no PCI address or no sysfs local_cpulist)" };
  const ok = new Set(allowed);
  const cpus = want.filter((c) => ok.has(c));
  if (!cpus.length) return { reason: `none of CPUs ${want.join(',')} is one this process may use` };
  if (setting === 'auto' && cpus.length === allowed.length)
    return { reason: `the GPU's local CPUs are all the CPUs this process may use (${cpus.length})` };
  return { cpus };
}
