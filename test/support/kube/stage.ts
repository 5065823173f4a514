import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { delimiter, join } from 'node:path';
import { repoRoot } from '../processes.js';
import { buildWorkerFlows, Plane } from '../worker-flows.js';
import { type KubeCluster, startKubeCluster } from './cluster.js';
import { type FakeNode, type FakeNodeOptions, startFakeNode } from './fake-node.js';

/**
 * What a Kubernetes worker test stands on: a control plane with one played node, the API on a fresh
 * database, and the worker suites' flows built into a scratch directory.
 */
export interface KubeStage {
  cluster: KubeCluster;
  node: FakeNode;
  plane: Plane;
  /** A directory of this stage's own, removed by `stop`: the bundle, and room for worker caches and HOME. */
  scratch: string;
  /** The `dir://` source of the built worker flows. */
  source: string;
  /** The environment a worker process of this stage runs with: the API, `key`, and its cache, spool and HOME in `scratch`. */
  workerEnv(key: string): Record<string, string>;
  /** Stops the node, the cluster and the API, and removes `scratch`. */
  stop(): Promise<void>;
}

/**
 * Starts a stage; `scratchPrefix` names its scratch directory (`outpost-e2e-kube-`). The played node
 * starts each pod's command with this process's PATH, so the workspace's bin (`outpost-pod-runner`)
 * is put first on it. What started is stopped again when a later step fails.
 */
export async function startKubeStage(options: { scratchPrefix: string; node?: FakeNodeOptions }): Promise<KubeStage> {
  process.env.PATH = [join(repoRoot, 'node_modules/.bin'), process.env.PATH ?? ''].join(delimiter);
  const scratch = await mkdtemp(join(tmpdir(), options.scratchPrefix));
  let cluster: KubeCluster | undefined;
  let node: FakeNode | undefined;
  let plane: Plane | undefined;
  const stop = async () => {
    await node?.stop();
    await cluster?.stop();
    await plane?.close();
    await rm(scratch, { recursive: true, force: true });
  };
  try {
    const source = await buildWorkerFlows(join(scratch, 'bundle'));
    cluster = await startKubeCluster();
    node = await startFakeNode(cluster, options.node);
    plane = await Plane.start();
    const url = plane.server.url;
    return {
      cluster,
      node,
      plane,
      scratch,
      source,
      workerEnv: (key) => ({
        OUTPOST_API_URL: url,
        OUTPOST_API_KEY: key,
        OUTPOST_WORKER_CACHE_DIR: join(scratch, 'cache'),
        OUTPOST_WORKER_SPOOL_DIR: join(scratch, 'spool'),
        OUTPOST_WORKER_LOG_BATCH_INTERVAL: '50ms',
        OUTPOST_WORKER_CANCEL_GRACE: '2s',
        HOME: scratch,
      }),
      stop,
    };
  } catch (error) {
    await stop();
    throw error;
  }
}
