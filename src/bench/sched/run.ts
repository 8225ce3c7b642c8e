// The scheduling benchmark (`tensorshare bench-sched`): real `tensorshare
// serve` processes over loopback HTTP, open-loop Poisson load from this
// process (../loadgen.ts), a reduced-depth BERT-base-shaped encoder (hidden
// 768) from src/gen. Four scenarios, one file each: batching.ts,
// priority.ts (with isolation.ts and the simulated fallback.ts), fair.ts,
// srtf.ts.
//
// Measurements of different configurations alternate (interleaving), and
// every figure reported is the median over repetitions: the machine is
// shared, so single runs are noisy.
import os from 'node:os';
import path from 'node:path';
import { machineInfo } from '../machine.js';
import { batchingScenario } from './batching.js';
import { computeCeiling } from './ceiling.js';
import { fairScenario } from './fair.js';
import { fallbackScenario } from './fallback.js';
import { isolationScenario } from './isolation.js';
import { createHarness } from './harness.js';
import { priorityScenario } from './priority.js';
import { writeReport } from './report.js';
import { SLO_MS, type Compute, type SchedBenchOptions, type SchedBenchResults } from './results.js';
import { sharedFunction, type ScenarioContext } from './scenario.js';
import { srtfScenario } from './srtf.js';
import { summarize } from './summary.js';

export async function runSchedBench(o: SchedBenchOptions): Promise<SchedBenchResults> {
  const t0 = performance.now();
  const log = (line: string) => o.log(`[${((performance.now() - t0) / 1000).toFixed(0).padStart(3)} s] ${line}`);
  const q = o.quick;
  const m = machineInfo({ probeDropCaches: false });
  const loadBefore = os.loadavg();
  const model = { layers: o.layers, hidden: 768, heads: 12, intermediate: 3072, seq: o.seq };
  const results: SchedBenchResults = {
    generatedAt: new Date().toISOString(),
    quick: q,
    wallSeconds: 0,
    machine: {
      cpuModel: m.cpuModel,
      cores: m.logicalCores,
      node: m.node,
      onnxruntimeNode: m.onnxruntimeNode,
      loadAverageBefore: loadBefore,
      loadAverageAfter: [],
    },
    model: {
      kind: 'BERT-base-shaped encoder (src/gen bert) with pooler',
      ...model,
      params: 0,
      requestOutputs: 'pooler_output [1, 768], binary',
    },
    sloMs: SLO_MS,
    idealCapacity: 0,
    summary: [],
  };

  const { harness: h, params } = await createHarness({ quick: q, model, cores: m.logicalCores, log });
  results.model.params = params;
  try {
    const instances = 2;
    // The model alone sets the scale of every offered load: `ideal` is what two instances could complete
    // at the model's fastest per-sequence time with nothing else on the machine, an upper bound of what
    // the server sustains. Rate ladders are fractions of it; overloads are multiples of it, so they
    // overload even when a noisy neighbour slowed the measurement.
    const computeBySeq: Record<string, Compute> = {};
    let ideal = 0;
    if (o.scenarios.some((n) => n <= 3)) {
      for (const seqLen of q || !o.scenarios.includes(1) ? [o.seq] : [...new Set([8, 16, o.seq])]) {
        const c = await computeCeiling(path.join(h.work, 'bert.onnx'), seqLen, q);
        computeBySeq[String(seqLen)] = c;
        log(
          `  model alone, seq ${seqLen}, ms per sequence by batch size: ${Object.entries(c.perItemMs)
            .map(([b, v]) => `${b}: ${v.toFixed(2)}`)
            .join(', ')} (best ${c.gain.toFixed(2)}x batch 1, fastest ${c.fastestMs.toFixed(2)} ms)`,
        );
      }
      ideal = Math.round((instances * 1000) / computeBySeq[String(o.seq)]!.fastestMs);
      log(`  ideal capacity of ${instances} instances: ${ideal}/s`);
    }
    results.idealCapacity = ideal;
    const ctx: ScenarioContext = {
      ideal,
      instances,
      seq: o.seq,
      computeBySeq,
      functionBase: { model: 'bert', maxQueueLength: 4000, requestTimeoutMs: 1000 },
    };

    if (o.scenarios.includes(1)) results.batching = await batchingScenario(h, ctx);
    if (o.scenarios.includes(2) || o.scenarios.includes(3)) {
      // One fifo server of the shared function is the contrast of both tenant scenarios.
      const fifo = await h.serve('fifo', sharedFunction(ctx), { policy: 'fifo', cores: 2, tenantFromRequest: true });
      if (o.scenarios.includes(2)) results.priority = await priorityScenario(h, ctx, fifo);
      if (o.scenarios.includes(2)) {
        results.isolation = await isolationScenario(h, ctx);
        results.fallback = fallbackScenario();
      }
      if (o.scenarios.includes(3)) results.fair = await fairScenario(h, ctx, fifo);
      await h.stop(fifo);
    }
    if (o.scenarios.includes(4)) results.srtf = await srtfScenario(h);
  } finally {
    await h.close();
  }

  results.machine.loadAverageAfter = os.loadavg();
  results.wallSeconds = (performance.now() - t0) / 1000;
  results.summary = summarize(results);
  await writeReport(results, o.outDir, o.docsFile, log);
  return results;
}
