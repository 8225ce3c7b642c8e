// Loading the device client ahead: an open that asks for a GPU
// (`executionProviders: ['cuda']`) imports the device client when it is
// first needed, so that CPU processes never load it (koffi and the
// shared-memory transport: 12-28 ms and about 3 MiB of private memory,
// docs/benchmarks.md). A process that knows it will open on a GPU (an
// instance of a `device: gpu | gpu:N | auto` function, a pre-started
// process beside a daemon with device executors) calls this at its start,
// so its opens pay only the executor's admit and the first run.

let loading: Promise<void> | undefined;

/**
 * Imports the device client (device-open.ts, the device session, the shared-memory transport and koffi) and binds
 * the libc calls its segments are mapped with. Resolves once done; never rejects: a process that cannot load it
 * (no glibc, koffi missing) gets the clear error from its device open instead.
 */
export function preloadDeviceClient(): Promise<void> {
  loading ??= Promise.all([import('./device-open.js'), import('../device/mapping.js')]).then(
    ([, mapping]) => {
      try {
        mapping.bindMappings();
      } catch {
        // mapFile reports it, with its code, when a segment is mapped.
      }
    },
    () => {},
  );
  return loading;
}
