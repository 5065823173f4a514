import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { ExternalJobError, kubernetesPods, podName, runExternalJob } from '@outpost/sdk/integrations';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type FakeNode, type KubeCluster, startFakeNode, startKubeCluster } from '../support/kube/index.js';

/*
 * The Kubernetes pod integration against a real API server, scheduler and controllers (v1.20.2),
 * with this test playing the node: one GPU, a GPU node label, containers run as local processes,
 * logs served to the API server's pods/log proxy.
 */

describe('kubernetesPods().pod with runExternalJob, on a real control plane', () => {
  let cluster: KubeCluster;
  let node: FakeNode;
  let pods: Awaited<ReturnType<typeof kubernetesPods>>;
  const fast = { pollIntervalMs: 100 };
  const gpuNode = { 'cloud.google.com/gke-accelerator': 'nvidia-tesla-t4' };

  beforeAll(async () => {
    cluster = await startKubeCluster();
    node = await startFakeNode(cluster, { gpus: 1, labels: gpuNode });
    pods = await kubernetesPods({
      server: cluster.server,
      token: cluster.token,
      // kube-apiserver's self-signed serving certificate is also its CA.
      ca: await readFile(path.join(cluster.stateDir, 'pki', 'apiserver.crt'), 'utf8'),
      namespace: cluster.namespace,
    });
  });

  afterAll(async () => {
    await node?.stop();
    await cluster?.stop();
  });

  const getPod = async (name: string) => {
    const result = await cluster.kubectl(['get', 'pod', name, '-o', 'json']);
    return result.code === 0 ? (JSON.parse(result.stdout) as { spec: Record<string, unknown> }) : null;
  };

  it('runs a task on a GPU node as a Pod of its own, with its logs, the GPU and node selector in its spec', async () => {
    const result = await runExternalJob(
      pods.pod,
      {
        namePrefix: 'churn-train',
        image: 'registry.internal/ml/train:3',
        command: ['node', '-e', "console.log('epoch 1 loss 0.61'); console.log('trained on ' + process.env.DAY)"],
        env: { DAY: '2026-11-24' },
        resources: { cpu: '1', memory: '1Gi', gpus: 1 },
        nodeSelector: gpuNode,
      },
      { ...fast, idempotencyKey: 'run-1:train-0:1' },
    );
    const name = podName('churn-train', 'run-1:train-0:1');
    expect(result).toEqual({
      namespace: cluster.namespace,
      name,
      node: node.name,
      logs: ['epoch 1 loss 0.61', 'trained on 2026-11-24'],
    });
    const spec = (await getPod(name))?.spec as {
      restartPolicy: string;
      nodeSelector: Record<string, string>;
      containers: { resources: { limits: Record<string, string> } }[];
    };
    expect(spec.restartPolicy).toBe('Never');
    expect(spec.nodeSelector).toEqual(gpuNode);
    expect(spec.containers[0]?.resources.limits).toEqual({ cpu: '1', memory: '1Gi', 'nvidia.com/gpu': '1' });
  });

  it('finds the Pod it started when the start is sent again', async () => {
    const input = {
      namePrefix: 'replayed',
      image: 'registry.internal/ml/train:3',
      command: ['node', '-e', 'setTimeout(() => {}, 60000)'],
    };
    const first = await pods.pod.start(input, { idempotencyKey: 'run-2:train-0:1' });
    const again = await pods.pod.start(input, { idempotencyKey: 'run-2:train-0:1' });
    expect(again).toEqual(first);
    await pods.pod.cancel?.(first);
  });

  it('fails with the exit code and last line of a failing container, and with the reason of an image that cannot be pulled', async () => {
    const failed = await runExternalJob(
      pods.pod,
      {
        namePrefix: 'fails',
        image: 'registry.internal/ml/train:3',
        command: ['node', '-e', "console.error('no rows for 2026-11-24'); process.exit(3)"],
      },
      { ...fast, idempotencyKey: 'run-3:train-0:1' },
    ).catch((e: unknown) => e);
    expect(failed).toBeInstanceOf(ExternalJobError);
    expect(String(failed)).toMatch(/failed: exit code 3 .*; its last line: no rows for 2026-11-24$/);

    node.behave((pod) => pod.metadata?.labels?.scenario === 'pull', 'err-image-pull');
    const unpulled = await runExternalJob(
      pods.pod,
      { namePrefix: 'unpulled', image: 'registry.internal/ml/missing:1', labels: { scenario: 'pull' }, command: ['true'] },
      { ...fast, idempotencyKey: 'run-4:train-0:1' },
    ).catch((e: unknown) => e);
    expect(String(unpulled)).toMatch(/failed: ErrImagePull/);
  });

  it('fails a Pod no node can take once its pending time is up', async () => {
    const error = await runExternalJob(
      pods.pod,
      {
        namePrefix: 'unschedulable',
        image: 'registry.internal/ml/train:3',
        command: ['true'],
        nodeSelector: { 'cloud.google.com/gke-accelerator': 'nvidia-h100' },
        pendingTimeoutSeconds: 2,
      },
      { ...fast, idempotencyKey: 'run-5:train-0:1' },
    ).catch((e: unknown) => e);
    expect(String(error)).toMatch(
      /Pending \(Unschedulable: 0\/1 nodes are available: 1 node\(s\) didn't match Pod's node affinity\.\) for more than 2 s/,
    );
  });

  it("deletes the Pod when the task's time limit passes, and the node stops its container", async () => {
    const name = podName('slow', 'run-6:train-0:1');
    const error = await runExternalJob(
      pods.pod,
      { namePrefix: 'slow', image: 'registry.internal/ml/train:3', command: ['node', '-e', 'setInterval(() => {}, 1000)'] },
      { ...fast, idempotencyKey: 'run-6:train-0:1', timeoutSeconds: 3 },
    ).catch((e: unknown) => e);
    expect((error as ExternalJobError).state).toBe('timed_out');
    const deadline = Date.now() + 30_000;
    while ((await getPod(name)) !== null && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 200));
    expect(await getPod(name)).toBeNull();
    expect(node.running().filter((c) => c.pod === name)).toEqual([]);
  });
});
