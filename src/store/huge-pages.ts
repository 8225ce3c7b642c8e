// The store on huge pages: a tmpfs mounted with huge=within_size
// at the store root, so that a process opening a model maps its weights in
// 2 MiB pages (coldphases measured the first run of BERT-base on 4 KiB
// pages at ~7,100 minor faults and 35-45 ms of system time; on huge pages a
// few hundred). Files get huge pages only when sized before they are
// written (presized-copy.ts). The daemon mounts it before it claims the
// store (daemon/daemon.ts). Mounting needs CAP_SYS_ADMIN; where the
// process may not mount, the store stays where it is, with small pages, and
// the outcome says why (the daemon logs it). The mount outlives the daemon,
// as /dev/shm's files do: the store and the state file in it survive a
// restart, and the next daemon finds the mount and keeps it.
import { execFile } from 'node:child_process';
import fs from 'node:fs/promises';
import { TensorshareError } from '../errors.js';

export const HUGE_PAGES_MODES = ['auto', 'on', 'off'] as const;
/** auto: mount at the default store location where allowed, else fall back; on: mount at any store, or fail; off: never. */
export type HugePagesMode = (typeof HUGE_PAGES_MODES)[number];

export interface StoreMountOutcome {
  /** Files written into the store from now on get huge pages. */
  hugePages: boolean;
  /** mounted: by this call; present: a huge-page tmpfs was already there; off: not asked for; unavailable: asked for, not possible. */
  state: 'mounted' | 'present' | 'off' | 'unavailable';
  detail: string;
}

export interface MountEntry {
  mountPoint: string;
  fsType: string;
  superOptions: string[];
}

/** /proc/self/mountinfo: `id parent maj:min root mountpoint options [optional...] - fstype source superoptions`. */
export function parseMountInfo(text: string): MountEntry[] {
  const unescapeOctal = (s: string) =>
    s.replace(/\\([0-7]{3})/g, (_m, o: string) => String.fromCharCode(parseInt(o, 8)));
  const out: MountEntry[] = [];
  for (const line of text.split('\n')) {
    const f = line.split(' ');
    const dash = f.indexOf('-', 6);
    if (dash < 0 || f.length < dash + 4) continue;
    out.push({ mountPoint: unescapeOctal(f[4]!), fsType: f[dash + 1]!, superOptions: f[dash + 3]!.split(',') });
  }
  return out;
}

/** huge=within_size and huge=always give file pages huge pages; advise needs madvise, which ONNX Runtime does not call. */
const hugeOption = (e: MountEntry) =>
  e.fsType === 'tmpfs' && e.superOptions.some((o) => o === 'huge=within_size' || o === 'huge=always');

const TMPFS_MAGIC = 0x01021994;

/** Whether files written under `dir` get huge pages: the mount that holds it is a tmpfs with huge=within_size or always. */
export async function hasHugePages(dir: string, deps: Pick<MountDeps, 'mountInfo'> = systemMount): Promise<boolean> {
  const real = await fs.realpath(dir);
  const holder = parseMountInfo(await deps.mountInfo())
    .filter((e) => real === e.mountPoint || real.startsWith(e.mountPoint === '/' ? '/' : `${e.mountPoint}/`))
    .reduce<MountEntry | undefined>(
      (best, e) => (!best || e.mountPoint.length >= best.mountPoint.length ? e : best),
      undefined,
    );
  return holder !== undefined && hugeOption(holder);
}

/** hasHugePages of the system's mounts by folder, with the device the folder was on when asked. */
const hugePagesByDir = new Map<string, { dev: number; huge: boolean }>();

/**
 * hasHugePages(dir) with the system's mounts, remembered while `dir` stays on
 * the same device: a mount that changes which file system holds it changes
 * its st_dev. Every materialization asks, and reading and parsing
 * /proc/self/mountinfo each time was a cost per model (a thousand of them).
 */
export async function hasHugePagesNow(dir: string): Promise<boolean> {
  const { dev } = await fs.stat(dir);
  const known = hugePagesByDir.get(dir);
  if (known?.dev === dev) return known.huge;
  const huge = await hasHugePages(dir);
  hugePagesByDir.set(dir, { dev, huge });
  return huge;
}

export interface MountDeps {
  /** Runs mount(8) with these arguments; rejects with the reason. */
  mount(args: string[]): Promise<void>;
  mountInfo(): Promise<string>;
}

export const systemMount: MountDeps = {
  mount: (args) =>
    new Promise((resolve, reject) =>
      execFile('mount', args, { timeout: 10_000 }, (err, _out, stderr) =>
        err ? reject(new Error(stderr.trim().split('\n')[0] || err.message)) : resolve(),
      ),
    ),
  mountInfo: () => fs.readFile('/proc/self/mountinfo', 'utf8'),
};

/**
 * Puts the store root (an existing, verified folder) on a huge-page tmpfs.
 * `isDefaultStore`: auto mounts only at the default location, so a store a
 * caller names (a test's temp folder) never gets a mount it has to undo.
 */
export async function mountHugePageStore(
  store: string,
  mode: HugePagesMode,
  o: { isDefaultStore: boolean; deps?: MountDeps },
): Promise<StoreMountOutcome> {
  const deps = o.deps ?? systemMount;
  if (mode === 'off') return { hugePages: false, state: 'off', detail: 'huge pages off (hugePages setting)' };
  const root = await fs.realpath(store);
  const unavailable = (why: string): StoreMountOutcome => {
    if (mode === 'on')
      throw new TensorshareError('ERR_UNAVAILABLE', `hugePages on: ${why}`, { store: root, setting: 'hugePages' });
    return { hugePages: false, state: 'unavailable', detail: `${why}; the store stays on 4 KiB pages` };
  };
  // The last entry for a path is the mount on top.
  const mounted = async () =>
    parseMountInfo(await deps.mountInfo())
      .filter((e) => e.mountPoint === root)
      .pop();
  const existing = await mounted();
  if (existing) {
    if (hugeOption(existing))
      return { hugePages: true, state: 'present', detail: `store ${root} is a tmpfs with huge pages already` };
    return unavailable(`store ${root} is a ${existing.fsType} mount of its own without huge=within_size`);
  }
  if (mode === 'auto' && !o.isDefaultStore)
    return {
      hugePages: false,
      state: 'off',
      detail: `huge pages: auto mounts only at the default store location; hugePages on mounts one at ${root}`,
    };
  const entries = await fs.readdir(root);
  if (entries.length)
    return unavailable(
      `store ${root} already holds files (${entries.slice(0, 3).join(', ')}${entries.length > 3 ? ', ...' : ''}) and a mount would hide them: stop the daemon and remove the folder to get huge pages`,
    );
  // The same size limit as the tmpfs the store was on, so a budget given as a fraction means what it meant.
  const fsStat = await fs.statfs(root);
  const size = fsStat.type === TMPFS_MAGIC ? `,size=${fsStat.blocks * fsStat.bsize}` : '';
  const st = await fs.stat(root);
  const options = `huge=within_size,nosuid,nodev,noexec,mode=0${(st.mode & 0o777).toString(8)},uid=${st.uid},gid=${st.gid}${size}`;
  try {
    await deps.mount(['-t', 'tmpfs', '-o', options, 'tensorshare-store', root]);
  } catch (e) {
    return unavailable(`cannot mount a huge-page tmpfs at ${root} (${(e as Error).message})`);
  }
  const now = await mounted();
  if (!now || !hugeOption(now))
    return unavailable(`mounted a tmpfs at ${root}, but the kernel did not keep huge=within_size`);
  return { hugePages: true, state: 'mounted', detail: `mounted a tmpfs with huge=within_size at ${root}` };
}
