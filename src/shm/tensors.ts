// Tensors through a segment: numeric data of at least `minBytes` goes into
// the segment and travels as a slot; everything else (BYTES, small tensors,
// data of an unexpected array type, a full segment) stays inline.
import { arrayFor, type Tensor } from '../tensor/index.js';
import type { BufferPool } from './buffer-pool.js';
import type { SegmentReader, SegmentWriter, Slot } from './segment.js';

/** A tensor as its control message carries it. */
export type SlotTensor<T extends { datatype: Tensor['datatype']; data: unknown } = Tensor> = Omit<T, 'data'> & {
  data: T['data'] | { slot: Slot };
};

/** Below this, copying inline costs less than a write and a read. */
export const INLINE_BYTES = 16 * 1024;

export function putTensors<T extends { datatype: Tensor['datatype']; data: unknown }>(
  writer: SegmentWriter,
  tensors: readonly T[],
  minBytes = INLINE_BYTES,
): { tensors: SlotTensor<T>[]; slots: Slot[] } {
  const slots: Slot[] = [];
  const out = tensors.map((t): SlotTensor<T> => {
    const d = t.data;
    if (t.datatype === 'BYTES' || !(d instanceof arrayFor(t.datatype)) || d.byteLength < minBytes) return t;
    const slot = writer.write(d);
    if (!slot) return t;
    slots.push(slot);
    return { ...t, data: { slot } };
  });
  return { tensors: out, slots };
}

/** The slot a tensor travels in, if it does. */
function slotOf(t: { datatype: Tensor['datatype']; data: unknown }): Slot | undefined {
  const d = t.data as { slot?: Slot };
  if (t.datatype === 'BYTES' || d === null || typeof d !== 'object' || !d.slot || ArrayBuffer.isView(d))
    return undefined;
  return d.slot;
}

function withBytes<T extends { datatype: Tensor['datatype']; data: unknown }>(t: SlotTensor<T>, bytes: Uint8Array): T {
  const Ctor = arrayFor(t.datatype as Exclude<Tensor['datatype'], 'BYTES'>);
  return { ...t, data: new Ctor(bytes.buffer, 0, bytes.byteLength / Ctor.BYTES_PER_ELEMENT) } as unknown as T;
}

export function takeTensors<T extends { datatype: Tensor['datatype']; data: unknown }>(
  reader: SegmentReader,
  tensors: readonly SlotTensor<T>[],
): T[] {
  return tensors.map((t) => {
    const slot = slotOf(t);
    return slot ? withBytes(t, reader.read(slot)) : (t as T);
  });
}

/** Slots this large are read off the event loop by `takeTensorsAsync`; smaller ones cost less read in place. */
export const ASYNC_READ_BYTES = 1024 * 1024;

/** `takeTensors` for a process whose event loop must stay free (the gateway's): large slots are read on the thread pool. */
export async function takeTensorsAsync<T extends { datatype: Tensor['datatype']; data: unknown }>(
  reader: SegmentReader,
  tensors: readonly SlotTensor<T>[],
): Promise<T[]> {
  return Promise.all(
    tensors.map(async (t) => {
      const slot = slotOf(t);
      if (!slot) return t as T;
      return withBytes(t, slot.bytes >= ASYNC_READ_BYTES ? await reader.readAsync(slot) : reader.read(slot));
    }),
  );
}

/** The slots a control message's tensors hold. */
export function slotsOf(tensors: readonly { data: unknown }[]): Slot[] {
  const out: Slot[] = [];
  for (const t of tensors) {
    const d = t.data as { slot?: Slot } | null;
    if (d && typeof d === 'object' && !ArrayBuffer.isView(d) && !Array.isArray(d) && d.slot) out.push(d.slot);
  }
  return out;
}

/** Bytes as a control message carries them: inline, or a slot of the segment. */
export type SlotBytes = Uint8Array | { slot: Slot };

/**
 * `bytes` (or its pieces, one after another) into the segment when it is at
 * least `minBytes` and fits, else inline; the slot it took, if any.
 */
export function putBytes(
  writer: SegmentWriter,
  bytes: Uint8Array | readonly Uint8Array[],
  minBytes = INLINE_BYTES,
): { sent: SlotBytes; slot?: Slot } {
  const pieces = ArrayBuffer.isView(bytes) ? [bytes] : bytes;
  const length = pieces.reduce((n, p) => n + p.byteLength, 0);
  const slot = length < minBytes ? undefined : writer.write(pieces);
  if (slot) return { sent: { slot }, slot };
  return { sent: pieces.length === 1 ? pieces[0]! : Buffer.concat(pieces) };
}

/** The slot `b` travels in, if it does. */
export function slotOfBytes(b: SlotBytes): Slot | undefined {
  return ArrayBuffer.isView(b) ? undefined : b.slot;
}

/**
 * The bytes `putBytes` sent, large ones read on the thread pool (as
 * `takeTensorsAsync`), into a buffer of `pool` when it is given and the read
 * is large enough for it (the caller gives the buffer back).
 */
export async function takeBytesAsync(reader: SegmentReader, b: SlotBytes, pool?: BufferPool): Promise<Uint8Array> {
  if (ArrayBuffer.isView(b)) return b;
  if (pool && b.slot.bytes >= pool.minBytes) return reader.readAsync(b.slot, pool.take(b.slot.bytes));
  return b.slot.bytes >= ASYNC_READ_BYTES ? reader.readAsync(b.slot) : reader.read(b.slot);
}
