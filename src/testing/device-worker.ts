// A client process for the device-tier tests: opens a model with
// `executionProviders: ['cuda']` through open() (so its runs go to the
// device executor; with `executor: 'cpu'`, to the daemon's CPU executor), runs it, and reports on stdout as JSON lines. With
// `loop` it keeps running and reports every failure's code (the executor
// SIGKILL test). Commands on stdin: `exit`.
import readline from 'node:readline';
import ort from 'onnxruntime-node';
import { open, sharedClient } from '../client/open.js';

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

const client = sharedClient({ socket: args.socket, name: `device-worker-${process.pid}`, env: {} });
const m = await open(args.model, {
  client,
  socket: args.socket,
  env: {},
  ...(args.executor ? { executor: args.executor } : { sessionOptions: { executionProviders: ['cuda'] } }),
});
const x = Float32Array.from({ length: args.rows * args.batch }, (_, i) => ((i * 31 + args.seed) % 17) / 17);
const run = async () => {
  const out = await m.session.run({ x: new ort.Tensor('float32', x, [args.batch, args.rows]) });
  return Array.from(out.y!.data as Float32Array);
};
say({ event: 'ready', x: Array.from(x), y: await run() });
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
