import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { stringify } from 'yaml';
import { OptionsError, parseOptions } from '../src/options.js';

const ENV = { OUTPOST_API_URL: 'http://127.0.0.1:4200', OUTPOST_API_KEY: 'op_0123456789abcdef', HOME: '/home/w' };
const dir = mkdtempSync(join(tmpdir(), 'outpost-options-k8s-'));

afterAll(() => rmSync(dir, { recursive: true, force: true }));

/** A template file with the given pod spec fields on top of a plain runner container. */
function templateFile(name: string, pod: Record<string, unknown> = {}, container: Record<string, unknown> = {}): string {
  const file = join(dir, `${name}.yaml`);
  writeFileSync(
    file,
    stringify({
      apiVersion: 'batch/v1',
      kind: 'Job',
      spec: {
        template: {
          spec: {
            restartPolicy: 'Never',
            ...pod,
            containers: [{ name: 'flow', image: 'registry.internal/runner:1', ...container }],
          },
        },
      },
    }),
  );
  return file;
}

function refusal(argv: string[], env: Record<string, string> = {}): string {
  try {
    parseOptions(['--pool', 'gpu', '--type', 'kubernetes', '--relay-address', '10.0.0.1', ...argv], { ...ENV, ...env });
  } catch (error) {
    expect(error).toBeInstanceOf(OptionsError);
    return (error as Error).message;
  }
  throw new Error(`parsed ${argv.join(' ')}`);
}

describe("a Kubernetes worker's bounds in its options", () => {
  it('grants job variables nothing beyond the template by default', () => {
    const o = parseOptions(['--pool', 'gpu'], ENV);
    expect(o).toMatchObject({
      baseJobTemplate: null,
      allowImages: [],
      allowServiceAccounts: [],
      allowSecrets: [],
      allowNamespaces: [],
      allowTolerations: [],
      allowPodLabels: [],
      allowPodAnnotations: [],
    });
  });

  it('reads each bound from its repeatable flag, or from its comma-separated variable, the flag winning', () => {
    const fromFlags = parseOptions(
      [
        '--pool',
        'gpu',
        '--allow-image',
        'registry.internal/acme/',
        '--allow-image',
        'registry.internal/ml',
        '--allow-service-account',
        'trainer',
        '--allow-secret',
        'warehouse',
        '--allow-namespace',
        'ml-team',
        '--allow-toleration',
        'nvidia.com/gpu',
        '--allow-pod-label',
        'team',
        '--allow-pod-annotation',
        'example.com/',
      ],
      { ...ENV, OUTPOST_WORKER_ALLOW_IMAGES: 'elsewhere/' },
    );
    expect(fromFlags).toMatchObject({
      allowImages: ['registry.internal/acme/', 'registry.internal/ml'],
      allowServiceAccounts: ['trainer'],
      allowSecrets: ['warehouse'],
      allowNamespaces: ['ml-team'],
      allowTolerations: ['nvidia.com/gpu'],
      allowPodLabels: ['team'],
      allowPodAnnotations: ['example.com/'],
    });
    const fromEnv = parseOptions(['--pool', 'gpu'], {
      ...ENV,
      OUTPOST_WORKER_ALLOW_IMAGES: 'registry.internal/acme/, registry.internal/ml',
      OUTPOST_WORKER_ALLOW_SERVICE_ACCOUNTS: 'trainer,etl',
      OUTPOST_WORKER_ALLOW_SECRETS: 'warehouse,s3',
      OUTPOST_WORKER_ALLOW_NAMESPACES: 'ml-team',
      OUTPOST_WORKER_ALLOW_TOLERATIONS: 'nvidia.com/gpu',
      OUTPOST_WORKER_ALLOW_POD_LABELS: 'team,app.kubernetes.io/',
      OUTPOST_WORKER_ALLOW_POD_ANNOTATIONS: 'cost-center',
    });
    expect(fromEnv).toMatchObject({
      allowImages: ['registry.internal/acme/', 'registry.internal/ml'],
      allowServiceAccounts: ['trainer', 'etl'],
      allowSecrets: ['warehouse', 's3'],
      allowNamespaces: ['ml-team'],
      allowTolerations: ['nvidia.com/gpu'],
      allowPodLabels: ['team', 'app.kubernetes.io/'],
      allowPodAnnotations: ['cost-center'],
    });
  });

  it('names the flag of a bound that is not a Kubernetes name', () => {
    expect(refusal(['--allow-namespace', 'Kube_System'])).toContain('--allow-namespace (allowNamespaces)');
    expect(refusal(['--allow-secret', 'a secret'])).toContain('--allow-secret (allowSecrets)');
    expect(refusal(['--allow-image', ' '])).toContain('--allow-image (allowImages)');
  });

  it('starts with a plain template of its own', () => {
    const o = parseOptions(['--pool', 'gpu', '--base-job-template', templateFile('plain', { serviceAccountName: 'flows' })], ENV);
    expect(o.baseJobTemplate).toMatchObject({ kind: 'Job' });
  });

  for (const [what, pod, container, field] of [
    ['hostPID', { hostPID: true }, {}, 'spec.template.spec.hostPID'],
    ['hostNetwork', { hostNetwork: true }, {}, 'spec.template.spec.hostNetwork'],
    ['hostIPC', { hostIPC: true }, {}, 'spec.template.spec.hostIPC'],
    [
      'a privileged container',
      {},
      { securityContext: { privileged: true } },
      'spec.template.spec.containers[0].securityContext.privileged',
    ],
    ['a hostPath volume', { volumes: [{ name: 'root', hostPath: { path: '/' } }] }, {}, 'spec.template.spec.volumes[0].hostPath'],
  ] as const) {
    it(`refuses to start with a template that asks for ${what}, in one line naming the field`, () => {
      const message = refusal(['--base-job-template', templateFile(what.replace(/\W/g, '-'), pod, container)]);
      expect(message).toMatch(/^--base-job-template: \S+ sets /);
      expect(message).toContain(field);
      expect(message).not.toContain('\n');
    });
  }
});
