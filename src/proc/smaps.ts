// Memory accounting of live processes from /proc (Linux only):
// - /proc/<pid>/smaps_rollup: one process's totals (Rss, Pss and its parts);
// - /proc/<pid>/smaps: Rss/Pss attributed to each mapped file under a folder,
//   to show which tensor files a process maps and how much of them it shares.
// Every value is in bytes. Pss ("proportional set size") divides each page
// among the processes that map it, so summing Pss over processes counts every
// physical page once: the right measure of what N processes cost together.
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { TensorshareError } from '../errors.js';

export interface SmapsRollup {
  rss: number;
  pss: number;
  pssAnon: number;
  pssFile: number;
  pssShmem: number;
  sharedClean: number;
  sharedDirty: number;
  privateClean: number;
  privateDirty: number;
  swap: number;
}

const ROLLUP_KEYS: Record<string, keyof SmapsRollup> = {
  Rss: 'rss',
  Pss: 'pss',
  Pss_Anon: 'pssAnon',
  Pss_File: 'pssFile',
  Pss_Shmem: 'pssShmem',
  Shared_Clean: 'sharedClean',
  Shared_Dirty: 'sharedDirty',
  Private_Clean: 'privateClean',
  Private_Dirty: 'privateDirty',
  Swap: 'swap',
};

export function emptyRollup(): SmapsRollup {
  return {
    rss: 0,
    pss: 0,
    pssAnon: 0,
    pssFile: 0,
    pssShmem: 0,
    sharedClean: 0,
    sharedDirty: 0,
    privateClean: 0,
    privateDirty: 0,
    swap: 0,
  };
}

/** Parses a `Key:   123 kB` line; undefined for lines of any other form. */
function parseKbLine(line: string): [string, number] | undefined {
  const m = /^([A-Za-z_]+):\s+(\d+) kB$/.exec(line.trim());
  return m ? [m[1]!, Number(m[2]) * 1024] : undefined;
}

/** Parses the text of /proc/<pid>/smaps_rollup. Fields the kernel does not report stay 0. */
export function parseSmapsRollup(text: string): SmapsRollup {
  const out = emptyRollup();
  let seen = 0;
  for (const line of text.split('\n')) {
    const kv = parseKbLine(line);
    if (!kv) continue;
    const key = ROLLUP_KEYS[kv[0]];
    if (key) {
      out[key] = kv[1];
      seen++;
    }
  }
  if (seen === 0) throw new TensorshareError('ERR_INVALID_ARGUMENT', 'smaps_rollup text has no Rss/Pss fields');
  return out;
}

function procError(e: unknown, pid: number, file: string): never {
  const code = (e as NodeJS.ErrnoException)?.code;
  if (code === 'ENOENT' || code === 'ESRCH') {
    throw new TensorshareError(
      'ERR_INVALID_ARGUMENT',
      `process ${pid} does not exist (reading /proc/${pid}/${file})`,
      { pid },
      { cause: e },
    );
  }
  if (code === 'EACCES' || code === 'EPERM') {
    throw new TensorshareError(
      'ERR_PERMISSION_DENIED',
      `no permission to read /proc/${pid}/${file}`,
      { pid },
      { cause: e },
    );
  }
  throw e;
}

/** Reads /proc/<pid>/smaps_rollup. Throws ERR_INVALID_ARGUMENT if the process is gone. */
export function readSmapsRollup(pid: number, procRoot = '/proc'): SmapsRollup {
  let text: string;
  try {
    text = readFileSync(path.join(procRoot, String(pid), 'smaps_rollup'), 'utf8');
  } catch (e) {
    procError(e, pid, 'smaps_rollup');
  }
  // A zombie (exited, not yet reaped) has an empty smaps_rollup.
  if (text.trim() === '') return emptyRollup();
  return parseSmapsRollup(text);
}

/** Field-wise sum. */
export function sumRollups(rollups: readonly SmapsRollup[]): SmapsRollup {
  const out = emptyRollup();
  for (const r of rollups) {
    for (const k of Object.keys(out) as (keyof SmapsRollup)[]) out[k] += r[k];
  }
  return out;
}

export interface FileMapping {
  /** Mapped file path as the kernel reports it, without a " (deleted)" suffix. */
  path: string;
  deleted: boolean;
  /** Number of mappings (VMAs) of this file. */
  mappings: number;
  /** Virtual size of those mappings. */
  size: number;
  rss: number;
  pss: number;
  sharedClean: number;
  sharedDirty: number;
  privateClean: number;
  privateDirty: number;
  /** Pages of the mapping that were written and so copied (copy-on-write): 0 when weights stay shared. */
  anonymous: number;
}

// "start-end perms offset dev inode   pathname"
const HEADER = /^[0-9a-f]+-[0-9a-f]+\s+\S+\s+[0-9a-f]+\s+\S+\s+\d+\s*(.*)$/;
const FILE_KEYS: Record<string, keyof Omit<FileMapping, 'path' | 'deleted' | 'mappings'>> = {
  Size: 'size',
  Rss: 'rss',
  Pss: 'pss',
  Shared_Clean: 'sharedClean',
  Shared_Dirty: 'sharedDirty',
  Private_Clean: 'privateClean',
  Private_Dirty: 'privateDirty',
  Anonymous: 'anonymous',
};

function underFolder(file: string, folder: string): boolean {
  const f = folder.endsWith('/') ? folder.slice(0, -1) : folder;
  return file === f || file.startsWith(`${f}/`);
}

/**
 * Parses the text of /proc/<pid>/smaps and sums Rss/Pss per mapped file under
 * `folder` (every file-backed mapping when `folder` is '/'). Sorted by path.
 */
export function parseSmapsByFile(text: string, folder: string): FileMapping[] {
  const files = new Map<string, FileMapping>();
  let current: FileMapping | undefined;
  for (const line of text.split('\n')) {
    const h = HEADER.exec(line);
    if (h) {
      let name = h[1]!.trim();
      const deleted = name.endsWith(' (deleted)');
      if (deleted) name = name.slice(0, -' (deleted)'.length);
      current = undefined;
      if (!name.startsWith('/') || !underFolder(name, folder)) continue;
      current = files.get(name);
      if (!current) {
        current = {
          path: name,
          deleted,
          mappings: 0,
          size: 0,
          rss: 0,
          pss: 0,
          sharedClean: 0,
          sharedDirty: 0,
          privateClean: 0,
          privateDirty: 0,
          anonymous: 0,
        };
        files.set(name, current);
      }
      current.mappings++;
      continue;
    }
    if (!current) continue;
    const kv = parseKbLine(line);
    const key = kv && FILE_KEYS[kv[0]];
    if (kv && key) current[key] += kv[1];
  }
  return [...files.values()].sort((a, b) => (a.path < b.path ? -1 : a.path > b.path ? 1 : 0));
}

/** Reads /proc/<pid>/smaps and attributes Rss/Pss to mapped files under `folder`. */
export function readSmapsByFile(pid: number, folder: string, procRoot = '/proc'): FileMapping[] {
  let text: string;
  try {
    text = readFileSync(path.join(procRoot, String(pid), 'smaps'), 'utf8');
  } catch (e) {
    procError(e, pid, 'smaps');
  }
  return parseSmapsByFile(text, folder);
}

/** A process's anonymous (private, written) bytes by where they are mapped. */
export interface AnonymousByKind {
  /** glibc's main heap (`[heap]`, grown with brk): small allocations. */
  heap: number;
  /** Copy-on-write pages of file mappings (relocated library data, a written mapped file). */
  files: number;
  /** Every other mapping: blocks glibc maps (above its mmap threshold, ONNX Runtime's arena chunks among them), its other arenas, V8's heap pages, thread stacks. */
  other: number;
}

/** Parses the text of /proc/<pid>/smaps and sums `Anonymous:` by kind of mapping. */
export function parseAnonymousByKind(text: string): AnonymousByKind {
  const out: AnonymousByKind = { heap: 0, files: 0, other: 0 };
  let kind: keyof AnonymousByKind = 'other';
  for (const line of text.split('\n')) {
    const h = HEADER.exec(line);
    if (h) {
      const name = h[1]!.trim();
      kind = name === '[heap]' ? 'heap' : name.startsWith('/') ? 'files' : 'other';
      continue;
    }
    const kv = parseKbLine(line);
    if (kv && kv[0] === 'Anonymous') out[kind] += kv[1];
  }
  return out;
}

export function readAnonymousByKind(pid: number, procRoot = '/proc'): AnonymousByKind {
  let text: string;
  try {
    text = readFileSync(path.join(procRoot, String(pid), 'smaps'), 'utf8');
  } catch (e) {
    procError(e, pid, 'smaps');
  }
  return parseAnonymousByKind(text);
}
