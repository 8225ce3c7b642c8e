// A besteffort load of its own process for `bench salus`: as in a deployment,
// the besteffort function's instances are other processes than the realtime
// one's, so the realtime client's event loop never runs their work. Opens
// `clients` sessions of `model` on the executor and runs batch-`rows`
// requests back to back until its parent disconnects; reports the runs done.
import ort from 'onnxruntime-node';
import { openDeviceSession } from '../device/device-session.js';

interface FloodArgs {
  daemonSocket: string;
  model: string;
  width: number;
  rows: number;
  clients: number;
}

const a = JSON.parse(process.argv[2] ?? '{}') as FloodArgs;
const sessions = await Promise.all(
  Array.from({ length: a.clients }, () =>
    openDeviceSession(a.model, { daemonSocket: a.daemonSocket, device: 0, priority: 'besteffort' }),
  ),
);
const x = new ort.Tensor('float32', new Float32Array(a.rows * a.width).fill(0.01), [a.rows, a.width]);
let stop = false;
let runs = 0;
process.on('disconnect', () => {
  stop = true;
});
process.send?.({ event: 'ready' });
await Promise.all(
  sessions.map(async (s) => {
    while (!stop) {
      await s.run({ x });
      runs++;
    }
  }),
);
process.stdout.write(`${JSON.stringify({ runs })}\n`);
for (const s of sessions) await s.release();
process.exit(0);
