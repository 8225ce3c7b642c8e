// The protobuf text format as TensorFlow's LogMemory writes it (a message's
// ShortDebugString: `name: value` scalars and `name { ... }` sub-messages on
// one line; strings double-quoted with C escapes). Only what that output can
// hold: integers, enum identifiers, true/false, strings, nested messages.
// Every field keeps a list of values, since repeated fields (shape dims)
// repeat the name.

export type TextValue = string | number | boolean | TextMessage;
export interface TextMessage {
  [field: string]: TextValue[];
}

/** Thrown with the column of the problem; the trace parser adds the line. */
export class TextFormatError extends Error {
  constructor(
    message: string,
    readonly column: number,
  ) {
    super(message);
  }
}

const IDENT = /[A-Za-z_][A-Za-z0-9_]*/y;
const NUMBER = /-?(?:0x[0-9a-fA-F]+|[0-9]+(?:\.[0-9]*)?(?:[eE][-+]?[0-9]+)?)/y;

/** Parses `text` from `start` up to the `}` that closes the message (or the end); returns the message and the index after it. */
export function parseTextMessage(text: string, start: number, closed: boolean): { message: TextMessage; end: number } {
  const message: TextMessage = Object.create(null);
  let i = start;
  const skipSpace = () => {
    while (i < text.length && (text[i] === ' ' || text[i] === '\t' || text[i] === '\r')) i++;
  };
  const put = (k: string, v: TextValue) => {
    const list = message[k];
    if (list) list.push(v);
    else message[k] = [v];
  };
  for (;;) {
    skipSpace();
    if (i >= text.length) {
      if (closed) throw new TextFormatError("message not closed: missing '}'", i);
      return { message, end: i };
    }
    if (text[i] === '}') {
      if (!closed) throw new TextFormatError("unexpected '}'", i);
      return { message, end: i + 1 };
    }
    IDENT.lastIndex = i;
    const name = IDENT.exec(text)?.[0];
    if (!name) throw new TextFormatError(`expected a field name, found '${text.slice(i, i + 12)}'`, i);
    i += name.length;
    skipSpace();
    if (text[i] === '{') {
      const sub = parseTextMessage(text, i + 1, true);
      put(name, sub.message);
      i = sub.end;
      continue;
    }
    if (text[i] !== ':') throw new TextFormatError(`expected ':' or '{' after field ${name}`, i);
    i++;
    skipSpace();
    if (text[i] === '{') {
      const sub = parseTextMessage(text, i + 1, true);
      put(name, sub.message);
      i = sub.end;
    } else if (text[i] === '"' || text[i] === "'") {
      const s = readString(text, i);
      put(name, s.value);
      i = s.end;
    } else {
      NUMBER.lastIndex = i;
      const num = NUMBER.exec(text)?.[0];
      if (num) {
        put(name, Number(num));
        i += num.length;
      } else {
        IDENT.lastIndex = i;
        const id = IDENT.exec(text)?.[0];
        if (!id) throw new TextFormatError(`field ${name} has no value`, i);
        put(name, id === 'true' ? true : id === 'false' ? false : id);
        i += id.length;
      }
    }
  }
}

const SIMPLE_ESCAPES: Record<string, number> = {
  n: 10,
  r: 13,
  t: 9,
  '"': 34,
  "'": 39,
  '\\': 92,
  a: 7,
  b: 8,
  f: 12,
  v: 11,
  '?': 63,
};

/** A C-escaped string (CEscape: \n, \", \\, octal \ooo for other bytes, \xHH) decoded as UTF-8. */
function readString(text: string, start: number): { value: string; end: number } {
  const quote = text[start];
  const bytes: number[] = [];
  let i = start + 1;
  while (i < text.length && text[i] !== quote) {
    const c = text.charCodeAt(i);
    if (text[i] !== '\\') {
      if (c < 0x80) bytes.push(c);
      else bytes.push(...Buffer.from(text[i]!, 'utf8'));
      i++;
      continue;
    }
    const e = text[i + 1];
    if (e === undefined) break;
    if (e in SIMPLE_ESCAPES) {
      bytes.push(SIMPLE_ESCAPES[e]!);
      i += 2;
    } else if (e >= '0' && e <= '7') {
      const m = /^[0-7]{1,3}/.exec(text.slice(i + 1, i + 4))![0];
      bytes.push(Number.parseInt(m, 8) & 0xff);
      i += 1 + m.length;
    } else if (e === 'x') {
      const m = /^[0-9a-fA-F]{1,2}/.exec(text.slice(i + 2, i + 4))?.[0];
      if (!m) throw new TextFormatError('\\x without hex digits', i);
      bytes.push(Number.parseInt(m, 16));
      i += 2 + m.length;
    } else throw new TextFormatError(`unknown escape \\${e}`, i);
  }
  if (i >= text.length) throw new TextFormatError('string not closed', start);
  return { value: Buffer.from(bytes).toString('utf8'), end: i + 1 };
}

/** The first value of a field, or undefined. */
export function field(m: TextMessage | undefined, name: string): TextValue | undefined {
  return m?.[name]?.[0];
}
