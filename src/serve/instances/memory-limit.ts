// A function's memoryLimitMb enforced while its instance runs a request, not
// only by the runtime's periodic sampling (which recycles between requests).
// Where the server may create memory cgroups (v2: memory.max, when its own
// cgroup can delegate the memory controller; v1: memory.limit_in_bytes) each
// instance gets one: the kernel stops it at the limit and only that instance
// dies. Elsewhere the instance's RssAnon is polled while it has requests in
// flight and it is killed past the limit. Either way its in-flight requests
// fail with an error that says so.
import fs from 'node:fs';
import path from 'node:path';

export type MemoryEnforcement = 'auto' | 'sampling';

export interface MemoryLimitOptions {
  /** 'auto': a cgroup per instance where possible, else sampling; 'sampling': always sample (default 'auto'). */
  enforce?: MemoryEnforcement;
  /** Poll an instance's memory this often while it has requests in flight (sampling; default 50 ms). */
  inflightSampleMs?: number;
}

export interface InstanceMemoryLimit {
  readonly how: 'cgroup-v2' | 'cgroup-v1' | 'sampling';
  /** Sampling runs only while requests are in flight. */
  setBusy(busy: boolean): void;
  /** After the process exited: why memory ended it, if it did. */
  exceeded(): string | undefined;
  /** After the process exited: stops sampling, removes its cgroup. */
  release(): void;
}

interface CgroupBase {
  kind: 'v2' | 'v1';
  dir: string;
  limitFile: string;
  eventsFile: string;
}

let probed: { base: CgroupBase } | { unavailable: string } | undefined;

/**
 * Whether this process can give instances memory cgroups, and where. Probed
 * once: it is a property of the machine and of how the server was started.
 */
export function memoryCgroupSupport(): { base: CgroupBase } | { unavailable: string } {
  if (!probed) {
    probed = probe('/proc/self/cgroup', '/sys/fs/cgroup');
    if ('base' in probed) removeStale(probed.base.dir);
  }
  return probed;
}

/** Empty instance cgroups a server killed before it could remove them left behind. */
function removeStale(dir: string): void {
  let names: string[] = [];
  try {
    names = fs.readdirSync(dir);
  } catch {
    return;
  }
  for (const n of names) {
    const owner = Number(/^tensorshare-(\d+)-/.exec(n)?.[1]);
    if (!owner || owner === process.pid || fs.existsSync(`/proc/${owner}`)) continue;
    try {
      fs.rmdirSync(path.join(dir, n));
    } catch {
      /* still holds a process */
    }
  }
}

function probe(procSelfCgroup: string, root: string): { base: CgroupBase } | { unavailable: string } {
  let lines: string[];
  try {
    lines = fs.readFileSync(procSelfCgroup, 'utf8').trim().split('\n');
  } catch (e) {
    return { unavailable: `cannot read ${procSelfCgroup}: ${(e as Error).message}` };
  }
  const v1 = lines.map((l) => /^\d+:([^:]*):(.*)$/.exec(l)).find((m) => m && m[1]!.split(',').includes('memory'));
  if (v1) {
    const dir = path.join(root, 'memory', v1[2]!);
    try {
      fs.accessSync(dir, fs.constants.W_OK);
      fs.accessSync(path.join(dir, 'memory.limit_in_bytes'));
    } catch (e) {
      return { unavailable: `cgroup v1 memory controller at ${dir} is not writable: ${(e as Error).message}` };
    }
    return { base: { kind: 'v1', dir, limitFile: 'memory.limit_in_bytes', eventsFile: 'memory.oom_control' } };
  }
  const v2 = lines.map((l) => /^0::(.*)$/.exec(l)).find(Boolean);
  if (!v2 || !fs.existsSync(path.join(root, 'cgroup.controllers')))
    return { unavailable: `no cgroup v2 hierarchy at ${root} and no v1 memory controller` };
  const dir = path.join(root, v2[1]!);
  try {
    const controllers = fs.readFileSync(path.join(dir, 'cgroup.controllers'), 'utf8').split(/\s+/);
    if (!controllers.includes('memory')) return { unavailable: `cgroup v2 at ${dir} has no memory controller` };
    // Child cgroups get memory.max only if this one delegates the controller;
    // the kernel refuses that (EBUSY) while processes sit in a non-root cgroup.
    const subtree = fs.readFileSync(path.join(dir, 'cgroup.subtree_control'), 'utf8').split(/\s+/);
    if (!subtree.includes('memory')) fs.writeFileSync(path.join(dir, 'cgroup.subtree_control'), '+memory');
  } catch (e) {
    return {
      unavailable: `cannot delegate the memory controller of cgroup ${dir} (run serve in a cgroup of its own, e.g. systemd Delegate=yes): ${(e as Error).message}`,
    };
  }
  return { base: { kind: 'v2', dir, limitFile: 'memory.max', eventsFile: 'memory.events' } };
}

const oomKills = (text: string) => Number(/^oom_kill (\d+)$/m.exec(text)?.[1] ?? 0);

/** Puts `pid` into a cgroup of its own limited to `limitMb`; undefined when that cannot be done. */
function cgroupLimit(base: CgroupBase, name: string, pid: number, limitMb: number): InstanceMemoryLimit | undefined {
  const dir = path.join(base.dir, name);
  try {
    fs.mkdirSync(dir);
  } catch {
    return undefined;
  }
  const remove = () => {
    try {
      fs.rmdirSync(dir);
    } catch {
      /* still has a process for a moment: the next release retries */
    }
  };
  try {
    fs.writeFileSync(path.join(dir, base.limitFile), String(limitMb * 2 ** 20));
    fs.writeFileSync(path.join(dir, 'cgroup.procs'), String(pid));
  } catch {
    remove();
    return undefined;
  }
  let removed = false;
  return {
    how: base.kind === 'v2' ? 'cgroup-v2' : 'cgroup-v1',
    setBusy() {},
    exceeded() {
      try {
        if (oomKills(fs.readFileSync(path.join(dir, base.eventsFile), 'utf8')) > 0) {
          return `was killed by the kernel at its memory cgroup limit (${base.limitFile} = memoryLimitMb ${limitMb})`;
        }
      } catch {
        /* gone */
      }
      return undefined;
    },
    release() {
      if (removed) return;
      removed = true;
      remove();
      // The exit event can come before the kernel empties the cgroup.
      if (fs.existsSync(dir)) setTimeout(remove, 1000).unref();
    },
  };
}

/** RssAnon of a process in bytes (/proc/<pid>/status): its private memory, not the store pages it maps. */
function rssAnon(pid: number): number | undefined {
  try {
    const m = /^RssAnon:\s+(\d+) kB$/m.exec(fs.readFileSync(`/proc/${pid}/status`, 'utf8'));
    return m ? Number(m[1]) * 1024 : undefined;
  } catch {
    return undefined;
  }
}

function samplingLimit(pid: number, limitMb: number, everyMs: number, kill: () => void): InstanceMemoryLimit {
  let timer: NodeJS.Timeout | undefined;
  let killedAt: number | undefined;
  const check = () => {
    const bytes = rssAnon(pid);
    if (bytes !== undefined && bytes > limitMb * 2 ** 20 && killedAt === undefined) {
      killedAt = bytes;
      kill();
    }
  };
  const stop = () => {
    if (timer) clearInterval(timer);
    timer = undefined;
  };
  return {
    how: 'sampling',
    setBusy(busy) {
      if (busy && !timer && killedAt === undefined) {
        timer = setInterval(check, everyMs);
        timer.unref();
      } else if (!busy) stop();
    },
    exceeded: () =>
      killedAt === undefined
        ? undefined
        : `was stopped holding ${Math.round(killedAt / 2 ** 20)} MB, over its memoryLimitMb of ${limitMb}`,
    release: stop,
  };
}

/** The memory limit of one instance process; undefined when its function sets none. */
export function limitInstanceMemory(o: {
  pid: number | undefined;
  instance: string;
  limitMb: number | undefined;
  options?: MemoryLimitOptions;
  kill(): void;
}): InstanceMemoryLimit | undefined {
  if (o.limitMb === undefined || o.pid === undefined) return undefined;
  if ((o.options?.enforce ?? 'auto') === 'auto') {
    const support = memoryCgroupSupport();
    if ('base' in support) {
      const c = cgroupLimit(support.base, `tensorshare-${process.pid}-${o.instance}`, o.pid, o.limitMb);
      if (c) return c;
    }
  }
  return samplingLimit(o.pid, o.limitMb, o.options?.inflightSampleMs ?? 50, o.kill);
}
