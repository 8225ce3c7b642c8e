// The process's daemon client for a socket and token, created on first use.
// Apart from open.ts so that a process opening only on an executor (the
// device path) never loads the client's gRPC modules.
import { createTracer } from '../trace.js';
import { DaemonClient, type DaemonClientOptions } from './daemon-client.js';
import { clientSettings } from './settings.js';

// The process's connections, one per (socket, token): a daemon ties leases to
// a client's Attach stream, and one stream per process is the design.
const shared = new Map<string, DaemonClient>();

export function sharedClient(options: DaemonClientOptions = {}): DaemonClient {
  const s = clientSettings(options, options.env);
  const key = `${s.socket}\0${s.token ?? ''}`;
  let c = shared.get(key);
  if (!c) {
    c = new DaemonClient({
      ...options,
      trace: options.trace ?? createTracer(s.profile, `tensorshare client ${process.argv[1] ?? ''}`),
    });
    shared.set(key, c);
  }
  return c;
}
