// The gateway's InferenceBackend over the serving runtime: protocol in front,
// functions and instances behind. Both speak KServe-v2-shaped tensors, so this
// is a thin adapter. Every inference goes through the scheduler (batching,
// policy, deadlines); the runtime answers the repository and health calls.
import { TensorshareError } from '../errors.js';
import type { InferenceBackend } from './protocol/backend.js';
import type { Runtime } from './runtime.js';
import type { Scheduling } from './scheduling.js';

/** Longest a request (or a metadata call) waits for a LOADING function's deploy: the default request timeout. */
export const LOADING_WAIT_MS = 30_000;

export function runtimeBackend(rt: Runtime, scheduling: Scheduling, loadingWaitMs = LOADING_WAIT_MS): InferenceBackend {
  const known = (name: string, version?: string) => {
    const m = rt.metadata(name);
    return m && (version === undefined || m.versions.includes(version)) ? m : undefined;
  };
  // A function still LOADING (its model file importing in the background) has no metadata yet: the
  // request waits for that deploy (its import starts at once) rather than hearing "unknown model".
  const afterLoading = async (name: string, version?: string) => {
    let timer: NodeJS.Timeout | undefined;
    const late = await Promise.race([
      rt.whenLoaded(name).then(() => false),
      new Promise<boolean>((r) => {
        timer = setTimeout(() => r(true), loadingWaitMs);
      }),
    ]).finally(() => clearTimeout(timer));
    const st = rt.status(name);
    if (st && !rt.metadata(name) && (late || st.state !== 'READY'))
      throw new TensorshareError(
        'ERR_UNAVAILABLE',
        late
          ? `function '${name}' is still loading after ${loadingWaitMs} ms (importing its model files)`
          : `function '${name}' is unavailable: ${st.reason ?? st.state}`,
        { function: name },
      );
    return known(name, version);
  };
  return {
    serverReady: () => rt.ready(),
    listModels: () => rt.list().map(({ name, version, state, reason }) => ({ name, version, state, reason })),
    modelMetadata: (name, version) =>
      known(name, version) ?? (rt.status(name)?.state === 'LOADING' ? afterLoading(name, version) : undefined),
    modelReady: (name, version) => known(name, version) !== undefined && rt.ready(name),
    infer: (req, ctx) => scheduling.infer(req.model, req, { signal: ctx.signal }),
    load: async (name) => {
      await rt.load(name);
    },
    unload: (name) => rt.unload(name),
  };
}
