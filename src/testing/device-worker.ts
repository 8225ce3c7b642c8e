// A client process for the device-tier tests: opens a model with
// `executionProviders: ['cuda']` through open() (so its runs go to the
// device executor; with `executor: 'cpu'`, to the daemon's CPU executor), runs it, and reports on stdout as JSON lines. With
// `loop` it keeps running and reports every failure's code (the executor
// SIGKILL test). Commands on stdin: `exit`.
import fs from 'node:fs';
import { createRequire } from 'node:module';
import readline from 'node:readline';
import { open } from '../client/open.js';
import { ortTensorClass } from '../ort-tensor.js';

interface Args {
  socket: string;
  model: string;
  rows: number;
  batch: number;
  seed: number;
  loop?: boolean;
  executor?: 'cpu';
}

const args = JSON.parse(process.argv[2] ?? '{}') as Args;
const say = (o: Record<string, unknown>) => process.stdout.write(`${JSON.stringify({ pid: process.pid, ...o })}\n`);

// No daemon client: the executor's socket is the whole device path.
const m = await open(args.model, {
  socket: args.socket,
  env: {},
  ...(args.executor ? { executor: args.executor } : { sessionOptions: { executionProviders: ['cuda'] } }),
});
const Tensor = ortTensorClass();
const x = Float32Array.from({ length: args.rows * args.batch }, (_, i) => ((i * 31 + args.seed) % 17) / 17);
const run = async () => {
  const out = await m.session.run({ x: new Tensor('float32', x, [args.batch, args.rows]) });
  return Array.from(out.y!.data as Float32Array);
};
const y = await run();
// What this process loaded for its first answer: an executor's client needs neither onnxruntime-node's binding, nor
// gRPC, nor koffi (its first copies cross with pread and pwrite).
const maps = fs.readFileSync('/proc/self/maps', 'utf8');
const loaded = {
  ortBinding: maps.includes('onnxruntime_binding.node'),
  koffi: maps.includes('/koffi'),
  grpc: Object.keys(createRequire(import.meta.url).cache).some((k) => k.includes('/node_modules/@grpc/')),
};
// After the first answer the process loads the mapping FFI (an immediate queued with that answer, so it has run
// before this one) and its later copies go through mappings: the answers stay the same.
await new Promise((resolve) => setImmediate(resolve));
const again = await run();
const later = { koffi: fs.readFileSync('/proc/self/maps', 'utf8').includes('/koffi'), same: again.join() === y.join() };
say({ event: 'ready', x: Array.from(x), y, loaded, later });
let stop = false;
readline.createInterface({ input: process.stdin }).on('line', (line) => {
  if (line.trim() === 'exit') {
    stop = true;
    void m.release().then(() => process.exit(0));
  }
});
if (args.loop) {
  let ok = 0;
  while (!stop) {
    try {
      await run();
      ok++;
      if (ok % 10 === 0) say({ event: 'ok', ok });
    } catch (e) {
      say({ event: 'failed', code: (e as { code?: string }).code, message: (e as Error).message });
    }
  }
}
