import { Job } from 'kubernetes-models/batch/v1';
import { describe, expect, it } from 'vitest';
import { AttemptRefused } from '../src/executors/executor.js';
import { isImageAllowed, type JobBounds, quantityValue, TEMPLATE_ONLY } from '../src/executors/kubernetes/bounds.js';
import { serviceAccountOfToken } from '../src/executors/kubernetes/cluster.js';
import {
  buildJobManifest,
  DEFAULT_BASE_JOB_TEMPLATE,
  JobManifestError,
  type KubeObject,
  type ManifestInput,
  relaySecretName,
  workerTemplate,
} from '../src/executors/kubernetes/manifest.js';
import { DEFAULT_FLOW_SECURITY_CONTEXT, podTemplateProblems } from '../src/executors/kubernetes/pod-policy.js';

/*
 * The worker's bounds on what a deployment's job variables (which come from the control plane) may
 * add to a run's Job, and the pod policy every Job is checked against whatever its template says.
 */

const RUN_ID = '3f2a9c1e-7b44-4d0a-9e5f-0c1d2e3f4a5b';

type Template = KubeObject & {
  metadata: Record<string, unknown>;
  spec: {
    activeDeadlineSeconds?: number;
    template: { metadata?: Record<string, unknown>; spec: Record<string, unknown> & { containers: Record<string, unknown>[] } };
  };
};

/** A customer's template: their registry's runner image, a service account, a node pool, a GPU taint. */
function customerTemplate(): Template {
  return {
    apiVersion: 'batch/v1',
    kind: 'Job',
    metadata: { namespace: 'runs' },
    spec: {
      activeDeadlineSeconds: 3600,
      template: {
        metadata: { labels: { team: 'ml' }, annotations: { 'cost-center': 'ml-42' } },
        spec: {
          serviceAccountName: 'flows',
          nodeSelector: { pool: 'gpu' },
          tolerations: [{ key: 'nvidia.com/gpu', operator: 'Exists', effect: 'NoSchedule' }],
          containers: [
            {
              name: 'flow',
              image: 'registry.internal/outpost/runner:0.1.0',
              resources: { limits: { memory: '8Gi', 'nvidia.com/gpu': '2' } },
            },
          ],
        },
      },
    },
  };
}

function input(jobVariables: Record<string, unknown>, extra: Partial<ManifestInput> = {}): ManifestInput {
  return {
    runId: RUN_ID,
    attempt: 1,
    pool: 'gpu',
    worker: 'gpu-worker-0',
    namespace: 'outpost',
    template: customerTemplate(),
    jobVariables,
    command: ['outpost-pod-runner'],
    relayAddress: '10.0.0.7:7420',
    relaySecret: relaySecretName(RUN_ID, 1),
    ...extra,
  };
}

function bounds(extra: Partial<JobBounds>): JobBounds {
  return { ...TEMPLATE_ONLY, ...extra };
}

type Built = {
  metadata: { namespace: string; labels: Record<string, string>; annotations?: Record<string, string> };
  spec: {
    activeDeadlineSeconds?: number;
    template: {
      metadata: { labels: Record<string, string>; annotations?: Record<string, string> };
      spec: {
        serviceAccountName?: string;
        nodeSelector?: Record<string, string>;
        tolerations?: unknown[];
        containers: { name: string; image: string; securityContext?: unknown; resources?: unknown; env: { name: string }[] }[];
        initContainers?: unknown[];
        hostPID?: boolean;
        volumes?: unknown[];
      };
    };
  };
};

function build(jobVariables: Record<string, unknown>, extra: Partial<ManifestInput> = {}): Built {
  const manifest = buildJobManifest(input(jobVariables, extra));
  new Job(manifest as ConstructorParameters<typeof Job>[0]).validate();
  return manifest as unknown as Built;
}

/** The message a refused build throws; fails the test when it builds. */
function refusal(jobVariables: Record<string, unknown>, extra: Partial<ManifestInput> = {}): string {
  try {
    buildJobManifest(input(jobVariables, extra));
  } catch (error) {
    expect(error).toBeInstanceOf(JobManifestError);
    return (error as Error).message;
  }
  throw new Error(`built a Job for ${JSON.stringify(jobVariables)}`);
}

describe("a Kubernetes worker's bounds on job variables", () => {
  it('fails the run as a configuration error, not a crash: the refusal is an AttemptRefused', () => {
    expect(new JobManifestError('x')).toBeInstanceOf(AttemptRefused);
  });

  it("runs the template's image, and another only under an --allow-image prefix matched at a path boundary", () => {
    expect(build({ image: 'registry.internal/outpost/runner:0.1.0' }).spec.template.spec.containers[0]!.image).toBe(
      'registry.internal/outpost/runner:0.1.0',
    );
    const message = refusal({ image: 'docker.io/attacker/miner:latest' });
    expect(message).toContain('job variable image ("docker.io/attacker/miner:latest")');
    expect(message).toContain('--allow-image (OUTPOST_WORKER_ALLOW_IMAGES)');
    const allowed = { bounds: bounds({ images: ['registry.internal/acme'] }) };
    for (const image of [
      'registry.internal/acme/train:2',
      'registry.internal/acme:1',
      `registry.internal/acme@sha256:${'a'.repeat(64)}`,
    ])
      expect(build({ image }, allowed).spec.template.spec.containers[0]!.image).toBe(image);
    expect(refusal({ image: 'registry.internal/acme-evil/train:2' }, allowed)).toContain('--allow-image');
    expect(refusal({ image: 'registry.internal/acmeevil:2' }, allowed)).toContain('--allow-image');
  });

  it('matches image prefixes the way --allow-source matches sources, and admits nothing without one', () => {
    expect(isImageAllowed('reg/acme/x:1', [])).toBe(false);
    expect(isImageAllowed('reg/acme/x:1', ['reg/acme/'])).toBe(true);
    expect(isImageAllowed('reg/acme-evil/x:1', ['reg/acme'])).toBe(false);
    expect(isImageAllowed('reg/acme', ['reg/acme'])).toBe(true);
    expect(isImageAllowed('reg:5000/acme/x', ['reg'])).toBe(true);
    expect(isImageAllowed('reg.evil.example/acme/x', ['reg'])).toBe(false);
  });

  it("sends Jobs to the worker's or the template's namespace, and another only when --allow-namespace lists it", () => {
    expect(build({}).metadata.namespace).toBe('runs');
    expect(build({ namespace: 'outpost' }).metadata.namespace).toBe('outpost');
    expect(refusal({ namespace: 'kube-system' })).toContain('job variable namespace ("kube-system")');
    expect(refusal({ namespace: 'kube-system' })).toContain('--allow-namespace (OUTPOST_WORKER_ALLOW_NAMESPACES)');
    expect(build({ namespace: 'ml-team' }, { bounds: bounds({ namespaces: ['ml-team'] }) }).metadata.namespace).toBe('ml-team');
  });

  it("runs the template's service account, another only when --allow-service-account lists it, and never the worker's own", () => {
    expect(build({ serviceAccountName: 'flows' }).spec.template.spec.serviceAccountName).toBe('flows');
    const message = refusal({ serviceAccountName: 'cluster-admin-sa' });
    expect(message).toContain('job variable serviceAccountName ("cluster-admin-sa")');
    expect(message).toContain('--allow-service-account (OUTPOST_WORKER_ALLOW_SERVICE_ACCOUNTS)');
    const listed = { bounds: bounds({ serviceAccounts: ['trainer', 'outpost-gpu'] }) };
    expect(build({ serviceAccountName: 'trainer' }, listed).spec.template.spec.serviceAccountName).toBe('trainer');
    // The worker's own account, listed by mistake: its Role could create Jobs outside every bound here.
    const own = { ...listed, ownServiceAccount: { namespace: 'runs', name: 'outpost-gpu' } };
    expect(refusal({ serviceAccountName: 'outpost-gpu' }, own)).toContain("which is the worker's own");
    // The same name in another namespace is another account.
    expect(
      build(
        { serviceAccountName: 'outpost-gpu', namespace: 'ml' },
        { ...own, bounds: bounds({ serviceAccounts: ['outpost-gpu'], namespaces: ['ml'] }) },
      ).metadata.namespace,
    ).toBe('ml');
    // A template without one runs as the namespace's default: refused when that is the worker.
    const template = customerTemplate();
    delete template.spec.template.spec.serviceAccountName;
    expect(refusal({}, { template, ownServiceAccount: { namespace: 'runs', name: 'default' } })).toContain("worker's own");
  });

  it('reads a Kubernetes Secret through envFromSecrets only when --allow-secret lists it', () => {
    const message = refusal({ envFromSecrets: { TOKEN: 'outpost-other-run-1-relay/token' } });
    expect(message).toContain('job variable envFromSecrets.TOKEN');
    expect(message).toContain('--allow-secret (OUTPOST_WORKER_ALLOW_SECRETS)');
    const built = build(
      { envFromSecrets: { TOKEN: { name: 'warehouse', key: 'token' } } },
      { bounds: bounds({ secrets: ['warehouse'] }) },
    );
    expect(built.spec.template.spec.containers[0]!.env.map((e) => e.name)).toContain('TOKEN');
  });

  it("tolerates the template's taints, others only by a key --allow-toleration lists, and never every taint", () => {
    const gpu = { key: 'nvidia.com/gpu', operator: 'Exists', effect: 'NoSchedule' };
    expect(build({ tolerations: [gpu] }).spec.template.spec.tolerations).toContainEqual(gpu);
    const master = { key: 'node-role.kubernetes.io/control-plane', operator: 'Exists', effect: 'NoSchedule' };
    expect(refusal({ tolerations: [master] })).toContain('--allow-toleration (OUTPOST_WORKER_ALLOW_TOLERATIONS)');
    const spot = { key: 'cloud.example/spot', operator: 'Exists' };
    expect(
      build({ tolerations: [spot] }, { bounds: bounds({ tolerations: ['cloud.example/spot'] }) }).spec.template.spec.tolerations,
    ).toContainEqual(spot);
    expect(
      refusal({ tolerations: [{ operator: 'Exists' }] }, { bounds: bounds({ tolerations: ['cloud.example/spot'] }) }),
    ).toContain('names the key of the taint');
  });

  it("carries the template's labels and annotations, and others only when --allow-pod-label or --allow-pod-annotation lists their key or prefix", () => {
    expect(build({ labels: { team: 'ml' } }).spec.template.metadata.labels.team).toBe('ml');
    // A label can put the run's pod behind another workload's Service.
    expect(refusal({ labels: { app: 'payments' } })).toContain('--allow-pod-label (OUTPOST_WORKER_ALLOW_POD_LABELS)');
    expect(refusal({ labels: { team: 'payments' } })).toContain('job variable labels.team');
    // kube2iam reads a pod annotation to hand the pod a cloud role.
    expect(refusal({ annotations: { 'iam.amazonaws.com/role': 'admin' } })).toContain(
      '--allow-pod-annotation (OUTPOST_WORKER_ALLOW_POD_ANNOTATIONS)',
    );
    const listed = { bounds: bounds({ podLabels: ['app.kubernetes.io/'], podAnnotations: ['cost-center'] }) };
    const built = build({ labels: { 'app.kubernetes.io/part-of': 'training' }, annotations: { 'cost-center': 'ml-7' } }, listed);
    expect(built.metadata.labels['app.kubernetes.io/part-of']).toBe('training');
    expect(built.spec.template.metadata.annotations?.['cost-center']).toBe('ml-7');
  });

  it("lets node selectors narrow the template's placement, never change it", () => {
    expect(build({ nodeSelector: { zone: 'eu-1a' } }).spec.template.spec.nodeSelector).toEqual({ pool: 'gpu', zone: 'eu-1a' });
    expect(refusal({ nodeSelector: { pool: 'system' } })).toContain('job variable nodeSelector.pool ("system")');
  });

  it("keeps activeDeadlineSeconds within the template's", () => {
    expect(build({ activeDeadlineSeconds: 600 }).spec.activeDeadlineSeconds).toBe(600);
    expect(refusal({ activeDeadlineSeconds: 86_400 })).toContain("the base job template's activeDeadlineSeconds (3600)");
  });

  it("keeps requests and limits, the run's hardware request included, within the template's limits", () => {
    build({ resources: { limits: { memory: '4Gi' }, requests: { memory: '4096Mi', cpu: 8 } } });
    expect(refusal({ resources: { limits: { memory: '64Gi' } } })).toContain('job variable resources.limits.memory ("64Gi")');
    expect(refusal({}, { resources: { gpus: 4 } })).toContain('resources.limits.nvidia.com/gpu');
    expect(refusal({}, { resources: { memoryGb: 16 } })).toContain('resources.requests.memory');
    build({}, { resources: { gpus: 2, memoryGb: 8 } });
  });

  it('reads Kubernetes quantities in every suffix', () => {
    expect(quantityValue('500m')).toBe(0.5);
    expect(quantityValue('2Gi')).toBe(2 * 2 ** 30);
    expect(quantityValue('1e3')).toBe(1000);
    expect(quantityValue('1.5G')).toBe(1.5e9);
    expect(quantityValue(3)).toBe(3);
    expect(quantityValue('lots')).toBeNull();
  });

  it('names the ServiceAccount of a ServiceAccount token, and of no other token', () => {
    const jwt = (claims: object) => ['e30', Buffer.from(JSON.stringify(claims)).toString('base64url'), 'sig'].join('.');
    expect(serviceAccountOfToken(jwt({ sub: 'system:serviceaccount:ml:outpost-gpu' }))).toEqual({
      namespace: 'ml',
      name: 'outpost-gpu',
    });
    expect(serviceAccountOfToken(jwt({ sub: 'alice@example.com' }))).toBeNull();
    expect(serviceAccountOfToken('not-a-jwt')).toBeNull();
    expect(serviceAccountOfToken(undefined)).toBeNull();
  });
});

describe('the pod policy of every Job', () => {
  /** The template with one change to its pod, as a customer might mis-write it. */
  function withPod(change: (pod: Template['spec']['template']) => void): Template {
    const template = customerTemplate();
    change(template.spec.template);
    return template;
  }

  const REFUSED: [string, Template, string][] = [
    ['hostPID', withPod((p) => Object.assign(p.spec, { hostPID: true })), 'spec.template.spec.hostPID'],
    ['hostIPC', withPod((p) => Object.assign(p.spec, { hostIPC: true })), 'spec.template.spec.hostIPC'],
    ['hostNetwork', withPod((p) => Object.assign(p.spec, { hostNetwork: true })), 'spec.template.spec.hostNetwork'],
    [
      'a privileged container',
      withPod((p) => Object.assign(p.spec.containers[0]!, { securityContext: { privileged: true } })),
      'spec.template.spec.containers[0].securityContext.privileged',
    ],
    [
      'a privileged init container',
      withPod((p) =>
        Object.assign(p.spec, { initContainers: [{ name: 'setup', image: 'busybox', securityContext: { privileged: true } }] }),
      ),
      'spec.template.spec.initContainers[0].securityContext.privileged',
    ],
    [
      'allowPrivilegeEscalation: true',
      withPod((p) => Object.assign(p.spec.containers[0]!, { securityContext: { allowPrivilegeEscalation: true } })),
      'securityContext.allowPrivilegeEscalation',
    ],
    [
      'an added capability',
      withPod((p) => Object.assign(p.spec.containers[0]!, { securityContext: { capabilities: { add: ['SYS_ADMIN'] } } })),
      'securityContext.capabilities.add',
    ],
    [
      'a hostPath volume',
      withPod((p) => Object.assign(p.spec, { volumes: [{ name: 'root', hostPath: { path: '/' } }] })),
      'spec.template.spec.volumes[0].hostPath',
    ],
    [
      'a host port',
      withPod((p) => Object.assign(p.spec.containers[0]!, { ports: [{ containerPort: 80, hostPort: 80 }] })),
      'ports[0].hostPort',
    ],
    [
      'seccomp turned off',
      withPod((p) => Object.assign(p.spec, { securityContext: { seccompProfile: { type: 'Unconfined' } } })),
      'spec.template.spec.securityContext.seccompProfile.type',
    ],
    [
      'AppArmor turned off',
      withPod((p) =>
        Object.assign(p.metadata!, { annotations: { 'container.apparmor.security.beta.kubernetes.io/flow': 'unconfined' } }),
      ),
      'container.apparmor.security.beta.kubernetes.io/flow',
    ],
  ];

  for (const [what, template, path] of REFUSED) {
    it(`refuses a Job whose template asks for ${what}, naming the field`, () => {
      expect(
        podTemplateProblems(template.spec.template)
          .map((p) => p.path)
          .join(' '),
      ).toContain(path);
      expect(refusal({}, { template })).toContain(path);
    });
  }

  it('finds nothing to refuse in the default template or a plain customer template', () => {
    expect(podTemplateProblems((DEFAULT_BASE_JOB_TEMPLATE as Template).spec.template)).toEqual([]);
    expect(podTemplateProblems(customerTemplate().spec.template)).toEqual([]);
  });

  it("never adds a container: every job variable at once leaves the template's containers, init containers and volumes as they were", () => {
    const template = withPod((p) => {
      p.spec.containers.push({ name: 'proxy', image: 'registry.internal/proxy:1' });
      Object.assign(p.spec, {
        initContainers: [{ name: 'setup', image: 'registry.internal/setup:1' }],
        volumes: [{ name: 'scratch', emptyDir: {} }],
      });
    });
    const everything = {
      image: 'registry.internal/acme/train:2',
      namespace: 'ml-team',
      serviceAccountName: 'trainer',
      envFromSecrets: { TOKEN: 'warehouse/token' },
      env: { MODE: 'train' },
      nodeSelector: { zone: 'eu-1a' },
      tolerations: [{ key: 'cloud.example/spot', operator: 'Exists' }],
      resources: { limits: { memory: '4Gi' } },
      labels: { 'app.kubernetes.io/part-of': 'training' },
      annotations: { 'cost-center': 'ml-7' },
      activeDeadlineSeconds: 60,
      // Not job variables: ignored, never merged into the pod.
      containers: [{ name: 'evil', image: 'evil' }],
      initContainers: [{ name: 'evil', image: 'evil' }],
      volumes: [{ name: 'root', hostPath: { path: '/' } }],
      hostPID: true,
    };
    const built = build(everything, {
      template,
      bounds: {
        images: ['registry.internal/acme/'],
        namespaces: ['ml-team'],
        serviceAccounts: ['trainer'],
        secrets: ['warehouse'],
        tolerations: ['cloud.example/spot'],
        podLabels: ['app.kubernetes.io/'],
        podAnnotations: ['cost-center'],
      },
    });
    const pod = built.spec.template.spec;
    expect(pod.containers.map((c) => c.name)).toEqual(['flow', 'proxy']);
    expect(pod.initContainers).toEqual([{ name: 'setup', image: 'registry.internal/setup:1' }]);
    expect(pod.volumes).toEqual([{ name: 'scratch', emptyDir: {} }]);
    expect(pod.hostPID).toBeUndefined();
  });

  it('gives the flow container no privileges when the template says nothing of them, and keeps what the template says', () => {
    const built = build({}, { template: workerTemplate(null) });
    expect(built.spec.template.spec.containers[0]!.securityContext).toEqual(DEFAULT_FLOW_SECURITY_CONTEXT);
    const own = { runAsUser: 2000, runAsNonRoot: true, allowPrivilegeEscalation: false, readOnlyRootFilesystem: true };
    const template = withPod((p) => Object.assign(p.spec.containers[0]!, { securityContext: own }));
    expect(build({}, { template }).spec.template.spec.containers[0]!.securityContext).toEqual(own);
  });

  it("builds from the worker's template only: the default one when the worker has none", () => {
    expect(workerTemplate(null)).toBe(DEFAULT_BASE_JOB_TEMPLATE);
    const own = customerTemplate();
    expect(workerTemplate(own)).toBe(own);
  });
});
