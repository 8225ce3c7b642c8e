// Media that is not what a function expects gets an answer saying what was
// expected and what arrived, never a decoder library's internal message.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs/promises';
import path from 'node:path';
import { packageRoot } from '../paths.js';
import { decodePng } from './image.js';
import { decodeWav } from './audio.js';
import { mediaBytes, PNG_MAGIC, WAV_MAGIC } from './payload.js';

const asset = (name: string) => fs.readFile(path.join(packageRoot, 'assets', name));
const rejects = (fn: () => unknown, message: RegExp) =>
  assert.throws(fn, (e: Error & { code?: string }) => {
    assert.equal(e.code, 'ERR_INVALID_ARGUMENT');
    assert.match(e.message, message);
    return true;
  });

test('a PNG decodes, raw or as base64 text', async () => {
  const png = await asset('ocr-word.png');
  const raw = decodePng(mediaBytes(png, PNG_MAGIC));
  const b64 = decodePng(mediaBytes(png.toString('base64'), PNG_MAGIC));
  assert.ok(raw.width > 0 && raw.height > 0);
  assert.deepEqual(b64, raw);
});

test('what is not a PNG is named: text, other formats, base64 of other formats, empty, truncated', async () => {
  const wav = await asset('speech.wav');
  const png = await asset('ocr-word.png');
  rejects(
    () => decodePng(mediaBytes(Buffer.from('not an image at all'), PNG_MAGIC)),
    /^expected a PNG image \(starting 89 50 4e 47 0d 0a 1a 0a\), received 19 bytes starting 6e 6f 74 20 61 6e 20 69 \(text "not an image at all"\)$/,
  );
  rejects(
    () => decodePng(mediaBytes(wav, PNG_MAGIC)),
    new RegExp(`received ${wav.length} bytes starting 52 49 46 46 .* \\(a WAV file\\)$`),
  );
  const jpeg = Buffer.from([0xff, 0xd8, 0xff, 0xe0, 0x00, 0x10, 0x4a, 0x46, 0x49, 0x46]);
  rejects(
    () => decodePng(mediaBytes(jpeg.toString('base64'), PNG_MAGIC)),
    /received 10 bytes starting ff d8 ff e0 00 10 4a 46 \(a JPEG file\)$/,
  );
  rejects(() => decodePng(mediaBytes('', PNG_MAGIC)), /received no bytes \(empty input\)/);
  const truncated = png.subarray(0, 40);
  assert.throws(
    () => decodePng(truncated),
    (e: Error) => {
      assert.match(
        e.message,
        /^expected a complete PNG image, received 40 bytes with a PNG signature that do not decode \(truncated or damaged\)$/,
      );
      assert.ok(e.cause instanceof Error, "the decoder's own error stays attached as the cause");
      return true;
    },
  );
});

test('a WAV decodes; what is not one is named', async () => {
  const wav = await asset('speech.wav');
  assert.ok(decodeWav(mediaBytes(wav.toString('base64'), WAV_MAGIC)).samples.length > 16_000);
  const png = await asset('ocr-word.png');
  rejects(
    () => decodeWav(mediaBytes(png, WAV_MAGIC)),
    new RegExp(
      `^expected a WAV file \\(starting "RIFF", then "WAVE" at byte 8\\), received ${png.length} bytes starting 89 50 4e 47 0d 0a 1a 0a \\(a PNG file\\)$`,
    ),
  );
  rejects(() => decodeWav(Buffer.from('hello')), /received 5 bytes starting 68 65 6c 6c 6f \(text "hello"\)$/);
  rejects(
    () => decodeWav(wav.subarray(0, 24)),
    /^not a supported WAV file: fmt chunk is truncated \(24 bytes in all\)$/,
  );
});
