// Cold starts as the runtime reports them (instance-ready events): per
// function how many, their mean and last duration, and the ones not yet
// charted. Subscribed before the runtime starts, so the instances it starts
// while deploying are counted too.
import type { EventSink } from '../instances/events.js';

export interface ColdStartLog {
  /** Cold starts since the previous call, oldest first. */
  take(): { function: string; ms: number }[];
  stats(fn: string): { count: number; meanMs: number | null; lastMs: number | null };
  close(): void;
}

/** Most cold starts kept between two takes (a page that stopped reading must not grow memory). */
const MAX_PENDING = 1000;

export function recordColdStarts(events: { subscribe(l: EventSink): () => void }): ColdStartLog {
  const byFn = new Map<string, { count: number; sumMs: number; lastMs: number }>();
  let pending: { function: string; ms: number }[] = [];
  const unsubscribe = events.subscribe((e) => {
    if (e.type !== 'instance-ready') return;
    const s = byFn.get(e.function) ?? { count: 0, sumMs: 0, lastMs: 0 };
    s.count++;
    s.sumMs += e.coldStartMs;
    s.lastMs = e.coldStartMs;
    byFn.set(e.function, s);
    pending.push({ function: e.function, ms: e.coldStartMs });
    if (pending.length > MAX_PENDING) pending.shift();
  });
  return {
    take() {
      const out = pending;
      pending = [];
      return out;
    },
    stats(fn) {
      const s = byFn.get(fn);
      return s
        ? { count: s.count, meanMs: s.sumMs / s.count, lastMs: s.lastMs }
        : { count: 0, meanMs: null, lastMs: null };
    },
    close: () => {
      unsubscribe();
    },
  };
}
