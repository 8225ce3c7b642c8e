// Blocks of device segments, linked by address inside their segment, and a
// free set ordered by (size, address) for best fit. The caching, BFC and
// learned-arena allocators share these and differ in their rules (rounding,
// pools or bins, when to split, where segments come from).

export interface Block {
  addr: number;
  size: number;
  free: boolean;
  /** Neighbours by address inside the same segment (null at its ends). */
  prev: Block | null;
  next: Block | null;
  /** Base address of the segment the block belongs to. */
  segment: number;
}

export function segmentBlock(addr: number, size: number): Block {
  return { addr, size, free: true, prev: null, next: null, segment: addr };
}

/** Cuts `b` to its first `size` bytes; returns the rest as a new free block after it. */
export function splitBlock(b: Block, size: number): Block {
  const rest: Block = {
    addr: b.addr + size,
    size: b.size - size,
    free: true,
    prev: b,
    next: b.next,
    segment: b.segment,
  };
  if (b.next) b.next.prev = rest;
  b.next = rest;
  b.size = size;
  return rest;
}

/** Merges the free block `b` with its free neighbours (each leaves its free set through `unlist`); returns the merged block. */
export function coalesce(b: Block, unlist: (n: Block) => void): Block {
  let m = b;
  const p = m.prev;
  if (p?.free) {
    unlist(p);
    p.size += m.size;
    p.next = m.next;
    if (m.next) m.next.prev = p;
    m = p;
  }
  const n = m.next;
  if (n?.free) {
    unlist(n);
    m.size += n.size;
    m.next = n.next;
    if (n.next) n.next.prev = m;
  }
  return m;
}

/** Whether the block spans its whole segment (nothing else lives in it). */
export const wholeSegment = (b: Block): boolean => b.prev === null && b.next === null;

const before = (a: Block, size: number, addr: number) => a.size < size || (a.size === size && a.addr < addr);

/** Free blocks sorted by (size, address): a sorted array with binary search (free sets stay in the hundreds on real traces). */
export class FreeSet {
  private readonly items: Block[] = [];

  get count(): number {
    return this.items.length;
  }

  private lowerBound(size: number, addr: number): number {
    let lo = 0;
    let hi = this.items.length;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if (before(this.items[mid]!, size, addr)) lo = mid + 1;
      else hi = mid;
    }
    return lo;
  }

  insert(b: Block): void {
    this.items.splice(this.lowerBound(b.size, b.addr), 0, b);
  }

  remove(b: Block): void {
    const i = this.lowerBound(b.size, b.addr);
    if (this.items[i] !== b) throw new Error(`free set: block at ${b.addr} (${b.size} bytes) is not in it`);
    this.items.splice(i, 1);
  }

  /** The smallest block of at least `size` bytes (lowest address among equals), left in the set. */
  bestFit(size: number): Block | undefined {
    return this.items[this.lowerBound(size, -1)];
  }

  *[Symbol.iterator](): IterableIterator<Block> {
    yield* this.items;
  }
}
