// Reading the simulators' trace files: JSON (one document) or JSONL (one
// record a line, blank lines skipped), chosen by the file name. Every record
// comes with where it was found, so a bad field can be reported by line.
import fs from 'node:fs';
import { TensorshareError } from '../errors.js';

export interface TraceRecord {
  value: unknown;
  /** 1-based line of the record (JSONL), or of the document's start (JSON). */
  line: number;
  /** Index of the record in the file. */
  index: number;
}

export type TraceFormat = 'json' | 'jsonl';

export const formatOf = (file: string): TraceFormat => (/\.jsonl$/i.test(file) ? 'jsonl' : 'json');

/** A TensorshareError (ERR_INVALID_ARGUMENT) naming the file, the line and the problem. */
export function traceError(file: string, line: number, message: string, details: Record<string, unknown> = {}) {
  return new TensorshareError('ERR_INVALID_ARGUMENT', `${file}:${line}: ${message}`, { file, line, ...details });
}

/** Line (1-based) of a character offset. */
function lineAt(text: string, offset: number): number {
  let n = 1;
  for (let i = 0; i < offset && i < text.length; i++) if (text.charCodeAt(i) === 10) n++;
  return n;
}

/**
 * The records of a trace text. JSON: the document itself is returned as one
 * record (the caller picks its array); JSONL: one record per non-blank line.
 */
export function parseTraceText(text: string, file: string, format: TraceFormat = formatOf(file)): TraceRecord[] {
  if (format === 'json') {
    try {
      return [{ value: JSON.parse(text), line: 1, index: 0 }];
    } catch (e) {
      const m = /position (\d+)/.exec(String((e as Error).message));
      const line = m ? lineAt(text, Number(m[1])) : 1;
      throw traceError(file, line, `not valid JSON: ${(e as Error).message}`);
    }
  }
  const out: TraceRecord[] = [];
  const lines = text.split('\n');
  for (let i = 0; i < lines.length; i++) {
    const s = lines[i]!.trim();
    if (s === '') continue;
    try {
      out.push({ value: JSON.parse(s), line: i + 1, index: out.length });
    } catch (e) {
      throw traceError(file, i + 1, `not a JSON record: ${(e as Error).message}`);
    }
  }
  return out;
}

export function readTraceFile(file: string): TraceRecord[] {
  let text: string;
  try {
    text = fs.readFileSync(file, 'utf8');
  } catch (e) {
    throw new TensorshareError('ERR_INVALID_ARGUMENT', `cannot read trace ${file}: ${(e as Error).message}`, { file });
  }
  return parseTraceText(text, file);
}

/** Writes records as JSONL (one a line), the form every simulator reads back. */
export function toJsonl(records: readonly unknown[]): string {
  return records.map((r) => `${JSON.stringify(r)}\n`).join('');
}
