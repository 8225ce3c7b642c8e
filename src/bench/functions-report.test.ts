// The functions suite's verdicts and section, from fixed results (no timing here).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { sampleResults } from '../testing/bench-results.js';
import { FUNCTIONS_SECTION_ID, functionsSection, functionsTargets } from './functions-report.js';
import type { FunctionsResults } from './functions-suite.js';
import { evaluateTargets } from './targets.js';

const KB = 1000;
const MiB = 2 ** 20;

function functions(
  o: {
    readyMs?: number;
    firstReadyMs?: number;
    firstAllReadyMs?: number;
    healthReady?: boolean;
    perFunction?: number;
    scrapeMs?: number;
    longest?: number;
  } = {},
): FunctionsResults {
  const n = 1000;
  const single = 50 * MiB;
  return {
    functions: n,
    width: 256,
    modelBytes: 789_000,
    first: {
      readyMs: o.firstReadyMs ?? 4500,
      healthReady: o.healthReady ?? true,
      loadingAtReady: 990,
      allReadyMs: o.firstAllReadyMs ?? 4800,
      pssBytes: 120 * MiB,
      load: [1, 1, 1],
    },
    waitingRequest: { function: 'fn-999', ms: 640, loadingBefore: true },
    restart: { readyMs: o.readyMs ?? 4000, pssBytes: single + (n - 1) * (o.perFunction ?? 40 * KB), load: [1, 1, 1] },
    single: { readyMs: 1500, pssBytes: single, load: [1, 1, 1] },
    singleBefore: { readyMs: 1600, pssBytes: single + MiB, load: [1, 1, 1] },
    bytesPerIdleFunction: o.perFunction ?? 40 * KB,
    indexMs: [o.scrapeMs ?? 20, 25, 30],
    metricsMs: [o.scrapeMs ?? 20, 22, 28],
    metricsBytes: 400_000,
    requests: [{ function: 'fn-1', firstMs: 400, coldStartMs: 350, secondMs: 3 }],
    inspect: { lines: 30, longestLine: o.longest ?? 120, sharingLine: 'sharing: 2 tensors', jsonSharedWith: n - 1 },
  };
}

const verdicts = (f?: FunctionsResults) =>
  functionsTargets({ ...sampleResults(), suites: ['functions'], functions: f }).map((t) => [t.id, t.verdict]);

test('functions targets: met, missed one by one, not measured without the suite', () => {
  assert.deepEqual(verdicts(functions()), [
    ['functions-ready', 'met'],
    ['functions-memory', 'met'],
    ['functions-scrape', 'met'],
    ['functions-inspect', 'met'],
  ]);
  assert.equal(verdicts(functions({ readyMs: 5001 }))[0]![1], 'missed');
  assert.equal(verdicts(functions({ firstReadyMs: 5001 }))[0]![1], 'missed', 'the first start counts too');
  assert.equal(
    verdicts(functions({ firstAllReadyMs: 5001 }))[0]![1],
    'missed',
    'every function READY counts, not only listed LOADING',
  );
  assert.equal(verdicts(functions({ healthReady: false }))[0]![1], 'missed', 'listening but not ready');
  assert.equal(verdicts(functions({ perFunction: 51 * KB }))[1]![1], 'missed');
  assert.equal(verdicts(functions({ scrapeMs: 101 }))[2]![1], 'met', 'one slow scrape: the median decides');
  assert.equal(
    functionsTargets({
      ...sampleResults(),
      functions: { ...functions(), indexMs: [150, 150, 20] },
    })[2]!.verdict,
    'missed',
  );
  assert.equal(verdicts(functions({ longest: 2000 }))[3]![1], 'missed', 'one line naming every sharing model');
  assert.ok(verdicts(undefined).every(([, v]) => v === 'not measured'));
});

test('the other suites keep their own target list; a run with the suite adds its four', () => {
  assert.ok(!evaluateTargets(sampleResults()).some((t) => t.id.startsWith('functions-')));
  const ids = evaluateTargets({ ...sampleResults(), functions: functions() }).map((t) => t.id);
  assert.deepEqual(ids.slice(-4), ['functions-ready', 'functions-memory', 'functions-scrape', 'functions-inspect']);
});

test('the section is fenced and shows every measured figure with the verdicts', () => {
  const md = functionsSection({ ...sampleResults(), functions: functions() });
  assert.ok(md.startsWith(`<!-- bench:${FUNCTIONS_SECTION_ID}:start -->\n## Many functions on one node`));
  assert.ok(md.trimEnd().endsWith(`<!-- bench:${FUNCTIONS_SECTION_ID}:end -->`));
  for (const s of [
    '1000 functions',
    '4.0 s',
    '4.5 s (990 LOADING)',
    '4.8 s',
    'fn-999 (LOADING)',
    '640 ms',
    'per function',
    'fn-1',
    '350 ms',
    '999 sharing models',
  ])
    assert.ok(md.includes(s), `${s} in\n${md}`);
  assert.equal(functionsSection(sampleResults()), '');
});
