// Resource guards for instance starts: the memory guard (an instance counts as
// its function's largest observed private memory, within a budget) and the
// core budget (its intra-op threads). Both are reserved for an instance's
// lifetime; a start that does not fit gets ERR_RESOURCE_EXHAUSTED naming the
// resource, which the pool turns into waiting, eviction or failing the
// requests that wait for it.
import { TensorshareError, isTensorshareError } from '../../errors.js';
import type { CoreBudget } from '../../sched/cores.js';
import type { DeployedFunction } from '../functions/deploy.js';
import type { MemoryGuard } from '../instances/memory.js';
import type { Logger } from './log.js';

export interface Reservation {
  /** Intra-op threads granted (what the instance opens its sessions with). */
  threads: number;
  release(): void;
}

export interface Resources {
  /** Reserves memory and cores for instance `id` of `d`, or says why it cannot start now. */
  reserve(d: DeployedFunction, id: string): Reservation | TensorshareError;
  /** A memory sample of a live instance (teaches the guard the function's size). */
  observe(fn: string, id: string, bytes: number): void;
  /** The last memory sample of instance `id`. */
  memoryBytes(id: string): number | undefined;
  memory(): { budgetBytes: number; reservedBytes: number };
}

const mib = (b: number) => `${Math.round(b / 2 ** 20)} MiB`;

export function createResources(o: { guard: MemoryGuard; cores?: CoreBudget; log: Logger }): Resources {
  const { guard, cores, log } = o;
  const memBytes = new Map<string, number>();
  /** Functions whose last start was refused for cores (logged once until one starts). */
  const coreBlocked = new Set<string>();

  /** Intra-op threads for instance `id`: what is free down to one thread, or why none can start. */
  const reserveCores = (d: DeployedFunction, id: string): Reservation | TensorshareError => {
    const want = d.config.intraOpThreads;
    if (!cores) return { threads: want, release() {} };
    // Besteffort instances run at idle CPU priority: realtime ones may take their cores (../../sched/cores.ts).
    const yielding = d.config.priority === 'besteffort';
    try {
      const lease = cores.reserve(id, want, { min: 1, yielding });
      coreBlocked.delete(d.name);
      if (lease.threads < want) {
        log.warn(
          { function: d.name, instance: id, intraOpThreads: want, granted: lease.threads, cores: cores.total },
          `instance ${id} asked for ${want} intra-op threads but only ${lease.threads} of ${cores.total} cores are free: it runs with ${lease.threads}`,
        );
      }
      return { threads: lease.threads, release: () => lease.release() };
    } catch (e) {
      if (!isTensorshareError(e, 'ERR_RESOURCE_EXHAUSTED')) throw e;
      const holders = cores
        .holders()
        .filter((h) => (h.yielding ?? false) === yielding)
        .map((h) => `${h.owner}:${h.threads}`)
        .join(', ');
      const err = new TensorshareError(
        'ERR_RESOURCE_EXHAUSTED',
        `not enough CPU cores to start an instance of function '${d.name}': it needs ${want} intra-op thread${want === 1 ? '' : 's'} and all ${cores.total} cores are held by ${yielding ? 'besteffort ' : ''}instances (${holders})`,
        {
          function: d.name,
          resource: 'cores',
          requested: want,
          available: yielding ? cores.total - cores.yielding() : cores.available(),
          total: cores.total,
        },
      );
      if (!coreBlocked.has(d.name)) {
        coreBlocked.add(d.name);
        log.warn({ function: d.name, intraOpThreads: want, cores: cores.total, holders }, err.message);
      }
      return err;
    }
  };

  return {
    reserve(d, id) {
      const limit = d.config.memoryLimitMb !== undefined ? d.config.memoryLimitMb * 2 ** 20 : undefined;
      const r = guard.reserve(d.name, id, limit);
      if (!r.ok) {
        return new TensorshareError(
          'ERR_RESOURCE_EXHAUSTED',
          `not enough memory to start an instance of function '${d.name}': it needs about ${mib(r.estimate)} and ${mib(r.reserved)} of the ${mib(r.budget)} instance budget is taken`,
          { function: d.name, estimateBytes: r.estimate, reservedBytes: r.reserved, budgetBytes: r.budget },
        );
      }
      const threads = reserveCores(d, id);
      if (threads instanceof TensorshareError) {
        guard.release(id);
        return threads;
      }
      return {
        threads: threads.threads,
        release() {
          guard.release(id);
          threads.release();
          memBytes.delete(id);
        },
      };
    },
    observe(fn, id, bytes) {
      guard.observe(fn, id, bytes);
      memBytes.set(id, bytes);
    },
    memoryBytes: (id) => memBytes.get(id),
    memory: () => ({ budgetBytes: guard.budgetBytes, reservedBytes: guard.reserved() }),
  };
}
