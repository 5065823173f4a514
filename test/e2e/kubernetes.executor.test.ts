import { randomUUID } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { V1Job } from '@kubernetes/client-node';
import { unwrap } from '@outpost/sdk/client';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { freePort } from '../../sdk/test/support/registry.js';
import { relayKey, relayToken } from '../../worker/src/executors/kubernetes/relay-protocol.js';
import { type FakeNode, fakeImageId, type KubeCluster, type KubeStage, startKubeStage } from '../support/kube/index.js';
import { repoRoot } from '../support/processes.js';
import type { Plane } from '../support/worker-flows.js';
import { isAlive, startWorkerProcess, type WorkerProcess, waitFor } from '../support/worker-process.js';

/*
 * `outpost worker start --type kubernetes` against a real API server (v1.20.2) whose node this test
 * plays: each attempt is one Job, its pod runs flow code through `outpost-pod-runner`, and what the
 * platform does to a pod (OOM kill, image pull failure, no node to run on) ends the run CRASHED with why.
 * The Job is built from the worker's own template within its bounds, whatever the pool says.
 */
const SECRET = 'kube-s3cret-value-41';
/** What a hostile control plane puts in a pool's base job template: everything that hands a pod the node. */
const HOSTILE_TEMPLATE = {
  apiVersion: 'batch/v1',
  kind: 'Job',
  metadata: { labels: { pwned: 'true' } },
  spec: {
    template: {
      spec: {
        restartPolicy: 'Never',
        hostPID: true,
        hostNetwork: true,
        initContainers: [{ name: 'escape', image: 'attacker/tools:1', securityContext: { privileged: true } }],
        containers: [
          { name: 'flow', image: 'attacker/runner:1', volumeMounts: [{ name: 'host', mountPath: '/host' }] },
          { name: 'miner', image: 'attacker/miner:1' },
        ],
        volumes: [{ name: 'host', hostPath: { path: '/' } }],
      },
    },
  },
};
const WORKER_VERSION = (JSON.parse(readFileSync(join(repoRoot, 'worker/package.json'), 'utf8')) as { version: string }).version;

describe('the Kubernetes executor in a worker', () => {
  let stage: KubeStage | undefined;
  let cluster: KubeCluster;
  let node: FakeNode;
  let plane: Plane;
  let scratch: string;
  let source: string;
  let key: string;
  let relayPort: number;
  const workers: WorkerProcess[] = [];

  beforeAll(async () => {
    // Four GPUs for the Jobs of runs that ask for them (`nvidia.com/gpu` limits).
    stage = await startKubeStage({ scratchPrefix: 'outpost-e2e-kube-', node: { gpus: 4 } });
    ({ cluster, node, plane, scratch, source } = stage);
    key = await plane.server.createKey('worker', ['default', 'kube']);
    // A Kubernetes pool made through the API (as a developer key, or whoever holds the control
    // plane, may) whose base job template asks for the node: its process and network namespaces, a
    // privileged init container, a second container and the node's root filesystem.
    const created = await plane.owner.call('poolsCreate', {
      body: { name: 'kube', type: 'kubernetes', baseJobTemplate: HOSTILE_TEMPLATE },
    });
    expect(created.ok, JSON.stringify(created)).toBe(true);
    // A fixed port: pods of a worker that restarts dial the address in their environment.
    relayPort = await freePort();
  });

  afterEach(async () => {
    for (const w of workers.splice(0)) await w.stop();
  });

  afterAll(async () => {
    await stage?.stop();
  });

  function worker(pool = 'default', extra: string[] = []): WorkerProcess {
    const w = startWorkerProcess(
      [
        ...extra,
        '--pool',
        pool,
        '--name',
        pool === 'default' ? 'kube-e2e' : `kube-e2e-${pool}`,
        '--type',
        'kubernetes',
        '--kubeconfig',
        cluster.kubeconfigPath,
        '--namespace',
        cluster.namespace,
        '--relay-listen',
        `127.0.0.1:${relayPort}`,
        '--image-pull-timeout',
        '3s',
        '--unschedulable-timeout',
        '3s',
        '--heartbeat-interval',
        '500ms',
        '--poll-wait',
        '1s',
        // What the deployments below name in their job variables: the flows' image, and the label
        // the test node reads to misbehave on purpose.
        '--allow-image',
        'outpost/flows:e2e',
        '--allow-pod-label',
        'scenario',
      ],
      { ...stage!.workerEnv(key), DB_PASSWORD: SECRET },
    );
    workers.push(w);
    return w;
  }

  async function deploy(flow: string, jobVariables: Record<string, unknown> = {}): Promise<string> {
    return plane.deploy(flow, source, {
      name: `${flow}-${randomUUID().slice(0, 8)}`,
      jobVariables: { image: 'outpost/flows:e2e', env: { DB_PASSWORD: { $secret: 'DB_PASSWORD' } }, ...jobVariables },
    });
  }

  async function jobsOf(runId: string): Promise<{ metadata: { name: string; labels: Record<string, string> } }[]> {
    const result = await cluster.kubectl(['get', 'jobs', '-l', `outpost.dev/run-id=${runId}`, '-o', 'json']);
    expect(result.code).toBe(0);
    return JSON.parse(result.stdout).items;
  }

  /**
   * Waits for the run's Job to fail, touching it while it has not. v1.20's Job controller checks a
   * deadline once, when the delay it queued at the Job's first sync is up. A second sync that ran
   * before its cache held the first one's startTime writes a later startTime; when the two straddle
   * a second, that one check finds the deadline not yet past, and nothing queues another until the
   * pod changes (later versions queue the check again). A change to the Job syncs it, as they would.
   */
  async function jobFailedAtDeadline(runId: string): Promise<void> {
    await waitFor(
      async () => {
        const result = await cluster.kubectl(['get', 'jobs', '-l', `outpost.dev/run-id=${runId}`, '-o', 'json']);
        const [job] = (JSON.parse(result.stdout) as { items: V1Job[] }).items;
        if (job?.status?.conditions?.some((c) => c.type === 'Failed' && c.status === 'True')) return true;
        if (job?.metadata?.name) {
          await cluster.kubectl(['annotate', 'job', job.metadata.name, `outpost.test/touched=${Date.now()}`, '--overwrite']);
        }
        return false;
      },
      60_000,
      `the Job of ${runId} to fail at its deadline`,
    );
  }

  async function logged(runId: string, prefix: string): Promise<string> {
    return waitFor(
      async () => (await plane.lines(runId)).find((l) => l.message.startsWith(prefix))?.message,
      60_000,
      `"${prefix}" in the log of ${runId}`,
    );
  }

  it('runs a flow to COMPLETED in one Job labelled with its run, attempt, pool and worker', async () => {
    worker();
    const runId = await plane.run(await deploy('hello'));
    const run = await plane.settled(runId);
    expect(run.state.type).toBe('COMPLETED');
    expect((await plane.lines(runId)).map((l) => l.message)).toContain(`hello from ${runId}`);
    const jobs = await jobsOf(runId);
    expect(jobs).toHaveLength(1);
    expect(jobs[0]!.metadata.labels).toMatchObject({
      'outpost.dev/run-id': runId,
      'outpost.dev/attempt': '1',
      'outpost.dev/pool': 'default',
      'outpost.dev/worker': 'kube-e2e',
    });
    // The manifest records where the attempt ran: the image the pod pulled, by digest, and its Node.
    const manifest = unwrap(await plane.owner.call('flowRunsManifest', { params: { id: runId } }));
    expect(manifest.attempts).toEqual([
      expect.objectContaining({
        attempt: 1,
        executor: 'kubernetes',
        workerVersion: WORKER_VERSION,
        nodeVersion: process.version,
        image: 'outpost/flows:e2e',
        imageDigest: fakeImageId('outpost/flows:e2e').split('@')[1],
      }),
    ]);
  });

  it('keeps the relay token out of the Job: the pod takes it from a Secret the Job owns, deleted when the attempt ends', async () => {
    worker();
    const runId = await plane.run(await deploy('once'), { counter: join(scratch, 'relay-secret'), ms: 120_000 });
    // The flow runs, so its pod dialled the relay with the token from the Secret.
    await logged(runId, 'started pid ');
    const token = relayToken(relayKey(key), runId, 1);
    const job = await cluster.kubectl(['get', 'jobs', '-l', `outpost.dev/run-id=${runId}`, '-o', 'yaml']);
    const pods = await cluster.kubectl(['get', 'pods', '-l', `outpost.dev/run-id=${runId}`, '-o', 'yaml']);
    expect(job.stdout).toContain('secretKeyRef');
    expect(pods.stdout).toContain('outpost.dev/run-id');
    for (const spec of [job.stdout, pods.stdout]) expect(spec).not.toContain(token);
    const [{ metadata }] = (await jobsOf(runId)) as unknown as [{ metadata: { name: string; uid: string } }];
    const read = await cluster.kubectl(['get', 'secret', `${metadata.name}-relay`, '-o', 'json']);
    expect(read.code, read.stderr).toBe(0);
    const secret = JSON.parse(read.stdout) as {
      data: { token: string };
      metadata: { ownerReferences?: { kind: string; name: string; uid: string }[] };
    };
    expect(Buffer.from(secret.data.token, 'base64').toString('utf8')).toBe(token);
    expect(secret.metadata.ownerReferences).toEqual([
      expect.objectContaining({ kind: 'Job', name: metadata.name, uid: metadata.uid }),
    ]);
    unwrap(
      await plane.owner.call('flowRunsSetState', {
        params: { id: runId },
        body: { transitionId: randomUUID(), state: { type: 'CANCELLING' } },
      }),
    );
    expect((await plane.settled(runId)).state.type).toBe('CANCELLED');
    await waitFor(
      async () => (await cluster.kubectl(['get', 'secret', `${metadata.name}-relay`])).stderr.includes('NotFound'),
      60_000,
      'the relay Secret to be deleted',
    );
  });

  it("relays a flow's runDeployment through its pod: the child runs in a Job of its own, linked to its parent", async () => {
    worker();
    const childDeployment = await plane.deploy('hello', source, {
      name: 'child-e2e',
      jobVariables: { image: 'outpost/flows:e2e' },
    });
    const parentId = await plane.run(await deploy('delegate'), { deployment: 'hello/child-e2e' });

    const parent = await plane.settled(parentId);

    expect(parent.state.type).toBe('COMPLETED');
    const children = unwrap(
      await plane.owner.call('flowRunsList', { query: { deploymentId: childDeployment, limit: 10 } }),
    ).items;
    expect(children.map((c) => [c.parentFlowRunId, c.state.type])).toEqual([[parentId, 'COMPLETED']]);
    const child = children[0]!;
    expect((await plane.lines(parentId)).map((l) => l.message)).toContain(`child ${child.id} ended COMPLETED`);
    expect(await jobsOf(child.id)).toHaveLength(1);
  });

  it("builds each Job from the worker's own base job template: a privileged, hostPID, hostPath template from the API never reaches it", async () => {
    const own = join(scratch, 'own-template.json');
    writeFileSync(
      own,
      JSON.stringify({
        apiVersion: 'batch/v1',
        kind: 'Job',
        metadata: { labels: { team: 'vision' } },
        spec: {
          ttlSecondsAfterFinished: 900,
          template: { spec: { restartPolicy: 'Never', containers: [{ name: 'flow', image: 'outpost/runner:e2e' }] } },
        },
      }),
    );
    const w = worker('kube', ['--base-job-template', own]);
    const deployment = await plane.deploy('hello', source, { name: `hello-${randomUUID().slice(0, 8)}`, workPool: 'kube' });
    const first = await plane.run(deployment);
    expect((await plane.settled(first)).state.type).toBe('COMPLETED');
    const second = await plane.run(deployment);
    expect((await plane.settled(second)).state.type).toBe('COMPLETED');
    for (const runId of [first, second]) {
      const [job] = (await jobsOf(runId)) as unknown as {
        metadata: { labels: Record<string, string> };
        spec: {
          ttlSecondsAfterFinished?: number;
          template: {
            spec: Record<string, unknown> & { containers: { name: string; image: string; securityContext?: unknown }[] };
          };
        };
      }[];
      expect(job?.metadata.labels).toMatchObject({ team: 'vision', 'outpost.dev/pool': 'kube' });
      expect(job?.metadata.labels).not.toHaveProperty('pwned');
      expect(job?.spec.ttlSecondsAfterFinished).toBe(900);
      const pod = job!.spec.template.spec;
      for (const field of ['hostPID', 'hostNetwork', 'hostIPC', 'initContainers', 'volumes'])
        expect(pod[field], field).toBeUndefined();
      expect(pod.containers.map((c) => [c.name, c.image])).toEqual([['flow', 'outpost/runner:e2e']]);
      expect(pod.containers[0]!.securityContext).toEqual({
        allowPrivilegeEscalation: false,
        capabilities: { drop: ['ALL'] },
        seccompProfile: { type: 'RuntimeDefault' },
        runAsNonRoot: true,
      });
    }
    // The worker says once, not at every run, that it ignores the pool's template.
    const warnings = w
      .output()
      .split('\n')
      .filter((l) => l.includes("the work pool's base job template from the API is ignored"));
    expect(warnings).toHaveLength(1);
  });

  it("fails a run whose job variables reach outside the worker's bounds as a configuration error, naming the variable and the flag, and creates no Job", async () => {
    worker();
    for (const [jobVariables, variable, flag] of [
      [{ image: 'docker.io/attacker/miner:latest' }, 'job variable image', '--allow-image'],
      [{ serviceAccountName: 'cluster-admin' }, 'job variable serviceAccountName', '--allow-service-account'],
      [
        { envFromSecrets: { TOKEN: 'outpost-worker-key/OUTPOST_API_KEY' } },
        'job variable envFromSecrets.TOKEN',
        '--allow-secret',
      ],
    ] as const) {
      const runId = await plane.run(await deploy('hello', jobVariables));
      const run = await plane.settled(runId);
      expect(run.state.type).toBe('FAILED');
      expect(run.state.name).toBe('ConfigurationError');
      expect(run.state.message).toContain(variable);
      expect(run.state.message).toContain(flag);
      // Refused before anything was created, and not retried: every attempt would be refused the same way.
      expect(run.attempt).toBe(1);
      expect(await jobsOf(runId)).toEqual([]);
    }
  });

  it("delivers the pod's output with the flow's secret masked", async () => {
    worker();
    const runId = await plane.run(await deploy('leak'));
    const run = await plane.settled(runId);
    expect(run.state.type).toBe('FAILED');
    // The pod's stdout comes through pods/log and its final state through the relay: the line may
    // be stored a moment after the state, never lost.
    await logged(runId, 'raw: ***');
    await logged(runId, 'url: postgres://app:***@');
    const messages = (await plane.lines(runId)).map((l) => l.message);
    expect(messages.some((m) => m.includes(SECRET))).toBe(false);
    expect(run.state.message ?? '').not.toContain(SECRET);
  });

  it('deletes the Job of a cancelled run, and its flow process dies', async () => {
    worker();
    const runId = await plane.run(await deploy('once'), { counter: join(scratch, 'cancelled'), ms: 120_000 });
    const pid = Number((await logged(runId, 'started pid ')).split(' ')[2]);
    expect(isAlive(pid)).toBe(true);
    unwrap(
      await plane.owner.call('flowRunsSetState', {
        params: { id: runId },
        body: { transitionId: randomUUID(), state: { type: 'CANCELLING' } },
      }),
    );
    expect((await plane.settled(runId)).state.type).toBe('CANCELLED');
    await waitFor(async () => (await jobsOf(runId)).length === 0, 60_000, 'the Job to be deleted');
    await waitFor(() => !isAlive(pid), 30_000, 'the flow process to die');
  });

  for (const [scenario, behaviour, reason] of [
    ['oom', 'oom-kill', 'OOMKilled'],
    ['pull', 'image-pull-backoff', 'ImagePullBackOff'],
    ['errpull', 'err-image-pull', 'ErrImagePull'],
    ['evict', 'evict', 'Evicted'],
  ] as const) {
    it(`ends a run whose pod is ${reason} as CRASHED with the reason`, async () => {
      node.behave((pod) => pod.metadata?.labels?.scenario === scenario, behaviour);
      worker();
      const runId = await plane.run(await deploy('once', { labels: { scenario } }), {
        counter: join(scratch, scenario),
        ms: 60_000,
      });
      const run = await plane.settled(runId);
      expect(run.state.type).toBe('CRASHED');
      expect(run.state.message).toContain(reason);
    });
  }

  it('lets a run in flight finish in its Job when the worker drains, then exits 0', async () => {
    const w = worker();
    const counter = join(scratch, 'drained');
    const runId = await plane.run(await deploy('once'), { counter, ms: 3_000 });
    await logged(runId, 'started pid ');
    w.child.kill('SIGTERM');
    expect((await w.exited).code, w.output()).toBe(0);
    expect((await plane.settled(runId)).state.type).toBe('COMPLETED');
    expect(readFileSync(counter, 'utf8')).toBe('1\n');
  });

  it('ends a run whose Job outlives its activeDeadlineSeconds as CRASHED with DeadlineExceeded, and its flow process dies', async () => {
    worker();
    const runId = await plane.run(await deploy('once', { activeDeadlineSeconds: 2 }), {
      counter: join(scratch, 'deadline'),
      ms: 120_000,
    });
    const pid = Number((await logged(runId, 'started pid ')).split(' ')[2]);
    await jobFailedAtDeadline(runId);
    const run = await plane.settled(runId);
    expect(run.state.type).toBe('CRASHED');
    expect(run.state.message).toContain('DeadlineExceeded');
    await waitFor(() => !isAlive(pid), 30_000, 'the flow process to die');
  });

  it("gives a GPU run's Job an nvidia.com/gpu limit of its count and leaves the pod's devices to the device plugin", async () => {
    worker('default', ['--gpus', '0,1,2,3']);
    const hold = join(scratch, 'gpu-hold');
    mkdirSync(hold, { recursive: true });
    const deployment = await plane.deploy('gpu', source, { name: `gpu-${randomUUID().slice(0, 8)}`, resources: { gpus: 2 } });
    // The first run holds devices 0 and 1 of the ledger, so the second is assigned 2 and 3.
    const first = await plane.run(deployment, { dir: hold });
    await waitFor(() => existsSync(join(hold, `started-${first}`)), 60_000, 'the first GPU run to start');
    const second = await plane.run(deployment, { dir: hold });
    await waitFor(() => existsSync(join(hold, `started-${second}`)), 60_000, 'the second GPU run to start');
    for (const id of [first, second]) writeFileSync(join(hold, `release-${id}`), '');
    for (const id of [first, second]) expect((await plane.settled(id)).state.type).toBe('COMPLETED');
    const attempts = unwrap(await plane.owner.call('flowRunsAttempts', { params: { id: second } })).items;
    expect(attempts[0]?.assigned?.gpus).toEqual(['2', '3']);
    const [job] = (await jobsOf(second)) as unknown as {
      spec: { template: { spec: { containers: { resources?: { limits?: Record<string, string> } }[] } } };
    }[];
    expect(job?.spec.template.spec.containers[0]?.resources?.limits?.['nvidia.com/gpu']).toBe('2');
    const messages = (await plane.lines(second)).map((l) => l.message);
    // In the pod the two devices are the container's only ones; ids 2 and 3 would hide them from CUDA.
    expect(messages).toContain('CUDA_VISIBLE_DEVICES=<unset>');
    expect(messages).toContain('OUTPOST_ASSIGNED_GPUS=2,3');
  });

  it('ends a run no node can take as CRASHED once it was unschedulable past its bound', async () => {
    worker();
    const runId = await plane.run(await deploy('hello', { nodeSelector: { 'outpost.dev/no-such-node': 'true' } }));
    const run = await plane.settled(runId);
    expect(run.state.type).toBe('CRASHED');
    expect(run.state.message).toContain('Unschedulable');
  });

  it('re-adopts its Job after the worker is killed and restarted, and the run completes in that one Job', async () => {
    const first = worker();
    const counter = join(scratch, 'adopted');
    const runId = await plane.run(await deploy('once'), { counter, ms: 8_000 });
    const pid = Number((await logged(runId, 'started pid ')).split(' ')[2]);
    first.child.kill('SIGKILL');
    await first.exited;
    worker();
    const run = await plane.settled(runId);
    expect(run.state.type).toBe('COMPLETED');
    expect(run.attempt).toBe(1);
    expect(await jobsOf(runId)).toHaveLength(1);
    expect(isAlive(pid)).toBe(false);
    const messages = (await plane.lines(runId)).map((l) => l.message);
    expect(messages).toContain('side effect written');
  });
});
