// Is a client process still alive? Used to keep leases of clients that lost
// their stream (daemon restart, stream error) until they re-register or die.
// /proc/<pid>/stat's start time (field 22) tells a live process from a later
// one that reused its pid; zombies count as dead (they hold no mappings).
import fs from 'node:fs';

export interface ProcStat {
  state: string;
  startTime: string;
}

export function readProcStat(pid: number, procRoot = '/proc'): ProcStat | undefined {
  if (!Number.isInteger(pid) || pid <= 0) return undefined;
  let text: string;
  try {
    text = fs.readFileSync(`${procRoot}/${pid}/stat`, 'utf8');
  } catch {
    return undefined;
  }
  // "pid (comm) state ppid ..." -- comm may contain spaces and parentheses.
  const rest = text.slice(text.lastIndexOf(')') + 2).split(' ');
  const state = rest[0];
  const startTime = rest[19]; // field 22 overall; rest starts at field 3
  return state && startTime ? { state, startTime } : undefined;
}

/** 'alive', 'dead', or 'unknown' (no start time recorded to compare). */
export function processState(
  pid: number,
  startTime: string | undefined,
  procRoot = '/proc',
): 'alive' | 'dead' | 'unknown' {
  const st = readProcStat(pid, procRoot);
  if (!st || st.state === 'Z' || st.state === 'X' || st.state === 'x') return 'dead';
  if (startTime === undefined) return 'unknown';
  return st.startTime === startTime ? 'alive' : 'dead';
}
