// Deploying a function: resolve its models to exact versions (importing a
// `modelFile` on first deploy), make them resident through the runtime's
// residency (the daemon when one is in use, so it stays the only writer of
// the store; the fast-run variant is built once there, not in every
// instance, and never in this process), and settle its protocol metadata.
// The result is plain data an instance is started from.
import path from 'node:path';
import type { Residency } from '../../client/residency.js';
import { TensorshareError, isTensorshareError } from '../../errors.js';
import { importModel, type ImportResult } from '../../store/import.js';
import type { ThreadImportOptions } from '../../store/import-thread.js';
import { layout } from '../../store/layout.js';
import type { Manifest } from '../../store/manifest.js';
import { isResident } from '../../store/materialize.js';
import { stampedImport } from '../../store/source-stamp.js';
import type { FunctionConfig, FunctionMode } from './config.js';
import type { FunctionDefinition, FunctionSource } from './repository.js';
import { ioMetadata, type ModelMetadata, type TensorMetadata } from '../../tensor/index.js';

export interface ResolvedModel {
  alias: string;
  /** Exact `name:version`: every instance of a deployment opens the same version. */
  ref: string;
  manifest: Manifest;
  /** What instances open: the mode the residency serves, or 'auto' when both of auto's legs are resident. */
  mode: FunctionMode;
}

/** A model as a deployment keeps it: the manifest served its purpose at deploy (an idle function holds only this). */
export type DeployedModel = Omit<ResolvedModel, 'manifest'>;

export interface DeployedFunction {
  name: string;
  /** Deployment number of this function in this runtime ("1", "2", ...), reported as its version. */
  version: string;
  source: FunctionSource;
  config: FunctionConfig;
  models: Record<string, DeployedModel>;
  metadata: ModelMetadata;
}

/** What a handler says about its own I/O (see instances/child.ts, which asks it in a separate process). */
export type DescribeHandler = (
  source: FunctionSource,
  models: Record<string, ResolvedModel>,
  config: FunctionConfig,
) => Promise<{ inputs: TensorMetadata[]; outputs: TensorMetadata[] } | undefined>;

export interface DeployOptions {
  /** Where a `modelFile` is imported. */
  repository: string;
  /** Makes models resident; its hold ends when deploy returns (instances hold their own). */
  residency: Residency;
  version: string;
  describeHandler: DescribeHandler;
  /**
   * The store `residency` fills. A modelFile already imported and resident there for fast-open is
   * not opened at deploy: no lease to take and end (a restart over a thousand functions made two
   * daemon round trips per function); an instance that finds it gone makes it resident again.
   */
  store?: string;
  /**
   * Only a `modelFile` stamped as imported (src/store/source-stamp.ts: unchanged since, by stat) is
   * resolved; when one is not, deploy returns undefined before doing anything: the caller imports it
   * later (serve's background imports), and a deploy without this flag does.
   */
  stampedOnly?: boolean;
  /**
   * A `modelFile` served fast-open is not made resident here: the function's first instance does
   * that when it opens the model. Serve's scans and background imports set it (a first start or a
   * restart over a thousand functions at zero instances): the daemon then copies and leases nothing
   * for a function no request has asked for yet. Fast-run models are still made resident: their
   * variant is built once, in the daemon, not by the first request.
   */
  lazyResidency?: boolean;
  /** Imports a `modelFile` (default importModel() on this thread; serve's background imports use a worker thread). */
  importModel?: (repository: string, file: string, options: ThreadImportOptions) => Promise<ImportResult>;
}

/** `stampedOnly` and a model file that needs an import: nothing deployed. */
export type Deferred = undefined;

export async function deployFunction(
  def: FunctionDefinition,
  o: DeployOptions & { stampedOnly: true },
): Promise<DeployedFunction | Deferred>;
export async function deployFunction(def: FunctionDefinition, o: DeployOptions): Promise<DeployedFunction>;
export async function deployFunction(def: FunctionDefinition, o: DeployOptions): Promise<DeployedFunction | Deferred> {
  const { source, config } = def;
  const models: Record<string, ResolvedModel> = {};
  const stamped = new Map<string, Manifest>();
  if (o.stampedOnly) {
    for (const [alias, b] of Object.entries(config.models)) {
      if ('ref' in b) continue;
      const m = await stampedImport(layout(o.repository), b.name, undefined, path.resolve(source.dir, b.modelFile));
      if (!m) return undefined;
      stamped.set(alias, m);
    }
  }
  for (const [alias, b] of Object.entries(config.models)) {
    const field =
      alias === 'model' && Object.keys(config.models).length === 1
        ? 'ref' in b
          ? 'model'
          : 'modelFile'
        : `models.${alias}`;
    models[alias] = await withContext(source.label, field, async (): Promise<ResolvedModel> => {
      let ref: string;
      if ('ref' in b) ref = b.ref;
      else {
        const m =
          stamped.get(alias) ??
          (
            await (o.importModel ?? importModel)(o.repository, path.resolve(source.dir, b.modelFile), {
              name: b.name,
              defaultMode: config.mode === 'auto' ? 'fast-run' : (config.mode ?? 'fast-run'),
            })
          ).manifest;
        ref = `${m.name}:${m.version}`;
        if (
          (config.mode ?? m.defaultMode) === 'fast-open' &&
          (o.lazyResidency || (o.store && (await isResident(layout(o.store), m))))
        )
          return { alias, ref, manifest: m, mode: 'fast-open' };
      }
      if (config.mode === 'auto') {
        // Both legs resident: the fast-open files answer first, the fast-run variant takes over.
        await (await o.residency.ensureResident(ref, 'fast-open')).release();
        const run = await o.residency.ensureResident(ref, 'fast-run');
        await run.release();
        // No loadable fast-run variant: auto would only ever serve fast-open.
        return { alias, ref: run.ref, manifest: run.manifest, mode: run.mode === 'fast-run' ? 'auto' : 'fast-open' };
      }
      const resident = await o.residency.ensureResident(ref, config.mode);
      await resident.release();
      return { alias, ref: resident.ref, manifest: resident.manifest, mode: resident.mode };
    });
  }
  const metadata = await settleMetadata(def, models, o);
  const kept: Record<string, DeployedModel> = {};
  for (const [alias, m] of Object.entries(models)) kept[alias] = { alias, ref: m.ref, mode: m.mode };
  return { name: source.name, version: o.version, source, config, models: kept, metadata };
}

async function withContext<T>(label: string, field: string, f: () => Promise<T>): Promise<T> {
  try {
    return await f();
  } catch (e) {
    if (isTensorshareError(e))
      throw new TensorshareError(
        e.code,
        `${label}: ${field}: ${e.message}`,
        { ...e.details, file: label, field },
        { cause: e },
      );
    throw e;
  }
}

async function settleMetadata(
  def: FunctionDefinition,
  models: Record<string, ResolvedModel>,
  o: DeployOptions,
): Promise<ModelMetadata> {
  const { source, config } = def;
  const base = { name: source.name, versions: [o.version] };
  const described = source.handlerFile ? await o.describeHandler(source, models, config) : undefined;
  if (config.inputs && config.outputs) {
    return {
      ...base,
      platform: source.handlerFile ? 'tensorshare_handler' : 'onnxruntime_onnx',
      inputs: config.inputs,
      outputs: config.outputs,
    };
  }
  if (described) return { ...base, platform: 'tensorshare_handler', ...described };
  const only = Object.values(models);
  if (only.length !== 1) {
    throw new TensorshareError(
      'ERR_INVALID_ARGUMENT',
      `${source.label}: cannot tell the function's inputs and outputs: its handler exports no metadata and it uses ${only.length} models; declare "inputs" and "outputs" in the config or export metadata from the handler`,
      { file: source.label, field: 'inputs' },
    );
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
    if (isTensorshareError(e))
      throw new TensorshareError(e.code, `${label}: ${e.message}`, { ...e.details, file: label });
    throw e;
  }
}
