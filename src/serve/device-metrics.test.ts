// The GPU tier's gauges come from the daemon's devices status file.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs/promises';
import path from 'node:path';
import { Registry } from 'prom-client';
import type { DevicesStatus } from '../device/protocol.js';
import { tempRoots } from '../testing/tmp.js';
import { registerDeviceMetrics } from './device-metrics.js';

test('per-device gauges: memory, resident models and bytes, queue depth, batch sizes, restarts', async () => {
  const roots = await tempRoots('ts-devmetrics');
  try {
    const registry = new Registry();
    registerDeviceMetrics(registry, roots.store);
    assert.doesNotMatch(await registry.metrics(), /tensorshare_device_memory_bytes\{/, 'no daemon, no samples');
    const status: DevicesStatus = {
      updatedAt: new Date(0).toISOString(),
      devices: [
        {
          index: 0,
          socket: '/x',
          state: 'ready',
          restarts: 2,
          budgetBytes: 900,
          device: { index: 0, kind: 'fake', name: 'fake device', totalBytes: 1000, usedBytes: 300, provider: 'cpu' },
          queueDepth: { 'mm:1': 3 },
          batchSizes: { '1': 10, '8': 4 },
          loads: 1,
          models: [
            {
              key: 'mm:1',
              model: 'mm:1',
              bytes: 300,
              measured: true,
              persistentBytes: 250,
              ephemeralBytes: 50,
              clients: 2,
              pinned: false,
            },
          ],
        },
      ],
    };
    await fs.mkdir(path.join(roots.store, '.daemon'), { recursive: true });
    await fs.writeFile(path.join(roots.store, '.daemon', 'devices.json'), JSON.stringify(status));
    const text = await registry.metrics();
    for (const line of [
      'tensorshare_device_memory_bytes{device="0",kind="used"} 300',
      'tensorshare_device_memory_bytes{device="0",kind="budget"} 900',
      'tensorshare_device_memory_bytes{device="0",kind="resident"} 300',
      'tensorshare_device_resident_models{device="0"} 1',
      'tensorshare_device_model_bytes{device="0",model="mm:1",kind="persistent"} 250',
      'tensorshare_device_model_bytes{device="0",model="mm:1",kind="ephemeral"} 50',
      'tensorshare_device_queue_depth{device="0",model="mm:1"} 3',
      'tensorshare_device_batches{device="0",size="8"} 4',
      'tensorshare_device_executor_restarts{device="0"} 2',
    ])
      assert.ok(text.includes(line), `${line} in:\n${text}`);
  } finally {
    await roots.cleanup();
  }
});
