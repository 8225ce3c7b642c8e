// A client process for the tests: opens a model through the daemon, runs it,
// and reports on stdout as JSON lines; with `loopMs` it keeps running
// inference (also while the daemon is down). Commands on stdin: `release`,
// `status`, `exit`. Spawned by spawnWorker (daemon.ts).
import readline from 'node:readline';
import ort from 'onnxruntime-node';
import { open } from '../client/open.js';
import { sharedClient } from '../client/shared-client.js';
import type { OpenMode } from '../store/manifest.js';

interface Args {
  socket: string;
  token?: string;
  model: string;
  mode?: OpenMode;
  input: { name: string; dims: number[] };
  loopMs?: number;
}

const args = JSON.parse(process.argv[2] ?? '{}') as Args;
const say = (o: Record<string, unknown>) => process.stdout.write(`${JSON.stringify({ pid: process.pid, ...o })}\n`);

const client = sharedClient({ socket: args.socket, token: args.token, name: `worker-${process.pid}`, env: {} });
const m = await open(args.model, { client, mode: args.mode, env: {} });
const size = args.input.dims.reduce((a, b) => a * b, 1);
const x = new ort.Tensor(
  'float32',
  Float32Array.from({ length: size }, (_, i) => (i % 7) / 7),
  args.input.dims,
);
const run = async () => {
  const out = await m.session.run({ [args.input.name]: x });
  const t = Object.values(out)[0]!;
  return (t.data as Float32Array).slice(0, 4).reduce((a, b) => a + b, 0);
};
let runs = 0;
let failures = 0;
const sum = await run();
runs++;
say({
  event: 'ready',
  leaseId: m.lease.leaseId,
  wasResident: m.lease.wasResident,
  openMs: m.openMs,
  createMs: m.createMs,
  sum,
});
let timer: NodeJS.Timeout | undefined;
if (args.loopMs) {
  let busy = false;
  timer = setInterval(() => {
    if (busy) return;
    busy = true;
    run()
      .then(
        (s) => {
          runs++;
          if (Math.abs(s - sum) > 1e-4) failures++;
        },
        () => {
          failures++;
        },
      )
      .finally(() => {
        busy = false;
      });
  }, args.loopMs);
}
const status = () =>
  say({
    event: 'status',
    runs,
    failures,
    attached: client.attached,
    daemonId: client.daemonId,
    attachCount: client.attachCount,
    leases: client.heldLeases().length,
  });
readline.createInterface({ input: process.stdin }).on('line', (line) => {
  const cmd = line.trim();
  if (cmd === 'status') status();
  else if (cmd === 'release') void m.release().then(() => say({ event: 'released' }));
  else if (cmd === 'exit') {
    if (timer) clearInterval(timer);
    process.exit(0);
  }
});
