// The one place that decides how an instance opens its models. An instance
// is a separate process, so the open function travels as a module specifier
// and an export name; the child imports it. Today the default is the
// daemonless `openSession()` (src/client/open-session.ts); the daemon's
// `open()` has the same shape, so switching is `{ module, export: 'open' }`.
import type { InferenceSession } from 'onnxruntime-node';
import { TensorshareError } from '../../errors.js';
import type { Manifest, OpenMode } from '../../store/manifest.js';

export interface OpenModelOptions {
  repository: string;
  store: string;
  /** 'auto' (a function's `mode: auto`): openSession serves fast-open, then fast-run behind the same session. */
  mode?: OpenMode | 'auto';
  sessionOptions?: InferenceSession.SessionOptions;
  /** On a device: the function's priority class and tenant for the executor's ordering (openers without a device ignore them). */
  devicePriority?: 'realtime' | 'besteffort';
  deviceTenant?: string;
  /** On a device: the function's own device policy (`gpuPolicy`). */
  devicePolicy?: 'fifo' | 'pack' | 'srtf' | 'fair';
  /** 'cpu' (a function's `device: cpu-executor`): the daemon's CPU executor runs the model. */
  executor?: 'cpu';
}

/** What an open function gives back (a subset of SharedSession). */
export interface OpenedModel {
  session: InferenceSession;
  manifest: Manifest;
  mode?: OpenMode;
  release(): Promise<void>;
}

export type OpenModel = (ref: string, options: OpenModelOptions) => Promise<OpenedModel>;

/** Where an instance process finds its open function: an importable module (file URL or path) and its export. */
export interface OpenerSpec {
  module: string;
  export?: string;
  /**
   * An export of the same module that a pre-started process calls once before it is handed a function
   * (`() => Promise<unknown>`): the runtime's first-session cost, paid ahead (client/create-session.ts `warmUp`).
   */
  warmUp?: string;
}

export const DEFAULT_OPENER: OpenerSpec = {
  module: new URL('../../client/open-session.js', import.meta.url).href,
  export: 'openSession',
  warmUp: 'warmUp',
};

/** Imports the open function an OpenerSpec names (in the instance process). */
export async function loadOpener(spec: OpenerSpec): Promise<OpenModel> {
  const mod = (await import(spec.module)) as Record<string, unknown>;
  const name = spec.export ?? 'default';
  const f = mod[name];
  if (typeof f !== 'function') {
    throw new TensorshareError('ERR_INVALID_ARGUMENT', `open function '${name}' not exported by ${spec.module}`, {
      module: spec.module,
      export: name,
    });
  }
  return f as OpenModel;
}

/** The warm-up function an OpenerSpec names, or undefined when it names none. */
export async function loadWarmUp(spec: OpenerSpec): Promise<(() => Promise<unknown>) | undefined> {
  if (!spec.warmUp) return undefined;
  const f = ((await import(spec.module)) as Record<string, unknown>)[spec.warmUp];
  if (typeof f !== 'function') {
    throw new TensorshareError(
      'ERR_INVALID_ARGUMENT',
      `warm-up function '${spec.warmUp}' not exported by ${spec.module}`,
      { module: spec.module, export: spec.warmUp },
    );
  }
  return f as () => Promise<unknown>;
}
