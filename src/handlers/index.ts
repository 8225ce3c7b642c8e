// Public surface of the pre/post-processing kit, for function handlers
// (`import { decodePng, readText } from 'tensorshare/handlers'`).
export {
  decodePng,
  maxImagePixels,
  pngDimensions,
  DEFAULT_MAX_IMAGE_PIXELS,
  resize,
  crop,
  toChwBgr,
  type Image,
  type ImageLimits,
} from './image.js';
export { decodeWav, DEFAULT_MAX_AUDIO_SAMPLES, type Audio, type AudioLimits } from './audio.js';
export {
  parseKeys,
  recInput,
  detInput,
  detBoxes,
  ctcDecode,
  cropBox,
  REC_HEIGHT,
  type Box,
  type PlainTensor,
} from './ocr.js';
export { vadFrames, vadFeeds, speechSegments, VAD_FRAME, VAD_RATE, type Segment } from './vad.js';
export { readText, detectSpeech, type Run, type Plain, type OutTensor, type OcrLine } from './pipelines.js';
export { mediaBytes, PNG_MAGIC, WAV_MAGIC } from './payload.js';
export { warmUpHandlers } from './warm-up.js';
