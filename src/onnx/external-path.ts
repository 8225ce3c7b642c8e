import { constants } from 'node:fs';
import type { FileHandle } from 'node:fs/promises';
import { files as fs } from '../file-calls.js';
import path from 'node:path';
import { TensorshareError } from '../errors.js';

// ONNX external data locations are relative to the model's folder. Accepting
// anything else would let a model read arbitrary files into the store, so we
// apply the same rules ONNX Runtime does: no absolute paths, no `..`, and no
// symlink that resolves outside the folder.
export async function resolveExternalPath(modelFile: string, location: string, tensor: string): Promise<string> {
  const unsafe = (why: string) =>
    new TensorshareError(
      'ERR_UNSAFE_EXTERNAL_PATH',
      `${modelFile}: tensor '${tensor}' has external data location '${location}', which ${why}`,
      { file: modelFile, tensor, location },
    );
  if (location.length === 0 || location.includes('\0')) throw unsafe('is empty or contains a NUL byte');
  if (path.isAbsolute(location) || /^[A-Za-z]:[\\/]/.test(location)) throw unsafe('is an absolute path');
  if (location.split(/[\\/]/).includes('..')) throw unsafe("contains '..'");
  const dir = await fs.realpath(path.dirname(path.resolve(modelFile)));
  let real: string;
  try {
    real = await fs.realpath(path.join(dir, location));
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') {
      throw new TensorshareError(
        'ERR_MISSING_EXTERNAL_DATA',
        `${modelFile}: tensor '${tensor}' refers to external data file '${location}', which does not exist`,
        { file: modelFile, tensor, location },
      );
    }
    throw e;
  }
  if (!real.startsWith(dir + path.sep)) throw unsafe('leads through a symlink to outside the model folder');
  return real;
}

/** What a file that is not a regular file is, for error messages. */
function fileKind(st: {
  isDirectory(): boolean;
  isFIFO(): boolean;
  isCharacterDevice(): boolean;
  isBlockDevice(): boolean;
  isSocket(): boolean;
}): string {
  if (st.isDirectory()) return 'a folder';
  if (st.isFIFO()) return 'a FIFO (named pipe)';
  if (st.isCharacterDevice()) return 'a character device';
  if (st.isBlockDevice()) return 'a block device';
  if (st.isSocket()) return 'a socket';
  return 'not a regular file';
}

/**
 * Opens a file to read only if it is a regular file. O_NONBLOCK makes opening
 * a FIFO return at once instead of holding an I/O thread until some writer
 * appears (a daemon importing for a client would stall every other call);
 * the fstat of the open descriptor then refuses anything but a regular file.
 * `describe` names the file in the error ("model file x.onnx", ...).
 */
export async function openRegularFile(
  file: string,
  describe: string,
  details: Record<string, unknown> = {},
): Promise<FileHandle> {
  const fh = await fs.open(file, constants.O_RDONLY | constants.O_NONBLOCK);
  try {
    const st = await fh.stat();
    if (!st.isFile()) {
      throw new TensorshareError(
        st.isDirectory() ? 'ERR_INVALID_ARGUMENT' : 'ERR_INVALID_MODEL',
        `${describe} is ${fileKind(st)}, not a regular file`,
        { file, ...details },
      );
    }
    return fh;
  } catch (e) {
    await fh.close();
    throw e;
  }
}
