import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { freePort } from '../../sdk/test/support/registry.js';
import { createKubernetesExecutor } from '../../worker/src/executors/kubernetes/executor.js';
import { describeExecutor } from '../../worker/test/executor-contract.js';
import { until } from '../support/kube/cluster.js';
import { type FakeNode, type KubeCluster, startFakeNode, startKubeCluster } from '../support/kube/index.js';
import { buildImages, IMAGE_VERSION, type RegistryContainer, startRegistryContainer } from '../support/kube/podman-runtime.js';

/*
 * The shared executor suite with every pod a real container. By default: the test control plane
 * (kube-apiserver, controller manager and scheduler v1.20.2) with a node that runs each pod's
 * container with podman, from the outpost-runner image `npm run images` builds, pushed to Debian's
 * docker-registry and pulled from there — so the image's contents run each attempt, not the
 * workspace's. Against another cluster: OUTPOST_TEST_KUBECONFIG names a kubeconfig whose context's
 * namespace the tests may fill with Jobs, OUTPOST_TEST_RELAY_ADDRESS the address its pods reach this
 * machine at, OUTPOST_TEST_IMAGE a runner image it can pull (docs/kubernetes.md).
 */
const external = process.env.OUTPOST_TEST_KUBECONFIG
  ? {
      kubeconfig: process.env.OUTPOST_TEST_KUBECONFIG,
      relayAddress: process.env.OUTPOST_TEST_RELAY_ADDRESS ?? '',
      image: process.env.OUTPOST_TEST_IMAGE ?? '',
    }
  : undefined;
if (external && (!external.relayAddress || !external.image))
  throw new Error('with OUTPOST_TEST_KUBECONFIG, set OUTPOST_TEST_RELAY_ADDRESS and OUTPOST_TEST_IMAGE too');

const VERSION = IMAGE_VERSION;

let cluster: KubeCluster | undefined;
let node: FakeNode | undefined;
/** The registry runs as a container too (localhost/outpost/registry, Debian's docker-registry). */
let registry: RegistryContainer | undefined;
let target = external ?? { kubeconfig: '', relayAddress: '127.0.0.1', image: '' };
let registryHost = '';

beforeAll(async () => {
  if (external) return;
  buildImages();
  registry = await startRegistryContainer(await freePort());
  registryHost = registry.host;
  const image = await registry.push('outpost-runner');
  cluster = await startKubeCluster();
  node = await startFakeNode(cluster, { runtime: 'podman' });
  target = { kubeconfig: cluster.kubeconfigPath, relayAddress: '127.0.0.1', image };
});

afterAll(async () => {
  await node?.stop();
  await cluster?.stop();
  await registry?.stop();
});

if (!external) {
  describe('the test node with podman', () => {
    /** A bare pod of the test namespace, run once. */
    const pod = (name: string, image: string, command: string[]) =>
      JSON.stringify({
        apiVersion: 'v1',
        kind: 'Pod',
        metadata: { name },
        spec: { restartPolicy: 'Never', containers: [{ name: 'main', image, command }] },
      });
    const status = async (name: string) => JSON.parse((await cluster!.kubectl(['get', 'pod', name, '-o', 'json'])).stdout).status;

    it("pulls each pod's image from its registry: ErrImagePull is the registry's answer, and a pulled image reports its digest and runs", async () => {
      const missing = `${registryHost}/outpost/not-pushed:${VERSION}`;
      expect(
        (await cluster!.kubectl(['create', '-f', '-'], { stdin: pod('missing', missing, ['outpost-pod-runner']) })).code,
      ).toBe(0);
      const said = 'hello from the runner image';
      const created = await cluster!.kubectl(['create', '-f', '-'], {
        stdin: pod('pulled', target.image, ['node', '-e', `console.log(${JSON.stringify(said)}, process.versions.node)`]),
      });
      expect(created.code, created.stderr).toBe(0);
      const waiting = await until('the pod of a missing image to wait', async () => {
        const state = (await status('missing')).containerStatuses?.[0]?.state?.waiting;
        return state?.reason === 'ErrImagePull' ? state : undefined;
      });
      expect(waiting.message).toContain(missing);
      expect(waiting.message).toMatch(/manifest unknown|not found/i);
      const done = await until('the pulled pod to finish', async () => {
        const s = await status('pulled');
        return s.phase === 'Succeeded' || s.phase === 'Failed' ? s : undefined;
      });
      expect(done.phase).toBe('Succeeded');
      // The digest the registry holds for the pushed image is the one the pod reports.
      const manifest = await fetch(`http://${registryHost}/v2/outpost/outpost-runner/manifests/${VERSION}`, {
        method: 'HEAD',
        headers: { accept: 'application/vnd.oci.image.manifest.v1+json, application/vnd.docker.distribution.manifest.v2+json' },
      });
      const digest = manifest.headers.get('docker-content-digest');
      expect(digest).toMatch(/^sha256:[a-f0-9]{64}$/);
      expect(done.containerStatuses[0].imageID).toBe(`docker-pullable://${registryHost}/outpost/outpost-runner@${digest}`);
      // Its output reached the API server's pods/log from the node: node 20, from the image.
      const logs = await cluster!.kubectl(['logs', 'pulled']);
      expect(logs.stdout.trim()).toMatch(new RegExp(`^${said} 20\\.`));
    });
  });
}

describe(
  external ? 'against the cluster of OUTPOST_TEST_KUBECONFIG' : 'against the test control plane, pods run by podman',
  () => {
    describeExecutor('kubernetes (pods as containers)', (context) =>
      createKubernetesExecutor({
        ...context,
        options: {
          ...context.options,
          type: 'kubernetes',
          kubeconfig: target.kubeconfig,
          namespace: external ? null : (cluster?.namespace ?? null),
          relayListen: external ? '0.0.0.0:0' : '127.0.0.1:0',
          relayAddress: target.relayAddress,
          imagePullTimeoutMs: 60_000,
          baseJobTemplate: {
            apiVersion: 'batch/v1',
            kind: 'Job',
            spec: {
              backoffLimit: 0,
              ttlSecondsAfterFinished: 300,
              template: { spec: { restartPolicy: 'Never', containers: [{ name: 'flow', image: target.image }] } },
            },
          },
        },
      }),
    );
  },
);
