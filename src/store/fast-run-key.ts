// Which fast-run variant a model's open looks for: keyed by ONNX Runtime
// version and CPU target (the prepacked format depends on both). Apart from
// fast-run.ts, the builder, so that opening a model loads neither the ONNX
// schema nor the builder's modules (they cost the client's import ~70 ms
// under load: protobufjs, proper-lockfile).
import { ortVersion } from '../ort-version.js';
import { cpuTarget } from './cpu-target.js';
import type { Layout } from './layout.js';
import type { VariantManifest } from './manifest.js';
import { listVariants } from './repository.js';

export function fastRunKey(version = ortVersion(), target = cpuTarget()): string {
  return `fast-run-${version}-${target}`;
}

export async function findFastRun(
  repo: Layout,
  digest: string,
  key = fastRunKey(),
): Promise<VariantManifest | undefined> {
  return (await listVariants(repo, digest)).find((v) => fastRunKey(v.ortVersion, v.target) === key);
}
