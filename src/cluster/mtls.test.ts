// Mutual TLS instead of the cluster token, with certificates made at test
// time (openssl CLI): two real daemons whose agents speak HTTPS and accept
// only certificates of the cluster CA warm a model up from each other; a
// caller with a certificate of another CA is refused in the handshake, and a
// caller that trusts another CA refuses the agent, each with a clear error.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import path from 'node:path';
import { DaemonClient } from '../client/daemon-client.js';
import { importModel } from '../store/import.js';
import { uniqueTensors, type Manifest } from '../store/manifest.js';
import { haveOpenssl, makeCa, type Leaf } from '../testing/certs.js';
import { checkTensors, startNode, thinCopy, type ClusterNode } from '../testing/cluster.js';
import { killAll } from '../testing/daemon.js';
import { writeChain } from '../testing/models.js';
import { tempRoots, type TempRoots } from '../testing/tmp.js';
import { createAgentClient } from './agent-client.js';
import { readAgentTls } from './tls.js';

after(killAll);

const HOST = '127.0.0.1';
const FLAGS = { cert: '--agent-tls-cert', key: '--agent-tls-key', ca: '--agent-tls-ca' };
const tlsOf = (l: Leaf) => readAgentTls(l, FLAGS)!;
const tlsFlags = (l: Leaf) => ['--agent-tls-cert', l.cert, '--agent-tls-key', l.key, '--agent-tls-ca', l.ca];

describe('mutual TLS between agents', { skip: !(await haveOpenssl()) && 'the openssl CLI is not installed' }, () => {
  let roots: TempRoots;
  let manifest: Manifest;
  let a: ClusterNode;
  let b: ClusterNode;
  let good: Leaf;
  let stranger: Leaf;
  let other: Awaited<ReturnType<typeof makeCa>>;

  before(async () => {
    roots = await tempRoots('ts-mtls');
    const cluster = await makeCa(roots.dir, 'cluster');
    other = await makeCa(roots.dir, 'other');
    const [ca, cb] = [await cluster.leaf('node-a'), await cluster.leaf('node-b')];
    good = await cluster.leaf('extender');
    // Signed by another CA, but trusting the cluster's: only the agent's check can stop it.
    stranger = { ...(await other.leaf('intruder')), ca: cluster.ca };
    const file = await writeChain(path.join(roots.dir, 'src'), 'chain', { width: 96, layers: 4 });
    manifest = (await importModel(roots.repository, file, { name: 'chain' })).manifest;
    const repoB = path.join(roots.dir, 'repo-b');
    await thinCopy(roots.repository, repoB);
    // No cluster token at all: the certificates are the only credential.
    a = await startNode({
      name: 'node-a',
      repository: roots.repository,
      store: path.join(roots.store, 'a'),
      host: HOST,
      flags: tlsFlags(ca),
    });
    b = await startNode({
      name: 'node-b',
      repository: repoB,
      store: path.join(roots.store, 'b'),
      host: HOST,
      peers: [a.agent],
      flags: tlsFlags(cb),
    });
    const c = new DaemonClient({ env: {}, socket: a.daemon.socket, name: 'mtls-test' });
    await c.open('chain');
    await c.disconnect();
  });

  after(async () => {
    for (const n of [a, b]) await n?.stop().catch(() => {});
    await roots?.cleanup();
  });

  test('a node with a certificate of the cluster CA warms up from its peer over HTTPS, no token', async () => {
    const c = new DaemonClient({ env: {}, socket: b.daemon.socket, name: 'mtls-test' });
    try {
      await c.open('chain');
    } finally {
      await c.disconnect();
    }
    const w = b.daemon.logs.find((l) => l.msg === 'warm-up');
    const hashes = uniqueTensors(manifest.tensors).map((t) => t.sha256);
    assert.equal(w?.fromPeers, hashes.length);
    assert.equal(w?.fromRepository, 0);
    const files = await checkTensors(b.store);
    assert.deepEqual(files.map((f) => f.hash).sort(), [...hashes].sort());
    assert.ok(files.every((f) => f.ok));
    const s = await createAgentClient(a.agent, { tls: tlsOf(good) }).summary();
    assert.equal(s.node, 'node-a');
  });

  test('a certificate of another CA is refused, with a clear error', async () => {
    await assert.rejects(
      createAgentClient(a.agent, { tls: tlsOf(stranger) }).summary(),
      (e: Error & { code?: string }) => {
        assert.equal(e.code, 'ERR_UNAUTHENTICATED');
        assert.match(
          e.message,
          /HTTP 401: TLS: this caller's certificate is not signed by the cluster CA this agent trusts \(UNABLE_TO_/,
        );
        return true;
      },
    );
    await a.daemon.waitLog((l) => l.msg === 'agent refused a TLS client');
  });

  test("a caller that trusts another CA refuses the agent's certificate, naming the CA file", async () => {
    const trustsOther = tlsOf({ ...good, ca: other.ca });
    await assert.rejects(createAgentClient(a.agent, { tls: trustsOther }).summary(), (e: Error & { code?: string }) => {
      assert.equal(e.code, 'ERR_UNAUTHENTICATED');
      assert.match(e.message, /not signed by the cluster CA this node trusts \(--agent-tls-ca .*other-ca\.crt\)/);
      return true;
    });
  });

  test('plain HTTP to a TLS agent fails clearly, and half a TLS configuration is refused at start', async () => {
    await assert.rejects(createAgentClient(`http://${a.agent}`, { tls: tlsOf(good) }).summary(), {
      code: 'ERR_UNAVAILABLE',
    });
    assert.throws(() => readAgentTls({ cert: good.cert }, FLAGS), /give --agent-tls-key and --agent-tls-ca too/);
    assert.throws(() => readAgentTls({ ...good, key: stranger.key }, FLAGS), {
      code: 'ERR_INVALID_ARGUMENT',
      message: /--agent-tls-cert .*extender\.crt with --agent-tls-key .*intruder\.key/,
    });
  });
});
