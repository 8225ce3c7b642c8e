// Loading the device client ahead: an open that asks for a GPU
// (`executionProviders: ['cuda']`) imports the device client when it is
// first needed, so that CPU processes never load it (the device session and
// the shared-memory transport, docs/benchmarks.md). A process that knows it
// will open on a GPU (an instance of a `device: gpu | gpu:N | auto` function,
// a pre-started process beside a daemon with device executors) calls this at
// its start, so its opens pay only the executor's admit and the first run.
// koffi is not part of it: the first copies cross with pwrite and pread, and
// the device session loads it after the first answer, or at an open whose
// outputs are views (device-session.ts).

let loading: Promise<void> | undefined;

/**
 * Imports the device client (device-open.ts, the device session, the shared-memory transport). Resolves once done;
 * never rejects: a process that cannot load it gets the clear error from its device open instead.
 */
export function preloadDeviceClient(): Promise<void> {
  loading ??= import('./device-open.js').then(
    () => {},
    () => {},
  );
  return loading;
}
