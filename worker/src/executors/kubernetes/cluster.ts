import { existsSync } from 'node:fs';
import { BatchV1Api, CoreV1Api, KubeConfig } from '@kubernetes/client-node';

/** The cluster the executor runs Jobs in, and its default namespace. */
export interface Cluster {
  config: KubeConfig;
  batch: BatchV1Api;
  core: CoreV1Api;
  namespace: string;
}

const IN_CLUSTER_NAMESPACE = '/var/run/secrets/kubernetes.io/serviceaccount/namespace';

/** `--kubeconfig` when given; otherwise the pod's service account inside a cluster, else `KUBECONFIG` / `~/.kube/config`. */
export function connectCluster(options: { kubeconfig: string | null; namespace: string | null }): Cluster {
  const config = new KubeConfig();
  if (options.kubeconfig) config.loadFromFile(options.kubeconfig);
  else if (process.env.KUBERNETES_SERVICE_HOST && existsSync(IN_CLUSTER_NAMESPACE)) config.loadFromCluster();
  else config.loadFromDefault();
  if (!config.getCurrentCluster()) {
    throw new Error('no Kubernetes cluster configured: pass --kubeconfig <file>, set KUBECONFIG, or run the worker in a cluster');
  }
  const context = config.getContextObject(config.getCurrentContext());
  const namespace = options.namespace ?? context?.namespace ?? 'default';
  return { config, batch: config.makeApiClient(BatchV1Api), core: config.makeApiClient(CoreV1Api), namespace };
}

/** The HTTP status of a failed Kubernetes API call, if it has one. */
export function statusOf(error: unknown): number | null {
  const code = (error as { code?: unknown } | null)?.code;
  return typeof code === 'number' ? code : null;
}

/** A failed Kubernetes API call in one line (its Status message when the API server sent one). */
export function describeKubeError(error: unknown): string {
  const body = (error as { body?: unknown } | null)?.body;
  let message: string | undefined;
  if (typeof body === 'string') {
    try {
      message = (JSON.parse(body) as { message?: string }).message;
    } catch {
      message = body.slice(0, 300);
    }
  } else if (body && typeof body === 'object') message = (body as { message?: string }).message;
  const status = statusOf(error);
  return `${status ? `HTTP ${status}: ` : ''}${message ?? (error as Error).message ?? String(error)}`;
}
