// The collector over plain sources: GPUs from the daemon's devices file (and
// null without one), latency percentiles over a sliding window of the
// registry's histogram, cold starts from runtime events into the next
// history point, and a bounded history. The page and a real serve are
// covered by dashboard.test.ts; this pins the arithmetic with a fake clock.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs/promises';
import path from 'node:path';
import { createGatewayMetrics } from '../gateway/metrics.js';
import type { EventSink, RuntimeEvent } from '../instances/events.js';
import type { DevicesStatus } from '../../device/protocol.js';
import { tempRoots } from '../../testing/tmp.js';
import { recordColdStarts } from './cold-starts.js';
import { createCollector, type DashboardSources } from './collect.js';

function sources(roots: { repository: string; store: string }) {
  const metrics = createGatewayMetrics();
  const listeners = new Set<EventSink>();
  const emit = (e: RuntimeEvent) => {
    for (const l of listeners) l(e);
  };
  const coldStarts = recordColdStarts({
    subscribe: (l) => {
      listeners.add(l);
      return () => listeners.delete(l);
    },
  });
  const src: DashboardSources = {
    runtime: {
      list: () => [{ name: 'f', version: '1', state: 'READY', instances: { starting: 0, ready: 1, draining: 0 } }],
      stats: () => ({
        functions: [
          {
            name: 'f',
            version: '1',
            backlog: 0,
            inflight: 0,
            slots: 1,
            free: 1,
            instances: [{ id: 'f-v1-1', version: '1', pid: process.pid, state: 'ready', inflight: 0 }],
          },
        ],
        memory: { budgetBytes: 1000, reservedBytes: 10 },
        prestart: { ready: 0, starting: 0 },
        imports: { pending: 0 },
      }),
      deployment: () => undefined,
    },
    scheduling: {
      snapshot: () => ({
        policy: 'fair',
        slots: Infinity,
        inFlight: 0,
        functions: [
          { fn: 'f', queued: 3, queuedByClass: { realtime: 3, besteffort: 0 }, inFlight: 0, cap: 4, concurrency: 1 },
        ],
        tenants: [{ tenant: 'gold', queued: 3, deficitMs: 2 }],
      }),
    },
    registry: metrics.registry,
    coldStarts,
    daemon: undefined,
    daemonMode: 'off',
    repository: roots.repository,
    store: roots.store,
    server: { httpUrl: 'http://127.0.0.1:1', grpcAddress: null, slots: null },
  };
  return { src, metrics, emit, coldStarts };
}

test('snapshots: GPUs from devices.json, latency over the window, cold starts once, bounded history', async () => {
  const roots = await tempRoots('ts-dashboard-collect');
  try {
    const { src, metrics, emit, coldStarts } = sources(roots);
    let now = 1_000_000;
    const c = createCollector(src, { now: () => now, windowMs: 60_000, historyPoints: 3 });

    let { snapshot, point } = await c.tick();
    assert.equal(snapshot.gpus, null, 'no devices file: no GPU');
    assert.equal(snapshot.store.budget, null, 'no daemon: no budget');
    assert.deepEqual(snapshot.store.models, []);
    assert.equal(snapshot.server.policy, 'fair');
    assert.deepEqual(snapshot.server.tenants, [{ tenant: 'gold', queued: 3, deficitMs: 2 }]);
    const f = snapshot.functions[0]!;
    assert.equal(f.queued, 3);
    assert.equal(f.batchCap, 4);
    assert.equal(f.latencyMs, null, 'nothing answered yet');
    // This process's own smaps.
    const me = snapshot.memory.instances[0]!;
    assert.equal(me.pid, process.pid);
    assert.ok(me.rssBytes! > 0 && me.privateBytes! > 0 && me.rssBytes! >= me.privateBytes!, JSON.stringify(me));
    assert.deepEqual(point.coldStarts, []);

    // Requests answered in 0.1 s, and a cold start.
    for (let i = 0; i < 10; i++) metrics.latency.observe({ function: 'f', protocol: 'http' }, 0.08);
    emit({
      type: 'instance-ready',
      function: 'f',
      version: '1',
      instance: 'f-v1-1',
      coldStartMs: 1234,
      openMs: 1,
      handlerMs: 1,
      models: [],
    });
    now += 1000;
    ({ snapshot, point } = await c.tick());
    const lat = snapshot.functions[0]!.latencyMs!;
    assert.ok(lat.p50 > 50 && lat.p50 <= 100 && lat.p99 <= 100, JSON.stringify(lat));
    assert.equal(snapshot.functions[0]!.latencyWindowRequests, 10);
    assert.deepEqual(point.coldStarts, [{ function: 'f', ms: 1234 }]);
    assert.deepEqual(snapshot.functions[0]!.coldStarts, { count: 1, meanMs: 1234, lastMs: 1234 });
    assert.equal(point.functions.f?.p95Ms, lat.p95);

    // A minute on, with slower requests since: the window holds only those.
    for (let i = 0; i < 10; i++) metrics.latency.observe({ function: 'f', protocol: 'grpc' }, 2);
    await fs.mkdir(path.join(roots.store, '.daemon'), { recursive: true });
    const devices: DevicesStatus = {
      updatedAt: new Date(now).toISOString(),
      devices: [
        {
          index: 0,
          socket: '/x',
          state: 'ready',
          restarts: 1,
          budgetBytes: 8e9,
          device: { index: 0, kind: 'nvml', name: 'H200', totalBytes: 1.4e11, usedBytes: 2e9, provider: 'cuda' },
          queueDepth: { 'bert:1': 2, 'other:1': 1 },
          batchSizes: {},
          loads: 1,
          models: [{ key: 'k', model: 'bert:1', bytes: 5e8, measured: true, clients: 3, pinned: false }],
        },
      ],
    };
    await fs.writeFile(path.join(roots.store, '.daemon', 'devices.json'), JSON.stringify(devices));
    now += 61_000;
    ({ snapshot, point } = await c.tick());
    const slow = snapshot.functions[0]!.latencyMs!;
    assert.ok(slow.p50 > 1000 && slow.p50 <= 2500, `only the slow requests are in the window: ${JSON.stringify(slow)}`);
    assert.equal(snapshot.functions[0]!.latencyWindowRequests, 10);
    assert.deepEqual(point.coldStarts, [], 'a cold start is charted once');
    assert.deepEqual(snapshot.gpus?.devices, [
      {
        index: 0,
        state: 'ready',
        name: 'H200',
        usedBytes: 2e9,
        totalBytes: 1.4e11,
        budgetBytes: 8e9,
        utilization: null,
        restarts: 1,
        queueDepth: 3,
        models: [{ model: 'bert:1', bytes: 5e8, clients: 3, pinned: false }],
        lanes: null,
      },
    ]);

    now += 1000;
    await c.tick();
    assert.deepEqual(
      c.history().map((p) => p.at),
      [1_001_000, 1_062_000, 1_063_000],
      'the oldest points go',
    );
    coldStarts.close();
  } finally {
    await roots.cleanup();
  }
});
