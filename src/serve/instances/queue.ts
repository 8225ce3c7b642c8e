// A function's waiting requests, behind the smallest interface the pool
// needs, so the scheduler (src/sched) can replace the FIFO without touching
// routing: enqueue (refusing when full), dequeue the next to run, remove one
// that gave up (timeout, caller gone).
import { TensorshareError } from '../../errors.js';

export interface RequestQueue<T> {
  readonly length: number;
  /** Throws ERR_OVERLOADED when the queue is full. */
  enqueue(item: T): void;
  dequeue(): T | undefined;
  /** Takes an item out wherever it is; false when it was not queued. */
  remove(item: T): boolean;
  /** Empties the queue, returning what it held in order. */
  drain(): T[];
}

export type QueueFactory = <T>(fn: string, maxLength: number) => RequestQueue<T>;

export function createFifoQueue<T>(fn: string, maxLength: number): RequestQueue<T> {
  let items: T[] = [];
  return {
    get length() {
      return items.length;
    },
    enqueue(item) {
      if (items.length >= maxLength) {
        throw new TensorshareError('ERR_OVERLOADED', `function '${fn}' is overloaded: ${items.length} requests already queued (maxQueueLength ${maxLength})`, { function: fn, queueLength: items.length, maxQueueLength: maxLength });
      }
      items.push(item);
    },
    dequeue() {
      return items.shift();
    },
    remove(item) {
      const i = items.indexOf(item);
      if (i < 0) return false;
      items.splice(i, 1);
      return true;
    },
    drain() {
      const out = items;
      items = [];
      return out;
    },
  };
}
