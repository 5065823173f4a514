import { randomUUID } from 'node:crypto';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { unwrap } from '@outpost/sdk/client';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { type KubeCluster, type KubeStage, startKubeStage } from '../support/kube/index.js';
import { helm } from '../support/kube/tools.js';
import { repoRoot } from '../support/processes.js';
import type { Plane } from '../support/worker-flows.js';
import { isAlive, startWorkerProcess, type WorkerProcess, waitFor } from '../support/worker-process.js';

/*
 * The worker chart's ServiceAccount and Role, applied to a real API server with RBAC on, are all a
 * Kubernetes worker needs: a worker holding only that account's token runs a flow to COMPLETED with
 * its output, and cancels a run by deleting its Job and pod. The chart's RBAC is rendered by the
 * real helm (`helm template --show-only templates/rbac.yaml`), as `helm install` would apply it.
 */
const ACCOUNT = 'outpost-gpu';

function renderRbac(namespace: string): string {
  const rendered = helm([
    'template',
    'outpost',
    join(repoRoot, 'infra/helm/outpost-worker'),
    '--namespace',
    namespace,
    '--set',
    'pool=gpu',
    // The chart renders only with the sources its workers may run; this test applies only its RBAC.
    '--set',
    'allowSources={oci://registry.internal/acme/}',
    '--show-only',
    'templates/rbac.yaml',
  ]);
  expect(rendered.status, rendered.stderr).toBe(0);
  expect(rendered.stdout).toContain(`name: ${ACCOUNT}`);
  return rendered.stdout;
}

describe("the worker chart's RBAC", () => {
  let stage: KubeStage | undefined;
  let cluster: KubeCluster;
  let plane: Plane;
  let scratch: string;
  let source: string;
  let key: string;
  let kubeconfig: string;
  const workers: WorkerProcess[] = [];

  beforeAll(async () => {
    stage = await startKubeStage({ scratchPrefix: 'outpost-e2e-rbac-' });
    ({ cluster, plane, scratch, source } = stage);
    key = await plane.server.createKey('worker', ['default']);
    const applied = await cluster.kubectl(['apply', '-f', '-'], { stdin: renderRbac(cluster.namespace) });
    expect(applied.code, applied.stderr).toBe(0);
    // The token controller gives the account a token Secret; the worker gets that token and nothing else.
    const token = await waitFor(
      async () => {
        const listed = await cluster.kubectl(['get', 'secrets', '-o', 'json']);
        const secrets = JSON.parse(listed.stdout || '{"items":[]}') as {
          items: { type: string; metadata: { annotations?: Record<string, string> }; data?: { token?: string } }[];
        };
        const secret = secrets.items.find(
          (s) =>
            s.type === 'kubernetes.io/service-account-token' &&
            s.metadata.annotations?.['kubernetes.io/service-account.name'] === ACCOUNT,
        );
        return secret?.data?.token ? Buffer.from(secret.data.token, 'base64').toString('utf8') : undefined;
      },
      60_000,
      `the token of ServiceAccount ${ACCOUNT}`,
    );
    kubeconfig = join(scratch, 'worker-kubeconfig.yaml');
    writeFileSync(
      kubeconfig,
      [
        'apiVersion: v1',
        'kind: Config',
        `clusters: [{name: c, cluster: {server: "${cluster.server}", insecure-skip-tls-verify: true}}]`,
        `users: [{name: worker, user: {token: "${token}"}}]`,
        `contexts: [{name: c, context: {cluster: c, user: worker, namespace: ${cluster.namespace}}}]`,
        'current-context: c',
        '',
      ].join('\n'),
      { mode: 0o600 },
    );
  });

  afterEach(async () => {
    for (const w of workers.splice(0)) await w.stop();
  });

  afterAll(async () => {
    await stage?.stop();
  });

  function worker(): WorkerProcess {
    const w = startWorkerProcess(
      [
        '--pool',
        'default',
        '--name',
        `${ACCOUNT}-0`,
        '--type',
        'kubernetes',
        '--kubeconfig',
        kubeconfig,
        '--relay-listen',
        '127.0.0.1:0',
        '--heartbeat-interval',
        '500ms',
        '--poll-wait',
        '1s',
      ],
      stage!.workerEnv(key),
    );
    workers.push(w);
    return w;
  }

  async function jobsOf(runId: string): Promise<unknown[]> {
    const result = await cluster.kubectl(['get', 'jobs', '-l', `outpost.dev/run-id=${runId}`, '-o', 'json']);
    expect(result.code).toBe(0);
    return JSON.parse(result.stdout).items;
  }

  it('lets a worker with only its ServiceAccount run a flow to COMPLETED and read its output', async () => {
    const w = worker();
    const deployment = await plane.deploy('hello', source, { name: `hello-${randomUUID().slice(0, 8)}` });
    const runId = await plane.run(deployment);
    const run = await plane.settled(runId);
    expect(run.state.type, w.output().slice(-2000)).toBe('COMPLETED');
    expect((await plane.lines(runId)).map((l) => l.message)).toContain(`hello from ${runId}`);
    expect(w.output()).not.toMatch(/forbidden/i);
  });

  it('lets it cancel a run: the Job and its pod are deleted and the flow process dies', async () => {
    const w = worker();
    const deployment = await plane.deploy('once', source, { name: `once-${randomUUID().slice(0, 8)}` });
    const runId = await plane.run(deployment, { counter: join(scratch, 'cancelled'), ms: 120_000 });
    const started = await waitFor(
      async () => (await plane.lines(runId)).find((l) => l.message.startsWith('started pid '))?.message,
      60_000,
      'the flow to start',
    );
    const pid = Number(started.split(' ')[2]);
    unwrap(
      await plane.owner.call('flowRunsSetState', {
        params: { id: runId },
        body: { transitionId: randomUUID(), state: { type: 'CANCELLING' } },
      }),
    );
    expect((await plane.settled(runId)).state.type).toBe('CANCELLED');
    await waitFor(async () => (await jobsOf(runId)).length === 0, 60_000, 'the Job to be deleted');
    await waitFor(() => !isAlive(pid), 30_000, 'the flow process to die');
    expect(w.output()).not.toMatch(/forbidden/i);
  });

  it('lets the account write but never read Secrets, and deletecollection on pods', async () => {
    const asWorker = `system:serviceaccount:${cluster.namespace}:${ACCOUNT}`;
    for (const verb of ['get', 'list', 'watch', 'update']) {
      const answer = await cluster.kubectl(['auth', 'can-i', verb, 'secrets', '--as', asWorker]);
      expect(answer.stdout.trim(), verb).toBe('no');
    }
    // The relay Secret of each attempt: created before its Job, owned by it, deleted when it ends.
    for (const verb of ['create', 'patch', 'delete']) {
      const answer = await cluster.kubectl(['auth', 'can-i', verb, 'secrets', '--as', asWorker]);
      expect(answer.stdout.trim(), verb).toBe('yes');
    }
    const allowed = await cluster.kubectl(['auth', 'can-i', 'deletecollection', 'pods', '--as', asWorker]);
    expect(allowed.stdout.trim()).toBe('yes');
  });
});
