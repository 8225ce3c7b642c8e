// Child process for memory tests: imports one model and reports its peak RSS.
//   node import-once.js <repository> <model.onnx> <name>
import { importModel } from '../store/import.js';

const [repository, file, name] = process.argv.slice(2) as [string, string, string];
const r = await importModel(repository, file, { name });
process.stdout.write(
  `${JSON.stringify({
    maxRssBytes: process.resourceUsage().maxRSS * 1024,
    ms: r.ms,
    tensors: r.manifest.tensors.length,
    largestTensor: Math.max(...r.manifest.tensors.map((t) => t.bytes)),
    bytes: r.manifest.tensors.reduce((a, t) => a + t.bytes, 0),
  })}\n`,
);
