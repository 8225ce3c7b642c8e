// Child script: a peer agent that lies, for the peer-fetch fault tests. It
// answers /v1/summary claiming every tensor it is given, and serves each
// tensor wrongly by `mode`: `corrupt` (right length, wrong bytes), `half`
// (half the bytes, then prints {"event":"half"} and hangs until killed),
// `stall` (headers, then nothing). JSON args in argv[2]; JSON lines on stdout.
import http from 'node:http';
import { digestHashes } from '../cluster/hash-set.js';

interface Args {
  mode: 'corrupt' | 'half' | 'stall';
  node: string;
  host: string;
  tensors: { hash: string; bytes: number }[];
}

const args = JSON.parse(process.argv[2]!) as Args;
const sizes = new Map(args.tensors.map((t) => [t.hash, t.bytes]));
const say = (ev: object) => process.stdout.write(`${JSON.stringify(ev)}\n`);

const server = http.createServer((req, res) => {
  const url = new URL(req.url ?? '/', 'http://x');
  if (url.pathname === '/v1/summary') {
    const digest = digestHashes(sizes.keys());
    const capacity = { budgetBytes: 1 << 30, usedBytes: 0, reclaimableBytes: 0 };
    res.setHeader('content-type', 'application/json');
    res.end(
      JSON.stringify({
        format: 'tensorshare.summary/v1',
        node: args.node,
        capacity,
        freeBytes: 1 << 30,
        residentTensors: sizes.size,
        residentBytes: 0,
        resident: digest,
        repository: digestHashes([]),
        models: [],
        modelsLeftOut: 0,
      }),
    );
    return;
  }
  const m = /^\/v1\/tensors\/([0-9a-f]{64})$/.exec(url.pathname);
  const bytes = m ? sizes.get(m[1]!) : undefined;
  if (bytes === undefined) {
    res.statusCode = 404;
    res.end('{}');
    return;
  }
  say({ event: 'request', hash: m![1] });
  res.setHeader('content-length', String(bytes));
  res.setHeader('content-type', 'application/octet-stream');
  if (args.mode === 'corrupt') {
    res.end(Buffer.alloc(bytes, 0x5a));
  } else if (args.mode === 'half') {
    res.write(Buffer.alloc(Math.floor(bytes / 2), 0x11), () => say({ event: 'half', hash: m![1] }));
  } else {
    res.flushHeaders();
  }
});
server.listen(0, args.host, () => {
  const a = server.address() as { port: number };
  say({ event: 'listening', address: `${args.host}:${a.port}` });
});
