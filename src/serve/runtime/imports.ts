// Background imports: functions whose model files are not imported yet (a
// first start, a changed file) are listed LOADING while their imports run
// here, a bounded number at once, so `serve` answers before a thousand
// imports have run. A request for one of them waits in the scheduler (a
// loading function has no slots) and its backlog moves that function's import
// to a lane of its own: it starts at once (up to `concurrency` promoted at
// once, beside the background ones) and runs once (single flight) whoever asks.

export interface ImportQueue {
  /** Queues `name` (once; while its import runs, for one more run after it). */
  add(name: string): void;
  /**
   * Moves `name`'s queued import to the lane requests wait on: it starts now, unless `concurrency`
   * promoted imports already run (then next); no-op when it is not queued or already running.
   */
  promote(name: string): void;
  /** Queued or running. */
  pending(): number;
  /** Resolves when `name`'s queued or running import has finished (or was dropped); undefined when it has none. */
  done(name: string): Promise<void> | undefined;
  /** Resolves when nothing is queued or running (at once when idle). */
  idle(): Promise<void>;
  /** Drops what is queued; imports under way finish. */
  close(): void;
}

export function createImportQueue(o: {
  concurrency: number;
  /** Bounded imports start once this resolves (serve: once it listens, so they do not slow its start); promoted ones at once. */
  after?: Promise<unknown>;
  /** The import (a deploy that imports): failures are the caller's to record. */
  run(name: string): Promise<unknown>;
}): ImportQueue {
  const queued = new Set<string>(); // insertion order is the order of the scan
  const urgent = new Set<string>(); // promoted: a request waits for them, in the order asked
  const running = new Set<string>();
  const again = new Set<string>(); // queued again while running (its files changed): runs once more after
  // Two lanes of `concurrency` each: the background one, and the one requests promote into (so a
  // client asking for a thousand loading functions at once still runs a bounded number of imports).
  const lanes = { background: 0, urgent: 0 };
  let closed = false;
  let held = o.after !== undefined;
  void o.after?.then(() => {
    held = false;
    pump();
  });
  let waiters: (() => void)[] = [];
  const finished = new Map<string, { promise: Promise<void>; resolve: () => void }>();
  const finish = (name: string) => {
    finished.get(name)?.resolve();
    finished.delete(name);
  };

  const pending = () => queued.size + urgent.size + running.size;
  const settle = () => {
    if (pending() > 0) return;
    const w = waiters;
    waiters = [];
    for (const f of w) f();
  };
  const start = (name: string, lane: keyof typeof lanes) => {
    queued.delete(name);
    urgent.delete(name);
    running.add(name);
    lanes[lane]++;
    void o
      .run(name)
      .catch(() => {})
      .finally(() => {
        running.delete(name);
        lanes[lane]--;
        if (again.delete(name) && !closed) queued.add(name);
        else finish(name);
        pump();
        settle();
      });
  };
  const first = (set: Set<string>) => set.values().next().value!;
  const pump = () => {
    while (!closed && lanes.urgent < o.concurrency && urgent.size > 0) start(first(urgent), 'urgent');
    while (!closed && !held && lanes.background < o.concurrency && queued.size > 0) start(first(queued), 'background');
  };

  return {
    add(name) {
      if (closed) return;
      if (running.has(name)) again.add(name);
      else queued.add(name);
      queueMicrotask(pump); // a scan queues all its functions first, then they start in its order
    },
    promote(name) {
      if (closed || !queued.has(name)) return;
      queued.delete(name);
      urgent.add(name);
      pump();
    },
    pending,
    done(name) {
      if (!queued.has(name) && !urgent.has(name) && !running.has(name)) return undefined;
      let f = finished.get(name);
      if (!f) {
        let resolve!: () => void;
        const promise = new Promise<void>((r) => {
          resolve = r;
        });
        f = { promise, resolve };
        finished.set(name, f);
      }
      return f.promise;
    },
    idle: () => (pending() === 0 ? Promise.resolve() : new Promise((r) => waiters.push(r))),
    close() {
      closed = true;
      for (const name of [...queued, ...urgent]) finish(name);
      queued.clear();
      urgent.clear();
      again.clear();
      settle();
    },
  };
}
