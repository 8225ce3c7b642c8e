// One scale-from-zero of a served function, timed from inside a serve runtime:
// a fresh runtime, the function at zero instances (or one pre-started process
// waiting to be handed it), the first request, its instance's events
// (starting, ready), and a second request on the warm instance. Shared by
// the cold-start phases (coldphases.ts: CPU functions and the CPU executor)
// and the GPU benchmark (gpu-instances.ts: GPU functions on the executor).
import { createRuntime } from '../serve/runtime.js';
import type { OpenerSpec } from '../serve/instances/opener.js';
import { createScheduling } from '../serve/scheduling.js';
import type { InferRequest } from '../tensor/index.js';

export interface InstanceRow {
  spawnToReadyMs: number;
  readyToAnswerMs: number;
  spawnToAnswerMs: number;
  /** Request sent -> answer (adds the autoscaler's reaction and the deploy-time wait, if any). */
  requestToAnswerMs: number;
  /** A second request on the warm instance. */
  warmAnswerMs: number;
  /** Inside the instance (its ready message): opening the models, importing the handler and its setup. */
  openMs: number;
  handlerMs: number;
}

async function until(f: () => boolean, ms: number, what: string): Promise<void> {
  const t0 = performance.now();
  while (!f()) {
    if (performance.now() - t0 > ms) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 10));
  }
}

export async function instanceOnce(
  o: {
    functionsDir: string;
    repository: string;
    store: string;
    opener?: OpenerSpec;
    originalsAhead?: boolean;
    /** The instances' environment (default this process's: a benchmark's). */
    env?: NodeJS.ProcessEnv;
  },
  fn: string,
  req: InferRequest,
  prestart: number,
): Promise<InstanceRow> {
  const rt = await createRuntime({
    functionsDir: o.functionsDir,
    repository: o.repository,
    store: o.store,
    pollIntervalMs: 0,
    loadAll: false,
    prestart,
    env: { ...(o.env ?? process.env) },
    ...(o.opener ? { openModel: o.opener } : {}),
    ...(o.originalsAhead !== undefined ? { originalsAhead: o.originalsAhead } : {}),
  });
  const sched = createScheduling({ runtime: rt });
  const at: { starting?: number; ready?: number; openMs?: number; handlerMs?: number } = {};
  rt.subscribe((e) => {
    if (e.type === 'instance-starting' && e.function === fn) at.starting ??= performance.now();
    if (e.type === 'instance-ready' && e.function === fn && at.ready === undefined) {
      at.ready = performance.now();
      at.openMs = e.openMs;
      at.handlerMs = e.handlerMs;
    }
  });
  try {
    await rt.load(fn);
    if (prestart) await until(() => rt.stats().prestart.ready >= 1, 60_000, 'a pre-started process');
    const t0 = performance.now();
    await sched.infer(fn, req);
    const t1 = performance.now();
    await sched.infer(fn, req);
    const warm = performance.now() - t1;
    if (at.starting === undefined || at.ready === undefined) throw new Error('no instance events');
    return {
      spawnToReadyMs: at.ready - at.starting,
      readyToAnswerMs: t1 - at.ready,
      spawnToAnswerMs: t1 - at.starting,
      requestToAnswerMs: t1 - t0,
      warmAnswerMs: warm,
      openMs: at.openMs ?? Number.NaN,
      handlerMs: at.handlerMs ?? Number.NaN,
    };
  } finally {
    await sched.close();
    await rt.close({ timeoutMs: 5000 });
  }
}
