// fetchFromPeers against real HTTP peers in this process (node:http servers
// on loopback, real staging files in a tmpfs store): a good peer, one that
// sends wrong bytes, one that stalls, one that breaks the connection off
// half-way, one that lacks the tensor. Whatever happens, a tensor lands only
// with its right bytes, and what no peer delivered is reported as left.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { createHash, randomBytes } from 'node:crypto';
import fs from 'node:fs/promises';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import path from 'node:path';
import { layout, tensorPath } from '../store/layout.js';
import { checkTensors, stagingLeft } from '../testing/cluster.js';
import { tempRoots, type TempRoots } from '../testing/tmp.js';
import { createAgentClient } from './agent-client.js';
import { fetchFromPeers, type PeerSource } from './peer-fetch.js';
import { clusterToken } from './token.js';

type Mode = 'good' | 'corrupt' | 'stall' | 'break' | 'missing';

const token = clusterToken('peer-fetch-test-token-0123');
const blobs = Array.from({ length: 6 }, (_, i) => randomBytes(64 * 1024 + i * 4096));
const tensors = blobs.map((b) => ({ sha256: createHash('sha256').update(b).digest('hex'), bytes: b.length }));
const byHash = new Map(tensors.map((t, i) => [t.sha256, blobs[i]!]));

describe('fetchFromPeers over real HTTP', () => {
  let roots: TempRoots;
  const servers: http.Server[] = [];
  const requests: Record<string, number> = {};
  const peers = new Map<Mode, PeerSource>();

  async function peer(mode: Mode): Promise<PeerSource> {
    const server = http.createServer((req, res) => {
      requests[mode] = (requests[mode] ?? 0) + 1;
      if (!token.accepts(req.headers.authorization)) {
        res.statusCode = 401;
        return res.end('{}');
      }
      const hash = /\/v1\/tensors\/([0-9a-f]{64})/.exec(req.url ?? '')?.[1] ?? '';
      const blob = byHash.get(hash);
      if (!blob || mode === 'missing') {
        res.statusCode = 404;
        return res.end('{"message":"tensor not held here"}');
      }
      res.setHeader('content-length', String(blob.length));
      if (mode === 'good') return res.end(blob);
      if (mode === 'corrupt') return res.end(Buffer.from(blob).fill(7, 100, 200));
      if (mode === 'stall') return res.flushHeaders();
      res.write(blob.subarray(0, blob.length >> 1), () => res.socket?.destroy());
    });
    servers.push(server);
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    const client = createAgentClient(`127.0.0.1:${(server.address() as AddressInfo).port}`, { token });
    return { name: mode, holds: () => true, open: (h, signal) => client.tensor(h, 'default', signal) };
  }

  const run = (store: string, ps: PeerSource[], parallel = 2) =>
    fetchFromPeers({
      store: layout(store),
      tensors,
      peers: ps,
      parallel,
      idleTimeoutMs: 300,
      minBytesPerSecond: 1024 * 1024,
    });

  before(async () => {
    roots = await tempRoots('ts-peerfetch');
    for (const m of ['good', 'corrupt', 'stall', 'break', 'missing'] as const) peers.set(m, await peer(m));
  });
  after(async () => {
    for (const s of servers) {
      s.closeAllConnections();
      s.close();
    }
    await roots?.cleanup();
  });

  async function assertLanded(store: string, hashes: string[]) {
    const files = await checkTensors(store);
    assert.deepEqual(
      files.filter((f) => !f.ok),
      [],
    );
    assert.deepEqual(files.map((f) => f.hash).sort(), [...hashes].sort());
    assert.deepEqual(await stagingLeft(store), []);
    for (const h of hashes) assert.equal((await fs.stat(tensorPath(layout(store), h))).mode & 0o777, 0o444);
  }

  test('one good peer delivers every tensor, verified, read-only, nothing left in staging', async () => {
    const store = path.join(roots.store, 'good');
    const r = await run(store, [peers.get('good')!]);
    assert.equal(r.fetched.length, tensors.length);
    assert.deepEqual(r.left, []);
    assert.equal(
      r.bytesFromPeers,
      tensors.reduce((a, t) => a + t.bytes, 0),
    );
    await assertLanded(
      store,
      tensors.map((t) => t.sha256),
    );
  });

  for (const bad of ['corrupt', 'stall', 'break'] as const) {
    test(`a ${bad} peer is dropped after one failure and every tensor comes from the good one`, async () => {
      const store = path.join(roots.store, bad);
      const r = await run(store, [peers.get(bad)!, peers.get('good')!], 1);
      assert.equal(r.fetched.length, tensors.length);
      assert.ok(r.fetched.every((f) => f.peer === 'good'));
      assert.equal(r.failures.length, 1, JSON.stringify(r.failures));
      assert.equal(
        r.failures[0]!.code,
        { corrupt: 'ERR_CORRUPT_TENSOR', stall: 'ERR_TIMEOUT', break: 'ERR_UNAVAILABLE' }[bad],
      );
      await assertLanded(
        store,
        tensors.map((t) => t.sha256),
      );
    });
  }

  test('a peer that lacks a tensor is kept for others; with no peer left the tensors are reported for the repository', async () => {
    const store = path.join(roots.store, 'left');
    const r = await run(store, [peers.get('missing')!, peers.get('corrupt')!], 1);
    assert.equal(r.fetched.length, 0);
    assert.deepEqual(r.left.map((t) => t.sha256).sort(), tensors.map((t) => t.sha256).sort());
    // `missing` answers 404 for each tensor (kept), `corrupt` is dropped after its first.
    assert.equal(r.failures.filter((f) => f.peer === 'missing').length, tensors.length);
    assert.equal(r.failures.filter((f) => f.peer === 'corrupt').length, 1);
    await assertLanded(store, []);
  });

  test('a peer whose announced length differs from the manifest is refused before any byte is written', async () => {
    const store = path.join(roots.store, 'length');
    const good = peers.get('good')!;
    const liar: PeerSource = {
      name: 'liar',
      holds: () => true,
      open: async (h, signal) => ({ ...(await good.open(h, signal)), length: 1 }),
    };
    const r = await run(store, [liar], 1);
    assert.equal(r.fetched.length, 0);
    assert.match(r.failures[0]!.message, /announced 1 bytes/);
    await assertLanded(store, []);
  });
});
