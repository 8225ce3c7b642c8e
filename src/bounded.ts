// Bounded concurrency over a list: the one helper for "run these async steps,
// at most N at a time" (repository scans, the daemon's store scan at start).
// File system calls each wait for libuv's thread pool; overlapping a few dozen
// hides that wait, and the bound keeps a thousand items from opening a
// thousand files at once.

/** `f` over `items`, at most `limit` at a time; results in the order of `items`. Rejects with the first failure, after every call settled. */
export async function mapBounded<T, R>(
  items: readonly T[],
  limit: number,
  f: (item: T, index: number) => Promise<R>,
): Promise<R[]> {
  const out = new Array<R>(items.length);
  let next = 0;
  let failed: { error: unknown } | undefined;
  const worker = async () => {
    while (next < items.length) {
      const i = next++;
      try {
        out[i] = await f(items[i]!, i);
      } catch (e) {
        failed ??= { error: e };
      }
    }
  };
  await Promise.all(Array.from({ length: Math.max(1, Math.min(limit, items.length)) }, worker));
  if (failed) throw failed.error;
  return out;
}
