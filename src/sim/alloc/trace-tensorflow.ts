// TensorFlow's memory log (TF_CPP_VMODULE=log_memory=2 in TF 2.18, or TF_CPP_MAX_VLOG_LEVEL=2):
// LogMemory (tensorflow/core/framework/log_memory.cc) writes each record as
//   <glog prefix>] __LOG_MEMORY__ <MessageType> { <ShortDebugString> }
// with the messages of log_memory.proto. Replayed: MemoryLogTensorAllocation
// (tensor.allocation_description.{requested_bytes, allocator_name,
// allocation_id}) and MemoryLogTensorDeallocation (allocation_id,
// allocator_name), matched by (allocator, id); MemoryLogStep starts a phase.
// The other record types are checked and counted, not replayed. Other log
// lines are ignored.
//
// Which allocator is the device: the GPU allocators when the log names one;
// a log of a CPU-only run (TensorFlow 2.18 on x86 names its allocator
// "mklcpu") replays every allocator it names, since there the host allocator
// is the one that serves the tensors.
//
// Phases: a DirectSession run logs MemoryLogStep with the run's handle,
// "<feeds>-><fetches>/<targets>/<partial>/<debug>;<n>" (direct_session.cc).
// A run whose handle feeds nothing (variable initialisation, Keras's checks
// of which variables are initialised, restoring) is the model load; a run
// that feeds inputs is a request or a training step, and so is a step with
// no handle (a callable, Session.make_callable: how Keras runs its train
// function), whose feeds the log does not say.
//
// allocation_id 0 (absent from the text, as proto3 writes a zero) means the
// allocator does not track the tensor: its deallocation has no id either, so
// such tensors cannot be replayed and are counted (with their bytes) instead.
// On a GPU the BFC allocator tracks every tensor; on the CPU TensorFlow 2.18
// leaves graph constants and some kernel outputs untracked.
import { parseTextMessage, TextFormatError, field, type TextMessage } from './text-format.js';
import { TraceBuilder, traceError, type AllocTrace } from './trace.js';

export const TF_LABEL = '__LOG_MEMORY__';
const UNTRACKED = 'untracked allocation (no allocation_id)';

const KNOWN = new Set([
  'MemoryLogStep',
  'MemoryLogTensorAllocation',
  'MemoryLogTensorDeallocation',
  'MemoryLogTensorOutput',
  'MemoryLogRawAllocation',
  'MemoryLogRawDeallocation',
]);

export interface TensorflowOptions {
  /** Which allocators' tensors to replay (by allocator_name). Default: the GPU's (name has "gpu", not "host"); every allocator when the log names no GPU allocator. */
  allocator?: (name: string) => boolean;
}

export const isDeviceAllocator = (name: string): boolean => /gpu/i.test(name) && !/host/i.test(name);

/** The default choice of replayed allocators for a log: GPU ones if any is named, else all (a CPU-only run). */
function defaultAllocators(text: string): { keep: (name: string) => boolean; cpuOnly: boolean } {
  for (const m of text.matchAll(/allocator_name: "([^"\\]*)"/g))
    if (isDeviceAllocator(m[1]!)) return { keep: isDeviceAllocator, cpuOnly: false };
  return { keep: () => true, cpuOnly: true };
}

/** A MemoryLogStep is the model load: it has a handle, and the handle feeds nothing (nothing before "->"). */
export const isLoadStep = (handle: string | undefined): boolean => handle?.startsWith('->') === true;

export function parseTensorflowLog(text: string, file: string, options: TensorflowOptions = {}): AllocTrace {
  const auto = options.allocator ? null : defaultAllocators(text);
  const keep = options.allocator ?? auto!.keep;
  const b = new TraceBuilder(file, 'tensorflow');
  let lineNo = 0;
  let start = 0;
  const allocators = new Set<string>();
  let untrackedBytes = 0;
  while (start <= text.length) {
    let end = text.indexOf('\n', start);
    if (end < 0) end = text.length;
    lineNo++;
    const at = text.indexOf(TF_LABEL, start);
    if (at >= 0 && at < end) record(text.slice(at + TF_LABEL.length, end), lineNo);
    start = end + 1;
  }
  return b.finish(file, {
    allocators: [...allocators].sort(),
    ...(untrackedBytes > 0 ? { untrackedBytes } : {}),
    ...(auto?.cpuOnly ? { replayed: 'every allocator (no GPU allocator in the log: a CPU-only run)' } : {}),
  });

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
      case 'MemoryLogStep': {
        const handle = field(msg, 'handle');
        if (handle !== undefined && typeof handle !== 'string')
          throw traceError(file, line, 'MemoryLogStep: handle is not a string');
        b.mark({ name: isLoadStep(handle) ? 'load' : 'step' });
        return;
      }
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
        const bytes = int(field(desc, 'requested_bytes') ?? 0, 'requested_bytes', line);
        if (id === 0) {
          // allocation_id 0 (proto3 leaves it out): the allocator does not track this tensor, and its
          // deallocation carries no id either, so the two cannot be paired.
          b.skip(UNTRACKED);
          untrackedBytes += bytes;
          return;
        }
        b.alloc(`${name}#${id}`, bytes, line);
        return;
      }
      case 'MemoryLogTensorDeallocation': {
        const name = str(field(msg, 'allocator_name'), 'allocator_name', line);
        if (!keep(name)) {
          b.skip(`allocator ${name}`);
          return;
        }
        const id = int(field(msg, 'allocation_id') ?? 0, 'allocation_id', line);
        if (id === 0) b.skip('untracked deallocation (no allocation_id)');
        else if (!b.free(`${name}#${id}`)) b.skip('deallocation of an allocation the log did not show');
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
