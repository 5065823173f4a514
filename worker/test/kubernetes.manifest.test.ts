import { DEFAULT_RUNNER_IMAGE } from '@outpost/sdk/contracts';
import { Job } from 'kubernetes-models/batch/v1';
import { Secret } from 'kubernetes-models/v1';
import { describe, expect, it } from 'vitest';
import type { JobBounds } from '../src/executors/kubernetes/bounds.js';
import {
  buildJobManifest,
  buildRelaySecret,
  DEFAULT_BASE_JOB_TEMPLATE,
  hasTtl,
  JobManifestError,
  jobName,
  type KubeObject,
  type ManifestInput,
  type RunResources,
  relaySecretName,
} from '../src/executors/kubernetes/manifest.js';

const RUN_ID = '3f2a9c1e-7b44-4d0a-9e5f-0c1d2e3f4a5b';

/** A worker whose `--allow-*` flags admit every documented job variable below (kubernetes.manifest-bounds.test.ts tests the bounds). */
const BOUNDS: JobBounds = {
  images: ['registry.internal/ml/'],
  serviceAccounts: ['flows'],
  secrets: ['warehouse', 'aws-creds'],
  namespaces: ['ml-team'],
  tolerations: ['nvidia.com/gpu'],
  podLabels: ['team', 'app.kubernetes.io/', 'outpost.dev/'],
  podAnnotations: ['cost-center'],
};

function input(jobVariables: Record<string, unknown> = {}, extra: Partial<ManifestInput> = {}): ManifestInput {
  return {
    runId: RUN_ID,
    attempt: 2,
    pool: 'gpu',
    worker: 'gpu-worker-1',
    namespace: 'outpost-runs',
    template: DEFAULT_BASE_JOB_TEMPLATE,
    jobVariables,
    command: ['outpost-pod-runner'],
    relayAddress: '10.0.0.7:7420',
    relaySecret: relaySecretName(RUN_ID, 2),
    bounds: BOUNDS,
    ...extra,
  };
}

type Container = {
  name: string;
  image: string;
  command: string[];
  env: { name: string; value?: string; valueFrom?: unknown }[];
  resources?: { requests?: Record<string, string>; limits?: Record<string, string> };
};
type Built = {
  metadata: { name: string; namespace: string; labels: Record<string, string>; annotations?: Record<string, string> };
  spec: {
    backoffLimit: number;
    ttlSecondsAfterFinished?: number;
    activeDeadlineSeconds?: number;
    template: {
      metadata: { labels: Record<string, string>; annotations?: Record<string, string> };
      spec: {
        restartPolicy: string;
        containers: Container[];
        nodeSelector?: Record<string, string>;
        tolerations?: unknown[];
        serviceAccountName?: string;
      };
    };
  };
};

function build(jobVariables: Record<string, unknown> = {}, extra: Partial<ManifestInput> = {}): Built {
  const manifest = buildJobManifest(input(jobVariables, extra));
  // Every manifest is a valid batch/v1 Job by today's schemas: this throws with the failing field otherwise.
  new Job(manifest as ConstructorParameters<typeof Job>[0]).validate();
  return manifest as unknown as Built;
}

const container = (built: Built): Container => built.spec.template.spec.containers[0]!;
const envOf = (built: Built) => Object.fromEntries(container(built).env.map((e) => [e.name, e.value ?? e.valueFrom]));

/** Every documented job variable, each alone and all together. */
const VARIABLES: Record<string, Record<string, unknown>> = {
  image: { image: 'registry.internal/ml/train:2.1' },
  resources: { resources: { requests: { cpu: '500m', memory: '1Gi' }, limits: { memory: '2Gi', cpu: 2 } } },
  nodeSelector: { nodeSelector: { 'node.kubernetes.io/instance-type': 'g5.xlarge' } },
  tolerations: { tolerations: [{ key: 'nvidia.com/gpu', operator: 'Exists', effect: 'NoSchedule' }] },
  serviceAccountName: { serviceAccountName: 'flows' },
  env: { env: { MODE: 'train', EPOCHS: 3, VERBOSE: true, DB_PASSWORD: { $secret: 'DB_PASSWORD' } } },
  envFromSecrets: { envFromSecrets: { WAREHOUSE_TOKEN: { name: 'warehouse', key: 'token' }, S3_KEY: 'aws-creds/key' } },
  namespace: { namespace: 'ml-team' },
  activeDeadlineSeconds: { activeDeadlineSeconds: 3600 },
  labels: { labels: { team: 'ml', 'app.kubernetes.io/part-of': 'training' } },
  annotations: { annotations: { 'cost-center': 'ml-42' } },
};
const ALL = Object.assign({}, ...Object.values(VARIABLES)) as Record<string, unknown>;
const RUN_RESOURCES: (RunResources | null)[] = [null, { gpus: 2 }, { gpus: 1, gpuMemoryGb: 24, memoryGb: 16, cpus: 4 }];

describe('the Kubernetes Job manifest', () => {
  it('is a valid Job for every documented job variable, alone and together, with and without a hardware request', () => {
    const combinations = [{}, ...Object.values(VARIABLES), ALL];
    let built = 0;
    for (const jobVariables of combinations) {
      for (const resources of RUN_RESOURCES) {
        build(jobVariables, { resources });
        built++;
      }
    }
    expect(built).toBe((Object.keys(VARIABLES).length + 2) * RUN_RESOURCES.length);
  });

  it('names the Job after the run and attempt, within 63 DNS-safe characters', () => {
    expect(jobName(RUN_ID, 2)).toBe('outpost-3f2a9c1e7b444d0a9e5f0c1d2e3f4a5b-2');
    expect(jobName('ABCDEFGH', 12)).toBe('outpost-abcdefgh-12');
    const long = jobName('x'.repeat(200), 999_999);
    expect(long.length).toBeLessThanOrEqual(63);
    expect(long).toMatch(/^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/);
    expect(build().metadata.name).toBe(jobName(RUN_ID, 2));
  });

  it('labels the Job and its Pod with run, attempt, pool and worker, even over a label the worker allows, and never retries the Pod', () => {
    const built = build({ labels: { team: 'ml', 'outpost.dev/run-id': 'forged' } });
    const own = {
      'outpost.dev/run-id': RUN_ID,
      'outpost.dev/attempt': '2',
      'outpost.dev/pool': 'gpu',
      'outpost.dev/worker': 'gpu-worker-1',
    };
    expect(built.metadata.labels).toEqual({ team: 'ml', ...own });
    expect(built.spec.template.metadata.labels).toEqual({ team: 'ml', ...own });
    expect(built.spec.backoffLimit).toBe(0);
    expect(built.spec.template.spec.restartPolicy).toBe('Never');
    expect(built.spec.ttlSecondsAfterFinished).toBe(600);
  });

  it('shortens worker names that are not valid label values with a hash, keeping them distinct', () => {
    const a = build({}, { worker: 'worker on host/1 with a name far longer than any label value may be, really' });
    const b = build({}, { worker: 'worker on host/2 with a name far longer than any label value may be, really' });
    expect(a.metadata.labels['outpost.dev/worker']).not.toBe(b.metadata.labels['outpost.dev/worker']);
    expect(a.metadata.labels['outpost.dev/worker']!.length).toBeLessThanOrEqual(63);
  });

  it('runs the pod runner with the relay address and token reference, which no template or variable can override', () => {
    const template = structuredClone(DEFAULT_BASE_JOB_TEMPLATE) as KubeObject & {
      spec: { template: { spec: { containers: Record<string, unknown>[] } } };
    };
    template.spec.template.spec.containers[0] = {
      name: 'main',
      image: 'base:1',
      command: ['sh'],
      args: ['-c', 'evil'],
      env: [
        { name: 'OUTPOST_RELAY_ADDRESS', value: 'elsewhere:1' },
        { name: 'KEEP', value: 'yes' },
      ],
    };
    const built = build({ env: { OUTPOST_RELAY_TOKEN: 'forged' } }, { template });
    const flow = container(built);
    expect(flow.name).toBe('main');
    expect(flow.command).toEqual(['outpost-pod-runner']);
    expect((flow as { args?: unknown }).args).toBeUndefined();
    expect(envOf(built)).toEqual({
      KEEP: 'yes',
      OUTPOST_RELAY_ADDRESS: '10.0.0.7:7420',
      OUTPOST_RELAY_TOKEN: { secretKeyRef: { name: 'outpost-3f2a9c1e7b444d0a9e5f0c1d2e3f4a5b-2-relay', key: 'token' } },
      OUTPOST_RELAY_PIN: { secretKeyRef: { name: 'outpost-3f2a9c1e7b444d0a9e5f0c1d2e3f4a5b-2-relay', key: 'pin' } },
      OUTPOST_RUN_ID: RUN_ID,
      OUTPOST_RUN_ATTEMPT: '2',
    });
  });

  it("keeps the relay token out of the Job: the pod reads it and the relay's pin from the attempt's own Secret", () => {
    const token = 'a1b2c3d4e5f6'.repeat(5);
    const pin = 'n4Q2cW0ySx5m7e9aHq1Zk3LbV8uT6jR0pD2fG4hJ6kM=';
    const built = build(ALL);
    const entry = container(built).env.find((e) => e.name === 'OUTPOST_RELAY_TOKEN');
    expect(entry).toEqual({
      name: 'OUTPOST_RELAY_TOKEN',
      valueFrom: { secretKeyRef: { name: relaySecretName(RUN_ID, 2), key: 'token' } },
    });
    const secret = buildRelaySecret({
      runId: RUN_ID,
      attempt: 2,
      pool: 'gpu',
      worker: 'gpu-worker-1',
      namespace: 'ml-team',
      token,
      pin,
    });
    new Secret(secret as ConstructorParameters<typeof Secret>[0]).validate();
    expect(secret.metadata).toEqual({
      name: relaySecretName(RUN_ID, 2),
      namespace: 'ml-team',
      labels: {
        'outpost.dev/run-id': RUN_ID,
        'outpost.dev/attempt': '2',
        'outpost.dev/pool': 'gpu',
        'outpost.dev/worker': 'gpu-worker-1',
      },
    });
    const data = secret.data as { token: string; pin: string };
    expect(Buffer.from(data.token, 'base64').toString('utf8')).toBe(token);
    expect(Buffer.from(data.pin, 'base64').toString('utf8')).toBe(pin);
    // A Secret name of the Job's name and a suffix is a valid DNS subdomain for the longest Job names.
    expect(relaySecretName('x'.repeat(200), 999_999)).toMatch(/^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/);
  });

  it('writes plain env values and Secret references, and never a secret value', () => {
    const built = build({ ...VARIABLES.env, ...VARIABLES.envFromSecrets });
    const env = envOf(built);
    expect(env).toMatchObject({
      MODE: 'train',
      EPOCHS: '3',
      VERBOSE: 'true',
      WAREHOUSE_TOKEN: { secretKeyRef: { name: 'warehouse', key: 'token' } },
      S3_KEY: { secretKeyRef: { name: 'aws-creds', key: 'key' } },
    });
    // `{ $secret }` values reach the flow over the relay; the pod spec never holds them.
    expect(env).not.toHaveProperty('DB_PASSWORD');
  });

  it("gives the pod the worker's OpenTelemetry settings, which the template's and the job's own variables override", () => {
    const otelEnv = {
      OTEL_EXPORTER_OTLP_ENDPOINT: 'http://collector.observability:4318',
      OTEL_SERVICE_NAME: 'ml-flows',
      OTEL_RESOURCE_ATTRIBUTES: 'deployment.environment=prod',
      OTEL_EXPORTER_OTLP_PROTOCOL: 'http/json',
    };
    expect(envOf(build({}, { otelEnv }))).toMatchObject(otelEnv);
    const template = structuredClone(DEFAULT_BASE_JOB_TEMPLATE) as KubeObject & {
      spec: { template: { spec: { containers: Record<string, unknown>[] } } };
    };
    template.spec.template.spec.containers[0] = {
      ...template.spec.template.spec.containers[0],
      env: [{ name: 'OTEL_EXPORTER_OTLP_ENDPOINT', value: 'http://node-local-collector:4318' }],
    };
    const env = envOf(build({ env: { OTEL_SERVICE_NAME: 'churn' } }, { otelEnv, template }));
    expect(env).toMatchObject({
      OTEL_EXPORTER_OTLP_ENDPOINT: 'http://node-local-collector:4318',
      OTEL_SERVICE_NAME: 'churn',
      OTEL_RESOURCE_ATTRIBUTES: 'deployment.environment=prod',
    });
    // A worker variable that is not a valid name for a container's env never breaks the Job.
    expect(envOf(build({}, { otelEnv: { 'OTEL_BAD-NAME': 'x' } }))).not.toHaveProperty('OTEL_BAD-NAME');
  });

  it('overrides the template with image, resources, placement, service account, deadline, namespace and metadata', () => {
    const built = build(ALL);
    expect(built.metadata.namespace).toBe('ml-team');
    expect(built.metadata.annotations).toEqual({ 'cost-center': 'ml-42' });
    expect(built.spec.template.metadata.annotations).toEqual({ 'cost-center': 'ml-42' });
    expect(built.spec.activeDeadlineSeconds).toBe(3600);
    expect(container(built).image).toBe('registry.internal/ml/train:2.1');
    expect(container(built).resources).toEqual({
      requests: { cpu: '500m', memory: '1Gi' },
      limits: { memory: '2Gi', cpu: '2' },
    });
    const pod = built.spec.template.spec;
    expect(pod.nodeSelector).toEqual({ 'node.kubernetes.io/instance-type': 'g5.xlarge' });
    expect(pod.tolerations).toEqual([{ key: 'nvidia.com/gpu', operator: 'Exists', effect: 'NoSchedule' }]);
    expect(pod.serviceAccountName).toBe('flows');
  });

  it("takes the worker's namespace and the template's image when the variables name neither", () => {
    const built = build();
    expect(built.metadata.namespace).toBe('outpost-runs');
    expect(container(built).image).toBe(DEFAULT_RUNNER_IMAGE);
    expect(built.spec.activeDeadlineSeconds).toBeUndefined();
    expect(container(built).resources).toBeUndefined();
  });

  it("turns the run's GPU, memory and CPU request into container resources", () => {
    const built = build(VARIABLES.resources, { resources: { gpus: 1, gpuMemoryGb: 24, memoryGb: 16, cpus: 4 } });
    expect(container(built).resources).toEqual({
      requests: { cpu: '4000m', memory: '16384Mi' },
      limits: { memory: '16384Mi', cpu: '2', 'nvidia.com/gpu': '1' },
    });
    expect(container(build({}, { resources: { gpus: 0 } })).resources).toBeUndefined();
  });

  it('leaves finished Jobs to the TTL controller only when the template sets a TTL', () => {
    expect(hasTtl(buildJobManifest(input()))).toBe(true);
    const template = structuredClone(DEFAULT_BASE_JOB_TEMPLATE) as { spec: Record<string, unknown> };
    delete template.spec.ttlSecondsAfterFinished;
    const built = build({}, { template: template as KubeObject });
    expect(hasTtl(built as unknown as KubeObject)).toBe(false);
  });

  it('refuses job variables it cannot turn into a Job, naming the variable', () => {
    const cases: [Record<string, unknown>, string][] = [
      [{ image: 7 }, '"image"'],
      [{ resources: { limits: { memory: 'lots' } } }, 'resources.limits.memory'],
      [{ envFromSecrets: { TOKEN: 'no-key' } }, 'envFromSecrets.TOKEN'],
      [{ activeDeadlineSeconds: -1 }, 'activeDeadlineSeconds'],
      [{ tolerations: 'all' }, '"tolerations"'],
      [{ labels: { team: 1 } }, 'labels.team'],
      [{ env: { 'BAD-NAME': 'x' } }, 'env.BAD-NAME'],
    ];
    for (const [jobVariables, field] of cases) {
      expect(() => buildJobManifest(input(jobVariables))).toThrow(JobManifestError);
      expect(() => buildJobManifest(input(jobVariables))).toThrow(field);
    }
  });
});
