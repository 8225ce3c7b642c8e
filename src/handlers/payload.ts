/**
 * Bytes of a media payload sent as a BYTES tensor element: raw bytes (binary
 * data extension, gRPC) or base64 text (JSON bodies cannot carry raw bytes).
 * `magic` is the format's leading bytes (PNG: 89 50 4E 47, WAV: "RIFF").
 */
export function mediaBytes(element: Uint8Array | string, magic: readonly number[]): Uint8Array {
  const b = typeof element === 'string' ? Buffer.from(element, 'utf8') : element;
  if (startsWith(b, magic)) return b;
  const text = Buffer.from(b).toString('latin1').trim();
  // Anything else than base64 text goes to the decoder as it came, so its error shows what was sent.
  return BASE64.test(text) ? Buffer.from(text, 'base64') : b;
}

// Line breaks are allowed (MIME wraps base64 at 76 columns); spaces mean prose.
const BASE64 = /^[A-Za-z0-9+/\r\n]*={0,2}$/;

export const startsWith = (b: Uint8Array, magic: readonly number[]) =>
  b.length >= magic.length && magic.every((m, i) => b[i] === m);

/** Leading bytes of formats people send by mistake, to name what arrived. */
const KNOWN: readonly [string, readonly number[]][] = [
  ['PNG', [0x89, 0x50, 0x4e, 0x47]],
  ['JPEG', [0xff, 0xd8, 0xff]],
  ['GIF', [0x47, 0x49, 0x46, 0x38]],
  ['WebP', [0x52, 0x49, 0x46, 0x46, -1, -1, -1, -1, 0x57, 0x45, 0x42, 0x50]],
  ['WAV', [0x52, 0x49, 0x46, 0x46, -1, -1, -1, -1, 0x57, 0x41, 0x56, 0x45]],
  ['MP3', [0x49, 0x44, 0x33]],
  ['Ogg', [0x4f, 0x67, 0x67, 0x53]],
  ['FLAC', [0x66, 0x4c, 0x61, 0x43]],
  ['PDF', [0x25, 0x50, 0x44, 0x46]],
  ['BMP', [0x42, 0x4d]],
  ['TIFF', [0x49, 0x49, 0x2a, 0x00]],
  ['gzip', [0x1f, 0x8b]],
];

/** "1234 bytes starting ff d8 ff e0 00 10 4a 46 (a JPEG file)", for error messages that say what was received. */
export function describeBytes(b: Uint8Array): string {
  if (b.length === 0) return 'no bytes (empty input)';
  const head = Array.from(b.subarray(0, 8), (x) => x.toString(16).padStart(2, '0')).join(' ');
  const kind = KNOWN.find(([, m]) => b.length >= m.length && m.every((x, i) => x < 0 || b[i] === x))?.[0];
  const printable = Array.from(b.subarray(0, 24)).every((x) => x >= 0x20 && x < 0x7f);
  const what = kind
    ? ` (a ${kind} file)`
    : printable
      ? ` (text "${Buffer.from(b.subarray(0, 24)).toString('latin1')}${b.length > 24 ? '...' : ''}")`
      : '';
  return `${b.length} bytes starting ${head}${what}`;
}

export const PNG_MAGIC = [0x89, 0x50, 0x4e, 0x47] as const;
export const WAV_MAGIC = [0x52, 0x49, 0x46, 0x46] as const;
