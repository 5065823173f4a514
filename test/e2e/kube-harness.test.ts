import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  type FakeNode,
  fakeImageId,
  type KubeCluster,
  kubectlPath,
  startFakeNode,
  startKubeCluster,
} from '../support/kube/index.js';
import { watchOutput } from '../support/processes.js';
import { isAlive, waitFor } from '../support/worker-process.js';

/** A batch/v1 Job of one container running `command`, never retried. */
function job(name: string, command: string[], extra: { env?: unknown[]; nodeSelector?: Record<string, string> } = {}) {
  return JSON.stringify({
    apiVersion: 'batch/v1',
    kind: 'Job',
    metadata: { name },
    spec: {
      backoffLimit: 0,
      template: {
        spec: {
          restartPolicy: 'Never',
          terminationGracePeriodSeconds: 5,
          ...(extra.nodeSelector ? { nodeSelector: extra.nodeSelector } : {}),
          containers: [{ name: 'main', image: `example.test/${name}:1`, command, ...(extra.env ? { env: extra.env } : {}) }],
        },
      },
    },
  });
}

interface PodJson {
  metadata: { name: string; deletionTimestamp?: string };
  status: {
    phase?: string;
    reason?: string;
    conditions?: { type: string; status: string; reason?: string }[];
    containerStatuses?: {
      imageID: string;
      state: {
        running?: object;
        waiting?: { reason: string; message?: string };
        terminated?: { exitCode: number; reason: string };
      };
    }[];
  };
}

describe('the Kubernetes harness: a real control plane and a node played by the test', () => {
  let cluster: KubeCluster;
  let node: FakeNode;
  const scratch = mkdtempSync(path.join(tmpdir(), 'outpost-kube-harness-'));

  beforeAll(async () => {
    cluster = await startKubeCluster();
    node = await startFakeNode(cluster, { gpus: 2 });
  });
  afterAll(async () => {
    await node?.stop();
    await cluster?.stop();
    rmSync(scratch, { recursive: true, force: true });
  });

  async function apply(manifest: string) {
    const applied = await cluster.kubectl(['apply', '-f', '-'], { stdin: manifest });
    expect(applied.code, applied.stderr).toBe(0);
  }

  async function podsOf(jobName: string): Promise<PodJson[]> {
    const listed = await cluster.kubectl(['get', 'pods', '-l', `job-name=${jobName}`, '-o', 'json']);
    expect(listed.code, listed.stderr).toBe(0);
    return (JSON.parse(listed.stdout) as { items: PodJson[] }).items;
  }

  async function jobCondition(jobName: string, type: 'Complete' | 'Failed'): Promise<boolean> {
    const got = await cluster.kubectl(['get', 'job', jobName, '-o', 'json']);
    const conditions = (JSON.parse(got.stdout) as { status: { conditions?: { type: string; status: string }[] } }).status
      .conditions;
    return (conditions ?? []).some((c) => c.type === type && c.status === 'True');
  }

  it('creates a fresh namespace with its default ServiceAccount and a Ready node with GPUs', async () => {
    const nodeJson = await cluster.kubectl(['get', 'node', node.name, '-o', 'json']);
    const status = (JSON.parse(nodeJson.stdout) as { status: { allocatable: Record<string, string>; conditions: object[] } })
      .status;
    expect(status.allocatable['nvidia.com/gpu']).toBe('2');
    expect(status.conditions).toContainEqual(expect.objectContaining({ type: 'Ready', status: 'True' }));
    const account = await cluster.kubectl(['get', 'serviceaccount', 'default', '-o', 'name']);
    expect(account.stdout.trim()).toBe('serviceaccount/default');
    expect(cluster.server).toMatch(/^https:\/\/127\.0\.0\.1:\d+$/);
  });

  it('runs a Job applied with kubectl until the Job controller marks it Complete, and kubectl logs prints its output', async () => {
    await apply(job('hello', ['node', '-e', "console.log('hi from the pod')"]));
    await waitFor(() => jobCondition('hello', 'Complete'), 60_000, 'job hello to be Complete');

    const logs = await cluster.kubectl(['logs', 'job/hello']);
    expect(logs.code, logs.stderr).toBe(0);
    expect(logs.stdout).toBe('hi from the pod\n');
    const [pod] = await podsOf('hello');
    expect(pod?.status.phase).toBe('Succeeded');
    expect(pod?.status.containerStatuses?.[0]?.state.terminated).toMatchObject({ exitCode: 0, reason: 'Completed' });
    expect(pod?.status.containerStatuses?.[0]?.imageID).toBe(fakeImageId('example.test/hello:1'));
    expect(fakeImageId('example.test/hello:1')).toMatch(/^docker-pullable:\/\/example\.test\/hello:1@sha256:[0-9a-f]{64}$/);
  });

  it('gives the container env from literals and from a Secret read through the API, and fails the Job on a non-zero exit', async () => {
    const secret = await cluster.kubectl(['create', 'secret', 'generic', 'db', '--from-literal=password=s3cret']);
    expect(secret.code, secret.stderr).toBe(0);
    const script = "console.log(process.env.GREETING + ' ' + process.env.PASSWORD); process.exit(3)";
    await apply(
      job('env', ['node', '-e', script], {
        env: [
          { name: 'GREETING', value: 'hello' },
          { name: 'PASSWORD', valueFrom: { secretKeyRef: { name: 'db', key: 'password' } } },
        ],
      }),
    );
    await waitFor(() => jobCondition('env', 'Failed'), 60_000, 'job env to be Failed');
    const [pod] = await podsOf('env');
    expect(pod?.status.containerStatuses?.[0]?.state.terminated).toMatchObject({ exitCode: 3, reason: 'Error' });
    expect((await cluster.kubectl(['logs', 'job/env'])).stdout).toBe('hello s3cret\n');
  });

  it('streams the log of a running container through the API server as the container writes it', async () => {
    const go = path.join(scratch, 'go');
    const script =
      "const fs = require('fs'); console.log('first'); const t = setInterval(() => { if (fs.existsSync(process.env.GO)) { console.log('second'); clearInterval(t) } }, 50)";
    await apply(job('follow', ['node', '-e', script], { env: [{ name: 'GO', value: go }] }));
    await waitFor(async () => (await podsOf('follow'))[0]?.status.phase === 'Running', 60_000, 'the pod of job follow to run');

    const follower = watchOutput(
      spawn(kubectlPath, ['--kubeconfig', cluster.kubeconfigPath, 'logs', '-f', '--timestamps', 'job/follow'], {
        env: { PATH: process.env.PATH ?? '', HOME: scratch },
        stdio: ['ignore', 'pipe', 'pipe'],
      }),
    );
    await follower.waitFor(/first\n/);
    expect(follower.output()).not.toContain('second');
    writeFileSync(go, '');
    const { code } = await follower.exited;
    expect(code, follower.output()).toBe(0);
    expect(follower.output()).toMatch(/^\d{4}-\d\d-\d\dT[\d:.]+Z first\n\d{4}-\d\d-\d\dT[\d:.]+Z second\n$/);
  });

  it('kills the local process of a running pod when its Job is deleted, then removes the pod', async () => {
    await apply(job('forever', ['node', '-e', 'setInterval(() => {}, 1000)']));
    const container = await waitFor(
      () => node.running().find((c) => c.pod.startsWith('forever-')),
      60_000,
      'the pod of job forever to run a local process',
    );
    expect(isAlive(container.pid)).toBe(true);

    const deleted = await cluster.kubectl(['delete', 'job', 'forever']);
    expect(deleted.code, deleted.stderr).toBe(0);
    await waitFor(() => !isAlive(container.pid), 30_000, 'the process of the deleted pod to end');
    await waitFor(async () => (await podsOf('forever')).length === 0, 30_000, 'the pod of the deleted job to be removed');
    expect(node.running().some((c) => c.pod === container.pod)).toBe(false);
  });

  it('stops the container of a pod deleted while the node was still creating it, then removes the pod', async () => {
    node.behave((pod) => pod.metadata?.labels?.['job-name'] === 'late', 'hold-create');
    await apply(job('late', ['node', '-e', 'setInterval(() => {}, 1000)']));
    const held = await waitFor(
      () => node.held().find((h) => h.pod.startsWith('late-')),
      60_000,
      'the node to be creating the container of job late',
    );
    const deleted = await cluster.kubectl(['delete', 'job', 'late', '--wait=false']);
    expect(deleted.code, deleted.stderr).toBe(0);
    await waitFor(() => node.held().find((h) => h.pod === held.pod)?.deleting, 30_000, 'the node to see the pod deleted');

    node.release(held.pod);
    await waitFor(async () => (await podsOf('late')).length === 0, 30_000, 'the pod deleted during creation to be removed');
    expect(node.started().map((s) => s.pod)).toContain(held.pod);
    expect(node.running().some((c) => c.pod === held.pod)).toBe(false);
  });

  it('reports a pod the node OOM-kills as OOMKilled with exit code 137, and the Job fails', async () => {
    node.behave((pod) => pod.metadata?.labels?.['job-name'] === 'hungry', 'oom-kill');
    await apply(job('hungry', ['node', '-e', 'setInterval(() => {}, 1000)']));
    await waitFor(() => jobCondition('hungry', 'Failed'), 60_000, 'job hungry to be Failed');
    const [pod] = await podsOf('hungry');
    expect(pod?.status.phase).toBe('Failed');
    expect(pod?.status.containerStatuses?.[0]?.state.terminated).toMatchObject({ exitCode: 137, reason: 'OOMKilled' });
  });

  it('reports ImagePullBackOff for a pod whose image cannot be pulled, and never starts it', async () => {
    node.behave((pod) => pod.metadata?.labels?.['job-name'] === 'nopull', 'image-pull-backoff');
    await apply(job('nopull', ['node', '-e', 'setInterval(() => {}, 1000)']));
    const waiting = await waitFor(
      async () => (await podsOf('nopull'))[0]?.status.containerStatuses?.[0]?.state.waiting,
      60_000,
      'the pod of job nopull to wait',
    );
    expect(waiting).toEqual({ reason: 'ImagePullBackOff', message: 'Back-off pulling image "example.test/nopull:1"' });
    expect(node.running().some((c) => c.pod.startsWith('nopull-'))).toBe(false);
  });

  it('evicts a pod: the process is killed and the pod fails with reason Evicted', async () => {
    node.behave((pod) => pod.metadata?.labels?.['job-name'] === 'evicted', 'evict');
    await apply(job('evicted', ['node', '-e', 'setInterval(() => {}, 1000)']));
    const pod = await waitFor(
      async () => (await podsOf('evicted')).find((p) => p.status.phase === 'Failed'),
      60_000,
      'the pod of job evicted to fail',
    );
    expect(pod.status.reason).toBe('Evicted');
    expect(node.running().some((c) => c.pod.startsWith('evicted-'))).toBe(false);
  });

  it('leaves a pod whose nodeSelector matches no node unscheduled, as the real scheduler says', async () => {
    await apply(job('nowhere', ['node', '-e', '0'], { nodeSelector: { 'outpost.dev/pool': 'gpu-a100' } }));
    const condition = await waitFor(
      async () => (await podsOf('nowhere'))[0]?.status.conditions?.find((c) => c.type === 'PodScheduled' && c.status === 'False'),
      60_000,
      'the pod of job nowhere to be found unschedulable',
    );
    expect(condition.reason).toBe('Unschedulable');
  });
});
