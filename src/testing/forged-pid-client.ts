// A client process that lies about its pid: it reports another, live
// process's pid in its Attach hello (as a client trying to keep its leases
// alive after it dies would), opens a lease and waits to be killed.
// Spawned by src/daemon/peer-credentials.test.ts.
import { DaemonClient } from '../client/daemon-client.js';

const { socket, model, forgedPid } = JSON.parse(process.argv[2] ?? '{}') as {
  socket: string;
  model: string;
  forgedPid: number;
};
const realPid = process.pid;
// DaemonClient reports process.pid in its hello.
Object.defineProperty(process, 'pid', { value: forgedPid, configurable: true });
const client = new DaemonClient({ socket, name: 'forger', env: {} });
const lease = await client.open(model);
process.stdout.write(`${JSON.stringify({ event: 'ready', realPid, leaseId: lease.leaseId })}\n`);
setInterval(() => {}, 60_000);
