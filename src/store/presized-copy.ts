// Copies a file with its final size set before any byte is written. On a
// tmpfs mounted with huge=within_size (huge-pages.ts) the
// kernel gives a file a huge page only where the page lies within the
// file's size when it is allocated: a copy that grows the file as it writes
// (cp, fs.copyFile) gets none.
import fs from 'node:fs/promises';

const CHUNK = 8 * 2 ** 20;

export async function copyPresized(src: string, dst: string): Promise<void> {
  const from = await fs.open(src, 'r');
  try {
    const { size } = await from.stat();
    const to = await fs.open(dst, 'wx');
    try {
      await to.truncate(size);
      const buf = Buffer.allocUnsafe(Math.min(CHUNK, Math.max(size, 1)));
      for (let at = 0; at < size; ) {
        const { bytesRead } = await from.read(buf, 0, Math.min(buf.length, size - at), at);
        if (bytesRead === 0) throw new Error(`${src} shrank while being copied (${at} of ${size} bytes)`);
        for (let w = 0; w < bytesRead; ) w += (await to.write(buf, w, bytesRead - w, at + w)).bytesWritten;
        at += bytesRead;
      }
    } finally {
      await to.close();
    }
  } finally {
    await from.close();
  }
}
