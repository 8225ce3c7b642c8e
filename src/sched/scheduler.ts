// The async loop around the dispatcher for real use: submit() returns a
// promise per request; whenever a slot is free and a batch is due, the batch
// goes to the caller's `execute`, and each request's promise settles with its
// own result. Timed-out requests are rejected with ERR_TIMEOUT, never run.
// All timing goes through the injected clock.

import { TensorshareError } from '../errors.js';
import type { Clock, TimerHandle } from './clock.js';
import {
  type Batch, type Dispatcher, type DispatcherConfig, type DispatcherSnapshot, type FunctionConfig, type Request, type RequestInit,
  createDispatcher, timeoutError,
} from './dispatcher.js';

/**
 * Runs one batch. Must resolve with one result per request, in the order of
 * `requests`; an element that is an Error rejects only that request. A thrown
 * error or rejection fails every request of the batch.
 */
export type Execute<P, R> = (fn: string, requests: readonly Request<P>[], batch: Batch<P>) => Promise<ReadonlyArray<R | Error>>;

export interface SchedulerOptions<P, R> extends DispatcherConfig {
  clock: Clock;
  execute: Execute<P, R>;
  functions?: FunctionConfig[];
}

export interface Scheduler<P, R> {
  /** Queues a request; settles with its result, or rejects (ERR_TIMEOUT, ERR_OVERLOADED, ERR_MODEL_NOT_FOUND, ...). */
  submit(init: RequestInit<P>): Promise<R>;
  register(config: FunctionConfig): void;
  /** Removes a function; its queued requests are rejected with ERR_UNAVAILABLE. */
  unregister(fn: string): void;
  setSlots(slots: number): void;
  setConcurrency(fn: string, n: number): void;
  /** Current batch cap of `fn`, items (export as a gauge). */
  cap(fn: string): number;
  snapshot(): DispatcherSnapshot;
  /** Stops the loop; queued requests are rejected with ERR_UNAVAILABLE. Running batches still settle. */
  close(): void;
}

export function createScheduler<P, R>(options: SchedulerOptions<P, R>): Scheduler<P, R> {
  const { clock, execute } = options;
  const dispatcher: Dispatcher<P> = createDispatcher<P>(options);
  for (const f of options.functions ?? []) dispatcher.register(f);
  const waiting = new Map<number, { resolve: (r: R) => void; reject: (e: unknown) => void }>();
  let timer: { handle: TimerHandle; at: number } | null = null;
  let closed = false;

  function settle(r: Request<P>, outcome: { value: R } | { error: unknown }): void {
    const w = waiting.get(r.seq);
    if (!w) return;
    waiting.delete(r.seq);
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
    if (closed) return;
    const now = clock.now();
    for (;;) {
      const d = dispatcher.next(now);
      for (const r of d.expired) settle(r, { error: timeoutError(r, now) });
      if (!d.batch) {
        arm(d.wakeAt, now);
        return;
      }
      run(d.batch);
    }
  }

  function run(batch: Batch<P>): void {
    const start = clock.now();
    Promise.resolve()
      .then(() => execute(batch.fn, batch.requests, batch))
      .then(
        (results) => {
          dispatcher.complete(batch, clock.now() - start);
          if (!Array.isArray(results) || results.length !== batch.requests.length) {
            const err = new TensorshareError('ERR_INTERNAL', `execute for ${batch.fn} returned ${Array.isArray(results) ? results.length : typeof results} results for ${batch.requests.length} requests`, { fn: batch.fn });
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
      settle(r, { error: new TensorshareError('ERR_UNAVAILABLE', `request ${r.id} to ${r.fn} was not run: ${why}`, { fn: r.fn, id: r.id }) });
    }
  }

  return {
    submit(init) {
      if (closed) return Promise.reject(new TensorshareError('ERR_UNAVAILABLE', `scheduler is closed; request to ${init.fn} not accepted`, { fn: init.fn }));
      let req: Request<P>;
      try {
        req = dispatcher.enqueue(init, clock.now());
      } catch (e) {
        pump(); // enqueue may have moved expired requests aside while checking the queue limit
        return Promise.reject(e);
      }
      const p = new Promise<R>((resolve, reject) => waiting.set(req.seq, { resolve, reject }));
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
      if (closed) return;
      arm(null, clock.now());
      for (const f of dispatcher.snapshot().functions) rejectUnavailable(dispatcher.unregister(f.fn), 'the scheduler closed');
      closed = true;
    },
  };
}
