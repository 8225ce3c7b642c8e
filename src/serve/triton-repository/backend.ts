// The protocol's view of a Triton model repository: models with versions
// (`/v2/models/<m>/versions/<v>/...`) over the runtime's functions, one per
// served version (`<m>@<v>`). A request without a version goes to the
// highest version that is serving, as Triton's. Load and unload follow the
// model control mode: only 'explicit' takes them, as tritonserver.
import { TensorshareError } from '../../errors.js';
import type { InferenceBackend, ModelIndexEntry } from '../protocol/backend.js';
import type { ModelMetadata } from '../../tensor/index.js';
import { parseVersionKey, versionKey, type TritonCatalog } from './catalog.js';
import { ONNX_PLATFORM } from './to-function.js';

export const CONTROL_MODES = ['none', 'poll', 'explicit'] as const;
export type ControlMode = (typeof CONTROL_MODES)[number];

export interface VersionedRuntime {
  /** The runtime's functions (keys) with their states. */
  list(): { name: string; state: ModelIndexEntry['state']; reason?: string }[];
  load(key: string): Promise<unknown>;
  unload(key: string): Promise<void>;
}

/**
 * Wraps the runtime's backend (keyed by `<m>@<v>`) into one keyed by model
 * and version. `runtime` gives the keys and loads them; `catalog` the
 * repository's models and the versions each one serves.
 */
export function tritonBackend(
  inner: InferenceBackend,
  runtime: VersionedRuntime,
  catalog: TritonCatalog,
  mode: ControlMode,
): InferenceBackend {
  /** Versions of `model` the runtime knows, highest first. */
  const versionsOf = (model: string) =>
    runtime
      .list()
      .flatMap((f) => {
        const k = parseVersionKey(f.name);
        return k && k.model === model ? [Number(k.version)] : [];
      })
      .sort((a, b) => b - a)
      .map(String);

  /** The key a request for `model` (and `version`) goes to; undefined when none. */
  const keyFor = async (model: string, version: string | undefined): Promise<string | undefined> => {
    if (version !== undefined)
      return (await inner.modelMetadata(versionKey(model, version))) ? versionKey(model, version) : undefined;
    for (const v of versionsOf(model)) {
      const key = versionKey(model, v);
      if ((await inner.modelMetadata(key)) && (await inner.modelReady(key))) return key;
    }
    for (const v of versionsOf(model)) if (await inner.modelMetadata(versionKey(model, v))) return versionKey(model, v);
    return undefined;
  };

  const metadata = async (model: string, version: string | undefined): Promise<ModelMetadata | undefined> => {
    const key = await keyFor(model, version);
    const m = key && (await inner.modelMetadata(key));
    if (!m) return undefined;
    const versions: string[] = [];
    for (const v of versionsOf(model)) if (await inner.modelMetadata(versionKey(model, v))) versions.push(v);
    return { ...m, name: model, versions: versions.reverse(), platform: ONNX_PLATFORM };
  };

  const controlled = (what: 'load' | 'unload') => {
    if (mode !== 'explicit')
      // tritonserver's words and code (UNAVAILABLE there; a precondition of the server's mode here).
      throw new TensorshareError(
        'ERR_PRECONDITION',
        `explicit model ${what} is not allowed in model control mode '${mode}' (start serve with --model-control-mode explicit)`,
        { mode },
      );
  };

  const knownModel = async (model: string) => {
    if (!(await catalog.models()).includes(model))
      throw new TensorshareError(
        'ERR_MODEL_NOT_FOUND',
        `unknown model '${model}': no such folder in the model repository`,
        {
          model,
        },
      );
  };

  return {
    serverReady: () => inner.serverReady(),
    async listModels() {
      const out: ModelIndexEntry[] = [];
      const seen = new Set<string>();
      for (const f of runtime.list()) {
        const k = parseVersionKey(f.name);
        if (!k) continue;
        seen.add(k.model);
        out.push({ name: k.model, version: k.version, state: f.state, ...(f.reason ? { reason: f.reason } : {}) });
      }
      // Models in the folder that are not loaded (explicit mode, or unloaded), as Triton's index lists them.
      for (const model of await catalog.models())
        if (!seen.has(model)) out.push({ name: model, state: 'UNAVAILABLE', reason: 'unloaded' });
      return out.sort((a, b) =>
        a.name === b.name ? Number(a.version ?? 0) - Number(b.version ?? 0) : a.name < b.name ? -1 : 1,
      );
    },
    modelMetadata: metadata,
    async modelReady(model, version) {
      const key = await keyFor(model, version);
      return key !== undefined && (await inner.modelReady(key));
    },
    async infer(req, ctx) {
      const key = await keyFor(req.model, req.version);
      if (!key) throw new TensorshareError('ERR_MODEL_NOT_FOUND', `unknown model '${req.model}'`, { model: req.model });
      const version = parseVersionKey(key)!.version;
      const res = await inner.infer({ ...req, model: key }, ctx);
      return { ...res, model: req.model, version };
    },
    async load(model) {
      controlled('load');
      await knownModel(model);
      await loadModel(runtime, catalog, model);
    },
    async unload(model) {
      controlled('unload');
      const keys = runtime.list().filter((f) => parseVersionKey(f.name)?.model === model);
      if (!keys.length) await knownModel(model);
      for (const f of keys) await runtime.unload(f.name);
    },
  };
}

/** Loads (or reloads) the versions of `model` its policy serves now and unloads the versions it no longer does. */
export async function loadModel(runtime: VersionedRuntime, catalog: TritonCatalog, model: string): Promise<void> {
  const keys = await catalog.keysOf(model);
  if (!keys.length)
    throw new TensorshareError('ERR_MODEL_NOT_FOUND', `model '${model}' has no version to serve`, { model });
  const stale = runtime.list().filter((f) => parseVersionKey(f.name)?.model === model && !keys.includes(f.name));
  const results = await Promise.allSettled(keys.map((k) => runtime.load(k)));
  for (const f of stale) await runtime.unload(f.name);
  const failed = results.find((r): r is PromiseRejectedResult => r.status === 'rejected');
  if (failed) throw failed.reason;
}
