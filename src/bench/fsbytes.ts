// Sizes of folder trees: apparent bytes (sum of file sizes) and allocated
// bytes (st_blocks * 512, what `du` reports), following no symlinks.
import fs from 'node:fs/promises';
import path from 'node:path';

export interface TreeBytes {
  files: number;
  /** Sum of file sizes. */
  bytes: number;
  /** Allocated blocks in bytes, like `du -s --block-size=1`; hard links counted once. */
  allocated: number;
}

export async function treeBytes(dir: string): Promise<TreeBytes> {
  const seen = new Set<string>();
  const out: TreeBytes = { files: 0, bytes: 0, allocated: 0 };
  async function walk(d: string): Promise<void> {
    let entries: import('node:fs').Dirent[];
    try {
      entries = await fs.readdir(d, { withFileTypes: true });
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code === 'ENOENT') return;
      throw e;
    }
    for (const e of entries) {
      const p = path.join(d, e.name);
      if (e.isDirectory()) await walk(p);
      else if (e.isFile()) {
        const st = await fs.stat(p);
        const key = `${st.dev}:${st.ino}`;
        if (seen.has(key)) continue;
        seen.add(key);
        out.files++;
        out.bytes += st.size;
        out.allocated += st.blocks * 512;
      }
    }
  }
  await walk(dir);
  return out;
}
