// The serving side of the GPU -> CPU fallback over a stand-in executor load
// (injected probe) on a fake clock: only besteffort runs of `device: auto`
// functions whose model an executor holds leave the GPU, only while that
// executor is saturated, and they come back after the hold; a failed sample
// changes nothing; marks are validated with the mark named.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { ExecutorLoad } from '../device/protocol.js';
import { createGpuFallback, fallbackMarks, parseFallbackMarks } from './gpu-fallback.js';

function setup() {
  let t = 0;
  const loads = new Map<number, ExecutorLoad | Error>();
  const gauge = new Map<string, number>();
  const f = createGpuFallback({
    daemonSocket: '/nonexistent/daemon.sock',
    marks: {
      enterQueueDepth: 2,
      enterWaitMs: 50,
      enterBesteffortWaitMs: 0,
      exitQueueDepth: 0,
      exitWaitMs: 5,
      holdMs: 100,
    },
    now: () => t,
    devices: () => [...loads.keys()],
    probe: async (d) => {
      const l = loads.get(d)!;
      if (l instanceof Error) throw l;
      return l;
    },
    stateGauge: { set: (l, v) => gauge.set(l.device, v) },
  });
  const load = (d: number, realtimeQueued: number, models = ['mm:1'], realtimeOldestWaitMs = 0) =>
    loads.set(d, {
      device: d,
      realtimeQueued,
      realtimeOldestWaitMs,
      realtimeRunning: 1,
      besteffortQueued: 0,
      besteffortOldestWaitMs: 0,
      models,
    });
  return {
    f,
    gauge,
    loads,
    load,
    advance: (ms: number) => {
      t += ms;
    },
  };
}

const auto = { device: 'auto', models: ['mm:1'] };

test('besteffort runs of a device: auto function go to CPU while its executor is saturated, and back after the hold', async () => {
  const { f, gauge, load, advance } = setup();
  load(0, 0);
  await f.sample();
  assert.equal(f.route(auto, ['besteffort']), undefined, 'calm: the GPU path');
  assert.equal(gauge.get('0'), 0);
  load(0, 3);
  await f.sample();
  assert.equal(gauge.get('0'), 1);
  assert.equal(f.route(auto, ['besteffort']), 'cpu');
  assert.equal(f.route(auto, ['besteffort', 'besteffort']), 'cpu', 'a batch of besteffort requests moves whole');
  assert.equal(f.route(auto, ['realtime']), undefined, 'realtime never leaves the GPU');
  assert.equal(f.route(auto, ['besteffort', 'realtime']), undefined, 'a batch with a realtime request stays');
  assert.equal(
    f.route({ device: { gpu: undefined }, models: ['mm:1'] }, ['besteffort']),
    undefined,
    'device: gpu stays',
  );
  assert.equal(
    f.route({ device: 'auto', models: ['other:1'] }, ['besteffort']),
    undefined,
    'a model on no saturated GPU',
  );
  assert.equal(f.route({ device: 'auto', models: ['mm'] }, ['besteffort']), 'cpu', 'a reference without version');
  // Calm, but not yet for holdMs: still on CPU; a busy sample restarts the hold.
  load(0, 0);
  await f.sample();
  advance(60);
  await f.sample();
  assert.equal(f.route(auto, ['besteffort']), 'cpu');
  load(0, 1, ['mm:1'], 10);
  advance(10);
  await f.sample();
  load(0, 0);
  advance(10);
  await f.sample();
  advance(99);
  await f.sample();
  assert.equal(f.route(auto, ['besteffort']), 'cpu', 'the hold started again after the busy sample');
  advance(1);
  await f.sample();
  assert.equal(f.route(auto, ['besteffort']), undefined, 'calm for holdMs: back on the GPU');
  assert.equal(gauge.get('0'), 0);
});

test('executors are followed one by one; a failed sample keeps the state; a vanished executor is dropped', async () => {
  const { f, loads, load } = setup();
  load(0, 5, ['mm:1']);
  load(1, 0, ['other:1']);
  await f.sample();
  assert.deepEqual(
    f.states().map((s) => [s.device, s.onCpu]),
    [
      [0, true],
      [1, false],
    ],
  );
  assert.equal(f.route({ device: 'auto', models: ['other:1'] }, ['besteffort']), undefined);
  loads.set(0, new Error('restarting'));
  await f.sample();
  assert.equal(f.route(auto, ['besteffort']), 'cpu', 'no answer: the last state stands');
  loads.delete(0);
  await f.sample();
  assert.deepEqual(
    f.states().map((s) => s.device),
    [1],
  );
  assert.equal(f.route(auto, ['besteffort']), undefined);
  f.close();
});

test('fallback marks: unknown or inconsistent marks and bad flag text are ERR_INVALID_ARGUMENT naming them', () => {
  assert.deepEqual(fallbackMarks({ holdMs: 1000 }), {
    enterQueueDepth: 4,
    enterWaitMs: 20,
    enterBesteffortWaitMs: 1000,
    exitQueueDepth: 0,
    exitWaitMs: 5,
    holdMs: 1000,
  });
  assert.deepEqual(parseFallbackMarks('enterQueueDepth=8, holdMs=250'), { enterQueueDepth: 8, holdMs: 250 });
  const bad = (fn: () => unknown, re: RegExp) =>
    assert.throws(fn, (e: Error & { code?: string }) => e.code === 'ERR_INVALID_ARGUMENT' && re.test(e.message));
  bad(() => fallbackMarks({ holdMS: 3 } as never), /unknown GPU fallback mark 'holdMS' \(the marks: enterQueueDepth/);
  bad(() => fallbackMarks({ exitQueueDepth: 4 }), /exit marks must be below the enter marks/);
  bad(() => fallbackMarks({ enterQueueDepth: 1.5 }), /enterQueueDepth must be an integer >= 0/);
  bad(() => parseFallbackMarks('holdMs'), /mark=number pairs/);
  bad(() => createGpuFallback({ daemonSocket: '/x', sampleMs: 0 }), /sampleMs must be a number > 0/);
});
