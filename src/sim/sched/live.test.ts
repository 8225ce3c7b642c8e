// The simulator against the live component: the executor's own run loop
// (src/device/device-lanes.ts, the code the device executor process runs,
// with its async settle and pump) driven on a fake clock by clients that
// behave like the trace's jobs, and the simulator on the same trace. Both
// must start the same runs of the same jobs at the same times in the same
// lanes, under every policy and both submit modes. The run times are
// distinct primes and the utilizations small (no slowdown), so no two events
// coincide and the device model is the same on both sides.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createDeviceLanes } from '../../device/device-lanes.js';
import { createFakeClock } from '../../sched/clock.js';
import { DEVICE_POLICIES, type DevicePolicy } from '../../sched/device-policy.js';
import { type RunStart, simulateSched } from './simulate.js';
import type { SchedJob, SubmitMode } from './trace.js';

const CAPACITY = 1000;

function trace(submit: SubmitMode): SchedJob[] {
  const j = (
    id: string,
    arrivalMs: number,
    iterations: number,
    iterationMs: number,
    e: number,
    extra = {},
  ): SchedJob => ({
    id,
    arrivalMs,
    iterations,
    iterationMs,
    persistentBytes: 50,
    ephemeralBytes: e,
    utilization: 0.1,
    priority: 'besteffort',
    submit,
    ...extra,
  });
  return [
    j('a', 0, 4, 37, 300, { tenant: 't1' }),
    j('b', 3, 3, 53, 200, { tenant: 't2' }),
    j('c', 5, 2, 101, 400, { tenant: 't1' }),
    j('d', 11, 5, 13, 250, { priority: 'realtime' }),
    j('e', 17, 2, 71, 350),
  ];
}

type Start = Omit<RunStart, 'concurrent' | 'device'>;

async function live(jobs: SchedJob[], policy: DevicePolicy): Promise<Start[]> {
  const clock = createFakeClock();
  const lanes = createDeviceLanes({ capacity: CAPACITY, policy, maxBatchRows: 1, now: () => clock.now() });
  const starts: Start[] = [];
  const clients: Promise<void>[] = [];
  for (const j of jobs)
    clock.setTimeout(() => {
      lanes.add(
        j.id,
        { persistentBytes: j.persistentBytes, ephemeralBytes: j.ephemeralBytes, batchable: false },
        (batch) =>
          new Promise<null[]>((resolve) => clock.setTimeout(() => resolve(batch.map(() => null)), j.iterationMs)),
      );
      const iteration = () =>
        new Promise<void>((resolve, reject) =>
          lanes.submit(j.id, {
            rows: 1,
            group: '',
            priority: j.priority,
            tenant: j.tenant,
            resolve: (_r, p) => {
              starts.push({ at: p.startedAt, job: j.id, lane: p.lane });
              resolve();
            },
            reject,
          }),
        );
      clients.push(
        (async () => {
          if (j.submit === 'loop') for (let i = 0; i < j.iterations; i++) await iteration();
          else await Promise.all(Array.from({ length: j.iterations }, iteration));
          lanes.remove(j.id, new Error('the job is done'));
        })(),
      );
    }, j.arrivalMs);
  const settle = async () => {
    for (let i = 0; i < 10; i++) await new Promise((r) => setImmediate(r));
  };
  for (let at = clock.nextAt(); at !== null; at = clock.nextAt()) {
    clock.advance(at - clock.now());
    await settle();
  }
  await Promise.all(clients);
  return starts;
}

const order = (xs: Start[]) => [...xs].sort((a, b) => a.at - b.at || (a.job < b.job ? -1 : 1));

for (const submit of ['loop', 'queue'] as const)
  test(`the simulator starts what the live executor loop starts (submit ${submit})`, async () => {
    const jobs = trace(submit);
    for (const policy of DEVICE_POLICIES) {
      const sim = simulateSched(jobs, { policy, devices: [CAPACITY], recordStarts: true });
      assert.equal(sim.finished, jobs.length, policy);
      const simStarts = sim.starts!.map(({ at, job, lane }) => ({ at, job, lane }));
      const liveStarts = await live(jobs, policy);
      assert.equal(
        liveStarts.length,
        jobs.reduce((a, j) => a + j.iterations, 0),
        policy,
      );
      assert.deepEqual(order(simStarts), order(liveStarts), `${policy}, submit ${submit}`);
    }
  });
