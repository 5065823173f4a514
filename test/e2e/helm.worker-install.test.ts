import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { startTestServer, type TestServer } from '@outpost/api/testing';
import { OutpostClient, unwrap } from '@outpost/sdk/client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { stringify } from 'yaml';
import { freePort } from '../../sdk/test/support/registry.js';
import { type FakeNode, type KubeCluster, startFakeNode, startKubeCluster } from '../support/kube/index.js';
import { buildImages, IMAGE_VERSION, type RegistryContainer, startRegistryContainer } from '../support/kube/podman-runtime.js';
import { helmAsync } from '../support/kube/tools.js';
import { repoRoot, runCli } from '../support/processes.js';

/*
 * `helm install` of the worker chart into the test control plane, as a customer installs it: the
 * API server accepts every object, the StatefulSet's pod runs from the outpost-worker image pulled
 * from a registry (the test node runs it with podman, with the pod's ServiceAccount token mounted
 * as a kubelet would), and that worker runs a deployed flow as a Job whose pod is an outpost-runner
 * container.
 */
const VERSION = IMAGE_VERSION;
const CHART = path.join(repoRoot, 'infra/helm/outpost-worker');
const HELLO = path.join(repoRoot, 'sdk/examples/hello');
const SECRET = 'helm-installed-greeting-41c7';

describe('the worker chart installed with helm', () => {
  let scratch: string;
  let cluster: KubeCluster;
  let node: FakeNode;
  let server: TestServer;
  let registry: RegistryContainer | undefined;
  let registryHost: string;
  let kube: (args: string[], stdin?: string) => Promise<{ code: number; stdout: string; stderr: string }>;

  beforeAll(async () => {
    scratch = await mkdtemp(path.join(tmpdir(), 'outpost-helm-install-'));
    buildImages();
    registry = await startRegistryContainer(await freePort());
    registryHost = registry.host;
    for (const name of ['outpost-worker', 'outpost-runner']) await registry.push(name);
    cluster = await startKubeCluster();
    node = await startFakeNode(cluster, { runtime: 'podman' });
    kube = (args, stdin) => cluster.kubectl(args, stdin === undefined ? {} : { stdin });
    server = await startTestServer();
    // Building the images (seconds when nothing they are built from changed since the compose suite
    // built them, minutes when a layer is not cached), pushing two of about 300 MB and starting a
    // node once took more than the default 180 s on a 2-core machine: ten minutes, as the compose
    // suite's set-up, which builds the same images, has.
  }, 600_000);

  afterAll(async () => {
    if (cluster)
      await helmAsync(['uninstall', 'outpost', '--namespace', cluster.namespace, '--wait'], {
        KUBECONFIG: cluster.kubeconfigPath,
      });
    await node?.stop();
    await cluster?.stop();
    await server?.close();
    await registry?.stop();
    if (scratch) await rm(scratch, { recursive: true, force: true });
  });

  it('creates the StatefulSet, Service, ServiceAccount, Role and RoleBinding, and its worker comes up from the built image', async () => {
    const workerKey = await server.createKey('worker', ['default']);
    const secret = await kube([
      'create',
      'secret',
      'generic',
      'outpost-worker-key',
      `--from-literal=OUTPOST_API_KEY=${workerKey}`,
    ]);
    expect(secret.code, secret.stderr).toBe(0);
    const relayPort = await freePort();
    const values = path.join(scratch, 'values.yaml');
    await writeFile(
      values,
      stringify({
        pool: 'default',
        apiUrl: server.url,
        image: `${registryHost}/outpost/outpost-worker:${VERSION}`,
        // Pods share the host's network here: they dial the worker at its pod IP, 127.0.0.1.
        relay: { port: relayPort, stableAddress: false },
        // The one registry the worker runs flow code from: the chart renders only with it.
        allowSources: [`oci://${registryHost}/acme/`],
        baseJobTemplate: {
          apiVersion: 'batch/v1',
          kind: 'Job',
          spec: {
            backoffLimit: 0,
            template: {
              spec: {
                restartPolicy: 'Never',
                containers: [{ name: 'flow', image: `${registryHost}/outpost/outpost-runner:${VERSION}` }],
              },
            },
          },
        },
        // The flow's secret, from the worker's environment: it never reaches the control plane.
        env: [{ name: 'GREETING_SECRET', value: SECRET }],
      }),
    );
    const installed = await helmAsync(
      ['install', 'outpost', CHART, '--namespace', cluster.namespace, '-f', values, '--wait', '--timeout', '180s'],
      { KUBECONFIG: cluster.kubeconfigPath },
    );
    const pods = await kube(['get', 'pods', '-o', 'jsonpath={.items[*].status}']);
    expect(installed.status, `${installed.stderr}\n${pods.stdout.slice(0, 6000)}`).toBe(0);
    expect(installed.stdout).toContain('STATUS: deployed');
    const objects = await kube([
      'get',
      'statefulset/outpost-default',
      'service/outpost-default',
      'serviceaccount/outpost-default',
      'role/outpost-default',
      'rolebinding/outpost-default',
      'configmap/outpost-default-job-template',
      '-o',
      'json',
    ]);
    expect(objects.code, objects.stderr).toBe(0);
    const kinds = (JSON.parse(objects.stdout).items as { kind: string }[]).map((o) => o.kind);
    expect(kinds).toEqual(['StatefulSet', 'Service', 'ServiceAccount', 'Role', 'RoleBinding', 'ConfigMap']);
    const pod = JSON.parse((await kube(['get', 'pod', 'outpost-default-0', '-o', 'json'])).stdout);
    expect(pod.status.phase, (await kube(['logs', 'outpost-default-0'])).stdout.slice(-3000)).toBe('Running');
    expect(pod.status.containerStatuses[0].imageID).toMatch(
      new RegExp(`^docker-pullable://${registryHost.replace(/\./g, '\\.')}/outpost/outpost-worker@sha256:[a-f0-9]{64}$`),
    );
  });

  it('runs a deployed flow as a Job whose pod is an outpost-runner container, from the installed worker', async () => {
    const cli = { OUTPOST_API_URL: server.url, OUTPOST_API_KEY: server.ownerKey };
    const client = new OutpostClient({ baseUrl: server.url, token: server.ownerKey });
    const deployed = await runCli(['deploy', '--config', path.join(HELLO, 'outpost.config.ts')], {
      ...cli,
      OUTPOST_REGISTRY: `oci://${registryHost}/acme/hello`,
    });
    expect(deployed.code, deployed.output).toBe(0);
    const watched = await runCli(['run', 'hello/default', '--param', 'n=3', '--watch'], cli);
    expect(watched.output).toContain('sum of squares 1..3 = 14');
    expect(watched.output).not.toContain(SECRET);
    expect(watched.code).toBe(0);
    // The attempt ran as a Job of the installed worker, its pod a container of the runner image.
    const run = unwrap(await client.call('flowRunsList', { query: { flow: 'hello', state: 'COMPLETED' } })).items[0]!;
    const attempts = unwrap(await client.call('flowRunsAttempts', { params: { id: run.id } })).items;
    expect(attempts.map((a) => a.workerName)).toEqual(['outpost-default-0']);
    const pods = node.started().filter((p) => p.labels['job-name'] !== undefined);
    expect(pods.map((p) => p.image)).toEqual([`${registryHost}/outpost/outpost-runner:${VERSION}`]);
    await client.close();
  });
});
