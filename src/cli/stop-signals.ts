// SIGTERM and SIGINT end a long-running command (daemon, serve, top, extender)
// through its own stop, once. The listeners stay registered (`on`, not
// `once`): proper-lockfile's signal-exit re-raises a signal when its own
// listener is the only one left, and a `once` listener removes itself before
// it runs, so a process that loaded the lock library after registering (it is
// loaded on first use) died at the signal before its stop could run: the
// daemon left its store claim and an unclosed trace.
export function onStopSignals(stop: (signal: NodeJS.Signals) => void): void {
  let stopping = false;
  const once = (signal: NodeJS.Signals) => {
    if (stopping) return;
    stopping = true;
    stop(signal);
  };
  process.on('SIGTERM', once);
  process.on('SIGINT', once);
}
