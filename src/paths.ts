import { fileURLToPath } from 'node:url';
import path from 'node:path';

// Compiled files live in dist/src/**, sources in src/**: walk up to the folder
// holding package.json so both layouts find the shipped .proto files.
const here = path.dirname(fileURLToPath(import.meta.url));
export const packageRoot = here.includes(`${path.sep}dist${path.sep}`)
  ? here.slice(0, here.lastIndexOf(`${path.sep}dist${path.sep}`))
  : path.resolve(here, '..');

export const protoDir = path.join(packageRoot, 'proto');
