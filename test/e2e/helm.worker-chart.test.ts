import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { parse, parseAllDocuments } from 'yaml';
import { repoRoot } from '../support/processes.js';

// No helm binary on the test machines (Debian does not package it): the chart is checked by parsing.
// Template directives are dropped (whole-line ones) or replaced by a placeholder value (inline ones),
// which keeps these simple templates' structure, so what is asserted below is what the chart declares.
const chart = path.join(repoRoot, 'infra/helm/outpost-worker');
const executorDir = path.join(repoRoot, 'worker/src/executors/kubernetes');

function documents(file: string): Record<string, unknown>[] {
  const text = readFileSync(path.join(chart, file), 'utf8')
    .split('\n')
    .filter((line) => !/^\s*\{\{-?.*-?\}\}\s*$/.test(line))
    .map((line) => line.replace(/\{\{-?.*?-?\}\}/g, 'placeholder'))
    .join('\n');
  return parseAllDocuments(text)
    .map((doc) => {
      expect(doc.errors, `${file}: ${doc.errors.map((e) => e.message).join('; ')}`).toEqual([]);
      return doc.toJS() as Record<string, unknown>;
    })
    .filter((doc) => doc !== null);
}

/** The raw template text, directives included, for what parsing cannot show (values used, conditions). */
function template(file: string): string {
  return readFileSync(path.join(chart, file), 'utf8');
}

/** Every environment variable worker/src/options.ts reads (`env.NAME`, `envList('NAME')`). */
function variablesTheWorkerReads(): Set<string> {
  const source = readFileSync(path.join(repoRoot, 'worker/src/options.ts'), 'utf8');
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

type Container = {
  args: string[];
  ports: { name: string }[];
  env: { name: string; value?: string; valueFrom?: { fieldRef?: { fieldPath: string }; secretKeyRef?: unknown } }[];
};

type Workload = {
  kind: string;
  spec: {
    serviceName: string;
    template: { spec: { serviceAccountName: string; containers: Container[] } };
  };
};

/** The template that runs the worker (whatever kind of workload it is), and what it declares. */
function workerTemplate(): { file: string; workload: Workload } {
  for (const name of readdirSync(path.join(chart, 'templates')).filter((f) => f.endsWith('.yaml'))) {
    const file = `templates/${name}`;
    const workload = documents(file).find((d) => d.kind === 'Deployment' || d.kind === 'StatefulSet');
    if (workload) return { file, workload: workload as Workload };
  }
  throw new Error('no template runs the worker');
}

function workerPod(): Workload {
  return workerTemplate().workload;
}

describe('the outpost-worker Helm chart', () => {
  it('has valid Chart.yaml, values.yaml and examples, with the values the templates use', () => {
    expect(parse(readFileSync(path.join(chart, 'Chart.yaml'), 'utf8'))).toMatchObject({
      apiVersion: 'v2',
      name: 'outpost-worker',
    });
    const values = parse(readFileSync(path.join(chart, 'values.yaml'), 'utf8'));
    expect(values).toMatchObject({
      type: 'kubernetes',
      apiKeySecret: { name: expect.any(String), key: expect.any(String) },
      relay: { port: 7420, stableAddress: true },
    });
    const used = new Set<string>();
    for (const file of readdirSync(path.join(chart, 'templates')))
      for (const match of template(`templates/${file}`).matchAll(/\.Values\.(\w+)/g)) used.add(match[1]!);
    for (const name of used) expect(values, `values.yaml declares ${name}`).toHaveProperty(name);
    const [scaled] = parseAllDocuments(readFileSync(path.join(chart, 'examples/keda-scaledobject.yaml'), 'utf8')).map((d) =>
      d.toJS(),
    );
    expect(scaled.kind).toBe('ScaledObject');
    expect(scaled.spec.scaleTargetRef).toMatchObject({ apiVersion: 'apps/v1', kind: workerPod().kind });
    expect(scaled.spec.triggers[0].metadata.query).toContain('outpost_pool_queue_depth{pool="gpu"}');
  });

  it('every template parses as YAML', () => {
    const templates = readdirSync(path.join(chart, 'templates')).filter((f) => f.endsWith('.yaml'));
    expect(templates.sort()).toEqual(['configmap.yaml', 'rbac.yaml', 'service.yaml', 'statefulset.yaml']);
    for (const file of templates) expect(documents(`templates/${file}`).length).toBeGreaterThan(0);
  });

  it('grants the worker exactly the calls the executor makes on Jobs, Pods and their logs, in its namespace only, and nothing on Secrets', () => {
    const docs = documents('templates/rbac.yaml');
    expect(docs.map((d) => d.kind)).toEqual(['ServiceAccount', 'Role', 'RoleBinding']);
    const role = docs.find((d) => d.kind === 'Role') as {
      rules: { apiGroups: string[]; resources: string[]; verbs: string[] }[];
    };
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
    expect([...granted].some((g) => g.startsWith('secrets'))).toBe(false);
    expect(docs.some((d) => d.kind === 'ClusterRole' || d.kind === 'ClusterRoleBinding')).toBe(false);
  });

  it('sets only environment variables and flags the worker reads', () => {
    const container = workerPod().spec.template.spec.containers[0]!;
    const read = variablesTheWorkerReads();
    // Sanity: the reader finds what options.ts is known to read.
    expect(read).toContain('OUTPOST_WORKER_NAMESPACE');
    expect(read).toContain('POD_IP');
    for (const { name } of container.env) expect(read, `the worker reads ${name}`).toContain(name);
    // Variables set under an `if` are dropped by the parse above; check those from the raw text.
    for (const match of template(workerTemplate().file).matchAll(/- name: ([A-Z][A-Z0-9_]*)/g))
      expect(read, `the worker reads ${match[1]}`).toContain(match[1]!);
    const flags = flagsTheWorkerTakes();
    expect(flags).toContain('--pool');
    for (const arg of container.args.filter((a) => a.startsWith('--'))) expect(flags).toContain(arg);
  });

  it('names each worker for its StatefulSet pod and gives pods of runs an address that follows it', () => {
    const workload = workerPod();
    expect(workload.kind).toBe('StatefulSet');
    const container = workload.spec.template.spec.containers[0]!;
    const env = new Map(container.env.map((e) => [e.name, e]));
    expect(env.get('OUTPOST_WORKER_NAME')?.valueFrom?.fieldRef?.fieldPath).toBe('metadata.name');
    expect(env.get('OUTPOST_WORKER_NAMESPACE')?.valueFrom?.fieldRef?.fieldPath).toBe('metadata.namespace');
    expect(env.get('POD_IP')?.valueFrom?.fieldRef?.fieldPath).toBe('status.podIP');
    expect(env.get('OUTPOST_API_KEY')?.valueFrom?.secretKeyRef).toBeDefined();
    // Adoption after a restart finds Jobs by the worker's name label: the name must be the pod's.
    const executor = readFileSync(path.join(executorDir, 'executor.ts'), 'utf8');
    expect(executor).toMatch(/LABEL_WORKER\}=\$\{labelValue\(this\.options\.name\)\}/);
    // The relay address: the pod's DNS name under the headless Service the StatefulSet names.
    const text = template(workerTemplate().file);
    expect(text).toContain('- name: OUTPOST_WORKER_RELAY_ADDRESS');
    expect(text).toMatch(
      /\$\(OUTPOST_WORKER_NAME\)\.%s\.\$\(OUTPOST_WORKER_NAMESPACE\)\.svc:%v" \(include "outpost-worker\.name" \.\)/,
    );
    expect(text).toContain('serviceName: {{ include "outpost-worker.name" . }}');
    const [service] = documents('templates/service.yaml') as {
      metadata: { name: string };
      spec: { clusterIP: string; publishNotReadyAddresses: boolean; ports: { targetPort: string }[] };
    }[];
    expect(service?.spec.clusterIP).toBe('None');
    expect(service?.spec.publishNotReadyAddresses).toBe(true);
    expect(service?.spec.ports[0]?.targetPort).toBe('relay');
    expect(template('templates/service.yaml')).toContain('name: {{ include "outpost-worker.name" . }}');
  });

  it('runs `outpost worker start --pool <pool> --type kubernetes` under its ServiceAccount, with the relay port exposed', () => {
    const pod = workerPod().spec.template.spec;
    expect(pod.serviceAccountName).toBe('placeholder');
    expect(pod.containers[0]?.args.slice(0, 4)).toEqual(['--pool', 'placeholder', '--type', 'placeholder']);
    expect(pod.containers[0]?.ports).toEqual([{ name: 'relay', containerPort: 'placeholder' }]);
    const text = template(workerTemplate().file);
    expect(text).toContain('value: {{ printf "0.0.0.0:%v" .Values.relay.port | quote }}');
  });

  it('advertises the GPUs, memory and CPUs declared in its values', () => {
    const text = template(workerTemplate().file);
    expect(text).toContain(
      '{{- if .Values.gpus }}\n            - name: OUTPOST_WORKER_GPUS\n              value: {{ include "outpost-worker.gpus" . | quote }}',
    );
    // `gpus` is a count (ids 0…n-1 for --gpus), a list of ids, or ids as the worker takes them.
    const helper = /\{\{- define "outpost-worker\.gpus" -\}\}([\s\S]*?)\{\{- end -\}\}\n?$/.exec(
      template('templates/_helpers.tpl'),
    )?.[1];
    expect(helper).toContain('{{- join "," (until (int $gpus)) -}}');
    expect(helper).toContain('{{- if kindIs "slice" $gpus -}}\n{{- join "," $gpus -}}');
    for (const [value, variable] of [
      ['gpuModel', 'OUTPOST_WORKER_GPU_MODEL'],
      ['gpuMemoryGb', 'OUTPOST_WORKER_GPU_MEMORY_GB'],
      ['memoryGb', 'OUTPOST_WORKER_MEMORY_GB'],
      ['cpus', 'OUTPOST_WORKER_CPUS'],
    ]) {
      expect(text).toContain(
        `{{- if .Values.${value} }}\n            - name: ${variable}\n              value: {{ .Values.${value} | quote }}`,
      );
    }
  });
});
