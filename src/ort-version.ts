import { createRequire } from 'node:module';
import fs from 'node:fs';
import path from 'node:path';

// Read from package.json rather than ort.env so that callers that only need
// the version (import, manifests) do not load the native binding.
let cached: string | undefined;
export function ortVersion(): string {
  if (cached) return cached;
  const require = createRequire(import.meta.url);
  let dir = path.dirname(require.resolve('onnxruntime-node'));
  while (!fs.existsSync(path.join(dir, 'package.json'))) dir = path.dirname(dir);
  cached = (JSON.parse(fs.readFileSync(path.join(dir, 'package.json'), 'utf8')) as { version: string }).version;
  return cached;
}
