// Probe (GPU machine): does an idle gap between runs slow ONNX Runtime's next call of a launch-bound model
// (BERT-base, batch 1)? One process, one private CUDA session; variants interleaved in rotating rounds.
// node scripts/gpu-idle-gap-probe.mjs <bert_base.onnx> [rounds] [tight,idle0.5,busy0.5,...] [--threads1]
// Results of one run: docs/bench/gpu-probe-b13.json (idleGapProbe).
import { createRequire } from 'node:module';
const require = createRequire(new URL('../package.json', import.meta.url));
const ort = require('onnxruntime-node');
const model = process.argv[2];
const rounds = Number(process.argv[3] ?? 8);
const variants = (process.argv[4] ?? 'tight,idle0.5,busy0.5,idle2,busy2').split(',');
const threads1 = process.argv.includes('--threads1');
const s = await ort.InferenceSession.create(model, { executionProviders: ['cuda'], logSeverityLevel: 3,
  ...(threads1 ? { intraOpNumThreads: 1, interOpNumThreads: 1 } : {}) });
const n = 128;
const feeds = {
  input_ids: new ort.Tensor('int64', BigInt64Array.from({ length: n }, (_, k) => BigInt((k * 7) % 1000)), [1, n]),
  attention_mask: new ort.Tensor('int64', BigInt64Array.from({ length: n }, () => 1n), [1, n]),
};
for (const k of Object.keys(feeds)) if (!s.inputNames.includes(k)) delete feeds[k];
const sab = new Int32Array(new SharedArrayBuffer(4));
const gap = (v) => {
  const m = /^(idle|busy)([\d.]+)$/.exec(v);
  if (!m) return;
  const ms = Number(m[2]);
  if (m[1] === 'idle') Atomics.wait(sab, 0, 0, ms);
  else { const t = performance.now(); while (performance.now() - t < ms); }
};
const res = Object.fromEntries(variants.map((v) => [v, []]));
for (let i = 0; i < 20; i++) for (const t of Object.values(await s.run(feeds))) t.dispose();
for (let r = 0; r < rounds; r++) {
  const order = variants.map((_, i) => variants[(i + r) % variants.length]);
  for (const v of order) {
    for (let i = 0; i < 25; i++) {
      gap(v);
      const a = performance.now();
      const out = await s.run(feeds);
      res[v].push(performance.now() - a);
      for (const t of Object.values(out)) t.dispose();
    }
  }
}
const med = (xs) => { const s = [...xs].sort((a, b) => a - b); return s[Math.floor((s.length - 1) / 2)]; };
console.log(JSON.stringify({ cpu: process.env.PROBE_CPU ?? 'any', threads1, p50: Object.fromEntries(Object.entries(res).map(([k, v]) => [k, +med(v).toFixed(3)])) }));
process.exit(0);
