// Which fast-run variant serves here: the key (ORT version, CPU target) and
// the repository's variant for it. Apart from fast-run.ts (the builder) so
// that opening a resident model loads neither the ONNX protobuf schema nor
// the wire editor: every instance process pays for what it imports (about
// 3 MiB of Pss_Anon for the builder's module graph, docs/benchmarks.md).
import { cpuTarget } from './cpu-target.js';
import type { Layout } from './layout.js';
import type { VariantManifest } from './manifest.js';
import { listVariants } from './repository.js';
import { ortVersion } from '../ort-version.js';

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
