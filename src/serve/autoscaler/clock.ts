// The autoscaler and the runtime's timers read the scheduler's clock (one
// shape, so one clock can drive both; tests pass a fake one). The difference:
// the runtime's real timers must not keep the process alive.
import { realClock as keepAliveClock, type Clock } from '../../sched/clock.js';

export { createFakeClock, type Clock, type FakeClock, type TimerHandle } from '../../sched/clock.js';

export const realClock: Clock = {
  ...keepAliveClock,
  setTimeout: (fn, ms) => {
    const t = setTimeout(fn, Math.max(0, ms));
    t.unref();
    return t;
  },
};
