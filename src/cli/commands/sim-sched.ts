// `tensorshare sim sched [trace]`: a job trace on simulated GPUs under the
// device executor's policies (src/sim/sched): Salus's columns per policy,
// compared with the published ones. Without a trace, the Salus-shaped one
// generated from --seed.
import { type Command, InvalidArgumentError } from 'commander';
import fs from 'node:fs';
import path from 'node:path';
import { TensorshareError } from '../../errors.js';
import { DEVICE_POLICIES, type DevicePolicy, parseDevicePolicy } from '../../sched/device-policy.js';
import { progressBar } from '../../sim/progress.js';
import { SALUS_DEVICE_BYTES, salusTrace } from '../../sim/sched/salus-trace.js';
import { columnsOf, compareWithSalus, markdownTable, writeCharts } from '../../sim/sched/report.js';
import { type SimSchedResult, simulateSched } from '../../sim/sched/simulate.js';
import { type SchedJob, jobRecord, readSchedTrace } from '../../sim/sched/trace.js';
import { toJsonl } from '../../sim/trace-io.js';
import { action, emit } from '../output.js';

interface SimSchedOptions {
  seed: number;
  jobs: number;
  meanInterarrival: number;
  inferenceShare: number;
  submit: 'queue' | 'loop';
  policy: DevicePolicy[];
  gpus: number;
  gpuMemory: number;
  agingRate?: number;
  tenantWeight: Record<string, number>;
  writeTrace?: string;
  out?: string;
  timing?: boolean;
  json?: boolean;
}

const int = (what: string, least: number) => (v: string) => {
  const n = Number(v);
  if (!Number.isSafeInteger(n) || n < least) throw new InvalidArgumentError(`${what} must be an integer >= ${least}`);
  return n;
};
const positive = (what: string) => (v: string) => {
  const n = Number(v);
  if (!(n > 0 && Number.isFinite(n))) throw new InvalidArgumentError(`${what} must be a positive number`);
  return n;
};
const fraction = (v: string) => {
  const n = Number(v);
  if (!(n >= 0 && n <= 1)) throw new InvalidArgumentError('must be within 0..1');
  return n;
};
const policies = (v: string) => {
  try {
    return v.split(',').map((p) => parseDevicePolicy(p.trim(), '--policy'));
  } catch (e) {
    throw new InvalidArgumentError((e as Error).message);
  }
};
const weight = (v: string, acc: Record<string, number>) => {
  const m = /^([^=]+)=(.+)$/.exec(v);
  const w = Number(m?.[2]);
  if (!m || !(w > 0 && Number.isFinite(w))) throw new InvalidArgumentError(`'${v}' is not tenant=weight (weight > 0)`);
  return { ...acc, [m[1]!]: w };
};

export interface SimSchedRun {
  trace: { source: string; jobs: number; iterations: number; workMin: number };
  devices: number[];
  results: SimSchedResult[];
}

export function runSimSched(file: string | undefined, o: SimSchedOptions): SimSchedRun {
  const trace: SchedJob[] = file
    ? readSchedTrace(file)
    : salusTrace({
        seed: o.seed,
        jobs: o.jobs,
        meanInterarrivalMs: o.meanInterarrival * 1000,
        inferenceShare: o.inferenceShare,
        submit: o.submit,
      });
  if (o.writeTrace) fs.writeFileSync(o.writeTrace, toJsonl(trace.map(jobRecord)));
  const devices = Array.from({ length: o.gpus }, () => Math.round(o.gpuMemory * 2 ** 30));
  const results = o.policy.map((policy) => {
    const progress = progressBar(`sim sched ${policy}`, !o.json);
    return simulateSched(trace, { policy, devices, agingRate: o.agingRate, weights: o.tenantWeight, progress });
  });
  return {
    trace: {
      source: file ?? `salus-shaped, seed ${o.seed}`,
      jobs: trace.length,
      iterations: trace.reduce((a, j) => a + j.iterations, 0),
      workMin: trace.reduce((a, j) => a + j.iterations * j.iterationMs, 0) / 60_000,
    },
    devices,
    results,
  };
}

function human(r: SimSchedRun, timing: boolean): string {
  const rate = r.results
    .map(
      (x) =>
        `${x.policy} ${Math.round(x.eventsPerSecond).toLocaleString('en-US')} (${x.events} in ${(x.wallMs / 1000).toFixed(2)} s)`,
    )
    .join(', ');
  return [
    `trace: ${r.trace.source}: ${r.trace.jobs} jobs, ${r.trace.iterations} iterations, ${r.trace.workMin.toFixed(1)} min of device work alone; ${r.devices.length} GPU(s) of ${(r.devices[0]! / 2 ** 30).toFixed(1)} GiB`,
    '',
    markdownTable(r.results),
    ...(timing ? ['', `events/s: ${rate}`] : []),
  ].join('\n');
}

export function registerSimSched(sim: Command): void {
  sim
    .command('sched')
    .description(
      "a job trace on simulated GPUs under the device executor's policies (fifo, pack, srtf, fair, realtime first) and Salus lanes: makespan, queuing and completion times beside Salus's",
    )
    .argument('[trace]', 'job trace, .json or .jsonl (docs/simulation.md); default: the Salus-shaped trace of --seed')
    .option('--seed <n>', 'seed of the generated trace', int('--seed', 0), 1)
    .option('--jobs <n>', 'jobs in the generated trace', int('--jobs', 1), 100)
    .option(
      '--mean-interarrival <s>',
      'mean seconds between arrivals (generated trace)',
      positive('--mean-interarrival'),
      60,
    )
    .option('--inference-share <f>', 'share of inference jobs (generated trace)', fraction, 0.2)
    .option(
      '--submit <mode>',
      'generated jobs: queue (all iterations at arrival) or loop (one after another)',
      (v) => {
        if (v !== 'queue' && v !== 'loop') throw new InvalidArgumentError('must be queue or loop');
        return v;
      },
      'queue',
    )
    .option('--policy <list>', `device policies, comma-separated (${DEVICE_POLICIES.join(', ')})`, policies, [
      ...DEVICE_POLICIES,
    ])
    .option('--gpus <n>', 'simulated GPUs (jobs placed by best fit, src/sched/packing.ts)', int('--gpus', 1), 1)
    .option('--gpu-memory <GiB>', 'memory of each GPU', positive('--gpu-memory'), SALUS_DEVICE_BYTES / 2 ** 30)
    .option('--aging-rate <r>', 'srtf: ms of score gained per ms waited (the executor default 0.5)', (v) => {
      const n = Number(v);
      if (!(n >= 0 && Number.isFinite(n))) throw new InvalidArgumentError('must be a number >= 0');
      return n;
    })
    .option('--tenant-weight <tenant=w>', 'fair: weight of a tenant (repeatable)', weight, {})
    .option('--write-trace <file>', 'also write the trace simulated, as JSONL')
    .option('--out <dir>', 'write sim-sched.md, sim-sched.json (every job) and the charts here')
    .option('--timing', 'also report the wall time and events per second of each run (not deterministic)')
    .option('--json', 'print the results as JSON')
    .action(
      action(async (file: string | undefined, o: SimSchedOptions) => {
        if (file && !fs.existsSync(file))
          throw new TensorshareError('ERR_INVALID_ARGUMENT', `trace ${file} does not exist`, { file });
        const r = runSimSched(file, o);
        if (o.out) {
          fs.mkdirSync(o.out, { recursive: true });
          fs.writeFileSync(path.join(o.out, 'sim-sched.md'), `${human(r, !!o.timing)}\n`);
          const saved = {
            ...r,
            results: r.results.map(({ wallMs, eventsPerSecond, ...x }) =>
              o.timing ? { ...x, wallMs, eventsPerSecond } : x,
            ),
          };
          fs.writeFileSync(path.join(o.out, 'sim-sched.json'), `${JSON.stringify(saved, null, 2)}\n`);
          writeCharts(o.out, r.results, r.trace.source);
        }
        emit(
          o,
          {
            trace: r.trace,
            devices: r.devices,
            policies: r.results.map(({ jobs, starts, wallMs, eventsPerSecond, ...rest }) => ({
              ...rest,
              ...(o.timing ? { wallMs, eventsPerSecond } : {}),
              minutes: columnsOf({ ...rest, jobs, wallMs, eventsPerSecond }),
            })),
            orderings: compareWithSalus(r.results),
          },
          () => human(r, !!o.timing),
        );
      }),
    );
}
