// A process's memory as /proc/<pid>/smaps_rollup reports it: resident pages
// split into shared (mapped by other processes too: the store's weights) and
// private ones, and the proportional share (Pss).
import fs from 'node:fs/promises';

export interface ProcessMemory {
  rssBytes: number;
  pssBytes: number;
  sharedBytes: number;
  privateBytes: number;
}

/** undefined when the process is gone or its smaps cannot be read. */
export async function readProcessMemory(pid: number): Promise<ProcessMemory | undefined> {
  let text: string;
  try {
    text = await fs.readFile(`/proc/${pid}/smaps_rollup`, 'utf8');
  } catch {
    return undefined;
  }
  const kb = (key: string) => {
    const m = new RegExp(`^${key}:\\s+(\\d+) kB`, 'm').exec(text);
    return m ? Number(m[1]) * 1024 : 0;
  };
  return {
    rssBytes: kb('Rss'),
    pssBytes: kb('Pss'),
    sharedBytes: kb('Shared_Clean') + kb('Shared_Dirty'),
    privateBytes: kb('Private_Clean') + kb('Private_Dirty'),
  };
}
