// CPU used by everything else on the machine while a benchmark step runs:
// machine busy time (/proc/stat, steal included) minus the time of our own
// processes (this one, the server and its instance processes). On a shared
// machine this says which steps ran beside someone else's work.
import { readFileSync, readdirSync } from 'node:fs';

interface Ticks {
  busy: number;
  total: number;
}

function machineTicks(procRoot: string): Ticks {
  const line = readFileSync(`${procRoot}/stat`, 'utf8').split('\n', 1)[0]!;
  const v = line.trim().split(/\s+/).slice(1).map(Number);
  // user nice system idle iowait irq softirq steal guest guest_nice (guest time is already in user/nice)
  const [user = 0, nice = 0, system = 0, idle = 0, iowait = 0, irq = 0, softirq = 0, steal = 0] = v;
  const busy = user + nice + system + irq + softirq + steal;
  return { busy, total: busy + idle + iowait };
}

function processTicks(procRoot: string, pid: number): number {
  try {
    const s = readFileSync(`${procRoot}/${pid}/stat`, 'utf8');
    const f = s.slice(s.lastIndexOf(')') + 2).split(' ');
    return Number(f[11]) + Number(f[12]); // utime stime (fields 14, 15)
  } catch {
    return 0; // gone
  }
}

/** `pid` and its descendants. */
export function processTree(pid: number, procRoot = '/proc'): number[] {
  const out = [pid];
  for (let i = 0; i < out.length; i++) {
    const p = out[i]!;
    let tasks: string[] = [];
    try {
      tasks = readdirSync(`${procRoot}/${p}/task`);
    } catch {
      continue;
    }
    for (const t of tasks) {
      try {
        for (const c of readFileSync(`${procRoot}/${p}/task/${t}/children`, 'utf8').trim().split(/\s+/).filter(Boolean))
          out.push(Number(c));
      } catch {
        /* task gone */
      }
    }
  }
  return out;
}

export interface CpuWindow {
  /** Cores' worth of CPU used by other processes during the window. */
  foreignCores: number;
  /** Cores' worth used by ours. */
  ownCores: number;
}

/** Starts a window; `end()` reports it. `pids()` lists our processes (read at both ends; a process that ended in between is not counted). */
export function cpuWindow(pids: () => number[], cores: number, procRoot = '/proc'): { end(): CpuWindow } {
  const ours = () => pids().reduce((a, p) => a + processTicks(procRoot, p), 0);
  const m0 = machineTicks(procRoot);
  const o0 = ours();
  return {
    end() {
      const m1 = machineTicks(procRoot);
      const o1 = ours();
      const total = Math.max(1, m1.total - m0.total);
      const own = Math.max(0, o1 - o0);
      const foreign = Math.max(0, m1.busy - m0.busy - own);
      return { foreignCores: (foreign / total) * cores, ownCores: (own / total) * cores };
    },
  };
}
