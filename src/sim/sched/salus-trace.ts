// A job trace shaped like Salus's (Yu & Chowdhury, MLSys 2020, sec. 6.1):
// deep-learning jobs of the CNNs of their evaluation, each a model and a batch
// size with a run length of about 1, 5 or 10 minutes alone, arriving at
// random. Generated from a seed; what is measured and what is assumed:
//
// Measured by Salus (their repository, tests/workloads.csv): for each model
// and training batch size, the peak device memory and the job completion
// time of runs of N1, N5 and N10 iterations (their 1, 5 and 10 minute jobs).
// The time of one iteration is the slope (JCT10 - JCT1) / (N10 - N1); the
// intercept (graph building and input pipeline start, host side) is left out,
// so a job's device work is its iterations times that slope.
//
// Assumed here (docs/simulation.md lists them):
//   persistent bytes P of a training job: weights plus one optimizer slot
//     (momentum), 2 x 4 bytes x the model's published parameter count;
//     ephemeral bytes E = measured peak - P;
//   inference jobs: weights only (4 bytes a parameter); a third of the
//     training run's time and activation memory per sample (forward pass
//     only), plus 2 ms a run; batch 1, 5 or 10 (Salus's eval batch sizes);
//   utilization (compute share of one run alone): training 0.75 / 0.85 / 0.95
//     for the small / middle / large batch, inference 0.2 / 0.35 / 0.5;
//   the mix: 80% training; run length class 1 / 5 / 10 min with probability
//     0.6 / 0.3 / 0.1 (a mean job of about 3 minutes alone, as Salus's FIFO
//     row implies: average completion - average queuing = 3.0 min);
//   Poisson arrivals, mean 60 s apart (the device stays backlogged, as their
//     FIFO makespan of about the sum of the job lengths says it was).
import { seededRandom } from '../../prng.js';
import type { SchedJob } from './trace.js';

type Row = [model: string, batch: number, peakMiB: number, runs: [jctS: number, iterations: number][]];

/** Salus's tests/workloads.csv: model, batch size, peak MB, (JCT s, iterations) of the 1, 5, 10 minute jobs. */
export const SALUS_WORKLOADS: readonly Row[] = [
  [
    'vgg11',
    25,
    3709.6,
    [
      [67.059, 565],
      [306.91, 2829],
      [606.446, 5659],
    ],
  ],
  [
    'vgg11',
    50,
    5087.5,
    [
      [67.78, 321],
      [307.061, 1611],
      [605.928, 3224],
    ],
  ],
  [
    'vgg11',
    100,
    9203.4,
    [
      [71.553, 178],
      [310.629, 894],
      [609.887, 1790],
    ],
  ],
  [
    'vgg16',
    25,
    4316.8,
    [
      [68.348, 311],
      [308.016, 1561],
      [607.419, 3124],
    ],
  ],
  [
    'vgg16',
    50,
    6183.3,
    [
      [71.471, 168],
      [310.895, 846],
      [610.119, 1693],
    ],
  ],
  [
    'vgg16',
    100,
    10445.2,
    [
      [76.735, 90],
      [316.854, 455],
      [617.567, 912],
    ],
  ],
  [
    'vgg19',
    25,
    4463.1,
    [
      [69.055, 266],
      [309.148, 1338],
      [608.838, 2677],
    ],
  ],
  [
    'vgg19',
    50,
    6359.0,
    [
      [72.146, 143],
      [311.806, 721],
      [612.027, 1444],
    ],
  ],
  [
    'vgg19',
    100,
    12024.1,
    [
      [77.547, 76],
      [317.404, 388],
      [618.245, 778],
    ],
  ],
  [
    'resnet50',
    25,
    2116.0,
    [
      [79.038, 478],
      [320.478, 2398],
      [620.617, 4798],
    ],
  ],
  [
    'resnet50',
    50,
    4008.2,
    [
      [80.753, 265],
      [321.565, 1332],
      [622.487, 2665],
    ],
  ],
  [
    'resnet50',
    75,
    5914.6,
    [
      [82.128, 183],
      [322.169, 922],
      [622.484, 1845],
    ],
  ],
  [
    'resnet101',
    25,
    3237.5,
    [
      [93.877, 276],
      [334.707, 1387],
      [635.135, 2776],
    ],
  ],
  [
    'resnet101',
    50,
    6105.8,
    [
      [95.869, 155],
      [335.966, 782],
      [635.387, 1565],
    ],
  ],
  [
    'resnet101',
    75,
    8988.4,
    [
      [98.357, 108],
      [337.866, 545],
      [637.111, 1091],
    ],
  ],
  [
    'resnet152',
    25,
    4563.0,
    [
      [110.803, 191],
      [348.195, 963],
      [646.961, 1928],
    ],
  ],
  [
    'resnet152',
    50,
    8637.3,
    [
      [111.04, 108],
      [351.131, 546],
      [651.234, 1093],
    ],
  ],
  [
    'resnet152',
    75,
    12725.7,
    [
      [113.77, 75],
      [353.584, 381],
      [653.573, 764],
    ],
  ],
  [
    'googlenet',
    25,
    756.1,
    [
      [73.123, 1015],
      [313.283, 5083],
      [616.275, 10168],
    ],
  ],
  [
    'googlenet',
    50,
    1411.4,
    [
      [74.943, 599],
      [316.803, 2998],
      [615.953, 5998],
    ],
  ],
  [
    'googlenet',
    100,
    2534.1,
    [
      [76.566, 332],
      [316.386, 1665],
      [616.024, 3332],
    ],
  ],
  [
    'alexnet',
    25,
    686.6,
    [
      [62.591, 2726],
      [297.557, 13635],
      [585.678, 27271],
    ],
  ],
  [
    'alexnet',
    50,
    1154.8,
    [
      [65.864, 2067],
      [310.619, 10343],
      [611.977, 20688],
    ],
  ],
  [
    'alexnet',
    100,
    1396.5,
    [
      [66.886, 1332],
      [307.533, 6665],
      [609.085, 13332],
    ],
  ],
  [
    'overfeat',
    25,
    3255.0,
    [
      [65.392, 1199],
      [306.98, 5998],
      [609.267, 11999],
    ],
  ],
  [
    'overfeat',
    50,
    3416.3,
    [
      [65.997, 951],
      [306.352, 4760],
      [614.04, 9522],
    ],
  ],
  [
    'overfeat',
    100,
    6240.0,
    [
      [67.729, 617],
      [309.239, 3091],
      [619.076, 6184],
    ],
  ],
  [
    'inception3',
    25,
    2499.6,
    [
      [91.269, 303],
      [331.904, 1521],
      [633.169, 3044],
    ],
  ],
  [
    'inception3',
    50,
    4775.3,
    [
      [95.466, 165],
      [342.625, 830],
      [636.736, 1661],
    ],
  ],
  [
    'inception3',
    100,
    9379.0,
    [
      [104.603, 86],
      [346.814, 436],
      [642.739, 874],
    ],
  ],
  [
    'inception4',
    25,
    4445.1,
    [
      [107.816, 147],
      [348.353, 741],
      [649.827, 1484],
    ],
  ],
  [
    'inception4',
    50,
    8540.5,
    [
      [116.546, 81],
      [353.33, 409],
      [654.928, 820],
    ],
  ],
  [
    'inception4',
    75,
    12662.0,
    [
      [129.093, 55],
      [360.056, 283],
      [659.856, 567],
    ],
  ],
];

/** Published parameter counts (millions) of the ImageNet models. */
export const PARAMETERS_M: Readonly<Record<string, number>> = {
  vgg11: 132.9,
  vgg16: 138.4,
  vgg19: 143.7,
  resnet50: 25.6,
  resnet101: 44.5,
  resnet152: 60.2,
  googlenet: 6.8,
  alexnet: 61.0,
  overfeat: 145.9,
  inception3: 23.8,
  inception4: 42.7,
};

/** The Salus driver's default device memory (benchmarks/exps/card266.py: 14 GiB). */
export const SALUS_DEVICE_BYTES = 14 * 2 ** 30;

export interface SalusTraceOptions {
  seed: number;
  /** Default 100, as in Salus's trace. */
  jobs?: number;
  /** Mean time between arrivals, ms. Default 60 000. */
  meanInterarrivalMs?: number;
  /** Share of inference jobs. Default 0.2. */
  inferenceShare?: number;
  /** How jobs send their iterations (trace.ts). Default queue. */
  submit?: SchedJob['submit'];
}

const MiB = 2 ** 20;
const LENGTH_CLASS_P = [0.6, 0.3, 0.1];
const TRAIN_UTIL = [0.75, 0.85, 0.95];
const INFER_BATCH = [1, 5, 10];
const INFER_UTIL = [0.2, 0.35, 0.5];

/** One iteration alone, ms: the slope of JCT over iterations between the 1 and 10 minute jobs. */
export function iterationMsOf(row: Row): number {
  const [a, , b] = row[3] as [[number, number], [number, number], [number, number]];
  return ((b[0] - a[0]) / (b[1] - a[1])) * 1000;
}

export function salusTrace(o: SalusTraceOptions): SchedJob[] {
  const rand = seededRandom(`sim-sched-salus:${o.seed}`);
  const n = o.jobs ?? 100;
  const gap = o.meanInterarrivalMs ?? 60_000;
  const inferenceShare = o.inferenceShare ?? 0.2;
  const pick = <T>(xs: readonly T[]): T => xs[Math.min(xs.length - 1, Math.floor(rand() * xs.length))]!;
  const models = [...new Set(SALUS_WORKLOADS.map((r) => r[0]))];
  const jobs: SchedJob[] = [];
  let t = 0;
  for (let i = 0; i < n; i++) {
    if (i > 0) t += -Math.log(1 - rand()) * gap;
    const model = pick(models);
    const rows = SALUS_WORKLOADS.filter((r) => r[0] === model);
    const u = rand();
    const lengthClass = u < LENGTH_CLASS_P[0]! ? 0 : u < LENGTH_CLASS_P[0]! + LENGTH_CLASS_P[1]! ? 1 : 2;
    const params = PARAMETERS_M[model]! * 1e6;
    const inference = rand() < inferenceShare;
    const b = Math.floor(rand() * 3);
    const row = rows[inference ? 0 : b]!;
    const trainIterMs = iterationMsOf(row);
    const trainP = Math.round(8 * params);
    const lengthMs = (row[3][lengthClass]![1] * iterationMsOf(row)) | 0;
    let job: SchedJob;
    if (inference) {
      const batch = INFER_BATCH[b]!;
      const perSample = batch / row[1] / 3;
      const iterationMs = Math.round((trainIterMs * perSample + 2) * 1000) / 1000;
      job = {
        id: `j${String(i + 1).padStart(3, '0')}`,
        arrivalMs: Math.round(t),
        model: `${model}eval_${batch}`,
        kind: 'inference',
        iterations: Math.max(1, Math.round(lengthMs / iterationMs)),
        iterationMs,
        persistentBytes: Math.round(4 * params),
        ephemeralBytes: Math.max(64 * MiB, Math.round((row[2] * MiB - trainP) * perSample)),
        utilization: INFER_UTIL[b]!,
        priority: 'besteffort',
        submit: o.submit ?? 'queue',
      };
    } else {
      job = {
        id: `j${String(i + 1).padStart(3, '0')}`,
        arrivalMs: Math.round(t),
        model: `${model}_${row[1]}`,
        kind: 'training',
        iterations: row[3][lengthClass]![1],
        iterationMs: Math.round(trainIterMs * 1000) / 1000,
        persistentBytes: trainP,
        ephemeralBytes: Math.max(0, Math.round(row[2] * MiB - trainP)),
        utilization: TRAIN_UTIL[b]!,
        priority: 'besteffort',
        submit: o.submit ?? 'queue',
      };
    }
    jobs.push(job);
  }
  return jobs;
}
