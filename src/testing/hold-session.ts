// Child process for memory tests: opens a runtime baseline (a weightless
// model), measures, opens the model under test through the store, runs it
// once, measures again, then waits to be told to exit so that all children
// map the model at the same time.
//   node hold-session.js <repository> <store> <model> <fast-open|fast-run>
import ort from 'onnxruntime-node';
import { openSession } from '../client/open-session.js';
import { readSmapsRollup, readSmapsByFile } from '../proc/smaps.js';
import { makeTensorData } from '../client/tensor-data.js';
import { onnxTypes } from '../onnx/schema.js';
import type { OpenMode } from '../store/manifest.js';

const [repository, store, model, mode] = process.argv.slice(2) as [string, string, string, OpenMode];

function identityModel(): Uint8Array {
  const { Model } = onnxTypes();
  const vi = { name: 'x', type: { tensorType: { elemType: 1, shape: { dim: [{ dimValue: 1 }] } } } };
  return Model.encode(
    Model.fromObject({
      irVersion: 8,
      opsetImport: [{ version: 17 }],
      graph: {
        name: 'id',
        node: [{ opType: 'Identity', input: ['x'], output: ['y'] }],
        input: [vi],
        output: [{ ...vi, name: 'y' }],
      },
    }),
  ).finish();
}

const opts = { intraOpNumThreads: 1, interOpNumThreads: 1 };
const baseline = await ort.InferenceSession.create(identityModel(), opts);
await baseline.run({ x: new ort.Tensor('float32', new Float32Array(1), [1]) });
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
