// Scheduling class of every thread of a process, from /proc: what the
// besteffort isolation (src/serve/instances/cpu-priority.ts) is checked
// against by tests and the scheduling benchmark.
import fs from 'node:fs';

/** Scheduling policies as Linux numbers them (<sched.h>; /proc/<pid>/task/<tid>/stat field 41). */
export const SCHED_POLICY = { SCHED_OTHER: 0, SCHED_FIFO: 1, SCHED_RR: 2, SCHED_BATCH: 3, SCHED_IDLE: 5 } as const;

export interface ThreadPriority {
  tid: number;
  /** The thread's command name (comm). */
  name: string;
  policy: number;
  nice: number;
}

/** Policy and nice of every thread of `pid` (none for a process that is gone; threads that end meanwhile are left out). */
export function threadPriorities(pid: number): ThreadPriority[] {
  let tids: string[];
  try {
    tids = fs.readdirSync(`/proc/${pid}/task`);
  } catch {
    return [];
  }
  const out: ThreadPriority[] = [];
  for (const tid of tids) {
    let stat: string;
    try {
      stat = fs.readFileSync(`/proc/${pid}/task/${tid}/stat`, 'utf8');
    } catch {
      continue;
    }
    out.push(parseThreadStat(Number(tid), stat));
  }
  return out;
}

/** One /proc/<pid>/task/<tid>/stat line: the command name sits in parentheses and may hold spaces, so fields count from its closing one. */
export function parseThreadStat(tid: number, stat: string): ThreadPriority {
  const close = stat.lastIndexOf(')');
  const f = stat.slice(close + 2).split(' '); // f[0] is field 3 (state)
  return { tid, name: stat.slice(stat.indexOf('(') + 1, close), nice: Number(f[19 - 3]), policy: Number(f[41 - 3]) };
}
