// Decompression bombs: a PNG of a few KB that declares 12000x12000 pixels,
// and a WAV longer than the limit, are refused from their headers, before
// any decoding allocates (the process's memory does not move), with an error
// naming the size and the limit. Images and audio within the limits decode.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs/promises';
import path from 'node:path';
import { packageRoot } from '../paths.js';
import { isTensorshareError } from '../errors.js';
import { blankPng, silentWav } from '../bench/hostile/media.js';
import { decodePng, maxImagePixels, pngDimensions, DEFAULT_MAX_IMAGE_PIXELS } from './image.js';
import { decodeWav, DEFAULT_MAX_AUDIO_SAMPLES } from './audio.js';

test('a 12000x12000 PNG bomb is refused from its IHDR before decoding', () => {
  const bomb = blankPng(12000, 12000);
  assert.ok(bomb.length < 32 * 1024, `the bomb is ${bomb.length} bytes`);
  assert.deepEqual(pngDimensions(bomb), { width: 12000, height: 12000 });
  const before = process.memoryUsage();
  assert.throws(
    () => decodePng(bomb, { maxPixels: maxImagePixels(512) }),
    (e) =>
      isTensorshareError(e, 'ERR_INVALID_ARGUMENT') &&
      /12000x12000 \(144000000 pixels\), over the limit of 16777216 pixels \(about 4096x4096\)/.test(e.message),
  );
  const after = process.memoryUsage();
  // Decoding would take 144 M pixels x 4 bytes of RGBA (549 MiB) at least.
  assert.ok(
    after.arrayBuffers - before.arrayBuffers < 16 * 1024 * 1024,
    `array buffers grew by ${after.arrayBuffers - before.arrayBuffers} bytes`,
  );
  assert.throws(() => decodePng(bomb), /over the limit of 16777216 pixels/, 'the default limit is 4096x4096 too');
  assert.throws(() => decodePng(blankPng(0, 10)), /no pixels \(0x10\)/);
  assert.throws(
    () => decodePng(Buffer.from('not a png at all, just text')),
    /expected a PNG image .*received 27 bytes/,
  );
  // A PNG signature with no IHDR after it (truncated header): the header check names it.
  assert.throws(
    () => decodePng(Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a, 0, 0, 0, 13])),
    /no IHDR header/,
  );
});

test('the pixel limit follows the memory limit; images within it decode', async () => {
  assert.equal(maxImagePixels(512), 4096 * 4096);
  assert.equal(maxImagePixels(128), 2048 * 2048);
  assert.equal(maxImagePixels(undefined), DEFAULT_MAX_IMAGE_PIXELS);
  const page = decodePng(await fs.readFile(path.join(packageRoot, 'assets', 'ocr-page.png')), {
    maxPixels: maxImagePixels(512),
  });
  assert.ok(page.width > 0 && page.rgb.length === page.width * page.height * 3);
  const small = decodePng(blankPng(64, 32), { maxPixels: 64 * 32 });
  assert.deepEqual([small.width, small.height, small.rgb[0]], [64, 32, 0]);
  assert.throws(
    () => decodePng(blankPng(64, 33), { maxPixels: 64 * 32 }),
    /64x33 \(2112 pixels\), over the limit of 2048 pixels/,
  );
});

test('a WAV over the sample limit is refused with its length and the limit', () => {
  assert.throws(
    () => decodeWav(silentWav(2001, 8000), { maxSamples: 2000 }),
    (e) =>
      isTensorshareError(e, 'ERR_INVALID_ARGUMENT') &&
      /2001 samples \(0\.3 s at 8000 Hz\), over the limit of 2000 samples/.test(e.message),
  );
  assert.equal(decodeWav(silentWav(2000, 8000), { maxSamples: 2000 }).samples.length, 2000);
  assert.throws(() => decodeWav(silentWav(DEFAULT_MAX_AUDIO_SAMPLES + 1)), /over the limit of 9600000 samples/);
  const zeroRate = silentWav(10, 0);
  assert.throws(() => decodeWav(zeroRate), /1 channels at 0 Hz/);
});
