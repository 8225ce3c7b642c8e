// Which versions of a Triton model are served: the numeric version folders
// present (as Triton reads them: no leading zeros, integers only) filtered by
// the config's version_policy (default: the latest one).
import fs from 'node:fs/promises';
import type { TritonModelConfig } from './model-config.js';

/** Version folders under a model folder, highest first; others (not integers, leading zeros) are not versions. */
export async function versionFolders(modelDir: string): Promise<number[]> {
  let entries: import('node:fs').Dirent[];
  try {
    entries = await fs.readdir(modelDir, { withFileTypes: true });
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT' || (e as NodeJS.ErrnoException).code === 'ENOTDIR') return [];
    throw e;
  }
  return entries
    .filter((e) => e.isDirectory() && /^(?:0|[1-9][0-9]*)$/.test(e.name) && Number.isSafeInteger(Number(e.name)))
    .map((e) => Number(e.name))
    .sort((a, b) => b - a);
}

export interface ServedVersions {
  versions: number[];
  /** Versions the policy names that have no folder (Triton logs these and serves the rest). */
  missing: number[];
}

/** Applies `version_policy` to the versions present (highest first); the result is highest first too. */
export function servedVersions(
  policy: TritonModelConfig['version_policy'],
  present: readonly number[],
): ServedVersions {
  if (policy?.specific) {
    const wanted = [...new Set(policy.specific.versions ?? [])];
    return {
      versions: present.filter((v) => wanted.includes(v)),
      missing: wanted.filter((v) => !present.includes(v)).sort((a, b) => a - b),
    };
  }
  if (policy?.all) return { versions: [...present], missing: [] };
  return { versions: present.slice(0, policy?.latest?.num_versions ?? 1), missing: [] };
}
