// `sim sched`: the generated trace written with --write-trace reads back as
// the same trace (the same results from the file as from the seed).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { runSimSched } from './sim-sched.js';

test('sim sched: a written trace gives the results of the seed it came from', async () => {
  const dir = await mkdtemp(path.join(os.tmpdir(), 'tensorshare-sim-sched-'));
  try {
    const file = path.join(dir, 'trace.jsonl');
    const o = {
      seed: 4,
      jobs: 6,
      meanInterarrival: 5,
      inferenceShare: 0.5,
      submit: 'queue' as const,
      policy: ['fifo' as const, 'pack' as const],
      gpus: 1,
      gpuMemory: 14,
      tenantWeight: {},
      json: true,
    };
    const fromSeed = runSimSched(undefined, { ...o, writeTrace: file });
    const fromFile = runSimSched(file, o);
    const strip = (r: typeof fromSeed) => r.results.map(({ wallMs, eventsPerSecond, ...x }) => x);
    assert.equal(fromSeed.trace.jobs, 6);
    assert.ok(fromSeed.results.every((r) => r.finished === 6));
    assert.deepEqual(strip(fromFile), strip(fromSeed));
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});
