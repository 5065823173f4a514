import type { FieldError } from '@outpost/sdk/contracts';
import { Job } from 'kubernetes-models/batch/v1/Job';

interface SchemaIssue {
  instancePath: string;
  keyword: string;
  params: Record<string, unknown>;
  message?: string;
}

const IDENTIFIER = /^[A-Za-z_$][A-Za-z0-9_$]*$/;

/**
 * A JSON pointer as Kubernetes writes field paths: `/spec/template/spec/containers/0/name` →
 * `spec.template.spec.containers[0].name`, a key that is not an identifier as `[outpost.dev/run-id]`.
 */
export function kubernetesPath(pointer: string, ...more: string[]): string {
  const segments = [
    ...pointer
      .split('/')
      .slice(1)
      .map((s) => s.replaceAll('~1', '/').replaceAll('~0', '~')),
    ...more,
  ];
  let path = '';
  for (const segment of segments) {
    if (/^\d+$/.test(segment) || !IDENTIFIER.test(segment)) path += `[${segment}]`;
    else path += path ? `.${segment}` : segment;
  }
  return path;
}

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/**
 * The problems with a Kubernetes pool's base job template, each with its field path inside the
 * template (Kubernetes style, `spec.template.spec.containers[0].name`); none when it is valid.
 * It must be a `batch/v1` Job that the Kubernetes schemas accept (checked with kubernetes-models),
 * with at least one container, and must leave retries to Outpost: `spec.backoffLimit` 0 or absent
 * and `restartPolicy` Never or absent (a Pod restarted in place would be an attempt Outpost never saw).
 */
export function validateBaseJobTemplate(template: unknown): FieldError[] {
  if (!isObject(template)) return [{ path: '', message: 'must be a batch/v1 Job manifest (an object)' }];
  const problems: FieldError[] = [];
  if (template.apiVersion !== 'batch/v1') problems.push({ path: 'apiVersion', message: 'must be "batch/v1"' });
  if (template.kind !== 'Job') problems.push({ path: 'kind', message: 'must be "Job"' });
  try {
    new Job(template as ConstructorParameters<typeof Job>[0]).validate();
  } catch (error) {
    const issues = (error as { errors?: SchemaIssue[] }).errors;
    if (!Array.isArray(issues)) throw error;
    for (const issue of issues) {
      const missing = issue.keyword === 'required' ? String(issue.params.missingProperty) : undefined;
      const path = kubernetesPath(issue.instancePath, ...(missing ? [missing] : []));
      problems.push({ path, message: missing ? 'is required' : (issue.message ?? 'is invalid') });
    }
  }
  const spec = isObject(template.spec) ? template.spec : undefined;
  const backoffLimit = spec?.backoffLimit;
  if (backoffLimit !== undefined && backoffLimit !== 0) {
    problems.push({
      path: 'spec.backoffLimit',
      message: 'must be 0 or absent: Outpost retries a run as a new attempt, so Kubernetes must not retry its Pod',
    });
  }
  const podTemplate = isObject(spec?.template) ? spec.template : undefined;
  const podSpec = isObject(podTemplate?.spec) ? podTemplate.spec : undefined;
  const containers = podSpec?.containers;
  if (!Array.isArray(containers) || containers.length === 0) {
    problems.push({
      path: 'spec.template.spec.containers',
      message: 'must have at least one container (the one that runs the flow)',
    });
  }
  const restartPolicy = podSpec?.restartPolicy;
  if (restartPolicy !== undefined && restartPolicy !== 'Never') {
    problems.push({
      path: 'spec.template.spec.restartPolicy',
      message: 'must be "Never" or absent: Outpost retries a run as a new attempt, so the Pod must not restart its container',
    });
  }
  // One problem per path: the schema and the rules above can flag the same field.
  const seen = new Set<string>();
  return problems.filter((p) => {
    if (seen.has(p.path)) return false;
    seen.add(p.path);
    return true;
  });
}
