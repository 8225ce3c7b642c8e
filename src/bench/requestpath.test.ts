// The request-path suite's pure parts: the closed loop's counting, the stage
// means read from two metrics scrapes, and the verdicts against issue 12's targets.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mergeClosedLoop, runClosedLoop } from './closed-loop.js';
import { stageMeans, type RequestPathScenario } from './requestpath.js';
import { requestPathSection, requestPathTargets } from './requestpath-report.js';
import type { BenchResults } from './results.js';

test('a closed loop keeps `concurrency` requests in flight and times only the requests after warm-up', async () => {
  let inFlight = 0;
  let most = 0;
  let sent = 0;
  const r = await runClosedLoop({
    concurrency: 3,
    requests: 30,
    warmup: 6,
    send: async () => {
      sent++;
      most = Math.max(most, ++inFlight);
      await new Promise((res) => setImmediate(res));
      inFlight--;
      if (sent === 20) throw Object.assign(new Error('x'), { code: 'ERR_OVERLOADED' });
    },
  });
  assert.equal(sent, 36);
  assert.equal(most, 3);
  assert.equal(r.latencyMs.count, 29);
  assert.deepEqual(r.errors, { ERR_OVERLOADED: 1 });
});

test('rounds of a scenario merge into one report: samples pooled, time and errors summed', () => {
  const round = (samplesMs: number[], durationMs: number, errors: Record<string, number> = {}) => ({
    concurrency: 1,
    throughput: 0,
    latencyMs: { count: 0, mean: 0, p50: 0, p95: 0, p99: 0, max: 0 },
    errors,
    durationMs,
    samplesMs,
  });
  const m = mergeClosedLoop([round([3, 1], 1000, { 'HTTP 503': 1 }), round([2, 4], 1000, { 'HTTP 503': 2 })]);
  assert.deepEqual(m.samplesMs, [1, 2, 3, 4]);
  assert.equal(m.throughput, 2);
  assert.equal(m.latencyMs.p50, 2.5);
  assert.deepEqual(m.errors, { 'HTTP 503': 3 });
});

test('stage means are the growth of each stage histogram sum over the growth of its count, for one function and protocol', () => {
  const line = (stage: string, fn: string, protocol: string, sum: number, count: number) =>
    `tensorshare_request_stage_seconds_sum{function="${fn}",protocol="${protocol}",stage="${stage}"} ${sum}\n` +
    `tensorshare_request_stage_seconds_count{function="${fn}",protocol="${protocol}",stage="${stage}"} ${count}\n`;
  const before = line('decode', 'f', 'http', 1, 10) + line('run', 'f', 'http', 5, 10) + line('run', 'g', 'http', 0, 0);
  const after =
    line('decode', 'f', 'http', 1.5, 20) +
    line('run', 'f', 'http', 7, 20) +
    line('run', 'f', 'grpc', 9, 9) +
    line('run', 'g', 'http', 100, 1);
  assert.deepEqual(stageMeans([[before, after]], 'f', 'http'), { decode: 50, run: 200 });
  // Rounds pool their sums and counts; what happened between rounds (another scenario) is not counted.
  const later = line('decode', 'f', 'http', 10, 1000) + line('run', 'f', 'http', 70, 1000);
  const latest = line('decode', 'f', 'http', 10.5, 1010) + line('run', 'f', 'http', 72, 1010);
  assert.deepEqual(
    stageMeans(
      [
        [before, after],
        [later, latest],
      ],
      'f',
      'http',
    ),
    { decode: 50, run: 200 },
  );
});

function results(ms: Record<string, [number, number, number]>): BenchResults {
  const scenarios = Object.entries(ms).map(([id, [throughput, p50, p99]]): RequestPathScenario => {
    const [server, model, protocol, c] = id.split(' ') as [string, string, string, string];
    return {
      id,
      server: server as RequestPathScenario['server'],
      model: model as RequestPathScenario['model'],
      protocol: protocol as RequestPathScenario['protocol'],
      concurrency: Number(c),
      report: {
        concurrency: Number(c),
        throughput,
        latencyMs: { count: 200, mean: p50, p50, p95: p99, p99, max: p99 },
        errors: {},
        durationMs: 1000,
        samplesMs: [],
      },
      stagesMs: server === 'tensorshare' ? { decode: 1, run: p50 - 1 } : undefined,
    };
  });
  return { quick: false, requestPath: { requests: 200, functionConfig: {}, scenarios } } as unknown as BenchResults;
}

test('request-path verdicts: each target met or missed from the ratios, misses name the largest stage', () => {
  const r = results({
    'peer ocr-rec json 1': [12, 80, 100],
    'tensorshare ocr-rec json 1': [12, 83, 100],
    'peer ocr-rec json 4': [13, 290, 500],
    'tensorshare ocr-rec json 4': [20, 190, 520],
    'tensorshare ocr-rec binary 4': [16, 200, 300],
    'tensorshare ocr-rec grpc 4': [16, 210, 300],
    'peer tiny json 1': [1000, 1, 2],
    'tensorshare tiny json 1': [500, 2.5, 4],
  });
  const t = requestPathTargets(r);
  const by = Object.fromEntries(t.map((x) => [x.id, x]));
  assert.equal(by['requestpath-c1']!.verdict, 'met');
  assert.equal(by['requestpath-c4']!.verdict, 'missed', 'throughput 1.54x, but p99 worse');
  assert.equal(by['requestpath-binary']!.verdict, 'met');
  assert.equal(by['requestpath-fixed']!.verdict, 'missed');
  assert.match(by['requestpath-fixed']!.measured, /\+1\.50 ms/);
  assert.match(by['requestpath-fixed']!.notes.join(), /largest stage: run 1\.50 ms/);
  assert.ok(requestPathTargets({ quick: false } as BenchResults).every((x) => x.verdict === 'not measured'));
  const section = requestPathSection(r).join('\n');
  assert.match(section, /^<!-- bench:requestpath:start -->\n## 6\./);
  assert.match(section, /\| trivial model: fixed cost of one request ≤ \+1 ms over the peer's \| missed \|/);
  assert.match(section, /<!-- bench:requestpath:end -->\n$/);
});
