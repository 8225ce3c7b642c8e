// A Triton model repository as the runtime's function catalog: every served
// version of every model is one function, keyed `<model>@<version>`
// (`densenet@3`), so each version has its own instances, and its model file
// is imported into the store (the same weights in two versions, or two
// models, are one copy there). Reading a version parses config.pbtxt,
// imports `<version>/model.onnx`, checks the config against the model's own
// I/O and maps it (to-function.ts), logging the fields it ignores.
import { createHash } from 'node:crypto';
import fs from 'node:fs/promises';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { TensorshareError } from '../../errors.js';
import { importModel } from '../../store/import.js';
import { isValidName } from '../../store/layout.js';
import { validateConfig } from '../functions/config.js';
import { hashFolderInto, type FunctionCatalog, type FunctionDefinition } from '../functions/repository.js';
import type { Logger } from '../runtime/log.js';
import { parseModelConfig, type TritonModelConfig } from './model-config.js';
import { mapModelVersion } from './to-function.js';
import { servedVersions, versionFolders } from './versions.js';

export const CONFIG_FILE = 'config.pbtxt';
export const DEFAULT_MODEL_FILE = 'model.onnx';
/** The handler of versions whose config reshapes tensors. */
const RESHAPE_HANDLER = fileURLToPath(new URL('./reshape-handler.js', import.meta.url));

/** `<model>@<version>`: a runtime function name for one version of a model. */
export const versionKey = (model: string, version: number | string) => `${model}@${version}`;

/** The model and version of a key; undefined for a name that is not one. */
export function parseVersionKey(key: string): { model: string; version: string } | undefined {
  const at = key.lastIndexOf('@');
  if (at <= 0 || !/^(?:0|[1-9][0-9]*)$/.test(key.slice(at + 1))) return undefined;
  return { model: key.slice(0, at), version: key.slice(at + 1) };
}

export interface TritonCatalog extends FunctionCatalog {
  /** Model folders of the repository (those with a config.pbtxt or a version folder), sorted. */
  models(): Promise<string[]>;
  /** Keys of the versions of `model` its version_policy serves now (none when its config does not parse). */
  keysOf(model: string): Promise<string[]>;
}

export interface TritonCatalogOptions {
  /** The model repository folder. */
  dir: string;
  /** tensorshare's model repository, where versions are imported. */
  repository: string;
  log: Logger;
}

export function tritonCatalog(o: TritonCatalogOptions): TritonCatalog {
  const base = path.basename(path.resolve(o.dir));
  const label = (model: string) => `${base}/${model}/${CONFIG_FILE}`;
  // What was last said about a model's versions, so a scan every few seconds does not repeat it.
  const said = new Map<string, string>();
  // The versions each model's config last selected: a config that stops parsing keeps them (their reloads fail, they keep serving).
  const lastKeys = new Map<string, string[]>();
  const sayOnce = (model: string, what: string, f: () => void) => {
    if (said.get(model) === what) return;
    said.set(model, what);
    f();
  };

  const readConfig = async (model: string): Promise<{ text: string; config: TritonModelConfig }> => {
    const file = path.join(o.dir, model, CONFIG_FILE);
    let text: string;
    try {
      text = await fs.readFile(file, 'utf8');
    } catch (e) {
      // No config.pbtxt: everything from the model, as Triton's auto-complete.
      if ((e as NodeJS.ErrnoException).code === 'ENOENT') return { text: '', config: {} };
      throw e;
    }
    return { text, config: parseModelConfig(text, label(model)) };
  };

  const models = async (): Promise<string[]> => {
    let entries: import('node:fs').Dirent[];
    try {
      entries = await fs.readdir(o.dir, { withFileTypes: true });
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code === 'ENOENT') return [];
      throw e;
    }
    const out: string[] = [];
    for (const e of entries) {
      if (!e.isDirectory() || e.name.startsWith('.')) continue;
      const dir = path.join(o.dir, e.name);
      const has = (await isFile(path.join(dir, CONFIG_FILE))) || (await versionFolders(dir)).length > 0;
      if (!has) continue;
      if (!isValidName(e.name)) {
        sayOnce(e.name, 'name', () =>
          o.log.warn(
            { model: e.name },
            `${base}/${e.name}: not served: a model name needs letters, digits, '.', '_' and '-' (it is the store's name too)`,
          ),
        );
        continue;
      }
      out.push(e.name);
    }
    return out.sort();
  };

  const keysOf = async (model: string): Promise<string[]> => {
    const present = await versionFolders(path.join(o.dir, model));
    let config: TritonModelConfig;
    try {
      config = (await readConfig(model)).config;
    } catch (e) {
      // Unreadable config: the versions it last served keep serving (their reloads fail with the error as
      // reason), as Triton keeps a model whose reload fails; a model never served shows the error on its latest.
      sayOnce(model, `bad:${(e as Error).message}`, () =>
        o.log.error({ model, err: (e as Error).message }, 'model config does not parse'),
      );
      return lastKeys.get(model) ?? present.slice(0, 1).map((v) => versionKey(model, v));
    }
    const { versions, missing } = servedVersions(config.version_policy, present);
    const state = `${versions.join(',')}|${missing.join(',')}`;
    sayOnce(model, state, () => {
      if (missing.length)
        o.log.warn(
          { model, versions: missing },
          `${label(model)}: version_policy names versions with no folder: ${missing.join(', ')}`,
        );
      if (!versions.length)
        o.log.warn({ model }, `${base}/${model}: no version to serve (no version folder the version_policy selects)`);
    });
    const keys = versions.map((v) => versionKey(model, v)).sort();
    lastKeys.set(model, keys);
    return keys;
  };

  const fingerprint = async (key: string): Promise<string | undefined> => {
    const k = parseVersionKey(key);
    if (!k || !(await keysOf(k.model)).includes(key)) return undefined;
    const h = createHash('sha256');
    const configFile = path.join(o.dir, k.model, CONFIG_FILE);
    h.update(await fs.readFile(configFile).catch(() => Buffer.alloc(0)));
    await hashFolderInto(h, path.join(o.dir, k.model, k.version));
    return h.digest('hex').slice(0, 16);
  };

  const read = async (key: string, fp?: string): Promise<FunctionDefinition> => {
    const k = parseVersionKey(key);
    if (!k || !(await keysOf(k.model)).includes(key))
      throw new TensorshareError('ERR_MODEL_NOT_FOUND', `no served version '${key}' in ${base}/`, { function: key });
    const dir = path.join(path.resolve(o.dir), k.model);
    const file = label(k.model);
    const { text, config } = await readConfig(k.model);
    const modelFile = path.join(dir, k.version, config.default_model_filename || DEFAULT_MODEL_FILE);
    if (!(await isFile(modelFile)))
      throw new TensorshareError(
        'ERR_MODEL_NOT_FOUND',
        `${file}: version ${k.version} has no model file ${base}/${k.model}/${k.version}/${path.basename(modelFile)}`,
        { file, version: k.version },
      );
    const imported = await importModel(o.repository, modelFile, { name: k.model, defaultMode: 'fast-run' });
    const m = imported.manifest;
    const mapped = mapModelVersion(config, {
      model: k.model,
      version: Number(k.version),
      ref: `${m.name}:${m.version}`,
      file,
      text,
      io: { inputs: m.inputs, outputs: m.outputs },
    });
    const fnConfig = validateConfig(mapped.config, file, key);
    for (const f of mapped.ignored)
      o.log.info({ model: k.model, version: k.version, field: f.field }, `${file}: ${f.field} ignored: ${f.why}`);
    o.log.info(
      { model: k.model, version: k.version, store: `${m.name}:${m.version}`, outcome: imported.outcome },
      `${file}: version ${k.version} is store model ${m.name}:${m.version}`,
    );
    return {
      source: {
        ...(mapped.reshaped ? { handlerFile: RESHAPE_HANDLER } : {}),
        name: key,
        dir,
        configFile: path.join(dir, CONFIG_FILE),
        label: file,
        fingerprint: fp ?? (await fingerprint(key)) ?? '',
      },
      config: fnConfig,
    };
  };

  return {
    list: async () => (await Promise.all((await models()).map(keysOf))).flat().sort(),
    fingerprint,
    read,
    models,
    keysOf,
  };
}

const isFile = (p: string) =>
  fs.stat(p).then(
    (s) => s.isFile(),
    () => false,
  );
