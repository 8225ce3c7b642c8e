// Which models leave a device for a new one: the daemon's policies over
// models nothing uses; in-use, pinned and loading models never go.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { planDeviceEviction, type DeviceModel } from './device-residency.js';
import { policy } from './policy/index.js';

const model = (key: string, bytes: number, o: Partial<DeviceModel> = {}): DeviceModel => ({
  key,
  model: key,
  bytes,
  clients: 0,
  pinned: false,
  resident: true,
  loading: false,
  hits: 1,
  lastUse: 0,
  loadedAt: 0,
  lastRelease: 0,
  costMs: 0,
  priority: 0,
  ...o,
});
const ctx = { now: 1000, ttlMs: 0, inflation: 0 };

test('the policy orders the victims; only as many as needed go', () => {
  const ms = [model('old-use', 40, { lastUse: 1, loadedAt: 50 }), model('new-use', 40, { lastUse: 90, loadedAt: 5 })];
  const lru = planDeviceEviction(ms, policy('lru'), ctx, 30, 100);
  assert.deepEqual(lru.ok && lru.victims.map((m) => m.key), ['old-use']);
  const fifo = planDeviceEviction(ms, policy('fifo'), ctx, 30, 100);
  assert.deepEqual(fifo.ok && fifo.victims.map((m) => m.key), ['new-use']);
  const none = planDeviceEviction(ms, policy('lru'), ctx, 20, 100);
  assert.deepEqual(none.ok && none.victims, []);
});

test('models in use, pinned or loading are never evicted; what cannot fit says free, used and evictable bytes', () => {
  const ms = [
    model('used', 30, { clients: 1 }),
    model('pinned', 30, { pinned: true }),
    model('loading', 20, { loading: true, resident: false }),
    model('idle', 10),
  ];
  const plan = planDeviceEviction(ms, policy('lru'), ctx, 25, 100);
  assert.deepEqual(plan, { ok: false, free: 10, reclaimable: 10, used: 90 });
  assert.deepEqual(planDeviceEviction(ms, policy('never'), ctx, 15, 100), {
    ok: false,
    free: 10,
    reclaimable: 0,
    used: 90,
  });
  const fits = planDeviceEviction(ms, policy('lru'), ctx, 20, 100);
  assert.deepEqual(fits.ok && fits.victims.map((m) => m.key), ['idle']);
});
