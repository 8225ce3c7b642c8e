// Runtime events and store state -> the gateway's Prometheus registry:
// instances and cold starts per function, store bytes (logical/physical),
// and the bytes that sharing saves (what private copies would take minus
// what is resident).
import type { Registry } from 'prom-client';
import { registerServingMetrics } from './gateway/metrics.js';
import { registerDeviceMetrics } from './device-metrics.js';
import type { Runtime } from './runtime.js';
import { du } from '../store/maintenance.js';
import { resolveModel } from '../store/repository.js';
import type { Layout } from '../store/layout.js';

/**
 * Keeps the serving metrics current from runtime events. Subscribe before the
 * runtime starts (pass a relay as its `onEvent`): instances that become ready
 * while it deploys at start would otherwise never be counted.
 *
 * The store gauges are measured when a scrape reads them, at most once per
 * `refreshMs`: a scan of the store reads every manifest (about 1 s of CPU at a
 * thousand models), which on a timer ran every 5 s whether anyone looked or
 * not, and at start competed with the deploys for the event loop and the
 * thread pool. The first scrape waits for the first scan; later ones get the
 * last values while a newer scan runs once they are older than `refreshMs`.
 */
export function wireServingMetrics(
  registry: Registry,
  rt: Pick<Runtime, 'subscribe'>,
  store: Layout,
  refreshMs = 5000,
): () => void {
  let measuredAt: number | undefined;
  let measuring: Promise<void> | undefined;
  const measure = () => {
    measuring ??= refresh()
      .catch(() => {})
      .finally(() => {
        measuredAt = performance.now();
        measuring = undefined;
      });
    return measuring;
  };
  const m = registerServingMetrics(registry, undefined, async () => {
    if (measuredAt === undefined) return measure();
    if (performance.now() - measuredAt >= refreshMs) void measure();
  });
  registerDeviceMetrics(registry, store.root);
  const running = new Map<string, number>(); // function -> instance processes
  const modelsOf = new Map<string, string[]>(); // function -> model refs its instances open
  const unsubscribe = rt.subscribe((e) => {
    if (e.type === 'instance-ready') {
      m.coldStarts.inc({ function: e.function });
      m.coldStartSeconds.observe({ function: e.function }, e.coldStartMs / 1000);
      modelsOf.set(
        e.function,
        e.models.map((x) => x.ref),
      );
    } else if (e.type === 'instances') {
      const n = e.starting + e.ready + e.draining;
      running.set(e.function, n);
      m.instances.set({ function: e.function }, n);
    }
  });
  const bytesOf = async (ref: string) => {
    try {
      return (await resolveModel(store, ref)).tensors.reduce((a, t) => a + t.bytes, 0);
    } catch {
      return 0; // not resident (evicted): nothing mapped, nothing saved
    }
  };
  async function refresh(): Promise<void> {
    const usage = await du(store);
    m.storeBytes.set({ kind: 'logical' }, usage.logicalBytes);
    m.storeBytes.set({ kind: 'physical' }, usage.physicalBytes);
    let privateCopies = 0;
    for (const [fn, n] of running) {
      if (n === 0) continue;
      for (const ref of modelsOf.get(fn) ?? []) privateCopies += n * (await bytesOf(ref));
    }
    m.bytesSavedBySharing.set(Math.max(0, privateCopies - usage.physicalBytes));
  }
  return unsubscribe;
}
