// The async loop around the dispatcher for real use: submit() returns a
// promise per request; whenever a slot is free and a batch is due, the batch
// goes to the caller's `execute`, and each request's promise settles with its
// own result. Timed-out requests are rejected with ERR_TIMEOUT, never run; a
// caller that aborts while its request is queued takes it out of the queue.
// All timing goes through the injected clock.
//
// `execute` is called synchronously from the loop, so a runner that reports
// free slots takes the batch in the same turn that the slot was counted free.

import { TensorshareError } from '../errors.js';
import type { Clock, TimerHandle } from './clock.js';
import {
  type Batch,
  type Dispatcher,
  type DispatcherConfig,
  type DispatcherSnapshot,
  type FunctionConfig,
  type Request,
  type RequestInit,
  createDispatcher,
  timeoutError,
} from './dispatcher.js';

/**
 * Runs one batch. Must resolve with one result per request, in the order of
 * `requests`; an element that is an Error rejects only that request. A thrown
 * error or rejection fails every request of the batch.
 */
export type Execute<P, R> = (
  fn: string,
  requests: readonly Request<P>[],
  batch: Batch<P>,
) => Promise<ReadonlyArray<R | Error>>;

export interface SchedulerOptions<P, R> extends DispatcherConfig {
  clock: Clock;
  execute: Execute<P, R>;
  functions?: FunctionConfig[];
}

export interface SubmitOptions {
  /** Aborting takes the request out of the queue (rejected, never run); once running, the runner sees the signal. */
  signal?: AbortSignal;
}

export interface Scheduler<P, R> {
  /** Queues a request; settles with its result, or rejects (ERR_TIMEOUT, ERR_OVERLOADED, ERR_MODEL_NOT_FOUND, ...). */
  submit(init: RequestInit<P>, options?: SubmitOptions): Promise<R>;
  register(config: FunctionConfig): void;
  /** Removes a function; its queued requests are rejected with ERR_UNAVAILABLE. */
  unregister(fn: string): void;
  /** Rejects every queued request of `fn` with `error` (its runner cannot serve them); the function stays registered. */
  rejectQueued(fn: string, error: Error): void;
  setSlots(slots: number): void;
  /** Batches of `fn` that may run at once: its runner's slots (0 holds the queue). */
  setConcurrency(fn: string, n: number): void;
  /** Current batch cap of `fn`, items (export as a gauge). */
  cap(fn: string): number;
  snapshot(): DispatcherSnapshot;
  /** Graceful: refuses new requests, runs or expires what is queued; resolves when nothing is queued or running. */
  close(): Promise<void>;
  /** Hard: stops the loop; queued requests are rejected with ERR_UNAVAILABLE. Running batches still settle. */
  destroy(): void;
}

/** The error for a request whose caller went away while it was queued. */
export function cancelledError(r: Pick<Request<unknown>, 'id' | 'fn'>): TensorshareError {
  return new TensorshareError(
    'ERR_UNAVAILABLE',
    `request ${r.id} to function '${r.fn}' was cancelled by its caller before it ran`,
    { fn: r.fn, id: r.id, cancelled: true },
  );
}

export function createScheduler<P, R>(options: SchedulerOptions<P, R>): Scheduler<P, R> {
  const { clock, execute } = options;
  const dispatcher: Dispatcher<P> = createDispatcher<P>(options);
  for (const f of options.functions ?? []) dispatcher.register(f);
  const waiting = new Map<number, { resolve: (r: R) => void; reject: (e: unknown) => void; unlisten?: () => void }>();
  let timer: { handle: TimerHandle; at: number } | null = null;
  let closing = false;
  let destroyed = false;
  let pumping = false;
  let drained: (() => void) | undefined;

  function settle(r: Request<P>, outcome: { value: R } | { error: unknown }): void {
    const w = waiting.get(r.seq);
    if (!w) return;
    waiting.delete(r.seq);
    w.unlisten?.();
    if ('error' in outcome) w.reject(outcome.error);
    else w.resolve(outcome.value);
  }

  function arm(at: number | null, now: number): void {
    if (timer && timer.at === at) return;
    if (timer) clock.clearTimeout(timer.handle);
    timer = null;
    if (at === null) return;
    timer = {
      at,
      handle: clock.setTimeout(() => {
        timer = null;
        pump();
      }, at - now),
    };
  }

  function pump(): void {
    // execute() runs inside the loop; a submit it triggers is picked up by the loop's next turn.
    if (destroyed || pumping) return;
    pumping = true;
    try {
      const now = clock.now();
      for (;;) {
        const d = dispatcher.next(now);
        for (const r of d.expired) settle(r, { error: timeoutError(r, now) });
        if (!d.batch) {
          arm(d.wakeAt, now);
          break;
        }
        run(d.batch);
      }
    } finally {
      pumping = false;
    }
    if (closing && waiting.size === 0) drained?.();
  }

  function run(batch: Batch<P>): void {
    const start = clock.now();
    let result: Promise<ReadonlyArray<R | Error>>;
    try {
      result = execute(batch.fn, batch.requests, batch);
    } catch (e) {
      result = Promise.reject(e);
    }
    Promise.resolve(result)
      .then(
        (results) => {
          dispatcher.complete(batch, clock.now() - start);
          if (!Array.isArray(results) || results.length !== batch.requests.length) {
            const err = new TensorshareError(
              'ERR_INTERNAL',
              `execute for ${batch.fn} returned ${Array.isArray(results) ? results.length : typeof results} results for ${batch.requests.length} requests`,
              { fn: batch.fn },
            );
            for (const r of batch.requests) settle(r, { error: err });
            return;
          }
          batch.requests.forEach((r, i) => {
            const v = results[i];
            settle(r, v instanceof Error ? { error: v } : { value: v as R });
          });
        },
        (error: unknown) => {
          dispatcher.complete(batch, clock.now() - start, { failed: true });
          for (const r of batch.requests) settle(r, { error });
        },
      )
      .finally(pump);
  }

  function rejectUnavailable(reqs: Request<P>[], why: string): void {
    for (const r of reqs) {
      settle(r, {
        error: new TensorshareError('ERR_UNAVAILABLE', `request ${r.id} to ${r.fn} was not run: ${why}`, {
          fn: r.fn,
          id: r.id,
        }),
      });
    }
  }

  return {
    submit(init, opts = {}) {
      if (closing || destroyed)
        return Promise.reject(
          new TensorshareError('ERR_UNAVAILABLE', `scheduler is closed; request to ${init.fn} not accepted`, {
            fn: init.fn,
          }),
        );
      if (opts.signal?.aborted) return Promise.reject(cancelledError({ id: init.id ?? '-', fn: init.fn }));
      let req: Request<P>;
      try {
        req = dispatcher.enqueue(init, clock.now());
      } catch (e) {
        pump(); // enqueue may have moved expired requests aside while checking the queue limit
        return Promise.reject(e);
      }
      const p = new Promise<R>((resolve, reject) => waiting.set(req.seq, { resolve, reject }));
      const signal = opts.signal;
      if (signal) {
        const onAbort = () => {
          if (dispatcher.remove(req)) {
            settle(req, { error: cancelledError(req) });
            pump();
          }
        };
        signal.addEventListener('abort', onAbort, { once: true });
        waiting.get(req.seq)!.unlisten = () => signal.removeEventListener('abort', onAbort);
      }
      pump();
      return p;
    },
    register(config) {
      dispatcher.register(config);
      pump();
    },
    unregister(fn) {
      rejectUnavailable(dispatcher.unregister(fn), `function ${fn} was removed`);
      pump();
    },
    rejectQueued(fn, error) {
      for (const r of dispatcher.takeQueued(fn)) settle(r, { error });
      pump();
    },
    setSlots(n) {
      dispatcher.setSlots(n);
      pump();
    },
    setConcurrency(fn, n) {
      dispatcher.setConcurrency(fn, n);
      pump();
    },
    cap: (fn) => dispatcher.cap(fn),
    snapshot: () => dispatcher.snapshot(),
    close() {
      closing = true;
      if (destroyed || waiting.size === 0) {
        arm(null, clock.now());
        return Promise.resolve();
      }
      return new Promise<void>((resolve) => {
        drained = () => {
          arm(null, clock.now());
          resolve();
        };
      });
    },
    destroy() {
      if (destroyed) return;
      arm(null, clock.now());
      for (const f of dispatcher.snapshot().functions)
        rejectUnavailable(dispatcher.unregister(f.fn), 'the scheduler closed');
      destroyed = true;
      drained?.();
    },
  };
}
