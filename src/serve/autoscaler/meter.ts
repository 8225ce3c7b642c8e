// Exact average concurrency between samples: the integral of the count of
// requests in flight or waiting, taken whenever the count changes.

export interface ConcurrencyMeter {
  /** The count now. */
  readonly value: number;
  /** Records a new count at time `now`. */
  set(value: number, now: number): void;
  /** Average count since the previous take (or creation), and over how long. */
  take(now: number): { dt: number; concurrency: number };
}

export function createConcurrencyMeter(start: number): ConcurrencyMeter {
  let value = 0;
  let at = start;
  let since = start;
  let area = 0;
  const advance = (now: number) => {
    if (now > at) {
      area += value * (now - at);
      at = now;
    }
  };
  return {
    get value() {
      return value;
    },
    set(v, now) {
      advance(now);
      value = v;
    },
    take(now) {
      advance(now);
      const dt = now - since;
      const concurrency = dt > 0 ? area / dt : value;
      since = now;
      area = 0;
      return { dt, concurrency };
    },
  };
}
