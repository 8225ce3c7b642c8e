// The original bytes at the end of a fast-run tensor file (fast-run.ts puts
// them after the prepacked blobs, on a page of their own) are needed only
// while a session is being created. ONNX Runtime runs PrePack on them at
// every creation -- the first and every later one -- and looks the packed
// result's hash up among the stored blobs (session_state.cc: the key is the
// op type plus a hash of PrePack's output), then maps the stored blob and
// releases the originals: a created session maps only the blobs (measured on
// BERT-base: 324 MiB of originals, none mapped after creation). Zeros there
// are no option while sessions are created: ORT then packs the zeros, misses
// the stored blob and runs with wrong weights (measured).
//
// So every fast-run creation is bracketed by a window, and a cutter may cut
// the originals off the files' ends (ftruncate) while no window is open. The
// cutter is the daemon that owns the store (daemon/originals-keeper.ts), a
// while after the last window closed; a store without a daemon keeps its
// originals (a daemonless open then never pays a restore).
//
// Why ORT never sees a truncated mapping:
//   1. A cut happens only while no window is open (the protocol below), and
//      every creation runs inside one, with the files whole.
//   2. After creation ORT maps only the blobs, which lie before `cutAt` on
//      whole pages: a cut never shortens a page a running session maps. The
//      build records `originalsTail` only for files whose originals ORT was
//      seen to release (releasedOriginals), so only those are ever cut.
//   3. Before truncating, the cutter reads /proc/<pid>/maps of every process
//      it may read: a file whose original bytes any of them maps is left
//      whole (a creation outside the protocol, or an ORT that kept them).
//   4. A process that still touched a cut original would get SIGBUS, never
//      other bytes; a creation over a cut file fails loudly (ORT refuses an
//      initializer beyond the file's end).
//
// The protocol needs no lock (each step is one file created or removed in
// <store>/tmp, names starting with the pid of the process the window is for,
// so cleanStaleStaging removes a dead process's files and dead pids are
// ignored):
//   opener: create marker `<pid>-open-*`; wait until no live `<pid>-cut-*`
//           exists; restore cut originals from the repository; create the
//           session; remove the marker.
//   cutter: create `<pid>-cut-*`; if a live open marker exists, remove it and
//           stop; else truncate; remove it.
// A cut whose marker check ran before an opener's marker existed started
// before it too, so that opener waits for it to finish before restoring; a
// cut that checks later sees the marker and does nothing. A daemon restarted
// in the middle of a window sees the opener's marker like any other.
import fs from 'node:fs/promises';
import { closeSync, existsSync, openSync, readFileSync, readSync, writeSync } from 'node:fs';
import path from 'node:path';
import { nodeCrypto } from './crypto.js';
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

const MAPS_LINE = /^([0-9a-f]+)-([0-9a-f]+) \S+ ([0-9a-f]+) \S+ \d+\s+(.+)$/;

/** Byte ranges of files under `dir` that one process's maps text names, by file name. */
function rangesIn(maps: string, dir: string, out = new Map<string, [number, number][]>()) {
  const prefix = `${path.resolve(dir)}/`;
  for (const line of maps.split('\n')) {
    const m = MAPS_LINE.exec(line);
    if (!m || !m[4]!.startsWith(prefix)) continue;
    const offset = Number.parseInt(m[3]!, 16);
    const length = Number.parseInt(m[2]!, 16) - Number.parseInt(m[1]!, 16);
    const name = m[4]!.slice(prefix.length).replace(/ \(deleted\)$/, '');
    const list = out.get(name) ?? [];
    list.push([offset, offset + length]);
    out.set(name, list);
  }
  return out;
}

/** Byte ranges of files under `dir` that this process maps, by file name (/proc/self/maps). */
export function mappedRanges(dir: string): Map<string, [number, number][]> {
  return rangesIn(readFileSync('/proc/self/maps', 'utf8'), dir);
}

/**
 * Byte ranges of files under `dir` that any process this one may inspect
 * maps (every /proc/<pid>/maps readable to it: its own user's processes, all
 * of them as root). Processes of other users are covered by their windows only.
 */
export async function mappedRangesOfAll(dir: string): Promise<Map<string, [number, number][]>> {
  const out = new Map<string, [number, number][]>();
  for (const pid of await fs.readdir('/proc').catch(() => [] as string[])) {
    if (!/^\d+$/.test(pid)) continue;
    const maps = await fs.readFile(`/proc/${pid}/maps`, 'utf8').catch(() => '');
    if (maps) rangesIn(maps, dir, out);
  }
  return out;
}

/** Whether any byte of a file from `from` on (its originals) is in the ranges. */
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
 * (running sessions keep their blob pages: the file is extended in place,
 * never replaced, so every process maps one inode). Synchronous reads and
 * writes through one small buffer: thousands of awaited chunks grew the
 * opener's private memory by about 1 MiB (V8 heap), which every instance
 * would keep.
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

/**
 * Restores every cut file of a variant (the caller holds a window). Returns the bytes copied back.
 * `fromLast`: walks the files in reverse, so that a second restorer walking forward (serve ahead of its
 * instance, serve/runtime/originals-ahead.ts) meets this one in the middle.
 */
export async function restoreOriginals(
  repo: Layout,
  store: Layout,
  v: VariantManifest,
  o: { fromLast?: boolean } = {},
): Promise<number> {
  let restored = 0;
  const tensors = cuttableTensors(v);
  if (!tensors.length) return 0;
  if (o.fromLast) tensors.reverse();
  const buf = Buffer.allocUnsafeSlow(RESTORE_CHUNK);
  for (const t of tensors) restored += await restoreFile(repo, store, t, buf);
  return restored;
}

/** Whether a name in a root's tmp is a marker of this kind for a live process (a marker's name starts with its pid). */
const isLiveMarker = (name: string, kind: string): boolean =>
  name.includes(kind) && pidAlive(Number(name.split('-')[0]));

/** Live markers of a kind in a root's tmp. */
async function liveMarkers(store: Layout, kind: string): Promise<string[]> {
  const entries = await fs.readdir(store.tmp).catch(() => [] as string[]);
  return entries.filter((e) => isLiveMarker(e, kind));
}

/** Whether a name in a root's tmp is the window or cut marker of a live process (not staging: it lives as long as its window). */
export const isLiveWindowMarker = (name: string): boolean => isLiveMarker(name, OPEN) || isLiveMarker(name, CUT);

/** Whether a creation window is open in any of these roots (the daemon's cutter asks before a cut). */
export async function windowOpen(stores: readonly Layout[]): Promise<boolean> {
  for (const s of stores) if ((await liveMarkers(s, OPEN)).length) return true;
  return false;
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

/** Whether `size` is a length a file of this variant tensor may have in a store: whole, or cut to its blobs. */
export function storeSizeOk(t: { bytes: number; originalsTail?: number }, size: number | undefined): boolean {
  if (size === t.bytes) return true;
  const tail = t.originalsTail;
  return tail !== undefined && tail > 0 && tail <= t.bytes && size === t.bytes - tail;
}

const marker = (kind: string, pid = process.pid) => `${pid}${kind}${nodeCrypto().randomBytes(6).toString('hex')}`;

/** A window this process may not open (its user may not write the store's tmp). */
export function cannotWrite(e: unknown): boolean {
  return ['EACCES', 'EPERM', 'EROFS'].includes((e as NodeJS.ErrnoException).code ?? '');
}

/**
 * Opens a creation window for process `pid` (the daemon opens one on behalf
 * of a client that cannot write markers itself, `tag` naming the lease).
 * Returns its closer.
 */
export function openWindow(store: Layout, pid = process.pid, tag?: string): Promise<() => Promise<void>> {
  return placeMarker(store, tag ? `${pid}${OPEN}${tag}` : marker(OPEN, pid));
}

/** Creates a marker file in the root's tmp; returns its remover. */
async function placeMarker(store: Layout, name: string): Promise<() => Promise<void>> {
  const file = path.join(store.tmp, name);
  await fs.mkdir(store.tmp, { recursive: true });
  await fs.writeFile(file, '');
  return () => fs.rm(file, { force: true });
}

/** Waits until no live cut runs in the root (the opener's side, after its marker exists). */
export async function cutsDone(store: Layout): Promise<void> {
  while ((await liveMarkers(store, CUT)).length) await new Promise((r) => setTimeout(r, WAIT_POLL_MS));
}

export interface CutOutcome {
  cutBytes: number;
  /** Why nothing was cut, when nothing was. */
  kept?: 'window-open' | 'not-resident' | 'nothing-cuttable';
  /** Files left whole because a process maps their originals. */
  mapped: number;
}

/**
 * The cutter's side: cuts the originals of variant `v` (resident under
 * `key`) off its store files unless a window is open in any of `windows`
 * (the roots whose openers may map these files; default the store alone).
 * Run by one cutter at a time per store (the daemon's store queue).
 */
export async function cutOriginals(
  store: Layout,
  v: VariantManifest,
  key: string,
  windows: readonly Layout[] = [store],
): Promise<CutOutcome> {
  const tensors = cuttableTensors(v);
  if (!tensors.length) return { cutBytes: 0, kept: 'nothing-cuttable', mapped: 0 };
  const removeMarker = await placeMarker(store, marker(CUT));
  try {
    if (await windowOpen(windows)) return { cutBytes: 0, kept: 'window-open', mapped: 0 };
    // An evicted variant may be copied in whole again any moment: leave its files alone.
    if (!existsSync(variantPath(store, v.modelDigest, key))) return { cutBytes: 0, kept: 'not-resident', mapped: 0 };
    const keep = await pinned(store);
    const ranges = await mappedRangesOfAll(store.tensors);
    let cutBytes = 0;
    let mapped = 0;
    for (const t of tensors) {
      if (keep.has(t.sha256)) continue;
      // Some process maps the originals (a creation outside any window, or an ORT that kept them).
      if (mapsTail(ranges, t.sha256, t.cutAt)) {
        mapped++;
        continue;
      }
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
    return { cutBytes, mapped };
  } finally {
    await removeMarker();
  }
}

/** Bytes of a variant's originals that are not in the store now. */
export async function cutBytesOf(store: Layout, v: VariantManifest): Promise<number> {
  let n = 0;
  for (const t of cuttableTensors(v)) {
    const size = await fs.stat(tensorPath(store, t.sha256)).then(
      (s) => s.size,
      () => t.bytes,
    );
    n += Math.max(0, t.bytes - size);
  }
  return n;
}

/**
 * Runs `create` (a session creation over the store's files of variant `v`)
 * inside a window, with the originals whole: restores cut ones from the
 * repository first. Variants without cuttable tensors run `create` as it is.
 * Never cuts: the daemon owning the store does, a while after the last
 * window closed (a store without a daemon keeps its originals).
 */
export async function withOriginals<T>(
  repo: Layout,
  store: Layout,
  v: VariantManifest,
  create: () => Promise<T>,
): Promise<{ value: T; restoredBytes: number }> {
  const tensors = cuttableTensors(v);
  if (!tensors.length) return { value: await create(), restoredBytes: 0 };
  let close: () => Promise<void>;
  try {
    close = await openWindow(store);
  } catch (e) {
    // A process of another user (serve's instance users) may not write the store's tmp: it cannot
    // restore either, so it creates over whole files or fails loudly over cut ones. A daemon whose
    // clients run as other users keeps its originals (setting `originals`: serve sets `keep`).
    if (!cannotWrite(e)) throw e;
    return { value: await create(), restoredBytes: 0 };
  }
  try {
    await cutsDone(store);
    const restoredBytes = await restoreOriginals(repo, store, v);
    return { value: await create(), restoredBytes };
  } finally {
    await close();
  }
}

/** Closes windows opened with `tag` in these roots, whoever opened them (a restarted daemon, for a lease it took over). */
export async function closeTaggedWindows(stores: readonly Layout[], tag: string): Promise<void> {
  for (const s of stores)
    for (const e of await fs.readdir(s.tmp).catch(() => [] as string[]))
      if (e.endsWith(`${OPEN}${tag}`)) await fs.rm(path.join(s.tmp, e), { force: true });
}
