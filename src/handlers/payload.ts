/**
 * Bytes of a media payload sent as a BYTES tensor element: raw bytes (binary
 * data extension, gRPC) or base64 text (JSON bodies cannot carry raw bytes).
 * `magic` is the format's leading bytes (PNG: 89 50 4E 47, WAV: "RIFF").
 */
export function mediaBytes(element: Uint8Array | string, magic: readonly number[]): Uint8Array {
  const b = typeof element === 'string' ? Buffer.from(element, 'utf8') : element;
  if (magic.every((m, i) => b[i] === m)) return b;
  return Buffer.from(Buffer.from(b).toString('ascii').trim(), 'base64');
}

export const PNG_MAGIC = [0x89, 0x50, 0x4e, 0x47] as const;
export const WAV_MAGIC = [0x52, 0x49, 0x46, 0x46] as const;
