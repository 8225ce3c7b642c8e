// PyTorch CUDA caching-allocator histories: the dict that
// torch.cuda.memory._snapshot() returns after _record_memory_history(),
// written as JSON (scripts/collect-alloc-traces.py does this; `frames` may be
// dropped). Read: device_traces[device], a list of entries {action, addr,
// size, stream, time_us}. Replayed: `alloc` (size is the requested size, the
// allocator's orig_size) and `free_completed` (the block is reusable), matched
// by address. `segment_alloc` / `segment_free` are what the real allocator
// asked of cudaMalloc/cudaFree: counted as the observed baseline. Optional
// top-level `marks` ([{at: entry index, name, batch?, model?}]) and `meta`
// are the collection script's additions.
import { TensorshareError } from '../../errors.js';
import { jsonErrorLine } from './json-errors.js';
import { TraceBuilder, traceError, type AllocTrace, type TraceMark } from './trace.js';

const IGNORED = new Set(['free_requested', 'snapshot', 'oom', 'segment_map', 'segment_unmap']);

export interface PytorchOptions {
  /** Index into device_traces (default 0). */
  device?: number;
}

/** What the real PyTorch allocator did on the same trace, from its segment events. */
export interface ObservedAllocator {
  segmentAllocs: number;
  segmentFrees: number;
  /** Peak of the summed live segment sizes. */
  peakReserved: number;
}

export function parsePytorchSnapshot(text: string, file: string, options: PytorchOptions = {}): AllocTrace {
  let doc: unknown;
  try {
    doc = JSON.parse(text);
  } catch (e) {
    throw traceError(file, jsonErrorLine(e, text), `not JSON: ${(e as Error).message}`);
  }
  if (typeof doc !== 'object' || doc === null || !Array.isArray((doc as { device_traces?: unknown }).device_traces))
    throw traceError(file, 1, 'not a PyTorch memory snapshot: no device_traces list');
  const d = doc as { device_traces: unknown[]; marks?: unknown; meta?: unknown };
  const device = options.device ?? 0;
  const entries = d.device_traces[device];
  if (!Array.isArray(entries))
    throw new TensorshareError('ERR_INVALID_ARGUMENT', `${file}: device_traces has no device ${device}`, { file });
  const marks = parseMarks(d.marks, file);
  const b = new TraceBuilder(file, 'pytorch');
  const observed: ObservedAllocator = { segmentAllocs: 0, segmentFrees: 0, peakReserved: 0 };
  const segments = new Map<number, number>();
  let reserved = 0;
  let m = 0;
  for (let i = 0; i < entries.length; i++) {
    while (m < marks.length && marks[m]!.at <= i) {
      const { at: _at, ...rest } = marks[m++]!;
      b.mark(rest);
    }
    const e = entries[i] as Record<string, unknown> | null;
    const where = `device_traces[${device}][${i}]`;
    if (typeof e !== 'object' || e === null) throw entryError(file, where, 'is not an object');
    const { action, addr, size } = e;
    if (typeof action !== 'string') throw entryError(file, where, 'has no action');
    if (IGNORED.has(action)) {
      b.skip(action);
      continue;
    }
    if (typeof addr !== 'number' || !Number.isSafeInteger(addr) || addr < 0)
      throw entryError(file, where, `(${action}) has no integer addr`);
    if (typeof size !== 'number' || !Number.isSafeInteger(size) || size < 0)
      throw entryError(file, where, `(${action}) has no integer size`);
    switch (action) {
      case 'alloc':
        try {
          b.alloc(addr, size, i);
        } catch (err) {
          throw entryError(file, where, `alloc of address ${addr} that is already allocated`, err);
        }
        break;
      case 'free_completed':
        if (!b.free(addr)) b.skip('free of a block allocated before the trace');
        break;
      case 'segment_alloc':
        observed.segmentAllocs++;
        segments.set(addr, size);
        reserved += size;
        if (reserved > observed.peakReserved) observed.peakReserved = reserved;
        break;
      case 'segment_free':
        observed.segmentFrees++;
        reserved -= segments.get(addr) ?? 0;
        segments.delete(addr);
        break;
      default:
        throw entryError(file, where, `unknown action ${action}`);
    }
  }
  const meta = typeof d.meta === 'object' && d.meta !== null ? (d.meta as Record<string, unknown>) : {};
  return b.finish(file, { ...meta, observed });
}

function entryError(file: string, where: string, problem: string, cause?: unknown): TensorshareError {
  return new TensorshareError(
    'ERR_INVALID_ARGUMENT',
    `${file}: ${where} ${problem}`,
    { file, entry: where },
    { cause },
  );
}

function parseMarks(v: unknown, file: string): TraceMark[] {
  if (v === undefined) return [];
  if (!Array.isArray(v)) throw traceError(file, 1, 'marks is not a list');
  return v.map((m, i) => {
    const o = m as Partial<TraceMark> | null;
    if (typeof o !== 'object' || o === null || typeof o.at !== 'number' || typeof o.name !== 'string')
      throw new TensorshareError('ERR_INVALID_ARGUMENT', `${file}: marks[${i}] needs {at, name}`, { file });
    return {
      at: o.at,
      name: o.name,
      ...(typeof o.batch === 'number' ? { batch: o.batch } : {}),
      ...(typeof o.model === 'string' ? { model: o.model } : {}),
    };
  });
}
