// Test helpers: temporary roots that clean themselves up.
import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { bundledFile } from '../paths.js';

export interface TempRoots {
  dir: string;
  repository: string;
  store: string;
  cleanup(): Promise<void>;
}

/** A repository under the OS temp folder and a store under /dev/shm (tmpfs), unique per call. */
export async function tempRoots(prefix = 'ts-test'): Promise<TempRoots> {
  const dir = await fs.mkdtemp(path.join(os.tmpdir(), `${prefix}-`));
  const store = await fs.mkdtemp(path.join(fsShm(), `${prefix}-`));
  return {
    dir,
    repository: path.join(dir, 'repo'),
    store,
    async cleanup() {
      await makeWritable(dir);
      await fs.rm(dir, { recursive: true, force: true });
      await fs.rm(store, { recursive: true, force: true });
    },
  };
}

function fsShm(): string {
  return process.env.TENSORSHARE_TEST_SHM ?? '/dev/shm';
}

async function makeWritable(dir: string): Promise<void> {
  // Tensor files are 0444; removing them needs only the folder's write bit, but
  // tests that corrupt files chmod them, so normalise before rm.
  await fs.chmod(dir, 0o755).catch(() => {});
}

export const FIXTURES = {
  ocrDet: bundledFile('ocrDet'),
  ocrRec: bundledFile('ocrRec'),
  ocrCls: bundledFile('ocrCls'),
  ocrKeys: bundledFile('ocrKeys'),
  vad: bundledFile('vad'),
} as const;
