// Prometheus gauges of the GPU tier, per device, from the daemon's devices
// status file (<store>/.daemon/devices.json, src/daemon/device-tier.ts):
// memory used / total / budget, resident models and their bytes, executor
// queue depth, device batches by size, utilization, executor restarts. Each
// scrape reads the file; no daemon, no gauges.
import fs from 'node:fs/promises';
import path from 'node:path';
import { Gauge, type Registry } from 'prom-client';
import type { DevicesStatus } from '../device/protocol.js';
import { METRIC_PREFIX } from './gateway/metrics.js';

/** The daemon's devices status file of `storeRoot`; undefined when there is none (no GPU tier, no daemon). */
export async function readDevicesStatus(storeRoot: string): Promise<DevicesStatus | undefined> {
  try {
    return JSON.parse(await fs.readFile(path.join(storeRoot, '.daemon', 'devices.json'), 'utf8')) as DevicesStatus;
  } catch {
    return undefined;
  }
}

export function registerDeviceMetrics(registry: Registry, storeRoot: string): void {
  const read = () => readDevicesStatus(storeRoot);
  const gauge = <L extends string>(
    name: string,
    help: string,
    labelNames: readonly L[],
    fill: (g: Gauge<L>, s: DevicesStatus) => void,
  ) =>
    new Gauge<L>({
      name: `${METRIC_PREFIX}${name}`,
      help,
      labelNames,
      registers: [registry],
      async collect() {
        this.reset();
        const s = await read();
        if (s) fill(this, s);
      },
    });
  gauge(
    'device_memory_bytes',
    'Device memory: used (driver), total, budget, resident (counted models)',
    ['device', 'kind'],
    (g, s) => {
      for (const d of s.devices) {
        const device = String(d.index);
        g.set({ device, kind: 'used' }, d.device?.usedBytes ?? 0);
        g.set({ device, kind: 'total' }, d.device?.totalBytes ?? 0);
        g.set({ device, kind: 'budget' }, d.budgetBytes);
        g.set(
          { device, kind: 'resident' },
          d.models.reduce((a, m) => a + m.bytes, 0),
        );
      }
    },
  );
  gauge('device_resident_models', 'Models resident on the device', ['device'], (g, s) => {
    for (const d of s.devices) g.set({ device: String(d.index) }, d.models.length);
  });
  gauge(
    'device_model_bytes',
    'Device bytes of a resident model: persistent and ephemeral as measured, counted against the budget',
    ['device', 'model', 'kind'],
    (g, s) => {
      for (const d of s.devices)
        for (const m of d.models) {
          const l = { device: String(d.index), model: m.model };
          g.set({ ...l, kind: 'counted' }, m.bytes);
          if (m.persistentBytes !== undefined) g.set({ ...l, kind: 'persistent' }, m.persistentBytes);
          if (m.ephemeralBytes !== undefined) g.set({ ...l, kind: 'ephemeral' }, m.ephemeralBytes);
        }
    },
  );
  gauge('device_queue_depth', 'Requests waiting or running in the executor, per model', ['device', 'model'], (g, s) => {
    for (const d of s.devices)
      for (const [model, n] of Object.entries(d.queueDepth)) g.set({ device: String(d.index), model }, n);
  });
  gauge(
    'device_batches',
    'Device runs since the executor started, by batch size in requests',
    ['device', 'size'],
    (g, s) => {
      for (const d of s.devices)
        for (const [size, n] of Object.entries(d.batchSizes)) g.set({ device: String(d.index), size }, n);
    },
  );
  gauge('device_utilization_percent', 'GPU utilization as NVML reports it', ['device'], (g, s) => {
    for (const d of s.devices)
      if (d.device?.utilization !== undefined) g.set({ device: String(d.index) }, d.device.utilization);
  });
  gauge('device_executor_restarts', 'Times the device executor was restarted', ['device'], (g, s) => {
    for (const d of s.devices) g.set({ device: String(d.index) }, d.restarts);
  });
}
