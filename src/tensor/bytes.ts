// BYTES elements: exact bytes, or text the caller gave as a string (UTF-8).

const utf8 = new TextEncoder();
const utf8Decoder = new TextDecoder('utf-8');

/** A BYTES element as bytes (strings are UTF-8 encoded). */
export function bytesOf(e: string | Uint8Array): Uint8Array {
  return typeof e === 'string' ? utf8.encode(e) : e;
}

/** A BYTES element as text (invalid UTF-8 sequences become U+FFFD). */
export function textOf(e: string | Uint8Array): string {
  return typeof e === 'string' ? e : utf8Decoder.decode(e);
}

export function bytesElements(data: readonly (Uint8Array | string)[]): Uint8Array[] {
  return data.map(bytesOf);
}

export function bytesToStrings(data: readonly (Uint8Array | string)[]): string[] {
  return data.map(textOf);
}
