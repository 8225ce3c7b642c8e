// `serve --model-repository DIR`: what the server needs to serve a Triton
// model repository: the runtime's catalog and polling, the protocol backend
// with model versions, and the start-up loads of the model control mode
// (tritonserver's --model-control-mode none | poll | explicit and --load-model).
import { TensorshareError } from '../../errors.js';
import type { InferenceBackend } from '../protocol/backend.js';
import type { Logger } from '../runtime/log.js';
import { type ControlMode, loadModel, tritonBackend, type VersionedRuntime } from './backend.js';
import { type TritonCatalog, tritonCatalog } from './catalog.js';

export { CONTROL_MODES, type ControlMode } from './backend.js';

export interface ModelRepositoryOptions {
  /** none: load every model at start, never again; poll: also rescan every pollIntervalMs; explicit: only --load-model and the load API. */
  controlMode: ControlMode;
  /** explicit: models to load at start ('*': all). */
  loadModels?: readonly string[];
}

export interface ModelRepository {
  catalog: TritonCatalog;
  /** The runtime's settings for this mode. */
  runtime: { catalog: TritonCatalog; loadAll: boolean; pollIntervalMs: number };
  backend(inner: InferenceBackend, runtime: VersionedRuntime): InferenceBackend;
  /** explicit: loads the --load-model models (an unknown name fails start). */
  start(runtime: VersionedRuntime): Promise<void>;
}

export function openModelRepository(
  o: ModelRepositoryOptions & { dir: string; repository: string; pollIntervalMs: number; log: Logger },
): ModelRepository {
  const catalog = tritonCatalog({ dir: o.dir, repository: o.repository, log: o.log });
  const mode = o.controlMode;
  if (mode !== 'explicit' && o.loadModels?.length)
    throw new TensorshareError(
      'ERR_INVALID_ARGUMENT',
      `--load-model needs --model-control-mode explicit (mode '${mode}' loads every model)`,
    );
  return {
    catalog,
    runtime: { catalog, loadAll: mode !== 'explicit', pollIntervalMs: mode === 'poll' ? o.pollIntervalMs : 0 },
    backend: (inner, runtime) => tritonBackend(inner, runtime, catalog, mode),
    async start(runtime) {
      if (mode !== 'explicit') return;
      const wanted = o.loadModels ?? [];
      const all = await catalog.models();
      const names = wanted.includes('*') ? all : [...new Set(wanted)];
      const unknown = names.filter((n) => !all.includes(n));
      if (unknown.length)
        throw new TensorshareError(
          'ERR_MODEL_NOT_FOUND',
          `--load-model: no model ${unknown.map((n) => `'${n}'`).join(', ')} in ${o.dir} (models there: ${all.join(', ') || 'none'})`,
          { models: unknown },
        );
      for (const name of names)
        await loadModel(runtime, catalog, name).catch((err) =>
          o.log.error({ model: name, err: (err as Error).message }, 'model failed to load'),
        );
    },
  };
}
