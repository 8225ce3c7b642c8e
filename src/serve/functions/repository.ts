// The function repository: a folder with one sub-folder per function
// (`<dir>/<name>/config.json|yaml` + optional `handler.js` and helper files),
// like Triton's model repository. Reading a function gives its validated
// config and a fingerprint of its files, which polling compares to notice
// changes.
import { statSync } from 'node:fs';
import fs from 'node:fs/promises';
import path from 'node:path';
import { createHash, type Hash } from 'node:crypto';
import { mapBounded } from '../../bounded.js';
import { TensorshareError } from '../../errors.js';
import { isValidName } from '../../store/layout.js';
import { CONFIG_FILES, parseConfigText, validateConfig, type FunctionConfig } from './config.js';

export interface FunctionSource {
  name: string;
  /** Absolute folder of the function. */
  dir: string;
  /** Absolute path of its config file. */
  configFile: string;
  /** How messages name the config file: "<repository folder name>/<name>/config.json". */
  label: string;
  /** Absolute path of the handler module, when it has one. */
  handlerFile?: string;
  /** Changes whenever any file of the function changes. */
  fingerprint: string;
}

export interface FunctionDefinition {
  source: FunctionSource;
  config: FunctionConfig;
}

/**
 * How the runtime reads its functions: by default a folder with one
 * sub-folder per function (`folderCatalog`); a Triton model repository reads
 * its own layout (src/serve/triton-repository). Names are the runtime's keys.
 */
export interface FunctionCatalog {
  /** The functions there now, sorted. */
  list(): Promise<string[]>;
  /** Changes whenever anything `read` would see changes; undefined when `name` is gone. */
  fingerprint(name: string): Promise<string | undefined>;
  /** Reads and validates `name` (ERR_MODEL_NOT_FOUND when it is not there); `fingerprint`: one just computed. */
  read(name: string, fingerprint?: string): Promise<FunctionDefinition>;
}

/** The function repository folder `functionsDir` as a catalog. */
export function folderCatalog(functionsDir: string): FunctionCatalog {
  return {
    list: () => listFunctionNames(functionsDir),
    fingerprint: (name) => fingerprintFunction(functionsDir, name),
    read: (name, fingerprint) => readFunction(functionsDir, name, fingerprint),
  };
}

/**
 * Files up to this size (configs, handlers) are hashed; larger ones (model
 * files, even a small model's) are fingerprinted by size and mtime, so a scan
 * of a thousand functions reads no model bytes.
 */
const HASH_LIMIT = 64 << 10;

/** Folders a listing looks into at once. */
const LIST_CONCURRENCY = 32;

/** Names of the sub-folders that hold a config file, sorted. A missing repository folder has none. */
export async function listFunctionNames(functionsDir: string): Promise<string[]> {
  let entries: import('node:fs').Dirent[];
  try {
    entries = await fs.readdir(functionsDir, { withFileTypes: true });
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return [];
    throw e;
  }
  const dirs = entries.filter((e) => e.isDirectory() && !e.name.startsWith('.') && isValidName(e.name));
  // A stat or two per folder, overlapped: one after another they were most of a 1,000-function listing.
  const configs = await mapBounded(dirs, LIST_CONCURRENCY, (e) => findConfigFile(path.join(functionsDir, e.name)));
  return dirs
    .filter((_, i) => configs[i] !== undefined)
    .map((e) => e.name)
    .sort();
}

async function findConfigFile(dir: string): Promise<string | undefined> {
  for (const f of CONFIG_FILES) {
    if (await isFile(path.join(dir, f))) return f;
  }
  return undefined;
}

/**
 * A stat by name, synchronous: most of these miss (config.yaml beside a
 * config.json, no handler.js), and a miss through fs/promises builds an
 * Error with a stack each time, several per function at every scan and
 * deploy of a thousand functions. It reads no file data.
 */
const isFile = async (p: string) => {
  try {
    return statSync(p, { throwIfNoEntry: false })?.isFile() ?? false;
  } catch {
    return false; // unreadable: as good as absent, as before
  }
};

/**
 * Fingerprint of a function folder: content hashes of small files, size and
 * mtime of large ones, for every file below it (dot-files and node_modules
 * skipped). undefined when the folder or its config is gone.
 */
export async function fingerprintFunction(functionsDir: string, name: string): Promise<string | undefined> {
  const dir = path.join(functionsDir, name);
  if (!(await findConfigFile(dir))) return undefined;
  const h = createHash('sha256');
  await hashFolderInto(h, dir);
  return h.digest('hex').slice(0, 16);
}

/** Adds a folder's files (four levels deep, no dot files or node_modules) to `h`: content of small ones, size and mtime of large ones. */
export async function hashFolderInto(h: Hash, dir: string, rel = '', depth = 0): Promise<void> {
  let entries: import('node:fs').Dirent[];
  try {
    entries = await fs.readdir(path.join(dir, rel), { withFileTypes: true });
  } catch {
    return; // vanished while we looked: the next poll sees the new state
  }
  for (const e of entries.sort((a, b) => (a.name < b.name ? -1 : 1))) {
    if (e.name.startsWith('.') || e.name === 'node_modules') continue;
    const r = path.join(rel, e.name);
    if (e.isDirectory()) {
      if (depth < 4) await hashFolderInto(h, dir, r, depth + 1);
      continue;
    }
    const st = await fs.stat(path.join(dir, r)).catch(() => undefined);
    if (!st?.isFile()) continue;
    h.update(`${r}\0${st.size}\0`);
    if (st.size <= HASH_LIMIT) h.update(await fs.readFile(path.join(dir, r)).catch(() => Buffer.alloc(0)));
    else h.update(`${st.mtimeMs}\0`);
  }
}

/**
 * Reads and validates one function. ERR_MODEL_NOT_FOUND when it does not
 * exist, ERR_INVALID_ARGUMENT when its files are wrong. `fingerprint`: one the
 * caller has just computed (not computed again).
 */
export async function readFunction(
  functionsDir: string,
  name: string,
  fingerprint?: string,
): Promise<FunctionDefinition> {
  if (!isValidName(name)) {
    throw new TensorshareError(
      'ERR_INVALID_ARGUMENT',
      `invalid function name '${name}': use letters, digits, '.', '_' and '-'`,
      { function: name },
    );
  }
  const dir = path.join(path.resolve(functionsDir), name);
  const configName = await findConfigFile(dir);
  const base = path.basename(path.resolve(functionsDir));
  if (!configName) {
    throw new TensorshareError(
      'ERR_MODEL_NOT_FOUND',
      `function '${name}' not found: no ${base}/${name}/config.json or config.yaml`,
      { function: name, dir },
    );
  }
  const others = (
    await Promise.all(CONFIG_FILES.map(async (f) => ((await isFile(path.join(dir, f))) ? f : undefined)))
  ).filter(Boolean);
  const label = `${base}/${name}/${configName}`;
  if (others.length > 1) {
    throw new TensorshareError(
      'ERR_INVALID_ARGUMENT',
      `${label}: function '${name}' has several config files (${others.join(', ')}); keep one`,
      { function: name, file: label },
    );
  }
  fingerprint ??= (await fingerprintFunction(functionsDir, name)) ?? '';
  const configFile = path.join(dir, configName);
  const text = await fs.readFile(configFile, 'utf8');
  const config = validateConfig(parseConfigText(text, label), label, name);

  let handlerFile: string | undefined;
  if (config.handler !== undefined) {
    handlerFile = path.join(dir, config.handler);
    if (!(await isFile(handlerFile))) {
      throw new TensorshareError(
        'ERR_INVALID_ARGUMENT',
        `${label}: handler '${config.handler}' does not exist in ${base}/${name}/`,
        { function: name, file: label, field: 'handler' },
      );
    }
  } else {
    for (const f of ['handler.js', 'handler.mjs']) {
      if (await isFile(path.join(dir, f))) {
        handlerFile = path.join(dir, f);
        break;
      }
    }
  }
  if (!handlerFile && Object.keys(config.models).length === 0) {
    throw new TensorshareError(
      'ERR_INVALID_ARGUMENT',
      `${label}: model is missing: name a model ("model": "name[:version]"), a "modelFile" or "models", or add a handler.js`,
      { function: name, file: label, field: 'model' },
    );
  }
  if (!handlerFile && Object.keys(config.models).length > 1) {
    throw new TensorshareError(
      'ERR_INVALID_ARGUMENT',
      `${label}: models lists several models but there is no handler.js to combine them`,
      { function: name, file: label, field: 'models' },
    );
  }
  return { source: { name, dir, configFile, label, handlerFile, fingerprint }, config };
}
