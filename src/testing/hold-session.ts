// Child process for memory tests: warms the runtime up (a weightless model
// and the open path's modules), measures, opens the model under test through the store, runs it
// once, measures again, then waits to be told to exit so that all children
// map the model at the same time.
//   node hold-session.js <repository> <store> <model> <fast-open|fast-run>
import ort from 'onnxruntime-node';
import { openSession, warmUp } from '../client/open-session.js';
import { readSmapsRollup, readSmapsByFile } from '../proc/smaps.js';
import { makeTensorData } from '../client/tensor-data.js';
import type { OpenMode } from '../store/manifest.js';

const [repository, store, model, mode] = process.argv.slice(2) as [string, string, string, OpenMode];

const opts = { intraOpNumThreads: 1, interOpNumThreads: 1 };
// The runtime's own baseline: ORT's environment and a first session, and the
// in-process path's modules (loaded at the first open otherwise), so that what
// grows after this is the model's own cost.
await warmUp();
const before = readSmapsRollup(process.pid);

const s = await openSession(model, { repository, store, mode, sessionOptions: opts });
const feeds: Record<string, InstanceType<typeof ort.Tensor>> = {};
for (const i of s.manifest.inputs) {
  const t = makeTensorData(
    i.dtype,
    (i.shape ?? []).map((d) => (typeof d === 'number' ? d : 1)),
    'random',
  );
  feeds[i.name] = new ort.Tensor(t.dtype as 'float32', t.data as Float32Array, t.shape);
}
await s.session.run(feeds);
const after = readSmapsRollup(process.pid);
const files = readSmapsByFile(process.pid, `${store}/tensors`);
process.send!({
  pid: process.pid,
  mode: s.mode,
  before,
  after,
  storeRss: files.reduce((a, f) => a + f.rss, 0),
  storeCopied: files.reduce((a, f) => a + f.anonymous, 0),
});
process.on('message', () => process.exit(0));
