// Buffers that large reads out of a segment reuse. A gateway reads megabytes
// per JSON response (the text its instance wrote); a fresh buffer for each
// costs page faults and, worse, V8 counts it as external memory and runs a
// full mark-compact every few requests (25 of them in 60 requests of the
// PaddleOCR recognition model, measured). The reader of a response gives its
// buffers back once the bytes are on their way (the socket has them); a
// buffer never given back is just garbage, so forgetting costs only speed.
// A buffer is reused only after it was given back, never twice at once.

export interface BufferPool {
  /** Reads at least this large take a pooled buffer; smaller ones are cheaper fresh. */
  readonly minBytes: number;
  /** A buffer of `bytes` bytes (a view at offset 0 of an ArrayBuffer of its own), reused when one is free. */
  take(bytes: number): Uint8Array;
  /** The caller no longer reads `b` (a buffer `take` gave out, or a view of one): it may be reused. Others are ignored. */
  give(b: ArrayBufferView): void;
  /** Bytes held free for reuse. */
  freeBytes(): number;
}

export interface BufferPoolOptions {
  /** See BufferPool.minBytes (default 1 MiB). */
  minBytes?: number;
  /** Most bytes held free; buffers given back beyond it are dropped (default 64 MiB). */
  maxFreeBytes?: number;
}

export function createBufferPool(o: BufferPoolOptions = {}): BufferPool {
  const minBytes = o.minBytes ?? 2 ** 20;
  const maxFreeBytes = o.maxFreeBytes ?? 64 * 2 ** 20;
  // Free buffers by size class (a power of two): a read takes one of its class.
  const free = new Map<number, ArrayBuffer[]>();
  const lent = new WeakSet<ArrayBuffer>();
  let freeBytes = 0;
  return {
    minBytes,
    take(bytes) {
      const size = 2 ** Math.ceil(Math.log2(Math.max(bytes, 1)));
      const ab = free.get(size)?.pop();
      if (ab) freeBytes -= size;
      // Not zero-filled: a read overwrites the bytes it returns; pages past them are never touched.
      const buffer = ab ?? (Buffer.allocUnsafeSlow(size).buffer as ArrayBuffer);
      lent.add(buffer);
      return new Uint8Array(buffer, 0, bytes);
    },
    give(b) {
      const ab = b.buffer as ArrayBuffer;
      if (!lent.has(ab)) return;
      lent.delete(ab);
      if (freeBytes + ab.byteLength > maxFreeBytes) return;
      const list = free.get(ab.byteLength) ?? [];
      list.push(ab);
      free.set(ab.byteLength, list);
      freeBytes += ab.byteLength;
    },
    freeBytes: () => freeBytes,
  };
}
