// Opt-in (K8S_CONTROL_PLANE=1): a real Kubernetes control plane on this
// machine, built from Kubernetes' sources by scripts/k8s-control-plane/build.sh
// (K8S_BIN: its folder): etcd, kube-apiserver with RBAC, and kube-scheduler
// running the generated KubeSchedulerConfiguration as the generated RBAC's
// service account. Nodes are Node objects (no kubelet: pods are scheduled,
// never run). The test applies the Kustomize base with strict server-side
// field validation, shows the agent's service account (a token bound to a
// pod on its node) publishing its inventory and refused anything else, then
// kube-scheduler choosing nodes through the extender.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { type ChildProcess, execFile, spawn } from 'node:child_process';
import crypto from 'node:crypto';
import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import zlib from 'node:zlib';
import YAML from 'yaml';
import { DaemonClient } from '../client/daemon-client.js';
import { createKubeApi } from '../cluster/kube-api.js';
import { packageRoot } from '../paths.js';
import { importModel } from '../store/import.js';
import { type ClusterNode, startNode, writeTokenFile } from '../testing/cluster.js';
import { killAll } from '../testing/daemon.js';
import { testEnv } from '../testing/env.js';
import { writeChain } from '../testing/models.js';
import { tempRoots } from '../testing/tmp.js';
import { until } from '../testing/until.js';
import { ANNOTATIONS, DEFAULT_OPTIONS, schedulerConfiguration } from './manifests.js';
import { DEPLOY_DIR } from './render.js';

const run = promisify(execFile);
const enabled = process.env.K8S_CONTROL_PLANE === '1';
const K8S_BIN = process.env.K8S_BIN ?? path.join(os.homedir(), '.cache', 'tensorshare', 'kubernetes-v1.37.2');
const NS = DEFAULT_OPTIONS.namespace;
const CLI = path.join(packageRoot, 'bin', 'tensorshare.js');

async function freePort(): Promise<number> {
  const srv = net.createServer();
  await new Promise<void>((r) => srv.listen(0, '127.0.0.1', r));
  const { port } = srv.address() as net.AddressInfo;
  await new Promise((r) => srv.close(r));
  return port;
}

interface ControlPlane {
  dir: string;
  /** The API server, https on loopback; its self-signed certificate is in `${dir}/certs/apiserver.crt`. */
  url: string;
  kubectl(args: string[], input?: string): Promise<string>;
  procs: ChildProcess[];
  stop(): Promise<void>;
}

function start(cmd: string, args: string[], log: string, procs: ChildProcess[]): ChildProcess {
  const out = fs.openSync(log, 'a');
  const p = spawn(cmd, args, { env: testEnv(), stdio: ['ignore', out, out] });
  procs.push(p);
  return p;
}

async function startControlPlane(): Promise<ControlPlane> {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'ts-k8s-'));
  const procs: ChildProcess[] = [];
  const [etcdClient, etcdPeer, apiPort] = [await freePort(), await freePort(), await freePort()];
  start(
    'etcd',
    [
      `--data-dir=${dir}/etcd`,
      `--listen-client-urls=http://127.0.0.1:${etcdClient}`,
      `--advertise-client-urls=http://127.0.0.1:${etcdClient}`,
      `--listen-peer-urls=http://127.0.0.1:${etcdPeer}`,
      `--initial-advertise-peer-urls=http://127.0.0.1:${etcdPeer}`,
      `--initial-cluster=default=http://127.0.0.1:${etcdPeer}`,
    ],
    `${dir}/etcd.log`,
    procs,
  );
  const { privateKey, publicKey } = crypto.generateKeyPairSync('rsa', { modulusLength: 2048 });
  fs.writeFileSync(`${dir}/sa.key`, privateKey.export({ type: 'pkcs8', format: 'pem' }));
  fs.writeFileSync(`${dir}/sa.pub`, publicKey.export({ type: 'spki', format: 'pem' }));
  const adminToken = crypto.randomBytes(16).toString('hex');
  const schedulerToken = crypto.randomBytes(16).toString('hex');
  // The scheduler authenticates as the manifests' service account, so only the generated RBAC lets it work.
  const schedulerUser = `system:serviceaccount:${NS}:tensorshare-scheduler`;
  fs.writeFileSync(
    `${dir}/tokens.csv`,
    `${adminToken},admin,admin,"system:masters"\n${schedulerToken},${schedulerUser},sched,"system:serviceaccounts,system:serviceaccounts:${NS}"\n`,
  );
  start(
    path.join(K8S_BIN, 'kube-apiserver'),
    [
      `--etcd-servers=http://127.0.0.1:${etcdClient}`,
      '--bind-address=127.0.0.1',
      '--advertise-address=127.0.0.1',
      `--secure-port=${apiPort}`,
      `--cert-dir=${dir}/certs`,
      `--token-auth-file=${dir}/tokens.csv`,
      '--authorization-mode=RBAC',
      '--service-account-issuer=https://kubernetes.default.svc',
      `--service-account-key-file=${dir}/sa.pub`,
      `--service-account-signing-key-file=${dir}/sa.key`,
      '--service-cluster-ip-range=10.96.0.0/16',
      '--endpoint-reconciler-type=none',
    ],
    `${dir}/apiserver.log`,
    procs,
  );
  const kubeconfig = (user: string, token: string) =>
    YAML.stringify({
      apiVersion: 'v1',
      kind: 'Config',
      clusters: [
        { name: 'local', cluster: { server: `https://127.0.0.1:${apiPort}`, 'insecure-skip-tls-verify': true } },
      ],
      users: [{ name: user, user: { token } }],
      contexts: [{ name: 'local', context: { cluster: 'local', user } }],
      'current-context': 'local',
    });
  fs.writeFileSync(`${dir}/admin.kubeconfig`, kubeconfig('admin', adminToken));
  fs.writeFileSync(`${dir}/scheduler.kubeconfig`, kubeconfig('scheduler', schedulerToken));
  const kubectl = async (args: string[], input?: string) => {
    const child = run('kubectl', [`--kubeconfig=${dir}/admin.kubeconfig`, ...args], {
      env: testEnv(),
      maxBuffer: 64 << 20,
    });
    if (input !== undefined) {
      child.child.stdin!.end(input);
    }
    return (await child).stdout;
  };
  const stop = async () => {
    // The API server drains for a while on SIGTERM; the test owns this control plane and needs no drain.
    for (const p of procs.reverse()) p.kill('SIGKILL');
    await Promise.all(
      procs.map((p) =>
        p.exitCode === null && p.signalCode === null ? new Promise((r) => p.once('exit', r)) : undefined,
      ),
    );
    // K8S_KEEP_LOGS=1 keeps the folder (the control plane's logs) for a look after a failure.
    if (process.env.K8S_KEEP_LOGS !== '1') fs.rmSync(dir, { recursive: true, force: true });
  };
  await until(
    () =>
      kubectl(['get', '--raw=/readyz']).then(
        (s) => s.trim() === 'ok',
        () => false,
      ),
    120_000,
    `kube-apiserver ready (log: ${dir}/apiserver.log)`,
    500,
  );
  return { dir, url: `https://127.0.0.1:${apiPort}`, kubectl, procs, stop };
}

/** The CustomResourceDefinition of a vendored KServe schema (deploy/schemas), enough for the API server to store and validate it. */
function kserveCrd(plural: string, kind: string, version: string): Record<string, unknown> {
  const schema = JSON.parse(
    zlib
      .gunzipSync(
        fs.readFileSync(path.join(packageRoot, 'deploy', 'schemas', `serving.kserve.io_${plural}.${version}.json.gz`)),
      )
      .toString('utf8'),
  ) as Record<string, unknown>;
  return {
    apiVersion: 'apiextensions.k8s.io/v1',
    kind: 'CustomResourceDefinition',
    metadata: { name: `${plural}.serving.kserve.io` },
    spec: {
      group: 'serving.kserve.io',
      names: { kind, plural, singular: kind.toLowerCase(), listKind: `${kind}List` },
      scope: 'Namespaced',
      versions: [{ name: version, served: true, storage: true, schema: { openAPIV3Schema: schema } }],
    },
  };
}

function kubeNode(name: string): Record<string, unknown> {
  return {
    apiVersion: 'v1',
    kind: 'Node',
    metadata: { name, labels: { 'kubernetes.io/hostname': name } },
  };
}

const nodeStatus = (memory: string) =>
  JSON.stringify({
    status: {
      capacity: { cpu: '4', memory, pods: '110' },
      allocatable: { cpu: '4', memory, pods: '110' },
      conditions: [{ type: 'Ready', status: 'True', reason: 'KubeletReady', message: 'fake node' }],
      addresses: [{ type: 'InternalIP', address: '127.0.0.1' }],
    },
  });

test('a real control plane accepts the Kustomize base, lets the agent annotate only its own Node, and kube-scheduler places pods through the extender on the node holding their model', {
  skip: enabled ? false : 'opt-in: K8S_CONTROL_PLANE=1 after scripts/k8s-control-plane/build.sh',
  timeout: 600_000,
}, async () => {
  assert.ok(
    fs.existsSync(path.join(K8S_BIN, 'kube-apiserver')),
    `no kube-apiserver in ${K8S_BIN}: run scripts/k8s-control-plane/build.sh`,
  );
  const cp = await startControlPlane();
  try {
    const crds = [
      kserveCrd('servingruntimes', 'ServingRuntime', 'v1alpha1'),
      kserveCrd('inferenceservices', 'InferenceService', 'v1beta1'),
    ];
    await cp.kubectl(['apply', '--server-side', '-f', '-'], crds.map((c) => JSON.stringify(c)).join('\n'));
    const established = (crd: string) =>
      cp.kubectl(['get', 'crd', crd, '-o', 'jsonpath={.status.conditions[?(@.type=="Established")].status}']).then(
        (s) => s === 'True',
        () => false,
      );
    for (const crd of ['servingruntimes.serving.kserve.io', 'inferenceservices.serving.kserve.io'])
      await until(() => established(crd), 60_000, `CRD ${crd} established`, 250);
    // Strict field validation: an unknown or misplaced field in any object fails the apply.
    const applied = await cp.kubectl([
      'apply',
      '--server-side',
      '--validate=strict',
      '-k',
      path.join(DEPLOY_DIR, 'base'),
    ]);
    for (const obj of [
      'daemonset.apps/tensorshare-agent',
      'servingruntime.serving.kserve.io/tensorshare',
      'configmap/tensorshare-scheduler-config',
    ])
      assert.match(applied, new RegExp(obj.replace(/[./]/g, '\\$&')), applied);
    await cp.kubectl([
      'apply',
      '--server-side',
      '--validate=strict',
      '--dry-run=server',
      '-f',
      path.join(DEPLOY_DIR, 'examples', 'inference-service.yaml'),
    ]);

    // Three nodes, each a real daemon with its agent: node-b holds the model resident, node-c could
    // load it, node-a's store budget cannot take it.
    const roots = await tempRoots('ts-k8s-nodes');
    const nodes: ClusterNode[] = [];
    try {
      const tokenFile = await writeTokenFile(roots.dir);
      const model = await writeChain(path.join(roots.dir, 'src'), 'chain', { width: 192, layers: 8 });
      await importModel(roots.repository, model, { name: 'chain' });
      const node = (name: string, flags: string[] = []) =>
        startNode({
          name,
          repository: roots.repository,
          store: path.join(roots.store, name),
          tokenFile,
          host: '127.0.0.1',
          flags,
        });
      // node-b publishes its inventory as the manifests' agent service account would in a pod: the
      // token (bound to a pod on node-b, so it names the node) lands in its file once that pod is scheduled.
      const agentTokenFile = path.join(roots.dir, 'agent.token');
      const kubeFlags = [
        '--kube-api',
        cp.url,
        '--kube-token-file',
        agentTokenFile,
        '--kube-ca-file',
        `${cp.dir}/certs/apiserver.crt`,
      ];
      nodes.push(
        ...(await Promise.all([
          node('node-a', ['--budget', '4KiB']),
          node('node-b', ['--publish-inventory', '1s', ...kubeFlags]),
          node('node-c'),
        ])),
      );
      const client = new DaemonClient({ env: {}, socket: nodes[1]!.daemon.socket, name: 'control-plane-test' });
      try {
        await client.open('chain');
      } finally {
        await client.disconnect();
      }
      for (const n of nodes) {
        await cp.kubectl(['create', '-f', '-'], JSON.stringify(kubeNode(n.name)));
        await cp.kubectl(['patch', 'node', n.name, '--subresource=status', '--type=merge', '-p', nodeStatus('16Gi')]);
        // The taint new nodes get until a node controller sees them ready (no controller manager runs here).
        await cp.kubectl(['taint', 'node', n.name, 'node.kubernetes.io/not-ready:NoSchedule-']);
      }
      await cp.kubectl(['create', 'serviceaccount', 'default', '-n', NS]);

      // The real extender command, reading the agents' holdings.
      const extenderPort = await freePort();
      const extender = start(
        process.execPath,
        [
          CLI,
          'extender',
          `--listen=127.0.0.1:${extenderPort}`,
          `--agents=${nodes.map((n) => n.agent).join(',')}`,
          `--cluster-token-file=${tokenFile}`,
        ],
        `${cp.dir}/extender.log`,
        cp.procs,
      );
      await until(
        () =>
          fetch(`http://127.0.0.1:${extenderPort}/healthz`).then(
            (r) => r.ok,
            () => false,
          ),
        60_000,
        'extender up',
        200,
      );
      assert.equal(extender.exitCode, null);

      // The generated scheduler configuration, pointed at this machine's API server and extender.
      const config = schedulerConfiguration(DEFAULT_OPTIONS, `http://127.0.0.1:${extenderPort}/scheduler`);
      config.clientConnection = { kubeconfig: `${cp.dir}/scheduler.kubeconfig` };
      fs.writeFileSync(`${cp.dir}/scheduler.yaml`, YAML.stringify(config));
      start(
        path.join(K8S_BIN, 'kube-scheduler'),
        [`--config=${cp.dir}/scheduler.yaml`, '--secure-port=0', '--v=2'],
        `${cp.dir}/scheduler.log`,
        cp.procs,
      );

      const pod = (name: string, annotations: Record<string, string>, spec: Record<string, unknown> = {}) => ({
        apiVersion: 'v1',
        kind: 'Pod',
        metadata: { name, namespace: NS, annotations },
        spec: {
          schedulerName: 'tensorshare-scheduler',
          automountServiceAccountToken: false,
          containers: [{ name: 'c', image: 'x' }],
          ...spec,
        },
      });
      const placed = async (name: string) =>
        until(
          () => cp.kubectl(['get', 'pod', name, '-n', NS, '-o', 'jsonpath={.spec.nodeName}']).then((s) => s.trim()),
          120_000,
          `pod ${name} scheduled (logs in ${cp.dir})`,
          250,
        );
      // Three pods of the model: the default plugins alone would spread them over the three nodes.
      for (const name of ['m1', 'm2', 'm3'])
        await cp.kubectl(['create', '-f', '-'], JSON.stringify(pod(name, { [ANNOTATIONS.model]: 'chain' })));
      for (const name of ['m1', 'm2', 'm3'])
        assert.equal(await placed(name), 'node-b', `${name} goes where its model is resident`);

      // The agent's API rights: RBAC lets its service account patch Nodes, the admission policy only the
      // inventory annotation of the Node its pod runs on (the node name in a pod-bound token).
      // The DaemonSet's pod on node-b (no DaemonSet controller runs here): bound to the node as the controller would.
      await cp.kubectl(
        ['create', '-f', '-'],
        JSON.stringify({
          apiVersion: 'v1',
          kind: 'Pod',
          metadata: { name: 'agent-b', namespace: NS },
          spec: {
            nodeName: 'node-b',
            serviceAccountName: 'tensorshare-agent',
            automountServiceAccountToken: false,
            containers: [{ name: 'agent', image: 'x' }],
          },
        }),
      );
      const bound = await cp.kubectl([
        'create',
        'token',
        'tensorshare-agent',
        '-n',
        NS,
        '--bound-object-kind=Pod',
        '--bound-object-name=agent-b',
        '--duration=10m',
      ]);
      fs.writeFileSync(agentTokenFile, bound.trim(), { mode: 0o600 });
      const inventory = await until(
        () =>
          cp
            .kubectl([
              'get',
              'node',
              'node-b',
              '-o',
              `jsonpath={.metadata.annotations.${ANNOTATIONS.inventory.replace(/\./g, '\\.')}}`,
            ])
            .then((s) => s.trim() || undefined),
        60_000,
        "node-b's agent publishes its inventory annotation",
        250,
      );
      assert.ok(inventory.length > 0);
      const asAgent = createKubeApi({
        url: cp.url,
        tokenFile: agentTokenFile,
        caFile: `${cp.dir}/certs/apiserver.crt`,
      });
      await assert.rejects(
        asAgent.patchNodeAnnotations('node-a', { [ANNOTATIONS.inventory]: '{}' }),
        /may change only the Node its pod runs on/,
      );
      await assert.rejects(
        asAgent.patchNodeAnnotations('node-b', { 'example.com/other': 'x' }),
        /may change only the tensorshare\.dev\/inventory annotation/,
      );

      // A pod without the annotation is left to the default plugins: any node, node-a included.
      await cp.kubectl(['create', '-f', '-'], JSON.stringify(pod('plain', {})));
      assert.ok(['node-a', 'node-b', 'node-c'].includes(await placed('plain')));
      // Held to node-a, the model's pod stays pending: the extender's filter says why, and kube-scheduler reports it.
      await cp.kubectl(
        ['create', '-f', '-'],
        JSON.stringify(
          pod('pinned', { [ANNOTATIONS.model]: 'chain' }, { nodeSelector: { 'kubernetes.io/hostname': 'node-a' } }),
        ),
      );
      const events = await until(
        () =>
          cp
            .kubectl([
              'get',
              'events',
              '-n',
              NS,
              '--field-selector=involvedObject.name=pinned',
              '-o',
              'jsonpath={.items[*].message}',
            ])
            .then((s) => (/store/.test(s) ? s : undefined)),
        120_000,
        'a FailedScheduling event for pod pinned',
        500,
      );
      assert.match(events, /needs .* more in this node's store/);
    } finally {
      await Promise.all(nodes.map((n) => n.stop()));
      killAll();
      await roots.cleanup();
    }
  } finally {
    await cp.stop();
  }
});
