// Placeholder replaced by the measurement kit merge.
import fs from 'node:fs/promises';

/** Sums Rss and copied (Anonymous: pages written, so copied on write) bytes of mappings of files under `prefix`. */
export async function mappedUnder(pid: number, prefix: string): Promise<{ rss: number; copiedBytes: number; files: number }> {
  const text = await fs.readFile(`/proc/${pid}/smaps`, 'utf8');
  let current: string | undefined;
  const files = new Set<string>();
  let rss = 0;
  let priv = 0;
  for (const line of text.split('\n')) {
    const m = /^[0-9a-f]+-[0-9a-f]+ \S+ \S+ \S+ \S+\s+(.*)$/.exec(line);
    if (m) { current = m[1]; continue; }
    if (!current?.startsWith(prefix)) continue;
    files.add(current);
    const kv = /^(\w+):\s+(\d+) kB/.exec(line);
    if (!kv) continue;
    if (kv[1] === 'Rss') rss += Number(kv[2]) * 1024;
    if (kv[1] === 'Anonymous') priv += Number(kv[2]) * 1024; // copy-on-write pages of a file mapping
  }
  return { rss, copiedBytes: priv, files: files.size };
}
