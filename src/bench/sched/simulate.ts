// The dispatcher of src/sched alone on fake time: what a policy does without
// a noisy machine around it (the "simulated" column of scenario 4).
import { createDispatcher, type Batch } from '../../sched/index.js';
import { seededRandom } from '../../prng.js';

/**
 * The dispatcher alone with one slot, Poisson arrivals (half short, half
 * long) for 200 simulated seconds, service times uniform in [0.5, 1.5] x the
 * given means: what the policy does without a noisy machine around it.
 */
export function simulateOneSlot(
  policy: 'fifo' | 'srtf',
  rate: number,
  serviceMs: { short: number; long: number },
  seed = 7,
): { all: number; short: number; long: number } {
  const d = createDispatcher<null>({ policy, slots: 1 });
  d.register({ name: 'short', maxConcurrency: 1 });
  d.register({ name: 'long', maxConcurrency: 1 });
  const rand = seededRandom(seed);
  const gap = () => (-Math.log(1 - rand()) / rate) * 1000;
  const arrivals: Array<{ at: number; fn: 'short' | 'long' }> = [];
  for (let t = gap(); t < 200_000; t += gap()) arrivals.push({ at: t, fn: rand() < 0.5 ? 'short' : 'long' });
  const lat: Record<'short' | 'long', number[]> = { short: [], long: [] };
  let running: { b: Batch<null>; end: number; ms: number } | undefined;
  let i = 0;
  while (i < arrivals.length || running) {
    const now = Math.min(i < arrivals.length ? arrivals[i]!.at : Infinity, running ? running.end : Infinity);
    if (running && running.end <= now) {
      d.complete(running.b, running.ms);
      for (const q of running.b.requests) lat[q.fn as 'short' | 'long'].push(now - q.enqueuedAt);
      running = undefined;
    }
    while (i < arrivals.length && arrivals[i]!.at <= now) {
      d.enqueue({ fn: arrivals[i]!.fn, payload: null }, arrivals[i]!.at);
      i++;
    }
    const b = d.next(now).batch;
    if (b) {
      const ms = serviceMs[b.fn as 'short' | 'long'] * (0.5 + rand());
      running = { b, end: now + ms, ms };
    }
  }
  const mean = (xs: number[]) => xs.reduce((a, x) => a + x, 0) / Math.max(1, xs.length);
  return { all: mean([...lat.short, ...lat.long]), short: mean(lat.short), long: mean(lat.long) };
}
