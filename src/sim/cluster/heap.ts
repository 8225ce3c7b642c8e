// A binary min-heap of (time, id) pairs in typed arrays: no allocation per
// push or pop, O(log n) each. Ties pop in no particular order, so callers
// that need a total order put it in the id or process same-time entries
// independently of order.
export interface TimeHeap {
  readonly size: number;
  push(time: number, id: number): void;
  /** Time of the smallest entry; Infinity when empty. */
  peekTime(): number;
  peekId(): number;
  pop(): void;
}

export function createTimeHeap(initialCapacity = 1024): TimeHeap {
  let times = new Float64Array(initialCapacity);
  let ids = new Int32Array(initialCapacity);
  let n = 0;
  function grow() {
    const t = new Float64Array(times.length * 2);
    t.set(times);
    times = t;
    const d = new Int32Array(ids.length * 2);
    d.set(ids);
    ids = d;
  }
  return {
    get size() {
      return n;
    },
    push(time, id) {
      if (n === times.length) grow();
      let i = n++;
      while (i > 0) {
        const p = (i - 1) >> 1;
        const pt = times[p]!;
        if (pt < time || (pt === time && ids[p]! <= id)) break;
        times[i] = pt;
        ids[i] = ids[p]!;
        i = p;
      }
      times[i] = time;
      ids[i] = id;
    },
    peekTime: () => (n > 0 ? times[0]! : Number.POSITIVE_INFINITY),
    peekId: () => ids[0]!,
    pop() {
      if (n === 0) return;
      n--;
      if (n === 0) return;
      const t = times[n]!;
      const d = ids[n]!;
      let i = 0;
      for (;;) {
        const l = 2 * i + 1;
        if (l >= n) break;
        const r = l + 1;
        let c = l;
        if (r < n && (times[r]! < times[l]! || (times[r] === times[l] && ids[r]! < ids[l]!))) c = r;
        const ct = times[c]!;
        if (t < ct || (t === ct && d <= ids[c]!)) break;
        times[i] = ct;
        ids[i] = ids[c]!;
        i = c;
      }
      times[i] = t;
      ids[i] = d;
    },
  };
}
