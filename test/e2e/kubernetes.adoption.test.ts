import { randomBytes, randomUUID } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, type IncomingMessage, type Server } from 'node:http';
import { request } from 'node:https';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import type { ClaimedRun } from '@outpost/sdk/contracts';
import { pino } from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { AdoptedAttempt, AttemptSink, Executor, PreparedRun } from '../../worker/src/executors/executor.js';
import { createKubernetesExecutor } from '../../worker/src/executors/kubernetes/executor.js';
import { parseOptions, type WorkerOptions } from '../../worker/src/options.js';
import { until } from '../support/kube/cluster.js';
import { type KubeCluster, startKubeCluster } from '../support/kube/index.js';

/*
 * A restarted Kubernetes worker adopts the Jobs its earlier process left running, against a real
 * kube-apiserver (the test control plane, v1.20.2): in a namespace a deployment's job variables
 * named (one its --allow-namespace admits), in the one its own base job template names, and when
 * listing them fails at first. The Jobs'
 * pods never run (no node): adoption is about finding and managing the Jobs, which the adopted
 * attempt then deletes in their own namespace.
 */

const SINK: AttemptSink = { line: () => {}, message: () => {}, note: () => {} };

describe('a restarted Kubernetes worker adopting its Jobs', () => {
  let cluster: KubeCluster;
  let scratch: string;
  let second: string;

  beforeAll(async () => {
    cluster = await startKubeCluster();
    scratch = mkdtempSync(join(tmpdir(), 'outpost-e2e-adopt-'));
    writeFileSync(join(scratch, 'flow.mjs'), 'export default 1;\n');
    second = `outpost-other-${randomBytes(4).toString('hex')}`;
    expect((await cluster.kubectl(['create', 'namespace', second])).code).toBe(0);
    await until(
      `the default ServiceAccount of ${second}`,
      async () => (await cluster.kubectl(['get', 'serviceaccount', 'default', '-n', second])).code === 0,
    );
  });

  afterAll(async () => {
    await cluster?.stop();
    if (scratch) rmSync(scratch, { recursive: true, force: true });
  });

  /** The worker's options: one worker name, a spool directory of `spool`'s, the given kubeconfig. */
  function options(spool: string, kubeconfig = cluster.kubeconfigPath): WorkerOptions {
    return parseOptions(
      [
        '--pool',
        'kube',
        '--name',
        'kube-0',
        '--type',
        'kubernetes',
        '--kubeconfig',
        kubeconfig,
        '--namespace',
        cluster.namespace,
        '--relay-listen',
        '127.0.0.1:0',
        '--relay-address',
        '127.0.0.1',
        // No node runs the pods: they stay Pending, and must not be given up on during the test.
        '--unschedulable-timeout',
        '600s',
        // What the deployments' job variables below name: an image and the second namespace.
        '--allow-image',
        'outpost/flows:e2e',
        '--allow-namespace',
        second,
      ],
      {
        OUTPOST_API_URL: 'http://127.0.0.1:1',
        OUTPOST_API_KEY: 'op_worker_key_for_tests',
        OUTPOST_WORKER_SPOOL_DIR: join(scratch, spool),
        OUTPOST_WORKER_CACHE_DIR: join(scratch, 'cache'),
      },
    );
  }

  function executor(workerOptions: WorkerOptions, extra: { log?: Writable } = {}): Executor {
    return createKubernetesExecutor({
      options: workerOptions,
      logger: extra.log ? pino({ level: 'info' }, extra.log) : pino({ level: 'silent' }),
      baseEnv: {},
      pool: async () => null,
    });
  }

  /** An attempt as the worker prepares it, with the deployment's job variables. */
  function prepared(jobVariables: Record<string, unknown> = {}): PreparedRun {
    const runId = randomUUID();
    const claimed = {
      flowRun: { id: runId, attempt: 1 },
      deployment: { jobVariables: { image: 'outpost/flows:e2e', ...jobVariables } },
      resources: null,
    } as unknown as ClaimedRun;
    return {
      claimed,
      runId,
      attempt: 1,
      bundle: { dir: scratch, entry: join(scratch, 'flow.mjs'), digest: null },
      jobEnv: {},
      runEnv: {},
    };
  }

  async function jobNamespaces(runId: string): Promise<string[]> {
    const result = await cluster.kubectl(['get', 'jobs', '--all-namespaces', '-l', `outpost.dev/run-id=${runId}`, '-o', 'json']);
    expect(result.code, result.stderr).toBe(0);
    return (JSON.parse(result.stdout) as { items: { metadata: { namespace: string } }[] }).items.map((j) => j.metadata.namespace);
  }

  /** Starts the attempt with a first worker process, which then goes away, leaving its Job running. */
  async function leftRunning(first: Executor, run: PreparedRun): Promise<void> {
    await first.start(run, SINK, new AbortController().signal);
    await first.close();
  }

  /** Stops adopted attempts as the worker stops an attempt whose run it no longer holds: the Job goes. */
  async function stopAll(adopted: AdoptedAttempt[]): Promise<void> {
    for (const { handle } of adopted) {
      await handle.stop({ mode: 'kill' });
      await handle.exited;
      await handle.cleanUp();
    }
  }

  it("adopts a Job in the namespace a deployment's job variables named, and deletes it there when stopped", async () => {
    const run = prepared({ namespace: second });
    await leftRunning(executor(options('spool-a')), run);
    expect(await jobNamespaces(run.runId)).toEqual([second]);

    const restarted = executor(options('spool-a'));
    try {
      const adopted = await restarted.adopt(() => SINK);
      expect(adopted.map((a) => ({ runId: a.runId, attempt: a.attempt }))).toEqual([{ runId: run.runId, attempt: 1 }]);
      await stopAll(adopted);
      expect(await jobNamespaces(run.runId)).toEqual([]);
    } finally {
      await restarted.close();
    }
  });

  it("adopts a Job in the namespace the worker's base job template names, with no record of it", async () => {
    const template = {
      apiVersion: 'batch/v1',
      kind: 'Job',
      metadata: { namespace: second },
      spec: { template: { spec: { restartPolicy: 'Never', containers: [{ name: 'flow', image: 'outpost/runner:e2e' }] } } },
    };
    const run = prepared();
    await leftRunning(executor({ ...options('spool-b'), baseJobTemplate: template }), run);
    expect(await jobNamespaces(run.runId)).toEqual([second]);

    // Another spool directory: a replaced worker pod without the first one's files.
    const restarted = executor({ ...options('spool-c'), baseJobTemplate: template });
    try {
      const adopted = await restarted.adopt(() => SINK);
      expect(adopted.map((a) => a.runId)).toEqual([run.runId]);
      await stopAll(adopted);
      expect(await jobNamespaces(run.runId)).toEqual([]);
    } finally {
      await restarted.close();
    }
  });

  it('retries a listing the API server fails twice, with one warning, and adopts the Job', async () => {
    const run = prepared();
    await leftRunning(executor(options('spool-d')), run);
    expect(await jobNamespaces(run.runId)).toEqual([cluster.namespace]);

    const proxy = await failingProxy(cluster, `/apis/batch/v1/namespaces/${cluster.namespace}/jobs`, 2);
    const log: { level: number; msg: string }[] = [];
    const restarted = executor(options('spool-d', proxy.kubeconfig(join(scratch, 'proxy.kubeconfig'))), {
      log: new Writable({
        write(chunk: Buffer, _encoding, done) {
          for (const line of chunk.toString().split('\n').filter(Boolean)) log.push(JSON.parse(line));
          done();
        },
      }),
    });
    try {
      const adopted = await restarted.adopt(() => SINK);
      expect(adopted.map((a) => a.runId)).toEqual([run.runId]);
      // Then the watch of the adopted Job lists the namespace too.
      expect(proxy.lists.slice(0, 3)).toEqual([500, 500, 200]);
      expect(log.filter((l) => l.level === 40).map((l) => l.msg)).toEqual([
        `could not list this worker's Jobs in namespace ${cluster.namespace} (HTTP 500: injected by the test); retrying for up to 60 s before giving up`,
      ]);
      await stopAll(adopted);
      expect(await jobNamespaces(run.runId)).toEqual([]);
    } finally {
      await restarted.close();
      await proxy.close();
    }
  });
});

/**
 * A plain-HTTP proxy to the cluster's API server that answers the first `failures` list requests
 * of `path` (not watches) with a 500 Status, and forwards everything else, streams included.
 */
async function failingProxy(cluster: KubeCluster, path: string, failures: number) {
  const upstream = new URL(cluster.server);
  const lists: number[] = [];
  const server: Server = createServer((req: IncomingMessage, res) => {
    const url = new URL(req.url ?? '/', 'http://proxy');
    if (req.method === 'GET' && url.pathname === path && url.searchParams.get('watch') !== 'true') {
      if (lists.filter((s) => s === 500).length < failures) {
        lists.push(500);
        const body = { kind: 'Status', apiVersion: 'v1', status: 'Failure', message: 'injected by the test', code: 500 };
        res.writeHead(500, { 'content-type': 'application/json' }).end(JSON.stringify(body));
        return;
      }
      lists.push(200);
    }
    const forwarded = request(
      {
        host: upstream.hostname,
        port: upstream.port,
        method: req.method,
        path: req.url,
        headers: { ...req.headers, host: upstream.host },
        rejectUnauthorized: false,
      },
      (answer) => {
        res.writeHead(answer.statusCode ?? 502, answer.headers);
        answer.pipe(res);
      },
    );
    forwarded.on('error', () => res.destroy());
    req.pipe(forwarded);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const port = (server.address() as { port: number }).port;
  return {
    lists,
    kubeconfig(file: string): string {
      writeFileSync(
        file,
        [
          'apiVersion: v1',
          'kind: Config',
          `clusters: [{name: proxy, cluster: {server: "http://127.0.0.1:${port}", insecure-skip-tls-verify: true}}]`,
          `users: [{name: admin, user: {token: "${cluster.token}"}}]`,
          `contexts: [{name: proxy, context: {cluster: proxy, user: admin, namespace: ${cluster.namespace}}}]`,
          'current-context: proxy',
          '',
        ].join('\n'),
        { mode: 0o600 },
      );
      return file;
    },
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
