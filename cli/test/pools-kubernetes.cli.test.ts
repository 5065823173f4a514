import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { startTestServer, type TestServer } from '@outpost/api/testing';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { outpostOn } from './cli.support.js';

let server: TestServer;
const dir = mkdtempSync(path.join(tmpdir(), 'outpost-pools-cli-'));

function outpost(...args: string[]) {
  return outpostOn(server, args, { cwd: dir });
}

const JOB_YAML = `apiVersion: batch/v1
kind: Job
spec:
  backoffLimit: 0
  template:
    spec:
      restartPolicy: Never
      containers:
        - name: flow
          image: registry.internal/acme/runner:1.4.0
          command: [outpost-pod-runner]
          resources:
            limits:
              nvidia.com/gpu: "1"
`;

beforeAll(async () => {
  server = await startTestServer({ loops: false });
  writeFileSync(path.join(dir, 'job.yaml'), JOB_YAML);
  writeFileSync(
    path.join(dir, 'retrying.json'),
    JSON.stringify({ apiVersion: 'batch/v1', kind: 'Job', spec: { backoffLimit: 4, template: { spec: { containers: [{}] } } } }),
  );
}, 120_000);
afterAll(async () => {
  await server?.close();
  rmSync(dir, { recursive: true, force: true });
});

describe('outpost pools with Kubernetes pools', () => {
  test('creates a Kubernetes pool from a YAML Job, and pools get and ls show its type and template', async () => {
    const created = await outpost('pools', 'create', 'gpu', '--type', 'kubernetes', '--base-job-template', 'job.yaml');
    expect(created.code, created.stderr).toBe(0);
    expect(created.stdout.trim()).toBe('created work pool gpu (kubernetes)');

    const got = await outpost('pools', 'get', 'gpu');
    expect(got.code, got.stderr).toBe(0);
    expect(got.stdout).toContain('  type: kubernetes\n');
    expect(got.stdout).toContain('  base job template:\n    apiVersion: batch/v1\n    kind: Job\n');
    expect(got.stdout).toContain('nvidia.com/gpu: "1"');

    const json = await outpost('pools', 'get', 'gpu', '--json');
    expect(JSON.parse(json.stdout).baseJobTemplate.spec.template.spec.containers[0].image).toBe(
      'registry.internal/acme/runner:1.4.0',
    );
    const listed = await outpost('pools', 'ls');
    expect(listed.stdout).toMatch(/^gpu\s+kubernetes\s/m);
    expect(listed.stdout).toMatch(/^default\s+process\s/m);
  });

  test('prints each problem of a template the API refuses with its field path, and exits non-zero', async () => {
    const refused = await outpost('pools', 'create', 'bad', '--type', 'kubernetes', '--base-job-template', 'retrying.json');
    expect(refused.code).not.toBe(0);
    expect(refused.stderr).toContain('body.baseJobTemplate.spec.backoffLimit: must be 0 or absent');
    expect(refused.stderr).toContain('body.baseJobTemplate.spec.template.spec.containers[0].name: is required');
    expect((await outpost('pools', 'get', 'bad')).code).not.toBe(0);
  });

  test('updates the template of a pool, and `default` returns it to the default template', async () => {
    writeFileSync(path.join(dir, 'job2.yaml'), JOB_YAML.replace('runner:1.4.0', 'runner:1.5.0'));
    const updated = await outpost('pools', 'update', 'gpu', '--base-job-template', 'job2.yaml');
    expect(updated.code, updated.stderr).toBe(0);
    expect((await outpost('pools', 'get', 'gpu')).stdout).toContain('image: registry.internal/acme/runner:1.5.0');

    const reset = await outpost('pools', 'update', 'gpu', '--base-job-template', 'default');
    expect(reset.code, reset.stderr).toBe(0);
    expect((await outpost('pools', 'get', 'gpu')).stdout).toContain('  base job template: the default\n');
  });

  test('refuses a template for a process pool and a file that is not there, in one line each', async () => {
    const processPool = await outpost('pools', 'create', 'plain', '--base-job-template', 'job.yaml');
    expect(processPool.code).not.toBe(0);
    expect(processPool.stderr).toContain('--base-job-template needs --type kubernetes');
    const missing = await outpost('pools', 'create', 'k', '--type', 'kubernetes', '--base-job-template', 'nope.yaml');
    expect(missing.code).not.toBe(0);
    expect(missing.stderr).toContain('cannot read --base-job-template nope.yaml: ENOENT');
  });
});
