// Model files that dependencies ship, for tests: src/paths.ts finds them by
// module resolution (not a hard-coded node_modules path, which breaks under
// other install layouts).
import { bundledFile } from '../paths.js';

export const FIXTURES = {
  ocrDet: bundledFile('ocrDet'),
  ocrRec: bundledFile('ocrRec'),
  ocrCls: bundledFile('ocrCls'),
  ocrKeys: bundledFile('ocrKeys'),
  vad: bundledFile('vad'),
} as const;
