// Pre-started instance processes: forked ahead of need with Node, ONNX
// Runtime's binding and the open function loaded, but no function yet. A
// start takes one (startInstance's `prestarted`) and sends it 'init', so a
// scale-from-zero pays for opening the models and the first run only, not for
// Node's start and the imports (measured in src/bench/coldphases.ts). Each
// idle process holds a memory reservation; the pool keeps as many as its size
// asks and the budget allows, and gives one up when an instance needs the room.
import { defaultSocket } from '../../config.js';
import { executorDevices, hasCpuExecutor } from '../../device/protocol.js';
import { forkInstanceProcess, type InstanceProcess } from './instance.js';
import type { OpenerSpec } from './opener.js';
import type { FromInstance } from './protocol.js';
import type { ProcessUser } from './user.js';

/** Private memory one idle pre-started process is counted as (measured Pss_Anon: about 30 MiB; kept generous). */
export const PRESTART_ESTIMATE_BYTES = 64 * 2 ** 20;

export interface PrestartOptions {
  /** Idle processes to keep (0: none). */
  size: number;
  opener: OpenerSpec;
  /**
   * The store whose daemon the instances use: where it runs device executors, a pre-started process loads the
   * device client too (a GPU function's open then pays no import; CPU functions taking it carry its memory).
   */
  store?: string;
  env?: NodeJS.ProcessEnv;
  /** The user the processes run as: only starts as this user take one. */
  user?: ProcessUser;
  shmDir?: string | false;
  /** Reserves room for one idle process (`id`); false when the memory budget has none. */
  reserve(id: string): boolean;
  release(id: string): void;
  /** A pre-started process failed to preload (it is not replaced: a broken runtime must not respawn in a loop). */
  onError?(message: string): void;
}

export interface PrestartPool {
  /**
   * An idle preloaded process for a start as `user`, or undefined. No replacement is forked here: the caller
   * refills once that start has answered what waited for it, or is gone (a replacement's Node and ONNX Runtime
   * start beside the handed-over instance's open and first answer competed for the cores).
   */
  take(user?: ProcessUser): InstanceProcess | undefined;
  /** Ends one idle process to free its memory for an instance; false when none is idle. */
  shed(): boolean;
  counts(): { ready: number; starting: number };
  /**
   * Forks up to the size where the budget allows: first when the caller's own start is done (a
   * process loading ONNX Runtime beside serve's start slowed it on two cores), again after memory was freed.
   */
  refill(): void;
  /** Ends every idle process; resolves once they have exited. */
  close(): Promise<void>;
}

interface Entry {
  id: string;
  proc: InstanceProcess;
  ready: boolean;
  detach(): void;
}

const sameUser = (a: ProcessUser | undefined, b: ProcessUser | undefined) =>
  a === b || (a !== undefined && b !== undefined && a.uid === b.uid && a.gid === b.gid);

export function createPrestartPool(o: PrestartOptions): PrestartPool {
  const entries = new Map<string, Entry>();
  let seq = 0;
  let closed = false;
  let broken = false;

  const end = (e: Entry): Promise<void> => {
    if (!entries.delete(e.id)) return Promise.resolve();
    e.detach();
    o.release(e.id);
    const { child } = e.proc;
    const exited =
      child.exitCode !== null || child.signalCode !== null
        ? Promise.resolve()
        : new Promise<void>((r) => child.once('exit', () => r()));
    child.kill('SIGKILL');
    e.proc.shm?.close();
    return exited;
  };

  const forkOne = (): boolean => {
    const id = `prestart-${++seq}`;
    if (!o.reserve(id)) return false;
    const proc = forkInstanceProcess({ env: o.env, user: o.user, shmDir: o.shmDir });
    const onMessage = (m: FromInstance) => {
      if (m.type === 'preloaded') entry.ready = true;
      else if (m.type === 'fatal') {
        broken = true;
        o.onError?.(`a pre-started instance process could not preload: ${m.error.message}`);
        void end(entry);
      }
    };
    const onExit = () => {
      entries.delete(id);
      o.release(id);
      proc.shm?.close();
    };
    const entry: Entry = {
      id,
      proc,
      ready: false,
      detach() {
        proc.child.off('message', onMessage);
        proc.child.off('exit', onExit);
      },
    };
    proc.child.on('message', onMessage);
    proc.child.on('exit', onExit);
    proc.child.on('error', () => {}); // a failed fork ends in 'exit'
    entries.set(id, entry);
    // With executors beside the store's daemon (GPUs or the CPU executor), the process loads their client ahead.
    const socket = o.store !== undefined ? defaultSocket({}, o.store) : undefined;
    const device = socket !== undefined && (executorDevices(socket).length > 0 || hasCpuExecutor(socket));
    proc.child.send({ type: 'preload', opener: o.opener, ...(device ? { device } : {}) });
    return true;
  };

  const fill = () => {
    while (!closed && !broken && entries.size < o.size) if (!forkOne()) break;
  };

  return {
    take(user) {
      if (!sameUser(user, o.user)) return undefined;
      for (const e of entries.values()) {
        if (!e.ready || !e.proc.child.connected) continue;
        entries.delete(e.id);
        e.detach();
        o.release(e.id);
        return e.proc;
      }
      return undefined;
    },
    shed() {
      // Starting ones first: they have cost the least.
      const list = [...entries.values()].sort((a, b) => Number(a.ready) - Number(b.ready));
      const e = list[0];
      if (!e) return false;
      void end(e);
      return true;
    },
    refill: fill,
    counts() {
      let ready = 0;
      for (const e of entries.values()) if (e.ready) ready++;
      return { ready, starting: entries.size - ready };
    },
    async close() {
      closed = true;
      await Promise.all([...entries.values()].map(end));
    },
  };
}
