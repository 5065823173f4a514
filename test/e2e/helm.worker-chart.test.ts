import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { parse, parseAllDocuments } from 'yaml';
import { repoRoot } from '../support/processes.js';

// No helm binary on the test machines: the chart is checked by parsing. Template directives are
// dropped (whole-line ones) or replaced by a placeholder value (inline ones), which keeps these
// simple templates' structure, so what is asserted below is what the chart declares.
const chart = path.join(repoRoot, 'infra/helm/outpost-worker');

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
      relay: { port: 7420 },
    });
    for (const used of ['pool', 'apiUrl', 'baseJobTemplate', 'resources', 'image']) expect(values).toHaveProperty(used);
    const [scaled] = parseAllDocuments(readFileSync(path.join(chart, 'examples/keda-scaledobject.yaml'), 'utf8')).map((d) =>
      d.toJS(),
    );
    expect(scaled.kind).toBe('ScaledObject');
    expect(scaled.spec.triggers[0].metadata.query).toContain('outpost_pool_queue_depth{pool="gpu"}');
  });

  it('every template parses as YAML', () => {
    const templates = readdirSync(path.join(chart, 'templates')).filter((f) => f.endsWith('.yaml'));
    expect(templates.sort()).toEqual(['configmap.yaml', 'deployment.yaml', 'rbac.yaml', 'service.yaml']);
    for (const file of templates) expect(documents(`templates/${file}`).length).toBeGreaterThan(0);
  });

  it('grants the worker exactly what it needs on Jobs, Pods, their logs and events in its namespace, and nothing on Secrets', () => {
    const docs = documents('templates/rbac.yaml');
    expect(docs.map((d) => d.kind)).toEqual(['ServiceAccount', 'Role', 'RoleBinding']);
    const role = docs.find((d) => d.kind === 'Role') as {
      rules: { apiGroups: string[]; resources: string[]; verbs: string[] }[];
    };
    expect(role.rules).toEqual([
      { apiGroups: ['batch'], resources: ['jobs'], verbs: ['create', 'get', 'list', 'watch', 'delete'] },
      { apiGroups: [''], resources: ['pods'], verbs: ['get', 'list', 'watch'] },
      { apiGroups: [''], resources: ['pods/log'], verbs: ['get'] },
      { apiGroups: [''], resources: ['events'], verbs: ['list', 'watch'] },
    ]);
    expect(docs.some((d) => d.kind === 'ClusterRole' || d.kind === 'ClusterRoleBinding')).toBe(false);
  });

  it('runs `outpost worker start --pool <pool> --type kubernetes` under its ServiceAccount, with the relay port exposed', () => {
    const [deployment] = documents('templates/deployment.yaml') as {
      spec: { template: { spec: { serviceAccountName: string; containers: { args: string[]; ports: { name: string }[] }[] } } };
    }[];
    const pod = deployment?.spec.template.spec;
    expect(pod?.serviceAccountName).toBe('placeholder');
    expect(pod?.containers[0]?.args.slice(0, 4)).toEqual(['--pool', 'placeholder', '--type', 'placeholder']);
    expect(pod?.containers[0]?.ports).toEqual([{ name: 'relay', containerPort: 'placeholder' }]);
    const [service] = documents('templates/service.yaml') as { spec: { ports: { targetPort: string }[] } }[];
    expect(service?.spec.ports[0]?.targetPort).toBe('relay');
  });
});
