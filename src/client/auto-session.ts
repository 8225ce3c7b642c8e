// 'auto' mode: open fast (fast-open), then switch to full speed (fast-run)
// behind the same InferenceSession object. The fast-run session is created
// after the first run completes, so the first request never waits for it;
// in-flight runs finish on the session they started on.
import type { InferenceSession } from 'onnxruntime-node';

export interface Switchable {
  session: InferenceSession;
  /** Resolves once the fast-run session serves (or with the error that kept it from doing so). */
  switched: Promise<{ switchMs: number } | { error: Error }>;
  release(): Promise<void>;
}

export function switchingSession(first: InferenceSession, makeSecond: () => Promise<InferenceSession>): Switchable {
  let current = first;
  let released = false;
  let inFlight = 0;
  let drained: (() => void) | undefined;
  let startSwitch: () => void = () => {};
  const started = new Promise<void>((resolve) => {
    startSwitch = resolve;
  });

  const run = async (...args: Parameters<InferenceSession['run']>) => {
    const s = current;
    if (s === first) inFlight++;
    try {
      return await (s.run as (...a: unknown[]) => ReturnType<InferenceSession['run']>)(...args);
    } finally {
      if (s === first && --inFlight === 0) drained?.();
      startSwitch();
    }
  };

  const switched = started.then(async () => {
    const t0 = performance.now();
    try {
      const second = await makeSecond();
      if (released) {
        await second.release();
        return { error: new Error('released before the switch') };
      }
      current = second;
      if (inFlight > 0)
        await new Promise<void>((r) => {
          drained = r;
        });
      await first.release();
      return { switchMs: performance.now() - t0 };
    } catch (e) {
      return { error: e as Error };
    }
  });

  const session = new Proxy(first, {
    get(_target, prop) {
      if (prop === 'run') return run;
      if (prop === 'release') return release;
      const v = (current as unknown as Record<PropertyKey, unknown>)[prop];
      return typeof v === 'function' ? (v as (...a: unknown[]) => unknown).bind(current) : v;
    },
  });

  async function release(): Promise<void> {
    if (released) return;
    released = true;
    startSwitch();
    await switched;
    await current.release();
  }

  return { session, switched, release };
}
