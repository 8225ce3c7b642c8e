// An allocation trace as the simulator replays it: parallel typed arrays (one
// entry per event) so a million events take a few MB and replay without
// allocating. Every parser (TensorFlow log, PyTorch snapshot, the project's
// JSON lines) builds one through TraceBuilder, which maps the source's ids
// (TF allocation ids, PyTorch addresses, JSON ids) to dense integers and
// rejects a second allocation of a live id.
import { TensorshareError } from '../../errors.js';

export const OP_ALLOC = 0;
export const OP_FREE = 1;

export type TraceFormat = 'tensorflow' | 'pytorch' | 'json' | 'synthetic';

/** A phase boundary: the first event of a request, a training step or a model load. */
export interface TraceMark {
  /** Index of the first event of the phase. */
  at: number;
  name: string;
  batch?: number;
  model?: string;
}

export interface AllocTrace {
  name: string;
  format: TraceFormat;
  length: number;
  /** OP_ALLOC or OP_FREE per event. */
  ops: Uint8Array;
  /** Dense id per event (0 .. ids-1); a free names the id of its allocation. */
  ids: Int32Array;
  /** Requested bytes per id. */
  idBytes: Float64Array;
  marks: TraceMark[];
  /** Facts of the source (model, framework version, the real allocator's counters). */
  meta: Record<string, unknown>;
  /** Source lines/entries that were understood but are not allocations of the replayed device (counts by kind). */
  skipped: Record<string, number>;
}

/** What a parser reports for a bad line: a TensorshareError naming the file and line. */
export function traceError(file: string, line: number, problem: string): TensorshareError {
  return new TensorshareError('ERR_INVALID_ARGUMENT', `${file}:${line}: ${problem}`, { file, line });
}

export class TraceBuilder {
  private ops = new Uint8Array(1024);
  private ids = new Int32Array(1024);
  private idBytes = new Float64Array(1024);
  private length = 0;
  private nextId = 0;
  /** Source id -> dense id, while the allocation is live. */
  private readonly live = new Map<string | number, number>();
  readonly marks: TraceMark[] = [];
  readonly skipped: Record<string, number> = {};

  constructor(
    private readonly file: string,
    private readonly format: TraceFormat,
  ) {}

  private grow(): void {
    const n = this.ops.length * 2;
    const ops = new Uint8Array(n);
    ops.set(this.ops);
    const ids = new Int32Array(n);
    ids.set(this.ids);
    this.ops = ops;
    this.ids = ids;
  }

  alloc(sourceId: string | number, bytes: number, line: number): void {
    if (!Number.isSafeInteger(bytes) || bytes < 0)
      throw traceError(this.file, line, `allocation size ${bytes} is not a non-negative integer`);
    if (this.live.has(sourceId))
      throw traceError(this.file, line, `allocation ${sourceId} is allocated again before it was freed`);
    if (this.length === this.ops.length) this.grow();
    const id = this.nextId++;
    if (id === this.idBytes.length) {
      const b = new Float64Array(id * 2);
      b.set(this.idBytes);
      this.idBytes = b;
    }
    this.idBytes[id] = bytes;
    this.live.set(sourceId, id);
    this.ops[this.length] = OP_ALLOC;
    this.ids[this.length++] = id;
  }

  /** Frees a live allocation; returns false (and records nothing) when the id is not live. */
  free(sourceId: string | number): boolean {
    const id = this.live.get(sourceId);
    if (id === undefined) return false;
    this.live.delete(sourceId);
    if (this.length === this.ops.length) this.grow();
    this.ops[this.length] = OP_FREE;
    this.ids[this.length++] = id;
    return true;
  }

  mark(m: Omit<TraceMark, 'at'>): void {
    this.marks.push({ at: this.length, ...m });
  }

  skip(kind: string): void {
    this.skipped[kind] = (this.skipped[kind] ?? 0) + 1;
  }

  finish(name: string, meta: Record<string, unknown> = {}): AllocTrace {
    return {
      name,
      format: this.format,
      length: this.length,
      ops: this.ops.subarray(0, this.length),
      ids: this.ids.subarray(0, this.length),
      idBytes: this.idBytes.subarray(0, this.nextId),
      marks: this.marks,
      meta,
      skipped: this.skipped,
    };
  }
}

/** Peak and final live requested bytes, and the number of allocations: the trace's own facts, allocator-independent. */
export function traceStats(t: AllocTrace): { allocations: number; peakRequested: number; liveAtEnd: number } {
  let live = 0;
  let peak = 0;
  let allocations = 0;
  for (let i = 0; i < t.length; i++) {
    const b = t.idBytes[t.ids[i]!]!;
    if (t.ops[i] === OP_ALLOC) {
      live += b;
      allocations++;
      if (live > peak) peak = live;
    } else live -= b;
  }
  return { allocations, peakRequested: peak, liveAtEnd: live };
}
