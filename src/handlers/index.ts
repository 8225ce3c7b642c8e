// Public surface of the pre/post-processing kit, for function handlers
// (`import { decodePng, readText } from 'tensorshare/handlers'`).
export { decodePng, resize, crop, toChwBgr, type Image } from './image.js';
export { decodeWav, type Audio } from './audio.js';
export { parseKeys, recInput, detInput, detBoxes, ctcDecode, cropBox, REC_HEIGHT, type Box, type PlainTensor } from './ocr.js';
export { vadFrames, vadFeeds, speechSegments, VAD_FRAME, VAD_RATE, type Segment } from './vad.js';
export { readText, detectSpeech, type Run, type Plain, type OutTensor, type OcrLine } from './pipelines.js';
export { mediaBytes, PNG_MAGIC, WAV_MAGIC } from './payload.js';
