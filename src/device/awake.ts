// Keeping a thread's event loop awake while an answer is due. A thread that
// waits in its event loop sleeps in epoll; the socket frame or thread message
// that ends the wait must then wake it (the scheduler puts it back on a core),
// which on the GPU machine cost 0.1-0.2 ms per hop, against a 3.8 ms BERT-base
// run (docs/benchmarks.md, bench:gpu). While an immediate is pending, libuv's
// poll does not block: every turn of the loop reads what has arrived, timers
// and I/O keep running, and nothing has to wake up. The price is one busy core
// for as long as it lasts, so every hold is bounded.

export interface Awake {
  /**
   * Keeps the loop awake until the returned function is called, or for at most `maxMs`; several holds overlap.
   * `maxMs` 0: no hold.
   */
  hold(maxMs: number): () => void;
  /** Keeps the loop awake for `ms` from now (at least as long as any hold asks). */
  linger(ms: number): void;
  /** Whether the loop is being kept awake now. */
  readonly active: boolean;
}

export function createAwake(now: () => number = () => performance.now()): Awake {
  const holds = new Map<number, number>();
  let seq = 0;
  let until = 0;
  let ticking = false;
  const busy = () => {
    const t = now();
    for (const [id, end] of holds) if (t >= end) holds.delete(id);
    return holds.size > 0 || t < until;
  };
  const tick = () => {
    if (busy()) setImmediate(tick);
    else ticking = false;
  };
  const start = () => {
    if (ticking) return;
    ticking = true;
    setImmediate(tick);
  };
  return {
    hold(maxMs) {
      if (!(maxMs > 0)) return () => {};
      const id = ++seq;
      holds.set(id, now() + maxMs);
      start();
      return () => {
        holds.delete(id);
      };
    },
    linger(ms) {
      if (!(ms > 0)) return;
      until = Math.max(until, now() + ms);
      start();
    },
    get active() {
      return ticking && busy();
    },
  };
}
