// The original bytes at the end of a fast-run tensor file (fast-run.ts puts
// them after the prepacked blobs, on a page of their own) are needed only
// while a session is being created. ONNX Runtime runs PrePack on them at
// every creation to find the stored blob (the blob's key is a hash of the
// packed output), then releases them: a created session maps only the blobs
// (measured on BERT-base: 324 MiB of originals, none mapped after creation).
// Zeros there are no option while sessions are created: ORT then packs the
// zeros, misses the stored blob and runs with wrong weights (measured).
//
// So a daemonless opener brackets every fast-run creation with a window and
// the store cuts the originals off the files' ends between windows
// (ftruncate: the blob pages that running sessions map stay). A cut file
// fails loudly, never silently: ORT refuses an initializer beyond the end of
// its file, and a process still touching a cut original gets SIGBUS.
//
// The protocol needs no lock (each step is one file created or removed in
// <store>/tmp, names starting with the pid, so cleanStaleStaging removes a
// dead process's files and dead pids are ignored):
//   opener: create marker `<pid>-open-*`; wait until no live `<pid>-cut-*`
//           exists; restore cut originals from the repository; create the
//           session; remove the marker; then cut, as below.
//   cutter: create `<pid>-cut-*`; if a live marker of another window exists,
//           remove it and stop; else truncate; remove it.
// A cut whose marker check ran before an opener's marker existed started
// before it too, so that opener waits for it to finish before restoring; a
// cut that checks later sees the marker and does nothing.
//
// A tensor is cut only where its variant records `originalsTail`:
// buildFastRun writes it for tensors whose originals ORT was seen to release
// after creating the check session; this process's own mappings are checked
// again before a cut. A store that a live daemon owns is never cut (its
// clients create sessions without windows).
import fs from 'node:fs/promises';
import { closeSync, existsSync, openSync, readFileSync, readSync, writeSync } from 'node:fs';
import path from 'node:path';
import { randomBytes } from 'node:crypto';
import { tensorPath, variantPath, type Layout } from './layout.js';
import type { VariantManifest } from './manifest.js';
import { pidAlive } from './staging.js';

const OPEN = '-open-';
const CUT = '-cut-';
const RESTORE_CHUNK = 1 << 20;
const WAIT_POLL_MS = 2;

/** A variant tensor file whose original data may leave the store between creations. */
export interface CuttableTensor {
  sha256: string;
  /** The whole file. */
  bytes: number;
  /** Length of the file without its originals. */
  cutAt: number;
}

export function cuttableTensors(v: VariantManifest): CuttableTensor[] {
  const seen = new Map<string, CuttableTensor>();
  for (const t of v.tensors) {
    const tail = t.originalsTail;
    if (tail === undefined || tail <= 0 || tail > t.bytes || seen.has(t.sha256)) continue;
    seen.set(t.sha256, { sha256: t.sha256, bytes: t.bytes, cutAt: t.bytes - tail });
  }
  return [...seen.values()];
}

/** Byte ranges of files under `dir` that this process maps, by file name (/proc/self/maps). */
export function mappedRanges(dir: string): Map<string, [number, number][]> {
  const out = new Map<string, [number, number][]>();
  const prefix = `${path.resolve(dir)}/`;
  for (const line of readFileSync('/proc/self/maps', 'utf8').split('\n')) {
    const m = /^([0-9a-f]+)-([0-9a-f]+) \S+ ([0-9a-f]+) \S+ \d+\s+(.+)$/.exec(line);
    if (!m || !m[4]!.startsWith(prefix)) continue;
    const offset = Number.parseInt(m[3]!, 16);
    const length = Number.parseInt(m[2]!, 16) - Number.parseInt(m[1]!, 16);
    const name = m[4]!.slice(prefix.length);
    const list = out.get(name) ?? [];
    list.push([offset, offset + length]);
    out.set(name, list);
  }
  return out;
}

/** Whether this process maps any byte of a file from `from` on (its originals). */
function mapsTail(ranges: Map<string, [number, number][]>, sha: string, from: number): boolean {
  return (ranges.get(sha) ?? []).some(([, end]) => end > from);
}

/**
 * After a session over `dir` was created in this process: the files whose
 * originals (from `cutAt` on) it no longer maps (ORT released them), so a
 * variant may record them as cuttable.
 */
export function releasedOriginals(dir: string, tensors: readonly CuttableTensor[]): Set<string> {
  const ranges = mappedRanges(dir);
  return new Set(
    tensors.filter((t) => ranges.has(t.sha256) && !mapsTail(ranges, t.sha256, t.cutAt)).map((t) => t.sha256),
  );
}

async function writable(file: string): Promise<fs.FileHandle> {
  try {
    return await fs.open(file, 'r+');
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code !== 'EACCES') throw e;
    // Store files are committed read-only (0444); their owner may still change them.
    await fs.chmod(file, 0o644);
    try {
      return await fs.open(file, 'r+');
    } finally {
      await fs.chmod(file, 0o444);
    }
  }
}

/**
 * Copies the cut-off originals back from the repository's whole file
 * (running sessions keep their blob pages). Synchronous reads and writes
 * through one small buffer: thousands of awaited chunks grew the opener's
 * private memory by about 1 MiB (V8 heap), which every instance would keep.
 */
async function restoreFile(repo: Layout, store: Layout, t: CuttableTensor, buf: Buffer): Promise<number> {
  const dest = tensorPath(store, t.sha256);
  const size = (await fs.stat(dest)).size;
  if (size >= t.bytes) return 0;
  const src = openSync(tensorPath(repo, t.sha256), 'r');
  try {
    const fh = await writable(dest);
    try {
      for (let at = size; at < t.bytes; ) {
        const n = readSync(src, buf, 0, Math.min(buf.length, t.bytes - at), at);
        if (n === 0) throw new Error(`repository file ${tensorPath(repo, t.sha256)} is short`);
        writeSync(fh.fd, buf, 0, n, at);
        at += n;
      }
    } finally {
      await fh.close();
    }
  } finally {
    closeSync(src);
  }
  return t.bytes - size;
}

async function live(store: Layout, kind: string, except?: string): Promise<boolean> {
  const entries = await fs.readdir(store.tmp).catch(() => [] as string[]);
  return entries.some((e) => e !== except && e.includes(kind) && pidAlive(Number(e.split('-')[0])));
}

/** Whether a live daemon owns this store (<store>/.daemon/daemon.pid): its clients create sessions without windows. */
function daemonOwns(store: Layout): boolean {
  const file = path.join(store.root, '.daemon', 'daemon.pid');
  if (!existsSync(file)) return false;
  const pid = Number(readFileSync(file, 'utf8').trim().split(' ')[0]);
  return Number.isInteger(pid) && pid > 0 && pidAlive(pid);
}

/** The variant manifests under a root's variants/ (damaged or half-written ones are skipped: opening them fails on its own). */
async function variantManifests(root: Layout): Promise<VariantManifest[]> {
  const out: VariantManifest[] = [];
  for (const d of await fs.readdir(root.variants).catch(() => [] as string[])) {
    for (const f of await fs.readdir(path.join(root.variants, d)).catch(() => [] as string[])) {
      try {
        out.push(JSON.parse(await fs.readFile(path.join(root.variants, d, f), 'utf8')) as VariantManifest);
      } catch {}
    }
  }
  return out;
}

/** sha256s that some resident variant maps without recording them cuttable: never cut those. */
async function pinned(store: Layout): Promise<Set<string>> {
  const out = new Set<string>();
  for (const v of await variantManifests(store))
    for (const t of v.tensors ?? []) if (t.originalsTail === undefined) out.add(t.sha256);
  return out;
}

/** The length each cuttable file of a root's variants has once cut (verify of a store skips files of exactly that length). */
export async function cutLengths(root: Layout): Promise<Map<string, number>> {
  const out = new Map<string, number>();
  for (const v of await variantManifests(root)) {
    if (!Array.isArray(v.tensors)) continue;
    for (const t of cuttableTensors(v)) out.set(t.sha256, t.cutAt);
  }
  return out;
}

export interface WindowOutcome {
  /** Bytes copied back from the repository before the creation. */
  restoredBytes: number;
  /** Bytes cut off after it (0 while other creations run, or where a daemon owns the store). */
  cutBytes: number;
  /** Why nothing was cut, when nothing was. */
  kept?: 'other-opens' | 'daemon' | 'nothing-cuttable';
}

const marker = (kind: string) => `${process.pid}${kind}${randomBytes(6).toString('hex')}`;

/** Cuts the originals of `tensors` off their store files unless a window is open (the cutter's side of the protocol). */
async function cut(store: Layout, v: VariantManifest, key: string, tensors: CuttableTensor[]) {
  const mine = marker(CUT);
  await fs.writeFile(path.join(store.tmp, mine), '');
  try {
    if (await live(store, OPEN)) return { cutBytes: 0, kept: 'other-opens' as const };
    // An evicted variant may be copied in whole again any moment: leave its files alone.
    if (!existsSync(variantPath(store, v.modelDigest, key))) return { cutBytes: 0, kept: 'nothing-cuttable' as const };
    const keep = await pinned(store);
    const ranges = mappedRanges(store.tensors);
    let cutBytes = 0;
    for (const t of tensors) {
      // This process still maps the originals: ORT kept them here (another kernel reads them).
      if (keep.has(t.sha256) || mapsTail(ranges, t.sha256, t.cutAt)) continue;
      const file = tensorPath(store, t.sha256);
      const size = (await fs.stat(file)).size;
      if (size !== t.bytes) continue;
      const fh = await writable(file);
      try {
        await fh.truncate(t.cutAt);
      } finally {
        await fh.close();
      }
      cutBytes += size - t.cutAt;
    }
    return { cutBytes };
  } finally {
    await fs.rm(path.join(store.tmp, mine), { force: true });
  }
}

/**
 * Runs `create` (a session creation over the store's files of variant `v`,
 * resident under `key`) with the originals present, then cuts them off when
 * no other creation needs them. Variants without cuttable tensors run
 * `create` as it is.
 */
export async function withOriginals<T>(
  repo: Layout,
  store: Layout,
  v: VariantManifest,
  key: string,
  create: () => Promise<T>,
): Promise<{ value: T; outcome: WindowOutcome }> {
  const tensors = cuttableTensors(v);
  if (!tensors.length)
    return { value: await create(), outcome: { restoredBytes: 0, cutBytes: 0, kept: 'nothing-cuttable' } };
  const mine = marker(OPEN);
  await fs.mkdir(store.tmp, { recursive: true });
  await fs.writeFile(path.join(store.tmp, mine), '');
  let restoredBytes = 0;
  let value: T;
  try {
    while (await live(store, CUT)) await new Promise((r) => setTimeout(r, WAIT_POLL_MS));
    const buf = Buffer.allocUnsafeSlow(RESTORE_CHUNK);
    for (const t of tensors) restoredBytes += await restoreFile(repo, store, t, buf);
    value = await create();
  } finally {
    await fs.rm(path.join(store.tmp, mine), { force: true });
  }
  if (daemonOwns(store)) return { value, outcome: { restoredBytes, cutBytes: 0, kept: 'daemon' } };
  return { value, outcome: { restoredBytes, ...(await cut(store, v, key, tensors)) } };
}
