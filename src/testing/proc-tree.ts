// The live process tree under a pid, read from /proc: tests use it to find an
// instance process or to check what a server's descendants map.
import { readFileSync, readdirSync } from 'node:fs';
import path from 'node:path';

/** `pid` followed by all of its live descendants (breadth first). */
export function listProcessTree(pid: number, procRoot = '/proc'): number[] {
  const children = new Map<number, number[]>();
  for (const name of readdirSync(procRoot)) {
    if (!/^\d+$/.test(name)) continue;
    let stat: string;
    try {
      stat = readFileSync(path.join(procRoot, name, 'stat'), 'utf8');
    } catch {
      continue; // the process exited while /proc was listed
    }
    // Field 2 (comm) is parenthesised and may hold spaces or ')': read after the last ')'.
    const parent = Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]);
    const list = children.get(parent);
    if (list) list.push(Number(name));
    else children.set(parent, [Number(name)]);
  }
  const out = [pid];
  for (let i = 0; i < out.length; i++) out.push(...(children.get(out[i]!) ?? []));
  return out;
}
