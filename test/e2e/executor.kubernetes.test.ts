import { delimiter, join } from 'node:path';
import { afterAll, beforeAll } from 'vitest';
import { createKubernetesExecutor } from '../../worker/src/executors/kubernetes/executor.js';
import { describeExecutor } from '../../worker/test/executor-contract.js';
import { type FakeNode, type KubeCluster, startFakeNode, startKubeCluster } from '../support/kube/index.js';
import { repoRoot } from '../support/processes.js';

/*
 * The suite every executor passes, run for the Kubernetes executor against a real API server (the
 * test control plane, v1.20.2) whose node is played by this process: each attempt is a Job whose
 * pod runs `outpost-pod-runner` as a local process, talking to its worker over the relay.
 */
let cluster: KubeCluster;
let node: FakeNode;

beforeAll(async () => {
  // The node starts each pod's command with this process's PATH: `outpost-pod-runner` is in the workspace's bin.
  process.env.PATH = [join(repoRoot, 'node_modules/.bin'), process.env.PATH ?? ''].join(delimiter);
  cluster = await startKubeCluster();
  node = await startFakeNode(cluster);
});

afterAll(async () => {
  await node?.stop();
  await cluster?.stop();
});

describeExecutor('kubernetes', (context) =>
  createKubernetesExecutor({
    ...context,
    options: {
      ...context.options,
      type: 'kubernetes',
      kubeconfig: cluster.kubeconfigPath,
      namespace: cluster.namespace,
      relayListen: '127.0.0.1:0',
      relayAddress: '127.0.0.1',
      imagePullTimeoutMs: 5_000,
      unschedulableTimeoutMs: 5_000,
    },
  }),
);
