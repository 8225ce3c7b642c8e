// Besteffort instances run at the lowest CPU priority so the kernel preempts
// them the moment realtime work is runnable (DART's isolation on a shared
// CPU): SCHED_IDLE through sched_setscheduler(2) (koffi, the FFI the project
// already uses; Node has no API for it), or nice 19 where that is refused.
//
// Linux keeps scheduling policy and nice per thread, and a new thread
// inherits its creator's. So every thread that exists is lowered, main
// thread first: threads created later (libuv's pool, where onnxruntime-node
// runs sessions, and ORT's intra-op pool, created when a session opens)
// inherit the class from the thread that creates them.
import fs from 'node:fs';
import os from 'node:os';
import koffi from 'koffi';
import { TensorshareError } from '../../errors.js';

/** What a besteffort instance was lowered to. */
export interface LoweredPriority {
  policy: 'SCHED_IDLE' | 'nice 19';
  /** Threads of the process lowered (they existed when it was lowered). */
  threads: number;
}

/** Linux's number of the policy (<sched.h>); src/proc/threads.ts reads it back. */
const SCHED_IDLE = 5;

type SetScheduler = (pid: number, policy: number, param: number[]) => number;
let setScheduler: SetScheduler | undefined;

function bindSetScheduler(): SetScheduler {
  // struct sched_param { int sched_priority; }: 0 is the only priority of SCHED_IDLE.
  setScheduler ??= koffi
    .load('libc.so.6')
    .func('int sched_setscheduler(int pid, int policy, _In_ int *param)') as SetScheduler;
  return setScheduler;
}

const tids = (pid: number): number[] => {
  try {
    return fs.readdirSync(`/proc/${pid}/task`).map(Number);
  } catch {
    return [];
  }
};

/**
 * Moves every thread of `pid` to SCHED_IDLE, or to nice 19 where SCHED_IDLE
 * is refused. Throws ERR_PERMISSION_DENIED naming why when neither is
 * permitted (another user's process without CAP_SYS_NICE),
 * ERR_INVALID_ARGUMENT for a process that does not exist, ERR_UNAVAILABLE off
 * Linux.
 */
export function lowerCpuPriority(pid: number): LoweredPriority {
  if (process.platform !== 'linux')
    throw new TensorshareError('ERR_UNAVAILABLE', `CPU priority classes need Linux; this is ${process.platform}`);
  const done = new Set<number>();
  let policy: LoweredPriority['policy'] = 'SCHED_IDLE';
  const lower = (tid: number) => {
    if (policy === 'SCHED_IDLE' && bindSetScheduler()(tid, SCHED_IDLE, [0]) === 0) return;
    const idleErrno = koffi.errno();
    try {
      os.setPriority(tid, 19);
      policy = 'nice 19';
    } catch (e) {
      if (!fs.existsSync(`/proc/${pid}/task/${tid}`)) {
        if (tid !== pid) return; // a thread that ended meanwhile needs nothing
        throw new TensorshareError(
          'ERR_INVALID_ARGUMENT',
          `cannot lower the CPU priority of process ${pid}: no such process`,
          {
            pid,
          },
        );
      }
      throw new TensorshareError(
        'ERR_PERMISSION_DENIED',
        `cannot lower the CPU priority of process ${pid} (thread ${tid}): SCHED_IDLE failed with errno ${idleErrno}, nice 19 with ${(e as Error).message}`,
        { pid, tid, errno: idleErrno },
      );
    }
  };
  // Main thread first: what it creates from now on inherits; then until no thread is left unlowered.
  lower(pid);
  done.add(pid);
  for (let fresh = tids(pid); fresh.some((t) => !done.has(t)); fresh = tids(pid)) {
    for (const t of fresh) {
      if (done.has(t)) continue;
      lower(t);
      done.add(t);
    }
  }
  return { policy, threads: done.size };
}
