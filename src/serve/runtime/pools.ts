// Pool wiring: a pool per deployed function whose instances start within the
// resource guards, report to the runtime's events and logs, and are sized by
// the autoscaler; memory one pool frees lets another function's blocked start
// go ahead. The pools' slot reports and "nothing can serve" reports go to the
// runner listener (the scheduler).
import type { TensorshareError } from '../../errors.js';
import type { BufferPool } from '../../shm/index.js';
import type { AutoscalerDriver } from '../autoscaler/driver.js';
import type { Clock } from '../autoscaler/clock.js';
import type { DeployedFunction } from '../functions/deploy.js';
import type { EventSink } from '../instances/events.js';
import { lowerCpuPriority } from '../instances/cpu-priority.js';
import { startInstance } from '../instances/instance.js';
import type { MemoryLimitOptions } from '../instances/memory-limit.js';
import type { OpenerSpec } from '../instances/opener.js';
import { userFor, type InstanceUsers } from '../instances/user.js';
import { createPool, type FunctionPool, type InstanceHooks } from '../instances/pool.js';
import type { PrestartPool } from '../instances/prestart.js';
import type { Logger } from './log.js';
import { restoreAhead } from './originals-ahead.js';
import type { FunctionRegistry } from './registry.js';
import type { Resources } from './resources.js';

/** What the pools tell the scheduler. */
export interface RunnerListener {
  /** `fn` takes this many requests at once now (0 while none of its instances is ready). */
  slots(fn: string, slots: number): void;
  /** Nothing can serve the requests waiting for `fn`: fail them with `error`. */
  unservable(fn: string, error: TensorshareError): void;
}

export interface PoolWiringOptions {
  repository: string;
  store: string;
  opener: OpenerSpec;
  /** Idle pre-started processes a start takes instead of forking. */
  prestart?: PrestartPool;
  /** Restore a starting instance's cut fast-run originals in this process (originals-ahead.ts). */
  originalsAhead?: boolean;
  clock: Clock;
  log: Logger;
  emit: EventSink;
  resources: Resources;
  registry: FunctionRegistry;
  driver: AutoscalerDriver;
  listener: RunnerListener;
  startTimeoutMs: number;
  drainTimeoutMs: number;
  env?: NodeJS.ProcessEnv;
  memoryLimit?: MemoryLimitOptions;
  /** Users instance processes run as, by function tenant (default: this process's). */
  users?: InstanceUsers;
  /** See InstanceOptions.readBuffers. */
  readBuffers?: BufferPool;
  isClosed(): boolean;
}

export function createPoolWiring(o: PoolWiringOptions): { newPool(d: DeployedFunction): FunctionPool } {
  const { log, registry, driver } = o;
  let seq = 0;

  const spawn = (d: DeployedFunction, hooks: InstanceHooks) => {
    const id = `${d.name}-v${d.version}-${++seq}`;
    const lease = o.resources.reserve(d, id);
    if (!('release' in lease)) return lease;
    // An instance granted fewer threads than configured opens its sessions with what it got.
    const runAs =
      lease.threads !== d.config.intraOpThreads ? { ...d, config: { ...d.config, intraOpThreads: lease.threads } } : d;
    const user = userFor(o.users, d.config.tenant);
    // Cut fast-run originals come back while the instance starts, not inside its open.
    const ahead = o.originalsAhead ? restoreAhead(o, d, id) : undefined;
    const prestarted = o.prestart?.take(user);
    // The replacement for a process this start took starts once the instance has answered what waited for it:
    // beside its open and first answer, the replacement's Node and ONNX Runtime start competed for the cores.
    let replace = prestarted !== undefined;
    const refillOnce = () => {
      if (!replace) return;
      replace = false;
      o.prestart?.refill();
    };
    const instance = startInstance({
      id,
      deployed: runAs,
      repository: o.repository,
      store: o.store,
      opener: o.opener,
      startTimeoutMs: o.startTimeoutMs,
      drainTimeoutMs: o.drainTimeoutMs,
      exitTimeoutMs: 5_000,
      env: o.env,
      memoryLimit: o.memoryLimit,
      readBuffers: o.readBuffers,
      user,
      prestarted,
      onReady: (i) => {
        log.info(
          { function: d.name, instance: i.id, pid: i.pid, coldStartMs: Math.round(i.coldStartMs ?? 0) },
          'instance ready',
        );
        void ahead?.done();
        hooks.onReady(i);
        // Nothing dispatched to it once the scheduler has seen its slots: no answer to wait for.
        setImmediate(() => {
          if (i.inflight === 0) refillOnce();
        });
      },
      onIdle: refillOnce,
      onExit: (i, info) => {
        lease.release();
        replace = false; // the refill below covers it
        void ahead?.done();
        const level = info.reason === 'crash' || info.reason === 'start-failed' ? 'warn' : 'info';
        log[level](
          {
            function: d.name,
            instance: i.id,
            pid: i.pid,
            reason: info.reason,
            code: info.code,
            signal: info.signal,
            error: info.error?.message,
          },
          'instance exited',
        );
        hooks.onExit(i, info);
        // Memory freed goes to starts waiting for it first; a pre-started process only takes what is left.
        if (registry.pools().every((p) => p.waiting() === 0)) o.prestart?.refill();
        // Memory freed: functions waiting for room may start now.
        if (!o.isClosed())
          for (const p of registry.pools())
            if (p !== registry.get(d.name)?.pool && p.counts().current === 0 && p.waiting() > 0) driver.poke(p.name);
      },
    });
    if (d.config.priority === 'besteffort') lowerBesteffort(d.name, id, instance.pid);
    return instance;
  };

  /** A besteffort function's instances yield the CPU to everything else (see ../instances/cpu-priority.ts). */
  const lowerBesteffort = (fn: string, id: string, pid: number | undefined) => {
    if (pid === undefined) return; // the fork failed; the instance reports it
    try {
      const lowered = lowerCpuPriority(pid);
      log.info(
        { function: fn, instance: id, pid, cpuPriority: lowered.policy },
        `besteffort instance ${id} runs at ${lowered.policy}`,
      );
    } catch (e) {
      log.warn(
        { function: fn, instance: id, pid, error: (e as Error).message },
        `besteffort instance ${id} runs at normal CPU priority (lowering it was not permitted): it competes with realtime instances for the cores`,
      );
    }
  };

  const reclaim = (fn: string): boolean => {
    const pools = registry.pools();
    for (const p of pools) if (p.counts().draining > 0) return true;
    if (o.prestart?.shed()) {
      // Its memory is free at once: decide again for fn (after the refused start has unwound).
      queueMicrotask(() => driver.poke(fn));
      return true;
    }
    for (const p of pools) if (p.name !== fn && p.evictIdle()) return true;
    return false;
  };

  return {
    newPool(d) {
      const pool = createPool({
        deployed: d,
        clock: o.clock,
        spawn,
        reclaim,
        poke: () => {
          if (!o.isClosed()) driver.poke(d.name);
        },
        emit: o.emit,
        onSlots: (n) => o.listener.slots(d.name, n),
        onUnservable: (e) => o.listener.unservable(d.name, e),
      });
      driver.add({
        name: d.name,
        config: () => pool.kpaConfig(),
        sample: (now) => pool.sampleConcurrency(now),
        instant: () => pool.concurrency(),
        counts: () => pool.counts(),
        apply: (n, decision) => pool.scaleTo(n, decision),
      });
      return pool;
    },
  };
}
