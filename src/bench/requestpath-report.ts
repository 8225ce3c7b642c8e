// The request-path suite's targets (issue 12) and its section of
// benchmarks.md: pure functions of the results.
import { fenceSection } from './report.js';
import type { BenchResults } from './results.js';
import { STAGES, type RequestPathResults, type RequestPathScenario } from './requestpath.js';
import type { TargetResult } from './targets.js';

export const REQUEST_PATH_TARGETS = {
  /** tensorshare p50 / peer p50, JSON at concurrency 1. */
  c1P50Ratio: 1.05,
  /** tensorshare throughput / peer throughput, JSON at concurrency 4 (and p99 no worse). */
  c4Throughput: 1.5,
  /** binary extension and gRPC throughput / peer JSON throughput at concurrency 4. */
  binaryThroughput: 1.2,
  /** tensorshare p50 - peer p50 for the trivial model, ms. */
  fixedCostMs: 1,
} as const;

const T = REQUEST_PATH_TARGETS;
const f2 = (v: number) => v.toFixed(2);

function find(
  rp: RequestPathResults,
  server: RequestPathScenario['server'],
  protocol: RequestPathScenario['protocol'],
  model: RequestPathScenario['model'],
  concurrency: number,
): RequestPathScenario | undefined {
  return rp.scenarios.find(
    (s) => s.server === server && s.protocol === protocol && s.model === model && s.concurrency === concurrency,
  );
}

/** The stage that takes longest, as "stage N ms". */
function largestStage(s: RequestPathScenario | undefined): string {
  const e = Object.entries(s?.stagesMs ?? {}).sort((a, b) => b[1] - a[1])[0];
  return e ? `largest stage: ${e[0]} ${f2(e[1])} ms` : 'no stage times';
}

export function requestPathTargets(r: BenchResults): TargetResult[] {
  const rp = r.requestPath;
  const titles = {
    'requestpath-c1': `JSON at concurrency 1: tensorshare p50 ≤ ${T.c1P50Ratio}× the one-process peer's`,
    'requestpath-c4': `JSON at concurrency 4: tensorshare throughput ≥ ${T.c4Throughput}× the peer's, p99 no worse`,
    'requestpath-binary': `binary extension and gRPC at concurrency 4: throughput ≥ ${T.binaryThroughput}× the peer's JSON`,
    'requestpath-fixed': `trivial model: fixed cost of one request ≤ +${T.fixedCostMs} ms over the peer's`,
  } as const;
  if (!rp) {
    return Object.entries(titles).map(([id, title]) => ({
      id: id as TargetResult['id'],
      title,
      verdict: 'not measured' as const,
      measured: 'requestpath suite did not run',
      notes: [],
    }));
  }
  const quick = r.quick ? [`quick run: ${rp.requests} requests per scenario, so this verdict is indicative only`] : [];
  const out: TargetResult[] = [];
  const missing = (id: keyof typeof titles): TargetResult => ({
    id,
    title: titles[id],
    verdict: 'not measured',
    measured: 'a scenario failed to run',
    notes: [],
  });

  const p1 = find(rp, 'peer', 'json', 'ocr-rec', 1);
  const t1 = find(rp, 'tensorshare', 'json', 'ocr-rec', 1);
  if (p1 && t1) {
    const ratio = t1.report.latencyMs.p50 / p1.report.latencyMs.p50;
    out.push({
      id: 'requestpath-c1',
      title: titles['requestpath-c1'],
      verdict: ratio <= T.c1P50Ratio ? 'met' : 'missed',
      measured: `p50 ${f2(t1.report.latencyMs.p50)} ms vs ${f2(p1.report.latencyMs.p50)} ms: ${ratio.toFixed(3)}×`,
      notes: [...quick, ...(ratio > T.c1P50Ratio ? [largestStage(t1)] : [])],
    });
  } else out.push(missing('requestpath-c1'));

  const p4 = find(rp, 'peer', 'json', 'ocr-rec', 4);
  const t4 = find(rp, 'tensorshare', 'json', 'ocr-rec', 4);
  if (p4 && t4) {
    const ratio = t4.report.throughput / p4.report.throughput;
    const p99 = t4.report.latencyMs.p99 <= p4.report.latencyMs.p99;
    const met = ratio >= T.c4Throughput && p99;
    out.push({
      id: 'requestpath-c4',
      title: titles['requestpath-c4'],
      verdict: met ? 'met' : 'missed',
      measured: `${t4.report.throughput.toFixed(1)} vs ${p4.report.throughput.toFixed(1)} req/s: ${ratio.toFixed(2)}×; p99 ${f2(t4.report.latencyMs.p99)} vs ${f2(p4.report.latencyMs.p99)} ms`,
      notes: [...quick, ...(met ? [] : [largestStage(t4)])],
    });
  } else out.push(missing('requestpath-c4'));

  const tb = find(rp, 'tensorshare', 'binary', 'ocr-rec', 4);
  const tg = find(rp, 'tensorshare', 'grpc', 'ocr-rec', 4);
  if (p4 && tb && tg) {
    const rb = tb.report.throughput / p4.report.throughput;
    const rg = tg.report.throughput / p4.report.throughput;
    const met = rb >= T.binaryThroughput && rg >= T.binaryThroughput;
    out.push({
      id: 'requestpath-binary',
      title: titles['requestpath-binary'],
      verdict: met ? 'met' : 'missed',
      measured: `binary ${tb.report.throughput.toFixed(1)} req/s (${rb.toFixed(2)}×), gRPC ${tg.report.throughput.toFixed(1)} req/s (${rg.toFixed(2)}×) vs peer JSON ${p4.report.throughput.toFixed(1)} req/s`,
      notes: [...quick, ...(met ? [] : [`binary ${largestStage(tb)}; gRPC ${largestStage(tg)}`])],
    });
  } else out.push(missing('requestpath-binary'));

  const pt = find(rp, 'peer', 'json', 'tiny', 1);
  const tt = find(rp, 'tensorshare', 'json', 'tiny', 1);
  if (pt && tt) {
    const extra = tt.report.latencyMs.p50 - pt.report.latencyMs.p50;
    out.push({
      id: 'requestpath-fixed',
      title: titles['requestpath-fixed'],
      verdict: extra <= T.fixedCostMs ? 'met' : 'missed',
      measured: `p50 ${f2(tt.report.latencyMs.p50)} ms vs ${f2(pt.report.latencyMs.p50)} ms: ${extra >= 0 ? '+' : ''}${f2(extra)} ms`,
      notes: [...quick, ...(extra > T.fixedCostMs ? [largestStage(tt)] : [])],
    });
  } else out.push(missing('requestpath-fixed'));
  return out;
}

/** The section, fenced as `bench:requestpath` so a run of this suite alone can replace it in a full document. */
export function requestPathSection(r: BenchResults): string[] {
  return fenceSection('requestpath', requestPathBody(r).join('\n')).split('\n');
}

function requestPathBody(r: BenchResults): string[] {
  const rp = r.requestPath!;
  const out: string[] = ['## 6. Request path against a one-process server', ''];
  out.push(
    `The peer is what a user writes without tensorshare: one fastify process holding one onnxruntime-node session (${r.threads} intra-op thread), KServe-v2-shaped JSON in and out (fastify's parser, \`Array.from\` and its serializer). tensorshare is \`tensorshare serve\` with the bundled \`ppocr-rec\` function's configuration (${JSON.stringify(rp.functionConfig)}). Both run side by side in this run; each scenario is a closed loop (every caller sends its next request when its last is answered) of ${rp.requests} timed requests after warm-up (the trivial model: ${rp.requests * 10}); scenarios compared with each other (the two at concurrency 1; the four at 4; the two trivial ones) run interleaved in rounds of a fifth of their requests, alternating which goes first. PaddleOCR recognition: [1,3,48,320] FP32 in, [1,40,6625] out. Trivial model: Identity, [1,16] FP32.`,
  );
  out.push('');
  out.push('| scenario | req/s | p50 ms | p99 ms | errors |');
  out.push('| --- | ---: | ---: | ---: | --- |');
  for (const s of rp.scenarios) {
    const e = Object.entries(s.report.errors);
    out.push(
      `| ${s.id} | ${s.report.throughput.toFixed(1)} | ${f2(s.report.latencyMs.p50)} | ${f2(s.report.latencyMs.p99)} | ${e.length ? e.map(([k, n]) => `${k}: ${n}`).join(', ') : ''} |`,
    );
  }
  out.push('');
  out.push('| target | verdict | measured |');
  out.push('| --- | --- | --- |');
  const targets = requestPathTargets(r);
  for (const t of targets) out.push(`| ${t.title} | ${t.verdict} | ${t.measured} |`);
  out.push('');
  for (const t of targets) if (t.notes.length) out.push(`- ${t.title}: ${t.notes.join('; ')}`);
  if (targets.some((t) => t.notes.length)) out.push('');
  const staged = rp.scenarios.filter((s) => s.stagesMs);
  if (staged.length) {
    out.push(
      "tensorshare's time per request by stage (mean ms, from `tensorshare_request_stage_seconds`): decode = body parse, validation and conversion to tensors; queue = waiting for a batch and an instance; dispatch = batching and the runtime's bookkeeping around the run; transfer = to the instance process and back; run = the model (or handler) inside the instance; encode = the response body, in the gateway and, for large JSON outputs, the JSON text their instance wrote (instances write it in parallel; the gateway splices).",
    );
    out.push('');
    out.push(`| scenario | ${STAGES.join(' | ')} |`);
    out.push(`| --- | ${STAGES.map(() => '---:').join(' | ')} |`);
    for (const s of staged)
      out.push(
        `| ${s.id} | ${STAGES.map((st) => (s.stagesMs![st] === undefined ? '' : f2(s.stagesMs![st]!))).join(' | ')} |`,
      );
    out.push('');
  }
  return out;
}
