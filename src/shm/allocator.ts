// Ranges of a segment: first fit over a sorted free list, 64-byte aligned
// (cache lines; any typed array's alignment). Pure bookkeeping, no I/O.

const ALIGN = 64;
const up = (n: number) => Math.ceil(n / ALIGN) * ALIGN;

export interface RangeAllocator {
  /** One past the highest byte ever handed out since the last reset. */
  readonly end: number;
  /** Offset of a free range of `bytes`, growing `end` up to `limit`; undefined when it does not fit. */
  take(bytes: number, limit: number): number | undefined;
  free(offset: number, bytes: number): void;
  empty(): boolean;
  reset(): void;
}

export function rangeAllocator(): RangeAllocator {
  // Free ranges below `end`, sorted by offset, never adjacent (merged on free).
  let holes: { offset: number; bytes: number }[] = [];
  let end = 0;
  let used = 0;
  return {
    get end() {
      return end;
    },
    take(bytes, limit) {
      const size = up(Math.max(bytes, 1));
      for (let i = 0; i < holes.length; i++) {
        const h = holes[i]!;
        if (h.bytes < size) continue;
        const offset = h.offset;
        if (h.bytes === size) holes.splice(i, 1);
        else holes[i] = { offset: h.offset + size, bytes: h.bytes - size };
        used += size;
        return offset;
      }
      // Grow from the last hole when it touches the end, else from the end.
      const last = holes.at(-1);
      const from = last && last.offset + last.bytes === end ? last.offset : end;
      if (from + size > limit) return undefined;
      if (from !== end) holes.pop();
      end = from + size;
      used += size;
      return from;
    },
    free(offset, bytes) {
      const size = up(Math.max(bytes, 1));
      used -= size;
      let i = 0;
      while (i < holes.length && holes[i]!.offset < offset) i++;
      holes.splice(i, 0, { offset, bytes: size });
      // Merge with the neighbours.
      const next = holes[i + 1];
      if (next && offset + size === next.offset) {
        holes[i] = { offset, bytes: size + next.bytes };
        holes.splice(i + 1, 1);
      }
      const prev = holes[i - 1];
      const cur = holes[i]!;
      if (prev && prev.offset + prev.bytes === cur.offset) {
        holes[i - 1] = { offset: prev.offset, bytes: prev.bytes + cur.bytes };
        holes.splice(i, 1);
      }
    },
    empty: () => used === 0,
    reset() {
      holes = [];
      end = 0;
      used = 0;
    },
  };
}
