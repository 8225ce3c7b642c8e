// Applies KPA decisions: every tick (and when a request finds no capacity)
// samples each function's concurrency, decides, and asks its pool for the
// desired number of instances. The policy is kpa.ts; this is only the loop.
import type { Clock, TimerHandle } from './clock.js';
import { decide, initialKpaState, recordSample, type KpaConfig, type KpaDecision, type KpaState } from './kpa.js';

export interface ScaleTarget {
  readonly name: string;
  config(): KpaConfig;
  /** Average concurrency since the previous sample. */
  sample(now: number): { dt: number; concurrency: number };
  /** In flight + queued right now. */
  instant(): number;
  /** Ready instances, and ready + starting ones, of the current deployment. */
  counts(): { ready: number; current: number };
  /** Moves towards `desired` instances. */
  apply(desired: number, decision: KpaDecision): void;
}

export interface AutoscalerDriver {
  add(target: ScaleTarget): void;
  remove(name: string): void;
  /** Decides for one function now (a request is waiting, an instance died). */
  poke(name: string): KpaDecision | undefined;
  /** Decides for every function. */
  tick(): void;
  state(name: string): KpaState | undefined;
  start(): void;
  stop(): void;
}

export function createAutoscalerDriver(o: {
  clock: Clock;
  tickMs: number;
  onDecision?: (name: string, d: KpaDecision, current: number) => void;
}): AutoscalerDriver {
  const targets = new Map<string, { t: ScaleTarget; s: KpaState }>();
  let timer: TimerHandle | undefined;
  let running = false;

  const run = (name: string): KpaDecision | undefined => {
    const e = targets.get(name);
    if (!e) return undefined;
    const now = o.clock.now();
    const cfg = e.t.config();
    const { dt, concurrency } = e.t.sample(now);
    e.s = recordSample(e.s, { t: now, dt, concurrency }, cfg);
    const counts = e.t.counts();
    const r = decide(e.s, { now, ready: counts.ready, current: counts.current, instant: e.t.instant() }, cfg);
    e.s = r.state;
    o.onDecision?.(name, r.decision, counts.current);
    e.t.apply(r.decision.desired, r.decision);
    return r.decision;
  };
  const schedule = () => {
    if (!running) return;
    timer = o.clock.setTimeout(() => {
      for (const name of [...targets.keys()]) run(name);
      schedule();
    }, o.tickMs);
  };
  return {
    add(t) {
      targets.set(t.name, { t, s: initialKpaState() });
    },
    remove(name) {
      targets.delete(name);
    },
    poke: run,
    tick() {
      for (const name of [...targets.keys()]) run(name);
    },
    state: (name) => targets.get(name)?.s,
    start() {
      if (running) return;
      running = true;
      schedule();
    },
    stop() {
      running = false;
      if (timer !== undefined) o.clock.clearTimeout(timer);
    },
  };
}
