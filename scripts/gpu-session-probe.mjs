// Probe (GPU machine, after `npx tsc -p .`): what slows ONNX Runtime's call of a launch-bound model (BERT-base,
// batch 1) in a process: a second, idle session beside it; outputs preallocated in a heap buffer or in a
// MAP_SHARED /dev/shm mapping (as the device executor's). Variants interleaved in rotating rounds.
// node scripts/gpu-session-probe.mjs <bert_base.onnx> <warmup.onnx> [--threads1]
// Results of one run: docs/bench/gpu-probe-b13.json (sessionProbe).
import fs from 'node:fs';
import { createRequire } from 'node:module';
const require = createRequire(new URL('../package.json', import.meta.url));
const ort = require('onnxruntime-node');
const { mapFile, reserveFile } = await import(new URL('../dist/src/device/mapping.js', import.meta.url).href);
const [model, warm] = [process.argv[2], process.argv[3]];
const threads1 = process.argv.includes('--threads1');
const opts = {
  executionProviders: ['cuda'],
  logSeverityLevel: 3,
  ...(threads1
    ? {
        intraOpNumThreads: 1,
        interOpNumThreads: 1,
        extra: { session: { 'intra_op.allow_spinning': '0', 'inter_op.allow_spinning': '0' } },
      }
    : {}),
};
const s = await ort.InferenceSession.create(model, opts);
const n = 128;
const feeds = {
  input_ids: new ort.Tensor('int64', BigInt64Array.from({ length: n }, (_, k) => BigInt((k * 7) % 1000)), [1, n]),
  attention_mask: new ort.Tensor('int64', BigInt64Array.from({ length: n }, () => 1n), [1, n]),
};
const first = await s.run(feeds);
const outs = Object.entries(first).map(([k, t]) => ({ name: k, dims: [...t.dims], bytes: t.data.byteLength }));
const heap = Object.fromEntries(
  outs.map((o) => [o.name, new ort.Tensor('float32', new Float32Array(o.bytes / 4), o.dims)]),
);
const f = '/dev/shm/ts-session-probe';
const fd = fs.openSync(f, 'w+');
reserveFile(fd, 8 << 20);
fs.rmSync(f);
const map = mapFile(fd, 1 << 30, 'shared');
let off = 0;
const shm = Object.fromEntries(
  outs.map((o) => {
    const v = map.view(off, o.bytes);
    off += Math.ceil(o.bytes / 64) * 64;
    return [o.name, new ort.Tensor('float32', new Float32Array(v.buffer, v.byteOffset, o.bytes / 4), o.dims)];
  }),
);
const variants = { plain: () => s.run(feeds), intoHeap: () => s.run(feeds, heap), intoShm: () => s.run(feeds, shm) };
const med = (xs) => {
  const q = [...xs].sort((a, b) => a - b);
  return +q[Math.floor((q.length - 1) / 2)].toFixed(3);
};
async function measure(rounds) {
  const names = Object.keys(variants);
  const res = Object.fromEntries(names.map((k) => [k, []]));
  for (let i = 0; i < 10; i++) for (const k of names) await variants[k]();
  for (let r = 0; r < rounds; r++)
    for (const k of names.map((_, i) => names[(i + r) % names.length]))
      for (let i = 0; i < 25; i++) {
        const a = performance.now();
        const o = await variants[k]();
        res[k].push(performance.now() - a);
        for (const t of Object.values(o)) t.dispose();
      }
  return Object.fromEntries(Object.entries(res).map(([k, v]) => [k, med(v)]));
}
const alone = await measure(8);
const w = await ort.InferenceSession.create(warm, opts);
await w.run({ x: new ort.Tensor('float32', new Float32Array(16), [1, 16]) });
const withSecond = await measure(8);
console.log(
  JSON.stringify({
    threads1,
    malloc: process.env.MALLOC_MMAP_THRESHOLD_ ?? 'default',
    alone,
    withSecondSession: withSecond,
  }),
);
process.exit(0);
