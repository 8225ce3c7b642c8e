// The simulated clock of every simulator: a binary min-heap of timed events.
// Events at the same time come out in the order they were pushed, so a run
// is deterministic. src/sched/clock.ts's fake clock scans all its timers on
// every step (fine for tests, quadratic for a trace of a million events).

export interface EventQueue<E> {
  push(at: number, event: E): void;
  /** The earliest event and its time, or undefined when none is left. */
  pop(): { at: number; event: E } | undefined;
  readonly size: number;
}

interface Entry<E> {
  at: number;
  seq: number;
  event: E;
}

const before = <E>(a: Entry<E>, b: Entry<E>) => a.at < b.at || (a.at === b.at && a.seq < b.seq);

export function createEventQueue<E>(): EventQueue<E> {
  const heap: Entry<E>[] = [];
  let seq = 0;
  return {
    push(at, event) {
      const e = { at, seq: seq++, event };
      let i = heap.push(e) - 1;
      while (i > 0) {
        const parent = (i - 1) >> 1;
        if (!before(e, heap[parent]!)) break;
        heap[i] = heap[parent]!;
        i = parent;
      }
      heap[i] = e;
    },
    pop() {
      const top = heap[0];
      if (!top) return undefined;
      const last = heap.pop()!;
      if (heap.length > 0) {
        let i = 0;
        for (;;) {
          const l = 2 * i + 1;
          if (l >= heap.length) break;
          const r = l + 1;
          const child = r < heap.length && before(heap[r]!, heap[l]!) ? r : l;
          if (!before(heap[child]!, last)) break;
          heap[i] = heap[child]!;
          i = child;
        }
        heap[i] = last;
      }
      return { at: top.at, event: top.event };
    },
    get size() {
      return heap.length;
    },
  };
}
