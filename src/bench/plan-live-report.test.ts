// bench plan's verdicts and section from hand-made results (pure; the live
// run itself is the benchmark, never a test).
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { type PlanLiveResults, type PlanLiveRun, planSection, planVerdicts, summarizeRun } from './plan-live-report.js';
import { tracePhases } from './plan-live.js';

const MiB = 1024 * 1024;

function run(config: 'plan' | 'default', sloAttainment: number, pss: Array<[number, number, number]>): PlanLiveRun {
  return {
    config,
    repetition: 1,
    sent: 100,
    ok: 98,
    rejections: { 'HTTP 429': 2 },
    unfinished: 0,
    sloAttainment,
    latency: { count: 98, mean: 5, p50: 4, p95: 9, p99: 12, max: 30 },
    bySteps: tracePhases(10, true).map((s) => ({ ratePerSec: s.ratePerSec, sent: 25, sloAttainment, p99Ms: 12 })),
    coldStartsDuringTrace: config === 'plan' ? 0 : 2,
    samples: pss.map(([g, i, n], k) => ({
      atMs: k * 250,
      gatewayBytes: g * MiB,
      instancesBytes: i * MiB,
      processes: n,
    })),
    foreignCores: 0.1,
    serverStderr: [],
  };
}

function results(plan: PlanLiveRun, def: PlanLiveRun): PlanLiveResults {
  return {
    format: 'tensorshare.bench-plan/v1',
    quick: false,
    startedAt: '2026-12-01T20:00:00.000Z',
    durationMs: 120_000,
    machine: {} as PlanLiveResults['machine'], // not read by the section
    model: { name: 'mlp', layers: 4, width: 1024, parameters: 4_198_400 },
    demand: { ratePerS: 10, sloMs: 50, cores: 2, seed: 1 },
    trace: tracePhases(10, true),
    plan: {
      instances: 1,
      intraOpThreads: 1,
      maxBatchSize: 4,
      predictedMemoryBytes: 50 * MiB,
      boundMs: 3,
      planMs: 5000,
    },
    runs: [plan, def],
  };
}

test('memory is the time-average and peak of gateway + instances over the samples', () => {
  const s = summarizeRun(
    run('plan', 1, [
      [50, 50, 1],
      [50, 150, 2],
    ]),
  );
  assert.equal(s.meanBytes, 150 * MiB);
  assert.equal(s.peakBytes, 200 * MiB);
  assert.equal(s.meanInstancesBytes, 100 * MiB);
  assert.equal(s.peakProcesses, 2);
});

test('verdicts: less memory and the SLO met (>= 99% and no worse than the default) are both needed', () => {
  const small = [[50, 50, 1]] as Array<[number, number, number]>;
  const big = [[50, 150, 2]] as Array<[number, number, number]>;
  const good = planVerdicts(results(run('plan', 0.995, small), run('default', 0.9, big)));
  assert.deepEqual(
    good.map((v) => [v.id, v.verdict]),
    [
      ['plan-memory', 'met'],
      ['plan-slo', 'met'],
    ],
  );
  assert.match(good[0]!.measured, /0\.50x/);
  const bad = planVerdicts(results(run('plan', 0.98, big), run('default', 0.99, small)));
  assert.deepEqual(
    bad.map((v) => v.verdict),
    ['missed', 'missed'],
  );
  // 99.5% but below the default's 99.8%: missed.
  assert.equal(planVerdicts(results(run('plan', 0.995, small), run('default', 0.998, big)))[1]!.verdict, 'missed');
});

test('the section is fenced, names the re-run command and has one row per configuration and per trace phase', () => {
  const md = planSection(
    results(run('plan', 1, [[50, 50, 2]]), run('default', 0.5, [[60, 120, 3]])),
    'npx tensorshare bench plan',
  );
  assert.ok(md.startsWith('<!-- bench:plan:start -->\n## '));
  assert.ok(md.trimEnd().endsWith('<!-- bench:plan:end -->'));
  assert.match(md, /\| plan: 1 x 1 thread, batch cap 4 \| 100 MiB \|/);
  assert.match(md, /\| default autoscaler \(the function sets nothing\) \| 180 MiB \|/);
  assert.equal(md.match(/^\| \d+\/s for \d+ s \|/gm)?.length, 4);
  assert.match(md, /Re-run: `npx tensorshare bench plan`/);
});

test('with repetitions (ABBA), the verdicts average each configuration over its runs and the rows are numbered', () => {
  const small = [[50, 50, 1]] as Array<[number, number, number]>;
  const big = [[50, 150, 2]] as Array<[number, number, number]>;
  const r = results(run('plan', 1, small), run('default', 0.9, big));
  r.runs.push({ ...run('default', 0.9, big), repetition: 2 }, { ...run('plan', 0.97, big), repetition: 2 });
  const v = planVerdicts(r);
  // plan: (100 + 200) / 2 MiB against 200 MiB; SLO (100% + 97%) / 2 = 98.5% < 99%.
  assert.match(v[0]!.measured, /150 MiB vs 200 MiB: 0\.75x, mean of 2 runs each/);
  assert.deepEqual(
    v.map((x) => x.verdict),
    ['met', 'missed'],
  );
  assert.match(planSection(r, 'x'), /\| #2 plan: 1 x 1 thread, batch cap 4 \|/);
});
