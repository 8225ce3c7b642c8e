// The project's own trace format, JSON lines (docs/simulation.md, "sim alloc"):
//   {"format":"tensorshare-alloc","version":1,"name":"...","meta":{...}}   optional first line
//   {"op":"alloc","id":7,"bytes":1024}          id: integer or string, live ids unique
//   {"op":"free","id":7}
//   {"op":"mark","name":"request","batch":8,"model":"resnet50"}   a phase starts (batch, model optional)
// Blank lines are allowed. A free of an id that is not live is an error.
import { OP_ALLOC, TraceBuilder, traceError, type AllocTrace } from './trace.js';

export const JSON_FORMAT = 'tensorshare-alloc';

export function parseJsonTrace(text: string, file: string): AllocTrace {
  const b = new TraceBuilder(file, 'json');
  let name = file;
  let meta: Record<string, unknown> = {};
  let lineNo = 0;
  let start = 0;
  while (start < text.length) {
    let end = text.indexOf('\n', start);
    if (end < 0) end = text.length;
    lineNo++;
    const line = text.slice(start, end);
    start = end + 1;
    if (line.trim() === '') continue;
    let o: Record<string, unknown>;
    try {
      o = JSON.parse(line);
    } catch (e) {
      throw traceError(file, lineNo, `not JSON: ${(e as Error).message}`);
    }
    if (typeof o !== 'object' || o === null || Array.isArray(o)) throw traceError(file, lineNo, 'not a JSON object');
    if (o.format !== undefined) {
      if (o.format !== JSON_FORMAT) throw traceError(file, lineNo, `format is ${String(o.format)}, not ${JSON_FORMAT}`);
      if (o.version !== 1) throw traceError(file, lineNo, `version ${String(o.version)} is not supported (1 is)`);
      if (typeof o.name === 'string') name = o.name;
      if (typeof o.meta === 'object' && o.meta !== null) meta = o.meta as Record<string, unknown>;
      continue;
    }
    const id = o.id;
    switch (o.op) {
      case 'alloc':
        if (typeof id !== 'number' && typeof id !== 'string') throw traceError(file, lineNo, 'alloc needs an id');
        if (typeof o.bytes !== 'number') throw traceError(file, lineNo, 'alloc needs bytes');
        b.alloc(id, o.bytes, lineNo);
        break;
      case 'free':
        if (typeof id !== 'number' && typeof id !== 'string') throw traceError(file, lineNo, 'free needs an id');
        if (!b.free(id)) throw traceError(file, lineNo, `free of ${JSON.stringify(id)}, which is not allocated`);
        break;
      case 'mark':
        if (typeof o.name !== 'string') throw traceError(file, lineNo, 'mark needs a name');
        b.mark({
          name: o.name,
          ...(typeof o.batch === 'number' ? { batch: o.batch } : {}),
          ...(typeof o.model === 'string' ? { model: o.model } : {}),
        });
        break;
      default:
        throw traceError(file, lineNo, `unknown op ${JSON.stringify(o.op)} (alloc, free or mark)`);
    }
  }
  return b.finish(name, meta);
}

/** Writes a trace in the JSON lines format (ids are the trace's dense ids). */
export function formatJsonTrace(t: AllocTrace): string {
  const out: string[] = [JSON.stringify({ format: JSON_FORMAT, version: 1, name: t.name, meta: t.meta })];
  let m = 0;
  for (let i = 0; i < t.length; i++) {
    while (m < t.marks.length && t.marks[m]!.at <= i) {
      const { at: _at, ...rest } = t.marks[m++]!;
      out.push(JSON.stringify({ op: 'mark', ...rest }));
    }
    const id = t.ids[i]!;
    out.push(t.ops[i] === OP_ALLOC ? `{"op":"alloc","id":${id},"bytes":${t.idBytes[id]}}` : `{"op":"free","id":${id}}`);
  }
  for (; m < t.marks.length; m++) {
    const { at: _at, ...rest } = t.marks[m]!;
    out.push(JSON.stringify({ op: 'mark', ...rest }));
  }
  return `${out.join('\n')}\n`;
}
