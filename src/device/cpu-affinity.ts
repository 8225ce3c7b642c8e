// Where a device executor's threads run: on the CPUs of its GPU's NUMA node
// (sysfs `local_cpulist` of the GPU's PCI address). A small model on a GPU is
// bound by how fast one thread launches kernels, so that thread's core and the
// memory it touches should be near the device. Threads inherit the mask of the
// thread that creates them, so the executor sets it on every thread it has at
// start (before its session workers, ORT's and CUDA's threads exist).
// `gpuCpus`: `auto` (the GPU's local CPUs, when they are fewer than the
// process may use), `off`, or an explicit list such as `0-7,16-23`.
import fs from 'node:fs';
import koffi from 'koffi';
import { type CpuSetting, chooseCpus, localCpus, MAX_CPUS } from './cpu-list.js';

const MASK_BYTES = MAX_CPUS / 8;

interface Affinity {
  set(tid: number, size: number, mask: Buffer): number;
  get(tid: number, size: number, mask: Buffer): number;
}

let affinity: Affinity | undefined;

function bind(): Affinity {
  if (affinity) return affinity;
  const lib = koffi.load('libc.so.6');
  affinity = {
    set: lib.func('int sched_setaffinity(int pid, size_t size, const uint8_t *mask)') as Affinity['set'],
    get: lib.func('int sched_getaffinity(int pid, size_t size, _Out_ uint8_t *mask)') as Affinity['get'],
  };
  return affinity;
}

const toMask = (cpus: readonly number[]): Buffer => {
  const mask = Buffer.alloc(MASK_BYTES);
  for (const c of cpus) mask[c >> 3]! |= 1 << (c & 7);
  return mask;
};

/** The CPUs this thread may run on (sched_getaffinity). */
export function allowedCpus(): number[] {
  const mask = Buffer.alloc(MASK_BYTES);
  if (bind().get(0, MASK_BYTES, mask) !== 0) throw new Error(`sched_getaffinity failed (errno ${koffi.errno()})`);
  const out: number[] = [];
  for (let c = 0; c < MAX_CPUS; c++) if (mask[c >> 3]! & (1 << (c & 7))) out.push(c);
  return out;
}

/** Sets every thread of this process (/proc/self/task) to `cpus`; threads made later inherit it from their maker. */
export function pinThreads(cpus: readonly number[]): { threads: number; failed: number } {
  const mask = toMask(cpus);
  const set = bind().set;
  let threads = 0;
  let failed = 0;
  for (const tid of fs.readdirSync('/proc/self/task')) {
    threads++;
    // A thread may end between the listing and the call (ESRCH): it needs no mask then.
    if (set(Number(tid), MASK_BYTES, mask) !== 0) failed++;
  }
  return { threads, failed };
}

/**
 * Places this process's threads by the setting (the executor at start); never throws: a placement that cannot be
 * made is a line in the log and the process runs where it was.
 */
export function placeThreads(setting: CpuSetting, busId: string | undefined, log: (line: string) => void): number[] {
  try {
    const choice = chooseCpus(setting, busId ? localCpus(busId) : undefined, allowedCpus());
    if ('reason' in choice) {
      if (setting !== 'off') log(`threads not pinned: ${choice.reason}`);
      return [];
    }
    const r = pinThreads(choice.cpus);
    log(
      `threads pinned to CPUs ${choice.cpus.join(',')}${busId ? ` (GPU ${busId})` : ''}: ${r.threads - r.failed} of ${r.threads}`,
    );
    return choice.cpus;
  } catch (e) {
    log(`threads not pinned: ${(e as Error).message}`);
    return [];
  }
}
