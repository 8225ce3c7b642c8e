import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync, spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import YAML from 'yaml';
import { packageRoot } from '../paths.js';
import { testEnv } from '../testing/env.js';
import {
  DEFAULT_OPTIONS,
  agentApiAccess,
  agentArgs,
  agentDaemonSet,
  extenderArgs,
  extenderDeployment,
  gatewayArgs,
  manifestFiles,
  mtlsPatches,
  pointer,
  servingRuntime,
} from './manifests.js';
import { DEPLOY_DIR, renderManifests, staleManifests } from './render.js';
import { type KubeObject, validateObject } from './validate.js';

const CLI = path.join(packageRoot, 'bin', 'tensorshare.js');

test('the committed manifests are what src/deploy renders, and every object passes its schema', () => {
  // renderManifests validates each object (kubernetes-models' schemas, KServe's vendored CRD schemas) first.
  assert.deepEqual(staleManifests(), [], 'deploy/kubernetes is stale: run `npm run gen:deploy`');
  const kinds = [...renderManifests().values()].flatMap((text) =>
    YAML.parseAllDocuments(text).map((d) => (d.toJS() as { kind: string }).kind),
  );
  for (const kind of ['DaemonSet', 'ServingRuntime', 'InferenceService', 'ScaledObject', 'ClusterRoleBinding'])
    assert.ok(kinds.includes(kind), `no ${kind} among ${kinds.join(', ')}`);
});

test('a CRD object with an unknown field or a wrong type is refused, naming the field', () => {
  const typo = servingRuntime(DEFAULT_OPTIONS) as { spec: { containers: Record<string, unknown>[] } } & KubeObject;
  typo.spec.containers[0]!.imagePullPolicyy = 'Always';
  assert.throws(() => validateObject(typo), /ServingRuntime tensorshare: \/spec\/containers\/0 .*\(imagePullPolicyy\)/);
  const wrong = servingRuntime(DEFAULT_OPTIONS) as { spec: Record<string, unknown> } & KubeObject;
  wrong.spec.protocolVersions = 'v2';
  assert.throws(() => validateObject(wrong), /\/spec\/protocolVersions must be array/);
});

test('a built-in object with a wrong type is refused', () => {
  const [, agent] = manifestFiles(DEFAULT_OPTIONS, '').find((f) => f.path === 'base/agent.yaml')!.objects;
  const daemonSet = agent as unknown as { spec: { template: { spec: { containers: { ports: unknown[] }[] } } } };
  daemonSet.spec.template.spec.containers[0]!.ports = [{ containerPort: 'seventy' }];
  assert.throws(() => validateObject(agent!), /DaemonSet tensorshare-agent: .*containerPort/);
});

test('every flag the manifests pass exists in the command it is passed to', () => {
  const mtls = { ...DEFAULT_OPTIONS, peerAuth: 'mtls' as const };
  for (const [command, args] of [
    ['daemon', agentArgs(DEFAULT_OPTIONS)],
    ['daemon', agentArgs(mtls)],
    ['serve', gatewayArgs()],
    ['extender', extenderArgs(DEFAULT_OPTIONS)],
    ['extender', extenderArgs(mtls)],
  ] as const) {
    assert.equal(args[0], command);
    const help = execFileSync(process.execPath, [CLI, command, '--help'], { env: testEnv(), encoding: 'utf8' });
    for (const flag of args.slice(1).map((a) => a.split('=')[0]!))
      assert.ok(help.includes(`${flag} `) || help.includes(`${flag}\n`), `\`tensorshare ${command}\` has no ${flag}`);
  }
});

test('the kustomization lists every base file, and kubectl renders the base', (t) => {
  const kustomization = YAML.parse(fs.readFileSync(path.join(DEPLOY_DIR, 'base', 'kustomization.yaml'), 'utf8')) as {
    resources: string[];
  };
  const files = fs.readdirSync(path.join(DEPLOY_DIR, 'base')).filter((f) => f !== 'kustomization.yaml');
  assert.deepEqual([...kustomization.resources].sort(), files.sort());
  const kubectl = spawnSync('kubectl', ['kustomize', path.join(DEPLOY_DIR, 'base')], {
    env: testEnv(),
    encoding: 'utf8',
  });
  if (kubectl.error) return t.skip(`kubectl is not installed (${kubectl.error.message})`);
  assert.equal(kubectl.status, 0, kubectl.stderr);
  const rendered = YAML.parseAllDocuments(kubectl.stdout).map((d) => d.toJS() as { kind: string });
  const objects = files.flatMap((f) =>
    YAML.parseAllDocuments(fs.readFileSync(path.join(DEPLOY_DIR, 'base', f), 'utf8')),
  );
  assert.equal(rendered.length, objects.length);
});

test('the Dockerfile copies only what exists, pins its base image and runs as the manifests user', () => {
  const lines = fs.readFileSync(path.join(packageRoot, 'Dockerfile'), 'utf8').split('\n');
  const froms = lines.filter((l) => l.startsWith('FROM '));
  assert.ok(froms.length >= 2, 'a build stage and a runtime stage');
  for (const f of froms) assert.match(f, /^FROM node:\d+\.\d+\.\d+-bookworm-slim/, `not pinned: ${f}`);
  for (const l of lines.filter((x) => x.startsWith('COPY ') && !x.includes('--from='))) {
    const sources = l.split(/\s+/).slice(1, -1);
    for (const s of sources) assert.ok(fs.existsSync(path.join(packageRoot, s)), `${l}: ${s} does not exist`);
  }
  assert.ok(lines.includes('USER 10001:10001'), 'the runtime stage runs as 10001:10001, the manifests user');
  const entry = lines.find((l) => l.startsWith('ENTRYPOINT '))!;
  assert.match(entry, /"\/app\/bin\/tensorshare\.js"/);
});

test('the mtls overlay turns the base into the typed mutual-TLS objects: certificates from a Secret, no token', (t) => {
  const mtls = { ...DEFAULT_OPTIONS, peerAuth: 'mtls' as const };
  const json = (o: { toJSON(): unknown }) => JSON.parse(JSON.stringify(o)) as Record<string, unknown>;
  const targets = { DaemonSet: agentDaemonSet, Deployment: extenderDeployment };
  for (const p of mtlsPatches(DEFAULT_OPTIONS)) {
    // Apply the patch to the base object, as Kustomize does: the result is the validated mtls object.
    const patched = json(targets[p.kind as keyof typeof targets](DEFAULT_OPTIONS));
    for (const op of p.ops) {
      const parts = op.path.split('/');
      const key = parts.pop()!;
      (pointer(patched, parts.join('/')) as Record<string, unknown>)[key] = op.value;
    }
    const want = targets[p.kind as keyof typeof targets](mtls);
    validateObject(want);
    assert.deepEqual(patched, json(want));
    const text = JSON.stringify(patched);
    assert.ok(!text.includes('cluster-token'), `${p.kind}: the token is gone`);
    assert.ok(text.includes('"secretName":"tensorshare-agent-tls"'), `${p.kind}: the TLS Secret is mounted`);
  }
  const kubectl = spawnSync('kubectl', ['kustomize', path.join(DEPLOY_DIR, 'overlays', 'mtls')], {
    env: testEnv(),
    encoding: 'utf8',
  });
  if (kubectl.error) return t.skip(`kubectl is not installed (${kubectl.error.message})`);
  assert.equal(kubectl.status, 0, kubectl.stderr);
  const ds = YAML.parseAllDocuments(kubectl.stdout)
    .map((d) => d.toJS() as { kind: string })
    .find((o) => o.kind === 'DaemonSet');
  assert.deepEqual(ds, json(agentDaemonSet(mtls)));
});

test("the agent's API rights: patch Nodes only, narrowed by an admission policy to its own Node's inventory annotation", () => {
  const [role, binding, policy, policyBinding] = agentApiAccess(DEFAULT_OPTIONS).map(
    (o) => JSON.parse(JSON.stringify(o)) as Record<string, any>,
  );
  assert.deepEqual(role!.rules, [{ apiGroups: [''], resources: ['nodes'], verbs: ['patch'] }]);
  assert.deepEqual(binding!.subjects, [
    { kind: 'ServiceAccount', name: 'tensorshare-agent', namespace: 'tensorshare' },
  ]);
  assert.equal(policyBinding!.spec.policyName, policy!.metadata.name);
  assert.deepEqual(policyBinding!.spec.validationActions, ['Deny']);
  const rules = policy!.spec.validations.map((v: { expression: string }) => v.expression).join('\n');
  assert.match(rules, /authentication\.kubernetes\.io\/node-name/);
  assert.match(rules, /tensorshare\.dev\/inventory/);
  for (const o of agentApiAccess(DEFAULT_OPTIONS)) validateObject(o);
});
