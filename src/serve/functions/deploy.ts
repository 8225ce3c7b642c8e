// Deploying a function: resolve its models to exact versions (importing a
// `modelFile` on first deploy), make them resident in the store (and build
// the fast-run variant once here, not in every instance), and settle its
// protocol metadata. The result is plain data an instance is started from.
import path from 'node:path';
import { TensorshareError, isTensorshareError } from '../../errors.js';
import { importModel } from '../../store/import.js';
import { layout } from '../../store/layout.js';
import type { Manifest, OpenMode } from '../../store/manifest.js';
import { isResident, materialize, materializeVariant } from '../../store/materialize.js';
import { buildFastRun, fastRunKey } from '../../store/fast-run.js';
import { resolveModel } from '../../store/repository.js';
import type { FunctionConfig } from './config.js';
import type { FunctionDefinition, FunctionSource } from './repository.js';
import { ioMetadata, type ModelMetadata, type TensorMetadata } from '../../tensor/index.js';

export interface ResolvedModel {
  alias: string;
  /** Exact `name:version`: every instance of a deployment opens the same version. */
  ref: string;
  manifest: Manifest;
  mode: OpenMode;
}

export interface DeployedFunction {
  name: string;
  /** Deployment number of this function in this runtime ("1", "2", ...), reported as its version. */
  version: string;
  source: FunctionSource;
  config: FunctionConfig;
  models: Record<string, ResolvedModel>;
  metadata: ModelMetadata;
}

/** What a handler says about its own I/O (see instances/child.ts, which asks it in a separate process). */
export type DescribeHandler = (source: FunctionSource, models: Record<string, ResolvedModel>, config: FunctionConfig) => Promise<{ inputs: TensorMetadata[]; outputs: TensorMetadata[] } | undefined>;

export interface DeployOptions {
  repository: string;
  store: string;
  version: string;
  describeHandler: DescribeHandler;
}

export async function deployFunction(def: FunctionDefinition, o: DeployOptions): Promise<DeployedFunction> {
  const { source, config } = def;
  const models: Record<string, ResolvedModel> = {};
  for (const [alias, b] of Object.entries(config.models)) {
    const field = alias === 'model' && Object.keys(config.models).length === 1 ? ('ref' in b ? 'model' : 'modelFile') : `models.${alias}`;
    const manifest = await withContext(source.label, field, async () => {
      if ('ref' in b) return resolveModel(layout(o.repository), b.ref);
      const file = path.resolve(source.dir, b.modelFile);
      return (await importModel(o.repository, file, { name: b.name, defaultMode: config.mode ?? 'fast-run' })).manifest;
    });
    const mode = await withContext(source.label, field, () => makeResident(o.repository, o.store, manifest, config.mode ?? manifest.defaultMode));
    models[alias] = { alias, ref: `${manifest.name}:${manifest.version}`, manifest, mode };
  }
  const metadata = await settleMetadata(def, models, o);
  return { name: source.name, version: o.version, source, config, models, metadata };
}

async function withContext<T>(label: string, field: string, f: () => Promise<T>): Promise<T> {
  try {
    return await f();
  } catch (e) {
    if (isTensorshareError(e)) throw new TensorshareError(e.code, `${label}: ${field}: ${e.message}`, { ...e.details, file: label, field }, { cause: e });
    throw e;
  }
}

/** Materializes the model (and its fast-run variant) so instances only map files. Returns the mode instances will open in. */
async function makeResident(repository: string, storeRoot: string, m: Manifest, mode: OpenMode): Promise<OpenMode> {
  const repo = layout(repository);
  const store = layout(storeRoot);
  if (!(await isResident(store, m))) await materialize(repo, store, m);
  if (mode !== 'fast-run') return mode;
  const { variant } = await buildFastRun(repo, store, m);
  if (variant.status !== 'ok') return 'fast-open';
  await materializeVariant(repo, store, variant, fastRunKey(variant.ortVersion, variant.target));
  return 'fast-run';
}

async function settleMetadata(def: FunctionDefinition, models: Record<string, ResolvedModel>, o: DeployOptions): Promise<ModelMetadata> {
  const { source, config } = def;
  const base = { name: source.name, versions: [o.version] };
  const described = source.handlerFile ? await o.describeHandler(source, models, config) : undefined;
  if (config.inputs && config.outputs) {
    return { ...base, platform: source.handlerFile ? 'tensorshare_handler' : 'onnxruntime_onnx', inputs: config.inputs, outputs: config.outputs };
  }
  if (described) return { ...base, platform: 'tensorshare_handler', ...described };
  const only = Object.values(models);
  if (only.length !== 1) {
    throw new TensorshareError('ERR_INVALID_ARGUMENT', `${source.label}: cannot tell the function's inputs and outputs: its handler exports no metadata and it uses ${only.length} models; declare "inputs" and "outputs" in the config or export metadata from the handler`, { file: source.label, field: 'inputs' });
  }
  const m = only[0]!.manifest;
  return {
    ...base,
    platform: source.handlerFile ? 'tensorshare_handler' : 'onnxruntime_onnx',
    inputs: withContextSync(source.label, () => m.inputs.map(ioMetadata)),
    outputs: withContextSync(source.label, () => m.outputs.map(ioMetadata)),
  };
}

function withContextSync<T>(label: string, f: () => T): T {
  try {
    return f();
  } catch (e) {
    if (isTensorshareError(e)) throw new TensorshareError(e.code, `${label}: ${e.message}`, { ...e.details, file: label });
    throw e;
  }
}
