// A process's memory as /proc/<pid>/smaps_rollup reports it: resident pages
// split into shared (mapped by other processes too: the store's weights) and
// private ones, and the proportional share (Pss).
import { parseKb, readSmapsRollup } from '../instances/memory.js';

export interface ProcessMemory {
  rssBytes: number;
  pssBytes: number;
  sharedBytes: number;
  privateBytes: number;
}

/** undefined when the process is gone or its smaps cannot be read. */
export async function readProcessMemory(pid: number): Promise<ProcessMemory | undefined> {
  const text = await readSmapsRollup(pid);
  if (text === undefined) return undefined;
  const kb = (key: string) => parseKb(text, key) ?? 0;
  return {
    rssBytes: kb('Rss'),
    pssBytes: kb('Pss'),
    sharedBytes: kb('Shared_Clean') + kb('Shared_Dirty'),
    privateBytes: kb('Private_Clean') + kb('Private_Dirty'),
  };
}
