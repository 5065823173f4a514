import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import type { ExternalJob, ExternalJobStatus } from './external-job.js';
import { IntegrationError, restClient } from './rest.js';

/*
 * A task's work as a Pod of its own in a Kubernetes cluster of yours: a GPU, a node pool, an image
 * the worker does not run. Spoken to over the core v1 REST API with a bearer token: the Pod's
 * ServiceAccount when the flow runs in the cluster, or a server, token and CA you give. Tested on a
 * real API server, scheduler and controllers, with the test playing the node.
 */

const SERVICE_ACCOUNT = '/var/run/secrets/kubernetes.io/serviceaccount';

export interface KubernetesOptions {
  /** `https://host:port`. @default in a Pod: https://$KUBERNETES_SERVICE_HOST:$KUBERNETES_SERVICE_PORT */
  server?: string;
  /** @default in a Pod: its ServiceAccount token */
  token?: string;
  /** PEM of the CA the server's certificate chains to. @default in a Pod: the ServiceAccount's ca.crt */
  ca?: string;
  /** @default the Pod's own namespace in a Pod, otherwise `default` */
  namespace?: string;
  /** @default 30000 */
  requestTimeoutMs?: number;
  /** @default 3 */
  retries?: number;
  /** @default 500 */
  retryDelayMs?: number;
  /** @default process.env */
  env?: NodeJS.ProcessEnv;
}

export interface PodInput {
  /** Up to 40 characters of the Pod's name; the rest identifies the task attempt. */
  namePrefix: string;
  image: string;
  command?: string[];
  args?: string[];
  /** Plain values only: a credential belongs in a Secret the Pod mounts (`envFrom` below). */
  env?: Record<string, string>;
  /** Names of Secrets whose keys become the container's variables. */
  envFromSecrets?: string[];
  /** Requests (and equal limits): `{ cpu: '4', memory: '16Gi', gpus: 1 }`; GPUs as `nvidia.com/gpu`. */
  resources?: { cpu?: string; memory?: string; gpus?: number };
  nodeSelector?: Record<string, string>;
  tolerations?: Record<string, unknown>[];
  serviceAccountName?: string;
  labels?: Record<string, string>;
  /** How long the Pod may stay unschedulable or pulling its image before the job fails. @default no limit */
  pendingTimeoutSeconds?: number;
}

export interface PodHandle {
  namespace: string;
  name: string;
  /** From the input: how long the Pod may stay pending. */
  pendingTimeoutSeconds?: number;
}

export interface PodResult {
  namespace: string;
  name: string;
  node: string | null;
  /** The last lines the container wrote. */
  logs: string[];
}

interface PodWire {
  metadata?: { name?: string; namespace?: string; creationTimestamp?: string };
  spec?: { nodeName?: string };
  status?: {
    phase?: string;
    reason?: string;
    message?: string;
    conditions?: { type?: string; status?: string; reason?: string; message?: string }[];
    containerStatuses?: {
      name?: string;
      state?: {
        waiting?: { reason?: string; message?: string };
        terminated?: { exitCode?: number; reason?: string; message?: string };
      };
    }[];
  };
}

/** Waiting reasons that do not pass by themselves. */
const STUCK = new Set([
  'ErrImagePull',
  'ImagePullBackOff',
  'InvalidImageName',
  'CreateContainerConfigError',
  'CreateContainerError',
]);
const LOG_LINES = 100;

/** A Pod's name from a prefix and the idempotency key (DNS-1123, at most 63 characters). */
export function podName(prefix: string, idempotencyKey: string): string {
  const clean =
    prefix
      .toLowerCase()
      .replace(/[^a-z0-9-]+/g, '-')
      .replace(/^-+|-+$/g, '')
      .slice(0, 40) || 'outpost';
  return `${clean}-${createHash('sha256').update(idempotencyKey).digest('hex').slice(0, 16)}`;
}

/** Maps a Pod's status onto an external job's status (logs are added by the caller). */
export function podStatus(pod: PodWire, now = Date.now(), pendingTimeoutSeconds?: number): ExternalJobStatus<PodResult> {
  const phase = pod.status?.phase ?? 'Pending';
  const container = pod.status?.containerStatuses?.[0];
  const waiting = container?.state?.waiting;
  const terminated = container?.state?.terminated;
  const result: PodResult = {
    namespace: pod.metadata?.namespace ?? '',
    name: pod.metadata?.name ?? '',
    node: pod.spec?.nodeName ?? null,
    logs: [],
  };
  switch (phase) {
    case 'Succeeded':
      return { state: 'succeeded', message: 'Succeeded', result };
    case 'Failed': {
      const why = terminated
        ? `exit code ${terminated.exitCode ?? '?'}${terminated.reason ? ` (${terminated.reason})` : ''}${terminated.message ? `: ${terminated.message}` : ''}`
        : `${pod.status?.reason ?? 'Failed'}${pod.status?.message ? `: ${pod.status.message}` : ''}`;
      return { state: 'failed', message: why };
    }
    case 'Running':
      return { state: 'running', message: 'Running' };
    default: {
      if (waiting?.reason && STUCK.has(waiting.reason)) {
        return { state: 'failed', message: `${waiting.reason}${waiting.message ? `: ${waiting.message}` : ''}` };
      }
      const unschedulable = pod.status?.conditions?.find((c) => c.type === 'PodScheduled' && c.status === 'False');
      const message = unschedulable
        ? `Pending (${unschedulable.reason ?? 'Unschedulable'}: ${unschedulable.message ?? ''})`
        : `Pending${waiting?.reason ? ` (${waiting.reason})` : ''}`;
      const created = Date.parse(pod.metadata?.creationTimestamp ?? '');
      if (pendingTimeoutSeconds !== undefined && Number.isFinite(created) && now - created > pendingTimeoutSeconds * 1000) {
        return { state: 'failed', message: `${message} for more than ${pendingTimeoutSeconds} s` };
      }
      return { state: 'running', message };
    }
  }
}

function readIfThere(path: string): string | undefined {
  try {
    return readFileSync(path, 'utf8');
  } catch {
    return undefined;
  }
}

/** Pods in one namespace of a cluster. */
export async function kubernetesPods(options: KubernetesOptions = {}) {
  const env = options.env ?? process.env;
  const inCluster = env.KUBERNETES_SERVICE_HOST
    ? `https://${env.KUBERNETES_SERVICE_HOST.includes(':') ? `[${env.KUBERNETES_SERVICE_HOST}]` : env.KUBERNETES_SERVICE_HOST}:${env.KUBERNETES_SERVICE_PORT ?? '443'}`
    : undefined;
  const server = options.server ?? inCluster;
  const token = options.token ?? readIfThere(`${SERVICE_ACCOUNT}/token`)?.trim();
  if (!server || !token) {
    throw new IntegrationError(
      'no Kubernetes cluster: run the flow in a Pod with a ServiceAccount, or pass server and token',
      null,
      null,
    );
  }
  const ca = options.ca ?? readIfThere(`${SERVICE_ACCOUNT}/ca.crt`);
  const namespace = options.namespace ?? readIfThere(`${SERVICE_ACCOUNT}/namespace`)?.trim() ?? 'default';
  // The cluster's own CA, for this client only: undici's fetch with an agent that trusts it.
  const { Agent, fetch: undiciFetch } = await import('undici');
  const dispatcher = ca ? new Agent({ connect: { ca } }) : undefined;
  const send = ((url: string, init: RequestInit) =>
    undiciFetch(url, {
      ...(init as Parameters<typeof undiciFetch>[1]),
      ...(dispatcher ? { dispatcher } : {}),
    })) as unknown as typeof fetch;
  const call = restClient({
    service: 'Kubernetes',
    root: server.replace(/\/+$/, ''),
    authorization: `Bearer ${token}`,
    credentialHint: 'the token, and the Role that lets it create, get and delete Pods and read pods/log',
    fetch: send,
    ...(options.requestTimeoutMs !== undefined ? { requestTimeoutMs: options.requestTimeoutMs } : {}),
    ...(options.retries !== undefined ? { retries: options.retries } : {}),
    ...(options.retryDelayMs !== undefined ? { retryDelayMs: options.retryDelayMs } : {}),
  });
  const podPath = (handle: PodHandle) =>
    `api/v1/namespaces/${encodeURIComponent(handle.namespace)}/pods/${encodeURIComponent(handle.name)}`;

  async function logTail(handle: PodHandle, signal?: AbortSignal): Promise<string[]> {
    try {
      const response = await send(`${server?.replace(/\/+$/, '')}/${podPath(handle)}/log?container=main&tailLines=${LOG_LINES}`, {
        headers: { authorization: `Bearer ${token}` },
        signal: signal ?? AbortSignal.timeout(30_000),
      });
      if (!response.ok) return [];
      return (await response.text()).split('\n').filter((line) => line !== '');
    } catch {
      return [];
    }
  }

  const pod: ExternalJob<PodInput, PodHandle, PodResult> = {
    kind: 'Kubernetes pod',
    async start(input, ctx) {
      const name = podName(input.namePrefix, ctx.idempotencyKey);
      const limits: Record<string, string> = {};
      if (input.resources?.cpu) limits.cpu = input.resources.cpu;
      if (input.resources?.memory) limits.memory = input.resources.memory;
      if (input.resources?.gpus) limits['nvidia.com/gpu'] = String(input.resources.gpus);
      const manifest = {
        apiVersion: 'v1',
        kind: 'Pod',
        metadata: { name, namespace, labels: { ...input.labels, 'app.kubernetes.io/managed-by': 'outpost' } },
        spec: {
          restartPolicy: 'Never',
          ...(input.serviceAccountName ? { serviceAccountName: input.serviceAccountName } : {}),
          ...(input.nodeSelector ? { nodeSelector: input.nodeSelector } : {}),
          ...(input.tolerations ? { tolerations: input.tolerations } : {}),
          containers: [
            {
              name: 'main',
              image: input.image,
              ...(input.command ? { command: input.command } : {}),
              ...(input.args ? { args: input.args } : {}),
              env: Object.entries(input.env ?? {}).map(([envName, value]) => ({ name: envName, value })),
              ...(input.envFromSecrets
                ? { envFrom: input.envFromSecrets.map((secret) => ({ secretRef: { name: secret } })) }
                : {}),
              ...(Object.keys(limits).length > 0 ? { resources: { requests: limits, limits } } : {}),
            },
          ],
        },
      };
      try {
        await call('POST', `api/v1/namespaces/${encodeURIComponent(namespace)}/pods`, manifest, true, ctx.signal);
      } catch (error) {
        // A start sent again: the Pod of this task attempt exists already.
        if (!(error instanceof IntegrationError && error.errorCode === 'AlreadyExists')) throw error;
      }
      return {
        namespace,
        name,
        ...(input.pendingTimeoutSeconds !== undefined ? { pendingTimeoutSeconds: input.pendingTimeoutSeconds } : {}),
      };
    },
    async poll(handle, ctx) {
      const status = podStatus(
        await call<PodWire>('GET', podPath(handle), null, true, ctx.signal),
        Date.now(),
        handle.pendingTimeoutSeconds,
      );
      if (status.state === 'succeeded')
        return { ...status, result: { ...status.result, logs: await logTail(handle, ctx.signal) } };
      if (status.state === 'failed') {
        const last = (await logTail(handle, ctx.signal)).at(-1);
        return { state: 'failed', message: last ? `${status.message}; its last line: ${last}` : status.message };
      }
      return status;
    },
    async cancel(handle) {
      try {
        await call('DELETE', podPath(handle), null, true);
      } catch (error) {
        if (!(error instanceof IntegrationError && error.errorCode === 'NotFound')) throw error;
      }
    },
  };

  return { pod, namespace };
}

export type KubernetesPods = Awaited<ReturnType<typeof kubernetesPods>>;
