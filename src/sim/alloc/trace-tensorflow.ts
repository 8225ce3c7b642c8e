// TensorFlow's memory log (TF_CPP_MIN_VLOG_LEVEL=2 or TF_CPP_MAX_VLOG_LEVEL=2):
// LogMemory (tensorflow/core/framework/log_memory.cc) writes each record as
//   <glog prefix>] __LOG_MEMORY__ <MessageType> { <ShortDebugString> }
// with the messages of log_memory.proto. Replayed: MemoryLogTensorAllocation
// (tensor.allocation_description.{requested_bytes, allocator_name,
// allocation_id}) and MemoryLogTensorDeallocation (allocation_id,
// allocator_name), matched by (allocator, id); MemoryLogStep starts a phase.
// The other record types are checked and counted, not replayed. Other log
// lines are ignored.
import { parseTextMessage, TextFormatError, field, type TextMessage } from './text-format.js';
import { TraceBuilder, traceError, type AllocTrace } from './trace.js';

export const TF_LABEL = '__LOG_MEMORY__';

const KNOWN = new Set([
  'MemoryLogStep',
  'MemoryLogTensorAllocation',
  'MemoryLogTensorDeallocation',
  'MemoryLogTensorOutput',
  'MemoryLogRawAllocation',
  'MemoryLogRawDeallocation',
]);

export interface TensorflowOptions {
  /** Which allocators' tensors to replay (by allocator_name). Default: the GPU's (name has "gpu", not "host"). */
  allocator?: (name: string) => boolean;
}

export const isDeviceAllocator = (name: string): boolean => /gpu/i.test(name) && !/host/i.test(name);

export function parseTensorflowLog(text: string, file: string, options: TensorflowOptions = {}): AllocTrace {
  const keep = options.allocator ?? isDeviceAllocator;
  const b = new TraceBuilder(file, 'tensorflow');
  let lineNo = 0;
  let start = 0;
  const allocators = new Set<string>();
  while (start <= text.length) {
    let end = text.indexOf('\n', start);
    if (end < 0) end = text.length;
    lineNo++;
    const at = text.indexOf(TF_LABEL, start);
    if (at >= 0 && at < end) record(text.slice(at + TF_LABEL.length, end), lineNo);
    start = end + 1;
  }
  return b.finish(file, { allocators: [...allocators].sort() });

  function record(rest: string, line: number): void {
    const m = /^\s+([A-Za-z]+)\s*\{/.exec(rest);
    if (!m) throw traceError(file, line, `${TF_LABEL} is not followed by '<MessageType> {'`);
    const type = m[1]!;
    if (!KNOWN.has(type)) throw traceError(file, line, `unknown ${TF_LABEL} record type ${type}`);
    let msg: TextMessage;
    try {
      const parsed = parseTextMessage(rest, m[0].length, true);
      if (rest.slice(parsed.end).trim() !== '') throw new TextFormatError('text after the closing }', parsed.end);
      msg = parsed.message;
    } catch (e) {
      if (e instanceof TextFormatError) throw traceError(file, line, `${type}: ${e.message}`);
      throw e;
    }
    switch (type) {
      case 'MemoryLogStep':
        b.mark({ name: 'step' });
        return;
      case 'MemoryLogTensorAllocation': {
        const desc = field(field(msg, 'tensor') as TextMessage | undefined, 'allocation_description') as
          | TextMessage
          | undefined;
        if (!desc) {
          b.skip('tensor allocation without allocation_description');
          return;
        }
        const name = str(field(desc, 'allocator_name'), 'allocator_name', line);
        allocators.add(name);
        if (!keep(name)) {
          b.skip(`allocator ${name}`);
          return;
        }
        const id = int(field(desc, 'allocation_id') ?? 0, 'allocation_id', line);
        b.alloc(`${name}#${id}`, int(field(desc, 'requested_bytes') ?? 0, 'requested_bytes', line), line);
        return;
      }
      case 'MemoryLogTensorDeallocation': {
        const name = str(field(msg, 'allocator_name'), 'allocator_name', line);
        if (!keep(name)) {
          b.skip(`allocator ${name}`);
          return;
        }
        const id = int(field(msg, 'allocation_id') ?? 0, 'allocation_id', line);
        if (!b.free(`${name}#${id}`)) b.skip('deallocation of an allocation the log did not show');
        return;
      }
      default:
        b.skip(type);
    }
  }

  function str(v: unknown, what: string, line: number): string {
    if (typeof v !== 'string') throw traceError(file, line, `${what} is missing or not a string`);
    return v;
  }
  function int(v: unknown, what: string, line: number): number {
    if (typeof v !== 'number' || !Number.isSafeInteger(v)) throw traceError(file, line, `${what} is not an integer`);
    return v;
  }
}
