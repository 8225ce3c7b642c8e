// Memory sampling: every instance's Pss_Anon, read on a timer, teaches the
// memory guard each function's size and recycles an instance past its
// function's memoryLimitMb (drained and replaced).
import type { Clock, TimerHandle } from '../autoscaler/clock.js';
import type { EventSink } from '../instances/events.js';
import { readPssAnon } from '../instances/memory.js';
import type { Logger } from './log.js';
import type { FunctionRegistry } from './registry.js';
import type { Resources } from './resources.js';

export function createMemorySampler(o: {
  clock: Clock;
  everyMs: number;
  registry: FunctionRegistry;
  resources: Resources;
  emit: EventSink;
  log: Logger;
}): { start(): void; stop(): void } {
  let timer: TimerHandle | undefined;
  let stopped = false;

  const sample = async () => {
    for (const p of o.registry.pools()) {
      for (const i of p.stats().instances) {
        if (i.pid === undefined || i.state === 'exited') continue;
        const bytes = await readPssAnon(i.pid);
        // It may have exited while we read: its reservation is gone, leave it alone.
        if (bytes === undefined || !p.stats().instances.some((x) => x.id === i.id && x.state !== 'exited')) continue;
        o.resources.observe(p.name, i.id, bytes);
        const limitMb = p.deployed.version === i.version ? p.deployed.config.memoryLimitMb : undefined;
        if (limitMb !== undefined && bytes > limitMb * 2 ** 20 && i.state === 'ready') {
          o.emit({ type: 'recycle', function: p.name, instance: i.id, bytes, limitBytes: limitMb * 2 ** 20 });
          o.log.warn({ function: p.name, instance: i.id, bytes, limitMb }, 'instance over its memory limit: recycling');
          p.recycle(i.id, 'memory');
        }
      }
    }
  };
  const schedule = () => {
    if (stopped) return;
    timer = o.clock.setTimeout(() => {
      sample()
        .catch((err) => o.log.error({ err }, 'memory sampling failed'))
        .finally(schedule);
    }, o.everyMs);
  };

  return {
    start: schedule,
    stop() {
      stopped = true;
      if (timer !== undefined) o.clock.clearTimeout(timer);
    },
  };
}
