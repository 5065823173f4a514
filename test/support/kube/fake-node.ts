import { type ChildProcess, spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import type { Server } from 'node:https';
import { constants, tmpdir } from 'node:os';
import path from 'node:path';
import {
  CoreV1Api,
  KubeConfig,
  type V1ContainerState,
  type V1ContainerStatus,
  type V1Node,
  type V1Pod,
  type V1PodCondition,
  type V1PodStatus,
  Watch,
} from '@kubernetes/client-node';
import { repoRoot } from '../processes.js';
import type { KubeCluster } from './cluster.js';
import { ContainerLog, startContainerLogServer } from './container-logs.js';
import { ContainerConfigError, containerEnv } from './pod-env.js';
import { ImagePullError, pullImage, removeContainer, runContainer, signalContainer } from './podman-runtime.js';

/**
 * What the node does with a Pod bound to it:
 * - `run`: start the first container's command and report how it exits;
 * - `oom-kill`: start it, then SIGKILL it and report `terminated.reason: OOMKilled`, exit code 137;
 * - `image-pull-backoff`: never start it; `waiting.reason: ImagePullBackOff`;
 * - `err-image-pull`: never start it; `waiting.reason: ErrImagePull` (the pull itself failed);
 * - `evict`: start it, then kill it and fail the Pod with `status.reason: Evicted`;
 * - `hold-create`: hold the container's creation, as a slow runtime does, until `release()`.
 */
export type PodBehaviour = 'run' | 'oom-kill' | 'image-pull-backoff' | 'err-image-pull' | 'evict' | 'hold-create';

export interface FakeNodeOptions {
  /** @default 'fake-node-1' */
  name?: string;
  /** Allocatable CPU. @default '8' */
  cpu?: string;
  /** Allocatable memory. @default '16Gi' */
  memory?: string;
  /** Allocatable Pod count. @default 110 */
  pods?: number;
  /** Allocatable `nvidia.com/gpu`; the resource is absent at 0. @default 0 */
  gpus?: number;
  /** Extra Node labels, for nodeSelectors. `kubernetes.io/hostname` and `kubernetes.io/os` are always set. */
  labels?: Record<string, string>;
  /**
   * How containers run: `process`, the first container's command as a local process; `podman`, the
   * container itself, from its image pulled from its registry (podman-runtime.ts). @default 'process'
   */
  runtime?: 'process' | 'podman';
}

export interface RunningContainer {
  namespace: string;
  pod: string;
  pid: number;
}

export interface StartedPod {
  namespace: string;
  pod: string;
  image: string;
  labels: Record<string, string>;
}

/** The kubelet of one Node, played by the test process. */
export interface FakeNode {
  name: string;
  /** Pods for which `match` is true get `behaviour`; the latest matching rule wins, `run` when none does. */
  behave(match: (pod: V1Pod) => boolean, behaviour: PodBehaviour): void;
  /** The local processes of this node's containers that are still alive. */
  running(): RunningContainer[];
  /** Every container this node started, in order, with its image and pod labels. */
  started(): StartedPod[];
  /** The Pods whose container creation a `hold-create` rule holds, and whether each has since been deleted. */
  held(): { pod: string; deleting: boolean }[];
  /** Lets the held creation of `pod`'s container go on. */
  release(pod: string): void;
  /** Kills every process the node started and stops watching; the Node object stays. */
  stop(): Promise<void>;
}

type Phase = 'starting' | 'waiting' | 'running' | 'done';

interface TrackedPod {
  uid: string;
  namespace: string;
  name: string;
  behaviour: PodBehaviour;
  phase: Phase;
  deleting: boolean;
  /** Why the node itself killed the container, which decides how the exit is reported. */
  killedFor?: 'OOMKilled' | 'Evicted';
  child?: ChildProcess;
  /** With the podman runtime: the container's name, and its image's id. */
  container?: string;
  imageId?: string;
  closed?: Promise<void>;
  log?: ContainerLog;
  /** What the log endpoint answers for a container that never started. */
  notStarted?: string;
  startedAt?: Date;
  killTimer?: NodeJS.Timeout;
  /** The deleted Pod's grace period: SIGKILL follows SIGTERM after it. */
  graceSeconds?: number;
  /** Set while a `hold-create` rule holds the container's creation. */
  release?: () => void;
  finished?: boolean;
  writes: Promise<void>;
}

function httpStatus(error: unknown): number | undefined {
  const code = (error as { code?: unknown }).code;
  return typeof code === 'number' ? code : undefined;
}

function sha256(text: string): string {
  return createHash('sha256').update(text).digest('hex');
}

/** `docker-pullable://<image>@sha256:<hex>`; the hex is the sha256 of the image reference unless it names its digest. */
export function fakeImageId(image: string): string {
  return image.includes('@sha256:') ? `docker-pullable://${image}` : `docker-pullable://${image}@sha256:${sha256(image)}`;
}

function setCondition(status: V1PodStatus, type: string, value: 'True' | 'False', reason?: string): void {
  const conditions = (status.conditions ?? []).filter((c) => c.type !== type);
  const condition: V1PodCondition = { type, status: value, lastTransitionTime: new Date() };
  if (reason) condition.reason = reason;
  conditions.push(condition);
  status.conditions = conditions;
}

function killGroup(child: ChildProcess | undefined, signal: NodeJS.Signals): void {
  if (!child?.pid || child.exitCode !== null || child.signalCode !== null) return;
  try {
    process.kill(-child.pid, signal);
  } catch {
    // The group is gone already.
  }
}

/**
 * Registers a Ready Node on `cluster` and plays its kubelet: every Pod the scheduler binds to it
 * runs its first container's `command` + `args` as a local process (cwd a temporary directory,
 * PATH of the test process plus the repository's node_modules/.bin), with the container's env
 * resolved through the API; the Pod's status is written through the status subresource as the
 * kubelet would (Running, then Succeeded/Failed with the exit code). A Pod being deleted gets
 * SIGTERM, SIGKILL after its grace period, and is then removed with gracePeriodSeconds 0. Logs
 * are served to the API server's `pods/log` proxy from an HTTPS endpoint on 127.0.0.1.
 */
export async function startFakeNode(cluster: KubeCluster, options: FakeNodeOptions = {}): Promise<FakeNode> {
  const name = options.name ?? 'fake-node-1';
  const runtime = options.runtime ?? 'process';
  const kc = new KubeConfig();
  kc.loadFromFile(cluster.kubeconfigPath);
  const api = kc.makeApiClient(CoreV1Api);
  const workDir = await mkdtemp(path.join(tmpdir(), `outpost-${name}-`));
  const pods = new Map<string, TrackedPod>();
  const history: StartedPod[] = [];
  const rules: { match: (pod: V1Pod) => boolean; behaviour: PodBehaviour }[] = [];
  let stopped = false;

  const byName = (namespace: string, pod: string) => {
    let latest: TrackedPod | undefined;
    for (const tracked of pods.values()) if (tracked.namespace === namespace && tracked.name === pod) latest = tracked;
    return latest;
  };
  const { server, port } = await startContainerLogServer(workDir, name, (namespace, pod, container) => {
    const tracked = byName(namespace, pod);
    if (!tracked) return `pod "${pod}" in namespace "${namespace}" is not on node ${name}`;
    if (tracked.log && tracked.log.container === container) return tracked.log;
    if (tracked.log) return `container "${container}" is not the container this node runs in pod "${pod}"`;
    return tracked.notStarted ?? `container "${container}" in pod "${pod}" is waiting to start: ContainerCreating`;
  });

  await registerNode(api, name, port, options);

  const report = (what: string, error: unknown) => {
    if (!stopped) console.error(`fake node ${name}: ${what}: ${error instanceof Error ? error.message : String(error)}`);
  };

  /** Read-modify-write of the Pod's status, serialized per Pod; a Pod that is gone is left alone. */
  const writeStatus = (tracked: TrackedPod, change: (status: V1PodStatus, pod: V1Pod) => void): Promise<void> => {
    tracked.writes = tracked.writes.then(async () => {
      for (let attempt = 0; attempt < 10 && !stopped; attempt++) {
        try {
          const pod = await api.readNamespacedPod({ name: tracked.name, namespace: tracked.namespace });
          if (pod.metadata?.uid !== tracked.uid) return;
          pod.status = pod.status ?? {};
          change(pod.status, pod);
          await api.replaceNamespacedPodStatus({ name: tracked.name, namespace: tracked.namespace, body: pod });
          return;
        } catch (error) {
          if (httpStatus(error) === 404) return;
          if (httpStatus(error) !== 409) {
            report(`cannot write the status of ${tracked.namespace}/${tracked.name}`, error);
            return;
          }
        }
      }
    });
    return tracked.writes;
  };

  const removePod = async (tracked: TrackedPod) => {
    await tracked.writes;
    if (stopped) return;
    try {
      await api.deleteNamespacedPod({
        name: tracked.name,
        namespace: tracked.namespace,
        // In the body: the API server reads DeleteOptions from the query only when there is no body.
        body: { gracePeriodSeconds: 0, preconditions: { uid: tracked.uid } },
      });
    } catch (error) {
      if (httpStatus(error) !== 404 && httpStatus(error) !== 409)
        report(`cannot delete ${tracked.namespace}/${tracked.name}`, error);
    }
  };

  const containerStatus = (pod: V1Pod, state: V1ContainerState, started: boolean): V1ContainerStatus => {
    const container = pod.spec?.containers[0];
    const image = container?.image ?? '';
    const tracked = pods.get(pod.metadata?.uid ?? '');
    return {
      name: container?.name ?? '',
      image,
      imageID: started ? (tracked?.imageId ?? fakeImageId(image)) : '',
      ...(started ? { containerID: `containerd://${sha256(pod.metadata?.uid ?? '')}` } : {}),
      ready: started && state.running !== undefined,
      started: state.running !== undefined,
      restartCount: 0,
      state,
    };
  };

  const waiting = async (tracked: TrackedPod, reason: string, message: string) => {
    tracked.phase = 'waiting';
    tracked.notStarted = `container in pod "${tracked.name}" is waiting to start: ${message}`;
    await writeStatus(tracked, (status, pod) => {
      status.phase = 'Pending';
      status.hostIP = '127.0.0.1';
      status.startTime = status.startTime ?? new Date();
      setCondition(status, 'Initialized', 'True');
      setCondition(status, 'Ready', 'False', 'ContainersNotReady');
      setCondition(status, 'ContainersReady', 'False', 'ContainersNotReady');
      status.containerStatuses = [containerStatus(pod, { waiting: { reason, message } }, false)];
    });
    // A deletion that arrived while the container was being set up.
    if (tracked.deleting) await removePod(tracked);
  };

  const finish = async (tracked: TrackedPod, code: number | null, signal: NodeJS.Signals | null, startError?: string) => {
    if (tracked.finished) return; // a failed spawn reports 'error' and then 'close'
    tracked.finished = true;
    tracked.phase = 'done';
    if (tracked.killTimer) clearTimeout(tracked.killTimer);
    tracked.log?.end();
    if (tracked.container) await removeContainer(tracked.container);
    if (stopped) return;
    const signalled = signal ? 128 + (constants.signals[signal] ?? 0) : 1;
    const exitCode = startError ? 128 : tracked.killedFor ? 137 : (code ?? signalled);
    const reason = startError
      ? 'StartError'
      : tracked.killedFor === 'OOMKilled'
        ? 'OOMKilled'
        : exitCode === 0
          ? 'Completed'
          : 'Error';
    await writeStatus(tracked, (status, pod) => {
      status.phase = exitCode === 0 ? 'Succeeded' : 'Failed';
      if (tracked.killedFor === 'Evicted') {
        status.reason = 'Evicted';
        status.message = 'The node was low on resource: memory. ';
      }
      setCondition(status, 'Ready', 'False', exitCode === 0 ? 'PodCompleted' : 'ContainersNotReady');
      setCondition(status, 'ContainersReady', 'False', exitCode === 0 ? 'PodCompleted' : 'ContainersNotReady');
      status.containerStatuses = [
        containerStatus(
          pod,
          {
            terminated: {
              exitCode,
              reason,
              ...(startError ? { message: startError } : {}),
              ...(signal && !tracked.killedFor ? { signal: constants.signals[signal] } : {}),
              startedAt: tracked.startedAt ?? new Date(),
              finishedAt: new Date(),
              containerID: `containerd://${sha256(tracked.uid)}`,
            },
          },
          !startError,
        ),
      ];
    });
    if (tracked.deleting) await removePod(tracked);
  };

  const start = async (tracked: TrackedPod, pod: V1Pod) => {
    const container = pod.spec?.containers[0];
    if (!container) return;
    if (tracked.behaviour === 'image-pull-backoff') {
      await waiting(tracked, 'ImagePullBackOff', `Back-off pulling image "${container.image ?? ''}"`);
      return;
    }
    if (tracked.behaviour === 'err-image-pull') {
      await waiting(
        tracked,
        'ErrImagePull',
        `rpc error: code = NotFound desc = failed to pull and unpack image "${container.image ?? ''}": not found`,
      );
      return;
    }
    if (runtime === 'podman') {
      try {
        tracked.imageId = await pullImage(container);
      } catch (error) {
        if (!(error instanceof ImagePullError)) throw error;
        await waiting(tracked, 'ErrImagePull', error.message);
        return;
      }
    }
    let env: Record<string, string>;
    try {
      env = await containerEnv(api, pod, container);
    } catch (error) {
      if (!(error instanceof ContainerConfigError)) throw error;
      await waiting(tracked, 'CreateContainerConfigError', error.message);
      return;
    }
    if (tracked.deleting || stopped) {
      tracked.phase = 'done';
      await removePod(tracked);
      return;
    }
    if (tracked.behaviour === 'hold-create') await new Promise<void>((resolve) => (tracked.release = resolve));
    tracked.release = undefined;
    const log = new ContainerLog(container.name);
    tracked.log = log;
    let child: ChildProcess;
    if (runtime === 'podman') {
      const started = await runContainer(
        api,
        pod,
        container,
        env,
        workDir,
        tracked.imageId ?? '',
        new URL(kc.getCurrentCluster()?.server ?? ''),
      );
      tracked.container = started.name;
      child = started.child;
    } else {
      const [file, ...args] = [...(container.command ?? []), ...(container.args ?? [])];
      if (!file || !container.command?.length) {
        await finish(tracked, null, null, 'this node runs a container by its command, and this container has none');
        return;
      }
      const cwd = await mkdtemp(path.join(workDir, `${tracked.namespace}.${tracked.name}.`));
      child = spawn(file, args, {
        cwd,
        env: { PATH: `${path.join(repoRoot, 'node_modules/.bin')}:${process.env.PATH ?? ''}`, HOME: cwd, ...env },
        detached: true,
        stdio: ['ignore', 'pipe', 'pipe'],
      });
    }
    tracked.child = child;
    tracked.phase = 'running';
    // A deletion that arrived while the container was being created finds it running now.
    if (tracked.deleting) stopContainer(tracked);
    history.push({
      namespace: tracked.namespace,
      pod: tracked.name,
      image: container.image ?? '',
      labels: { ...pod.metadata?.labels },
    });
    child.stdout?.on('data', (chunk: Buffer) => log.write(chunk));
    child.stderr?.on('data', (chunk: Buffer) => log.write(chunk));
    tracked.closed = new Promise<void>((resolve) => {
      child.once('error', (error) => {
        void finish(tracked, null, null, error.message).then(resolve);
      });
      child.once('close', (code, signal) => {
        void finish(tracked, code, signal).then(resolve);
      });
    });
    child.once('spawn', () => {
      tracked.startedAt = new Date();
      void writeStatus(tracked, (status, current) => {
        status.phase = 'Running';
        status.hostIP = '127.0.0.1';
        status.podIP = '127.0.0.1';
        status.podIPs = [{ ip: '127.0.0.1' }];
        status.startTime = status.startTime ?? tracked.startedAt;
        setCondition(status, 'Initialized', 'True');
        setCondition(status, 'Ready', 'True');
        setCondition(status, 'ContainersReady', 'True');
        status.containerStatuses = [containerStatus(current, { running: { startedAt: tracked.startedAt } }, true)];
      }).then(() => {
        if (tracked.deleting || tracked.finished) return;
        if (tracked.behaviour === 'oom-kill') tracked.killedFor = 'OOMKilled';
        else if (tracked.behaviour === 'evict') tracked.killedFor = 'Evicted';
        else return;
        kill(tracked, 'SIGKILL');
      });
    });
  };

  /** Signals the container: its process group, or through podman. */
  const kill = (tracked: TrackedPod, signal: NodeJS.Signals) => {
    if (tracked.container) {
      if (tracked.child && tracked.child.exitCode === null && tracked.child.signalCode === null)
        void signalContainer(tracked.container, signal);
      return;
    }
    killGroup(tracked.child, signal);
  };

  /** SIGTERM, then SIGKILL once the grace period is up; finish() removes the Pod once the process has exited. */
  const stopContainer = (tracked: TrackedPod) => {
    kill(tracked, 'SIGTERM');
    tracked.killTimer = setTimeout(() => kill(tracked, 'SIGKILL'), (tracked.graceSeconds ?? 30) * 1000);
  };

  const terminate = (tracked: TrackedPod, pod: V1Pod) => {
    if (tracked.deleting) return;
    tracked.deleting = true;
    tracked.graceSeconds = pod.metadata?.deletionGracePeriodSeconds ?? pod.spec?.terminationGracePeriodSeconds ?? 30;
    // start() sees the flag: it removes a Pod whose container it has not created, or stops the one it has.
    if (tracked.phase === 'starting') return;
    if (tracked.phase === 'running') stopContainer(tracked);
    else void removePod(tracked);
  };

  const onPod = (type: string, pod: V1Pod) => {
    const uid = pod.metadata?.uid;
    if (!uid || pod.spec?.nodeName !== name) return;
    let tracked = pods.get(uid);
    if (type === 'DELETED') {
      if (tracked) kill(tracked, 'SIGKILL');
      return;
    }
    if (!tracked) {
      // A Pod that already ended before this node saw it (a re-list) is history, not work.
      if (pod.status?.phase === 'Succeeded' || pod.status?.phase === 'Failed') return;
      const behaviour = [...rules].reverse().find((rule) => rule.match(pod))?.behaviour ?? 'run';
      tracked = {
        uid,
        namespace: pod.metadata?.namespace ?? 'default',
        name: pod.metadata?.name ?? '',
        behaviour,
        phase: 'starting',
        deleting: false,
        writes: Promise.resolve(),
      };
      pods.set(uid, tracked);
      const starting = tracked;
      start(starting, pod).catch((error) => {
        report(`cannot start ${starting.namespace}/${starting.name}`, error);
      });
    }
    if (pod.metadata?.deletionTimestamp) terminate(tracked, pod);
  };

  // List, then watch from the list's resourceVersion; after the watch ends (server timeout, error), again.
  const fieldSelector = `spec.nodeName=${name}`;
  let watchAbort: AbortController | undefined;
  const watch = new Watch(kc);
  const startWatch = async (): Promise<void> => {
    const list = await api.listPodForAllNamespaces({ fieldSelector });
    for (const pod of list.items) onPod('MODIFIED', pod);
    if (stopped) return;
    watchAbort = await watch.watch(
      '/api/v1/pods',
      { fieldSelector, resourceVersion: list.metadata?.resourceVersion },
      (type, object) => onPod(type, object as V1Pod),
      (error) => {
        if (stopped) return;
        if (error) report('the Pod watch ended', error);
        setTimeout(() => {
          if (!stopped) startWatch().catch((e) => report('cannot watch Pods', e));
        }, 200);
      },
    );
  };
  await startWatch();

  return {
    name,
    behave(match, behaviour) {
      rules.push({ match, behaviour });
    },
    started() {
      return [...history];
    },
    held() {
      return [...pods.values()].filter((t) => t.release).map((t) => ({ pod: t.name, deleting: t.deleting }));
    },
    release(pod) {
      for (const tracked of pods.values()) if (tracked.name === pod) tracked.release?.();
    },
    running() {
      const alive: RunningContainer[] = [];
      for (const tracked of pods.values()) {
        const child = tracked.child;
        if (child?.pid && child.exitCode === null && child.signalCode === null) {
          alive.push({ namespace: tracked.namespace, pod: tracked.name, pid: child.pid });
        }
      }
      return alive;
    },
    async stop() {
      stopped = true;
      watchAbort?.abort();
      const closing: Promise<void>[] = [];
      for (const tracked of pods.values()) {
        if (tracked.killTimer) clearTimeout(tracked.killTimer);
        kill(tracked, 'SIGKILL');
        if (tracked.closed) closing.push(tracked.closed);
        tracked.log?.end();
      }
      await Promise.all(closing);
      server.closeAllConnections();
      await new Promise<void>((resolve) => (server as Server).close(() => resolve()));
      await rm(workDir, { recursive: true, force: true });
    },
  };
}

/** Creates (or takes over) the Node, reports it Ready with its capacity and kubelet endpoint, and lifts the not-ready taint. */
async function registerNode(api: CoreV1Api, name: string, port: number, options: FakeNodeOptions): Promise<void> {
  try {
    await api.createNode({
      body: {
        metadata: {
          name,
          labels: { ...options.labels, 'kubernetes.io/hostname': name, 'kubernetes.io/os': 'linux' },
        },
      },
    });
  } catch (error) {
    if (httpStatus(error) !== 409) throw error;
  }
  const resources: Record<string, string> = {
    cpu: options.cpu ?? '8',
    memory: options.memory ?? '16Gi',
    pods: String(options.pods ?? 110),
    ...(options.gpus ? { 'nvidia.com/gpu': String(options.gpus) } : {}),
  };
  const now = new Date();
  const condition = (type: string, status: 'True' | 'False', reason: string) => ({
    type,
    status,
    reason,
    message: `fake node: ${reason}`,
    lastHeartbeatTime: now,
    lastTransitionTime: now,
  });
  await update(api, name, async (node) => {
    node.status = {
      ...node.status,
      capacity: resources,
      allocatable: resources,
      conditions: [
        condition('Ready', 'True', 'KubeletReady'),
        condition('MemoryPressure', 'False', 'KubeletHasSufficientMemory'),
        condition('DiskPressure', 'False', 'KubeletHasNoDiskPressure'),
        condition('PIDPressure', 'False', 'KubeletHasSufficientPID'),
      ],
      // InternalIP only: the API server dials the first of Hostname, InternalDNS, InternalIP… it finds.
      addresses: [{ type: 'InternalIP', address: '127.0.0.1' }],
      daemonEndpoints: { kubeletEndpoint: { Port: port } },
      nodeInfo: {
        architecture: 'amd64',
        bootID: '',
        containerRuntimeVersion: 'fake://1.0.0',
        kernelVersion: '',
        kubeProxyVersion: 'v1.20.2',
        kubeletVersion: 'v1.20.2',
        machineID: '',
        operatingSystem: 'linux',
        osImage: 'outpost fake node',
        systemUUID: '',
      },
    };
    await api.replaceNodeStatus({ name, body: node });
  });
  // Admission taints a new Node not-ready; with no node lifecycle controller, the kubelet's stand-in lifts it.
  await update(api, name, async (node) => {
    const taints = node.spec?.taints ?? [];
    const kept = taints.filter((t) => t.key !== 'node.kubernetes.io/not-ready' && t.key !== 'node.kubernetes.io/unreachable');
    if (kept.length === taints.length) return;
    node.spec = { ...node.spec, taints: kept };
    await api.replaceNode({ name, body: node });
  });
}

async function update(api: CoreV1Api, name: string, change: (node: V1Node) => Promise<void>): Promise<void> {
  for (let attempt = 0; ; attempt++) {
    try {
      await change(await api.readNode({ name }));
      return;
    } catch (error) {
      if (httpStatus(error) !== 409 || attempt >= 10) throw error;
    }
  }
}
