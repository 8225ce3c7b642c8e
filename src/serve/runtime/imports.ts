// Background imports: functions whose model files are not imported yet (a
// first start, a changed file) are listed LOADING while their imports run
// here, a bounded number at once, so `serve` answers before a thousand
// imports have run. A request for one of them waits in the scheduler (a
// loading function has no slots) and its backlog moves that function's import
// to the front: it starts at once, beside the bounded ones, and runs once
// (single flight) whoever asks.

export interface ImportQueue {
  /** Queues `name` (once; while its import runs, for one more run after it). */
  add(name: string): void;
  /** Starts `name`'s queued import now (a request waits for it); no-op when it is not queued or already running. */
  promote(name: string): void;
  /** Queued or running. */
  pending(): number;
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
  const running = new Set<string>();
  const again = new Set<string>(); // queued again while running (its files changed): runs once more after
  let bounded = 0;
  let closed = false;
  let held = o.after !== undefined;
  void o.after?.then(() => {
    held = false;
    pump();
  });
  let waiters: (() => void)[] = [];

  const settle = () => {
    if (queued.size + running.size > 0) return;
    const w = waiters;
    waiters = [];
    for (const f of w) f();
  };
  const start = (name: string, counted: boolean) => {
    queued.delete(name);
    running.add(name);
    if (counted) bounded++;
    void o
      .run(name)
      .catch(() => {})
      .finally(() => {
        running.delete(name);
        if (counted) bounded--;
        if (again.delete(name) && !closed) queued.add(name);
        pump();
        settle();
      });
  };
  const pump = () => {
    while (!closed && !held && bounded < o.concurrency && queued.size > 0) start(queued.values().next().value!, true);
  };

  return {
    add(name) {
      if (closed) return;
      if (running.has(name)) again.add(name);
      else queued.add(name);
      queueMicrotask(pump); // a scan queues all its functions first, then they start in its order
    },
    promote(name) {
      if (!closed && queued.has(name)) start(name, false);
    },
    pending: () => queued.size + running.size,
    idle: () => (queued.size + running.size === 0 ? Promise.resolve() : new Promise((r) => waiters.push(r))),
    close() {
      closed = true;
      queued.clear();
      again.clear();
      settle();
    },
  };
}
