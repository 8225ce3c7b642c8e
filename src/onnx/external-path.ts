import fs from 'node:fs/promises';
import path from 'node:path';
import { TensorshareError } from '../errors.js';

// ONNX external data locations are relative to the model's folder. Accepting
// anything else would let a model read arbitrary files into the store, so we
// apply the same rules ONNX Runtime does: no absolute paths, no `..`, and no
// symlink that resolves outside the folder.
export async function resolveExternalPath(modelFile: string, location: string, tensor: string): Promise<string> {
  const unsafe = (why: string) =>
    new TensorshareError('ERR_UNSAFE_EXTERNAL_PATH', `${modelFile}: tensor '${tensor}' has external data location '${location}', which ${why}`, { file: modelFile, tensor, location });
  if (location.length === 0 || location.includes('\0')) throw unsafe('is empty or contains a NUL byte');
  if (path.isAbsolute(location) || /^[A-Za-z]:[\\/]/.test(location)) throw unsafe('is an absolute path');
  if (location.split(/[\\/]/).includes('..')) throw unsafe("contains '..'");
  const dir = await fs.realpath(path.dirname(path.resolve(modelFile)));
  let real: string;
  try {
    real = await fs.realpath(path.join(dir, location));
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') {
      throw new TensorshareError('ERR_MISSING_EXTERNAL_DATA', `${modelFile}: tensor '${tensor}' refers to external data file '${location}', which does not exist`, { file: modelFile, tensor, location });
    }
    throw e;
  }
  if (!real.startsWith(dir + path.sep)) throw unsafe('leads through a symlink to outside the model folder');
  return real;
}
