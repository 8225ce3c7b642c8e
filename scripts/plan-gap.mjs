// The planner's greedy heuristic against its exact search at scale, on seeded synthetic
// profiles (cores 1.5 x functions, so the core coupling binds): `node scripts/plan-gap.mjs` after `npx tsc`.
import { planFunctions, PROFILE_FORMAT } from '../dist/src/plan/index.js';
import { seededRandom } from '../dist/src/prng.js';
const MB = 2 ** 20;
function profile(seed) {
  const r = seededRandom(seed); const base = 2 + 8 * r(); const perItem = 0.5 + 2 * r();
  return { format: PROFILE_FORMAT, model: seed, cpu: 'synthetic', sharedBytes: 100 * MB,
    points: [1, 2, 4, 8].flatMap((t) => [1, 2, 4, 8, 16, 32].map((b) => ({ threads: t, batch: b, latencyMs: (base + perItem * b) / t ** (0.6 + 0.2 * r()), memoryBytes: (20 + 4 * t + b * (1 + 3 * r())) * MB }))) };
}
for (const n of [4, 8, 16, 32, 64, 128]) {
  let gaps = [], exactDone = 0, schedul = 0, tExact = 0, tAll = 0, cases = 10;
  for (let k = 0; k < cases; k++) {
    const r = seededRandom(`s${n}.${k}`);
    const inputs = Array.from({ length: n }, (_, i) => ({ profile: profile(`p${n}.${k}.${i}`), demand: { fn: 'f' + i, ratePerS: 50 + 500 * r(), sloMs: 20 + 60 * r() } }));
    const t0 = performance.now();
    const p = planFunctions(inputs, { cores: Math.ceil(n * 1.5) }, 3_000_000);
    tAll += performance.now() - t0;
    if (!p.schedulable) continue;
    schedul++;
    if (p.exact.complete) { exactDone++; gaps.push(p.gap); }
  }
  const mean = gaps.length ? gaps.reduce((a, b) => a + b, 0) / gaps.length : null;
  console.log(JSON.stringify({ functions: n, cores: Math.ceil(n * 1.5), cases, schedulable: schedul, exactFinished: exactDone, meanGapPct: mean === null ? null : +(mean * 100).toFixed(2), maxGapPct: gaps.length ? +(Math.max(...gaps) * 100).toFixed(2) : null, msPerCase: +(tAll / cases).toFixed(0) }));
}
