// The clock every scheduling decision reads. Real code passes `realClock`;
// tests pass `createFakeClock()` and move time by hand, so ordering decisions
// and timeouts are deterministic.

export type TimerHandle = unknown;

export interface Clock {
  /** Milliseconds on a monotonic scale (only differences matter). */
  now(): number;
  setTimeout(fn: () => void, ms: number): TimerHandle;
  clearTimeout(handle: TimerHandle): void;
}

export const realClock: Clock = {
  now: () => performance.now(),
  // Timers keep the process alive like any setTimeout; close the scheduler to clear them.
  setTimeout: (fn, ms) => setTimeout(fn, Math.max(0, ms)),
  clearTimeout: (h) => clearTimeout(h as ReturnType<typeof setTimeout>),
};

export interface FakeClock extends Clock {
  /** Moves time forward by `ms`, firing due timers in time order (ties: creation order). */
  advance(ms: number): void;
  /** Number of timers not yet fired or cleared. */
  pending(): number;
  /** When the earliest pending timer is due, or null. Async tests step to it, then let promises settle. */
  nextAt(): number | null;
}

export function createFakeClock(start = 0): FakeClock {
  let now = start;
  let nextId = 1;
  const timers = new Map<number, { at: number; fn: () => void }>();

  function dueTimer(limit: number): number | undefined {
    let best: number | undefined;
    for (const [id, t] of timers) {
      if (t.at > limit) continue;
      if (best === undefined || t.at < timers.get(best)!.at) best = id;
    }
    return best;
  }

  return {
    now: () => now,
    setTimeout(fn, ms) {
      const id = nextId++;
      timers.set(id, { at: now + Math.max(0, ms), fn });
      return id;
    },
    clearTimeout(h) {
      timers.delete(h as number);
    },
    advance(ms) {
      const end = now + ms;
      for (let id = dueTimer(end); id !== undefined; id = dueTimer(end)) {
        const t = timers.get(id)!;
        timers.delete(id);
        now = Math.max(now, t.at);
        t.fn();
      }
      now = end;
    },
    pending: () => timers.size,
    nextAt() {
      const id = dueTimer(Infinity);
      return id === undefined ? null : timers.get(id)!.at;
    },
  };
}
