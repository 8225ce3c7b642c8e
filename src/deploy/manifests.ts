// The Kubernetes objects that run tensorshare on a cluster, built from typed
// models (kubernetes-models, generated from the official OpenAPI schemas) so
// that a wrong field fails at build time and again at validation. The
// committed Kustomize base under deploy/kubernetes is rendered from here
// (`npm run gen:deploy`); a test fails when the two differ.
//
// Shape of a node: one daemon per node (DaemonSet) owns the node's store on
// the node's own tmpfs (/dev/shm) and its Unix socket; gateway pods (the
// KServe ServingRuntime) on that node mount both, so every instance on the
// node maps the same weights. The extender gives kube-scheduler the
// tensor-similarity score; a second scheduler profile uses it.
import { Namespace, Service, ServiceAccount, ConfigMap } from 'kubernetes-models/v1';
import type { IContainer, IPodSecurityContext, ISecurityContext, IVolume, IVolumeMount } from 'kubernetes-models/v1';
import { DaemonSet, Deployment } from 'kubernetes-models/apps/v1';
import { ClusterRole, ClusterRoleBinding, RoleBinding } from 'kubernetes-models/rbac.authorization.k8s.io/v1';
import {
  ValidatingAdmissionPolicy,
  ValidatingAdmissionPolicyBinding,
} from 'kubernetes-models/admissionregistration.k8s.io/v1';
import { ScaledObject } from '@kubernetes-models/keda/keda.sh/v1alpha1';
import type { KubeObject } from './validate.js';

export interface DeployOptions {
  readonly namespace: string;
  /** tensorshare's image (Dockerfile at the repository root); Kustomize's `images:` rewrites it. */
  readonly image: string;
  /** kube-scheduler's image for the second scheduler profile; the same minor version as the cluster. */
  readonly schedulerImage: string;
  /** The store's memory budget on each node; tmpfs pages count against the daemon's memory limit. */
  readonly storeBudget: string;
  readonly daemonMemoryLimit: string;
  /** How peers, the agents and the extender authenticate: the shared cluster token, or mutual TLS (overlays/mtls). */
  readonly peerAuth: 'token' | 'mtls';
  /** The inventory annotation on each Node is updated at most this often (`--publish-inventory`). */
  readonly publishEvery: string;
}

export const DEFAULT_OPTIONS: DeployOptions = {
  namespace: 'tensorshare',
  image: 'tensorshare:0.1.0',
  schedulerImage: 'registry.k8s.io/kube-scheduler:v1.37.2',
  storeBudget: '8GiB',
  daemonMemoryLimit: '9Gi',
  peerAuth: 'token',
  publishEvery: '10s',
};

/** Paths on every node: the store on the node's tmpfs, the socket, the durable repository. */
export const NODE_PATHS = {
  store: '/dev/shm/tensorshare',
  socketDir: '/run/tensorshare',
  repository: '/var/lib/tensorshare',
} as const;

/** The non-root user every tensorshare container runs as (the Dockerfile creates it). */
export const RUN_AS = 10001;

export const ANNOTATIONS = {
  /** On a pod: the model it serves, by the name it was imported under; the extender scores nodes by it. */
  model: 'tensorshare.dev/model',
  /** On a Node: the agent's bounded inventory (src/cluster/publish.ts), read by the extender. */
  inventory: 'tensorshare.dev/inventory',
} as const;

export const PORTS = { agent: 7070, extender: 8888, http: 8080, grpc: 9000 } as const;

/** The Secret (created by the operator, never committed) holding the cluster token agents and extender share. */
export const CLUSTER_TOKEN = {
  secret: 'tensorshare-cluster-token',
  key: 'token',
  dir: '/var/run/secrets/tensorshare',
} as const;
const tokenFile = `${CLUSTER_TOKEN.dir}/${CLUSTER_TOKEN.key}`;
const tokenVolume: IVolume = {
  name: 'cluster-token',
  secret: { secretName: CLUSTER_TOKEN.secret, defaultMode: 0o440 },
};
const tokenMount: IVolumeMount = { name: 'cluster-token', mountPath: CLUSTER_TOKEN.dir, readOnly: true };

/**
 * mutual TLS instead of the token (overlays/mtls): a kubernetes.io/tls Secret
 * with the cluster CA beside the certificate (cert-manager's layout), made by
 * the operator, never committed. Every agent and the extender present it.
 */
export const AGENT_TLS = {
  secret: 'tensorshare-agent-tls',
  dir: '/var/run/secrets/tensorshare-tls',
} as const;
const tlsVolume: IVolume = { name: 'agent-tls', secret: { secretName: AGENT_TLS.secret, defaultMode: 0o440 } };
const tlsMount: IVolumeMount = { name: 'agent-tls', mountPath: AGENT_TLS.dir, readOnly: true };
const tlsFiles = { cert: `${AGENT_TLS.dir}/tls.crt`, key: `${AGENT_TLS.dir}/tls.key`, ca: `${AGENT_TLS.dir}/ca.crt` };
/** The peer credential's flags, volume and mount. */
function peerAuth(o: DeployOptions, prefix: '--agent-tls' | '--tls') {
  if (o.peerAuth === 'token')
    return {
      args: [`--cluster-token-file=${tokenFile}`],
      volume: tokenVolume,
      mount: tokenMount,
      scheme: 'HTTP' as const,
    };
  return {
    args: [`${prefix}-cert=${tlsFiles.cert}`, `${prefix}-key=${tlsFiles.key}`, `${prefix}-ca=${tlsFiles.ca}`],
    volume: tlsVolume,
    mount: tlsMount,
    scheme: 'HTTPS' as const,
  };
}

/** Every agent, by the headless Service's DNS name (one address per agent pod). */
const agentsByDns = (o: DeployOptions) => `tensorshare-agent.${o.namespace}.svc:${PORTS.agent}`;

const SCHEDULER_NAME = 'tensorshare-scheduler';
const labels = (component: string) => ({
  'app.kubernetes.io/name': 'tensorshare',
  'app.kubernetes.io/component': component,
});

const restricted: ISecurityContext = {
  allowPrivilegeEscalation: false,
  readOnlyRootFilesystem: true,
  runAsNonRoot: true,
  runAsUser: RUN_AS,
  runAsGroup: RUN_AS,
  capabilities: { drop: ['ALL'] },
};
// fsGroup: mounted Secrets are readable by the containers' group, no one else.
const podSecurity: IPodSecurityContext = { seccompProfile: { type: 'RuntimeDefault' }, fsGroup: RUN_AS };

/** The node's store and socket folder, as hostPath volumes (both live on the node, shared by its pods). */
function nodeVolumes(): IVolume[] {
  return [
    { name: 'store', hostPath: { path: NODE_PATHS.store, type: 'DirectoryOrCreate' } },
    { name: 'socket', hostPath: { path: NODE_PATHS.socketDir, type: 'DirectoryOrCreate' } },
  ];
}
const nodeMounts = (): IVolumeMount[] => [
  { name: 'store', mountPath: NODE_PATHS.store },
  { name: 'socket', mountPath: NODE_PATHS.socketDir },
];
// The root filesystem is read-only: /tmp is the one writable place, and HOME points there.
const tmp = { volume: { name: 'tmp', emptyDir: {} } as IVolume, mount: { name: 'tmp', mountPath: '/tmp' } };
const homeInTmp = { name: 'HOME', value: '/tmp' };

/** The daemon's arguments on a node (the image's entrypoint is `tensorshare`). */
export function agentArgs(o: DeployOptions): string[] {
  return [
    'daemon',
    `--store=${NODE_PATHS.store}`,
    `--socket=${NODE_PATHS.socketDir}/daemon.sock`,
    `--repository=${NODE_PATHS.repository}`,
    `--budget=${o.storeBudget}`,
    `--socket-group=${RUN_AS}`,
    `--agent-listen=0.0.0.0:${PORTS.agent}`,
    ...peerAuth(o, '--agent-tls').args,
    '--node-name=$(NODE_NAME)',
    `--peers=${agentsByDns(o)}`,
    // In-cluster API server and service account token: the only API call is a PATCH of this node.
    `--publish-inventory=${o.publishEvery}`,
  ];
}

/** The gateway's arguments inside a KServe predictor pod: the model repository KServe fetched to /mnt/models. */
export function gatewayArgs(): string[] {
  return [
    'serve',
    '--model-repository=/mnt/models',
    '--host=0.0.0.0',
    `--http-port=${PORTS.http}`,
    `--grpc-port=${PORTS.grpc}`,
    `--socket=${NODE_PATHS.socketDir}/daemon.sock`,
    '--no-bundled',
  ];
}

export function extenderArgs(o: DeployOptions): string[] {
  return ['extender', `--listen=0.0.0.0:${PORTS.extender}`, `--agents=${agentsByDns(o)}`, ...peerAuth(o, '--tls').args];
}

export function agentDaemonSet(o: DeployOptions): DaemonSet {
  const auth = peerAuth(o, '--agent-tls');
  // kubelet probes over HTTPS without a client certificate: /healthz is the one path that needs none.
  const probe = { path: '/healthz', port: 'agent', scheme: auth.scheme };
  const container: IContainer = {
    name: 'agent',
    image: o.image,
    args: agentArgs(o),
    env: [homeInTmp, { name: 'NODE_NAME', valueFrom: { fieldRef: { fieldPath: 'spec.nodeName' } } }],
    ports: [{ name: 'agent', containerPort: PORTS.agent, protocol: 'TCP' }],
    volumeMounts: [...nodeMounts(), { name: 'repository', mountPath: NODE_PATHS.repository }, tmp.mount, auth.mount],
    readinessProbe: { httpGet: probe, periodSeconds: 10 },
    livenessProbe: { httpGet: probe, initialDelaySeconds: 10, periodSeconds: 20 },
    resources: { requests: { cpu: '100m', memory: '512Mi' }, limits: { memory: o.daemonMemoryLimit } },
    securityContext: restricted,
  };
  return new DaemonSet({
    metadata: { name: 'tensorshare-agent', namespace: o.namespace, labels: labels('agent') },
    spec: {
      selector: { matchLabels: labels('agent') },
      updateStrategy: { type: 'RollingUpdate', rollingUpdate: { maxUnavailable: 1 } },
      template: {
        metadata: { labels: labels('agent') },
        spec: {
          serviceAccountName: 'tensorshare-agent',
          // For the inventory annotation: RBAC lets this account patch Nodes, the admission policy only its own.
          automountServiceAccountToken: true,
          securityContext: podSecurity,
          // hostPath folders are created root-owned; this gives them to the daemon's user and nothing else.
          initContainers: [
            {
              name: 'own-node-folders',
              image: o.image,
              command: ['chown', `${RUN_AS}:${RUN_AS}`, NODE_PATHS.store, NODE_PATHS.socketDir, NODE_PATHS.repository],
              volumeMounts: [...nodeMounts(), { name: 'repository', mountPath: NODE_PATHS.repository }],
              securityContext: {
                allowPrivilegeEscalation: false,
                readOnlyRootFilesystem: true,
                runAsUser: 0,
                runAsNonRoot: false,
                capabilities: { drop: ['ALL'], add: ['CHOWN'] },
              },
            },
          ],
          containers: [container],
          volumes: [
            ...nodeVolumes(),
            { name: 'repository', hostPath: { path: NODE_PATHS.repository, type: 'DirectoryOrCreate' } },
            tmp.volume,
            auth.volume,
          ],
        },
      },
    },
  });
}

function serviceAccount(o: DeployOptions, name: string): ServiceAccount {
  return new ServiceAccount({
    metadata: { name, namespace: o.namespace, labels: labels(name.replace(/^tensorshare-/, '')) },
    automountServiceAccountToken: name === 'tensorshare-scheduler' || name === 'tensorshare-agent',
  });
}

export function extenderDeployment(o: DeployOptions): Deployment {
  const auth = peerAuth(o, '--tls');
  return new Deployment({
    metadata: { name: 'tensorshare-extender', namespace: o.namespace, labels: labels('extender') },
    spec: {
      replicas: 1,
      selector: { matchLabels: labels('extender') },
      template: {
        metadata: { labels: labels('extender') },
        spec: {
          serviceAccountName: 'tensorshare-extender',
          automountServiceAccountToken: false,
          securityContext: podSecurity,
          containers: [
            {
              name: 'extender',
              image: o.image,
              args: extenderArgs(o),
              env: [homeInTmp],
              ports: [{ name: 'http', containerPort: PORTS.extender, protocol: 'TCP' }],
              readinessProbe: { httpGet: { path: '/healthz', port: 'http' }, periodSeconds: 10 },
              volumeMounts: [tmp.mount, auth.mount],
              resources: { requests: { cpu: '50m', memory: '128Mi' }, limits: { memory: '512Mi' } },
              securityContext: restricted,
            },
          ],
          volumes: [tmp.volume, auth.volume],
        },
      },
    },
  });
}

const AGENT_USER = (o: DeployOptions) => `system:serviceaccount:${o.namespace}:tensorshare-agent`;

/**
 * What the agent may do with the API: patch Nodes (RBAC cannot name "the
 * node this pod runs on"), narrowed by a ValidatingAdmissionPolicy to its own
 * Node (the node name Kubernetes puts into a pod-bound service account
 * token, userInfo.extra authentication.kubernetes.io/node-name, Kubernetes
 * 1.32+) and to the inventory annotation alone: no spec, label or other
 * annotation may change.
 */
export function agentApiAccess(o: DeployOptions): KubeObject[] {
  const name = 'tensorshare-agent-node-inventory';
  const nodeName = "request.userInfo.extra[?'authentication.kubernetes.io/node-name'].orValue([''])[0]";
  return [
    new ClusterRole({
      metadata: { name, labels: labels('agent') },
      rules: [{ apiGroups: [''], resources: ['nodes'], verbs: ['patch'] }],
    }),
    new ClusterRoleBinding({
      metadata: { name, labels: labels('agent') },
      roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind: 'ClusterRole', name },
      subjects: [{ kind: 'ServiceAccount', name: 'tensorshare-agent', namespace: o.namespace }],
    }),
    new ValidatingAdmissionPolicy({
      metadata: { name, labels: labels('agent') },
      spec: {
        failurePolicy: 'Fail',
        matchConstraints: {
          resourceRules: [{ apiGroups: [''], apiVersions: ['v1'], operations: ['UPDATE'], resources: ['nodes'] }],
        },
        matchConditions: [
          { name: 'is-tensorshare-agent', expression: `request.userInfo.username == '${AGENT_USER(o)}'` },
        ],
        variables: [
          { name: 'newAnn', expression: 'object.metadata.?annotations.orValue({})' },
          { name: 'oldAnn', expression: 'oldObject.metadata.?annotations.orValue({})' },
        ],
        validations: [
          {
            expression: `${nodeName} == object.metadata.name`,
            message: 'the tensorshare agent may change only the Node its pod runs on',
          },
          {
            expression:
              'object.spec == oldObject.spec && object.metadata.?labels.orValue({}) == oldObject.metadata.?labels.orValue({})',
            message: "the tensorshare agent may not change a Node's spec or labels",
          },
          {
            expression: `variables.newAnn.all(k, k == '${ANNOTATIONS.inventory}' || (k in variables.oldAnn && variables.oldAnn[k] == variables.newAnn[k])) && variables.oldAnn.all(k, k == '${ANNOTATIONS.inventory}' || k in variables.newAnn)`,
            message: `the tensorshare agent may change only the ${ANNOTATIONS.inventory} annotation`,
          },
        ],
      },
    }),
    new ValidatingAdmissionPolicyBinding({
      metadata: { name, labels: labels('agent') },
      spec: { policyName: name, validationActions: ['Deny'] },
    }),
  ];
}

/** Headless: its DNS name resolves to every agent pod, which is how peers and the extender find them. */
function agentService(o: DeployOptions): Service {
  return new Service({
    metadata: { name: 'tensorshare-agent', namespace: o.namespace, labels: labels('agent') },
    spec: {
      clusterIP: 'None',
      selector: labels('agent'),
      ports: [{ name: 'agent', port: PORTS.agent, targetPort: 'agent', protocol: 'TCP' }],
    },
  });
}

function extenderService(o: DeployOptions): Service {
  return new Service({
    metadata: { name: 'tensorshare-extender', namespace: o.namespace, labels: labels('extender') },
    spec: {
      selector: labels('extender'),
      ports: [{ name: 'http', port: PORTS.extender, targetPort: 'http', protocol: 'TCP' }],
    },
  });
}

/**
 * kube-scheduler's configuration for the `tensorshare-scheduler` profile: the
 * default plugins plus the extender's filter (memory budget) and prioritize
 * (bytes of the pod's model already on the node). kube-scheduler decodes it
 * strictly, so the control-plane test is its validation.
 */
export function schedulerConfiguration(o: DeployOptions, extenderUrl?: string): Record<string, unknown> {
  return {
    apiVersion: 'kubescheduler.config.k8s.io/v1',
    kind: 'KubeSchedulerConfiguration',
    leaderElection: { leaderElect: false },
    profiles: [{ schedulerName: SCHEDULER_NAME }],
    extenders: [
      {
        urlPrefix: extenderUrl ?? `http://tensorshare-extender.${o.namespace}.svc:${PORTS.extender}/scheduler`,
        filterVerb: 'filter',
        prioritizeVerb: 'prioritize',
        weight: 5,
        enableHTTPS: false,
        httpTimeout: '2s',
        nodeCacheCapable: false,
        // A pod still schedules (by the default plugins alone) while the extender is down.
        ignorable: true,
      },
    ],
  };
}

function schedulerObjects(o: DeployOptions, configYaml: string): KubeObject[] {
  const config = new ConfigMap({
    metadata: { name: 'tensorshare-scheduler-config', namespace: o.namespace, labels: labels('scheduler') },
    data: { 'config.yaml': configYaml },
  });
  const deployment = new Deployment({
    metadata: { name: SCHEDULER_NAME, namespace: o.namespace, labels: labels('scheduler') },
    spec: {
      replicas: 1,
      selector: { matchLabels: labels('scheduler') },
      template: {
        metadata: { labels: labels('scheduler') },
        spec: {
          serviceAccountName: SCHEDULER_NAME,
          securityContext: podSecurity,
          containers: [
            {
              name: 'kube-scheduler',
              image: o.schedulerImage,
              command: ['kube-scheduler', '--config=/etc/tensorshare-scheduler/config.yaml', '--v=2'],
              volumeMounts: [{ name: 'config', mountPath: '/etc/tensorshare-scheduler', readOnly: true }],
              livenessProbe: { httpGet: { path: '/healthz', port: 10259, scheme: 'HTTPS' }, initialDelaySeconds: 15 },
              resources: { requests: { cpu: '100m', memory: '128Mi' }, limits: { memory: '512Mi' } },
              securityContext: restricted,
            },
          ],
          volumes: [{ name: 'config', configMap: { name: 'tensorshare-scheduler-config' } }],
        },
      },
    },
  });
  // The built-in roles a second scheduler needs (Kubernetes' "Configure Multiple Schedulers").
  const subject = [{ kind: 'ServiceAccount', name: SCHEDULER_NAME, namespace: o.namespace }];
  const bind = (name: string, role: string) =>
    new ClusterRoleBinding({
      metadata: { name, labels: labels('scheduler') },
      roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind: 'ClusterRole', name: role },
      subjects: subject,
    });
  return [
    config,
    deployment,
    bind('tensorshare-scheduler-as-kube-scheduler', 'system:kube-scheduler'),
    bind('tensorshare-scheduler-as-volume-scheduler', 'system:volume-scheduler'),
    new RoleBinding({
      metadata: { name: 'tensorshare-scheduler-auth-reader', namespace: 'kube-system', labels: labels('scheduler') },
      roleRef: {
        apiGroup: 'rbac.authorization.k8s.io',
        kind: 'Role',
        name: 'extension-apiserver-authentication-reader',
      },
      subjects: subject,
    }),
  ];
}

/** tensorshare as a KServe runtime for the Open Inference Protocol (v2 over HTTP and gRPC). */
export function servingRuntime(o: DeployOptions): KubeObject {
  return {
    apiVersion: 'serving.kserve.io/v1alpha1',
    kind: 'ServingRuntime',
    metadata: { name: 'tensorshare', namespace: o.namespace, labels: labels('gateway') },
    spec: {
      annotations: { 'prometheus.kserve.io/port': String(PORTS.http), 'prometheus.kserve.io/path': '/metrics' },
      supportedModelFormats: [
        { name: 'onnx', version: '1', autoSelect: true, priority: 2 },
        { name: 'triton', version: '2', autoSelect: false },
      ],
      protocolVersions: ['v2', 'grpc-v2'],
      containers: [
        {
          name: 'kserve-container',
          image: o.image,
          args: gatewayArgs(),
          env: [homeInTmp, { name: 'TENSORSHARE_STORE', value: NODE_PATHS.store }],
          ports: [{ containerPort: PORTS.http, protocol: 'TCP' }],
          volumeMounts: [...nodeMounts(), tmp.mount],
          resources: { requests: { cpu: '1', memory: '1Gi' }, limits: { memory: '4Gi' } },
          securityContext: restricted,
        },
      ],
      volumes: [...nodeVolumes(), tmp.volume],
    },
  };
}

/** An InferenceService that names tensorshare as its runtime and the extender's scheduler. */
export function exampleInferenceService(o: DeployOptions): KubeObject {
  return {
    apiVersion: 'serving.kserve.io/v1beta1',
    kind: 'InferenceService',
    metadata: {
      name: 'ppocr-rec',
      namespace: o.namespace,
      annotations: { [ANNOTATIONS.model]: 'ppocr-rec', 'serving.kserve.io/deploymentMode': 'RawDeployment' },
    },
    spec: {
      predictor: {
        schedulerName: SCHEDULER_NAME,
        model: {
          modelFormat: { name: 'onnx' },
          runtime: 'tensorshare',
          // A Triton-layout repository: ppocr-rec/config.pbtxt and ppocr-rec/1/model.onnx.
          storageUri: 'pvc://models/triton',
        },
      },
    },
  };
}

/** KEDA scales the predictor on requests per second from tensorshare's own counter. */
function exampleScaledObject(o: DeployOptions): ScaledObject {
  return new ScaledObject({
    metadata: { name: 'ppocr-rec', namespace: o.namespace },
    spec: {
      scaleTargetRef: { name: 'ppocr-rec-predictor' },
      minReplicaCount: 1,
      maxReplicaCount: 8,
      triggers: [
        {
          type: 'prometheus',
          metadata: {
            serverAddress: 'http://prometheus-server.monitoring.svc',
            query: 'sum(rate(tensorshare_requests_total{function="ppocr-rec"}[1m]))',
            threshold: '20',
          },
        },
      ],
    },
  });
}

export interface ManifestFile {
  /** Relative to deploy/kubernetes. */
  readonly path: string;
  readonly objects: readonly KubeObject[];
}

/** Every file of the Kustomize base and the examples, in order. */
export function manifestFiles(o: DeployOptions, schedulerConfigYaml: string): ManifestFile[] {
  return [
    {
      path: 'base/namespace.yaml',
      objects: [new Namespace({ metadata: { name: o.namespace, labels: labels('namespace') } })],
    },
    {
      path: 'base/agent.yaml',
      objects: [serviceAccount(o, 'tensorshare-agent'), agentDaemonSet(o), agentService(o), ...agentApiAccess(o)],
    },
    {
      path: 'base/extender.yaml',
      objects: [serviceAccount(o, 'tensorshare-extender'), extenderDeployment(o), extenderService(o)],
    },
    {
      path: 'base/scheduler.yaml',
      objects: [serviceAccount(o, SCHEDULER_NAME), ...schedulerObjects(o, schedulerConfigYaml)],
    },
    { path: 'base/serving-runtime.yaml', objects: [servingRuntime(o)] },
    { path: 'examples/inference-service.yaml', objects: [exampleInferenceService(o)] },
    { path: 'examples/keda-scaled-object.yaml', objects: [exampleScaledObject(o)] },
  ];
}

/** One JSON patch (RFC 6902) operation, as Kustomize's `patches` take them. */
export interface PatchOp {
  op: 'replace';
  path: string;
  value: unknown;
}

/**
 * The mtls overlay: JSON patches that turn the base's agent DaemonSet and
 * extender Deployment into their `peerAuth: 'mtls'` forms, whole lists
 * replaced (args, mounts, volumes, probes), so the result is exactly the
 * typed, validated object.
 */
export function mtlsPatches(o: DeployOptions): { kind: string; name: string; ops: PatchOp[] }[] {
  const m = { ...o, peerAuth: 'mtls' as const };
  const ds = plainOf(agentDaemonSet(m));
  const ext = plainOf(extenderDeployment(m));
  const c = '/spec/template/spec/containers/0';
  const ops = (obj: Record<string, unknown>, paths: string[]): PatchOp[] =>
    paths.map((p) => ({ op: 'replace', path: p, value: pointer(obj, p) }));
  return [
    {
      kind: 'DaemonSet',
      name: 'tensorshare-agent',
      ops: ops(ds, [
        `${c}/args`,
        `${c}/volumeMounts`,
        `${c}/readinessProbe`,
        `${c}/livenessProbe`,
        '/spec/template/spec/volumes',
      ]),
    },
    {
      kind: 'Deployment',
      name: 'tensorshare-extender',
      ops: ops(ext, [`${c}/args`, `${c}/volumeMounts`, '/spec/template/spec/volumes']),
    },
  ];
}

const plainOf = (obj: { toJSON(): unknown }) => JSON.parse(JSON.stringify(obj)) as Record<string, unknown>;

/** The value at a JSON pointer (no escapes: the paths above have none). */
export function pointer(obj: unknown, p: string): unknown {
  let cur = obj;
  for (const k of p.split('/').slice(1)) cur = (cur as Record<string, unknown>)[k];
  return cur;
}
