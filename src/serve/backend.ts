// The gateway's InferenceBackend over the serving runtime: protocol in front,
// functions and instances behind. Both speak KServe-v2-shaped tensors, so this
// is a thin adapter. Every inference goes through the scheduler (batching,
// policy, deadlines); the runtime answers the repository and health calls.
import type { InferenceBackend } from './protocol/backend.js';
import type { Runtime } from './runtime.js';
import type { Scheduling } from './scheduling.js';

export function runtimeBackend(rt: Runtime, scheduling: Scheduling): InferenceBackend {
  const known = (name: string, version?: string) => {
    const m = rt.metadata(name);
    return m && (version === undefined || m.versions.includes(version)) ? m : undefined;
  };
  return {
    serverReady: () => rt.ready(),
    listModels: () => rt.list().map(({ name, version, state, reason }) => ({ name, version, state, reason })),
    modelMetadata: (name, version) => known(name, version),
    modelReady: (name, version) => known(name, version) !== undefined && rt.ready(name),
    infer: (req, ctx) => scheduling.infer(req.model, req, { signal: ctx.signal }),
    load: async (name) => {
      await rt.load(name);
    },
    unload: (name) => rt.unload(name),
  };
}
