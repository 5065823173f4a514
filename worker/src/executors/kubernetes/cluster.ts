import { existsSync, readFileSync } from 'node:fs';
import { BatchV1Api, CoreV1Api, KubeConfig } from '@kubernetes/client-node';

/** The cluster the executor runs Jobs in, and its default namespace. */
export interface Cluster {
  config: KubeConfig;
  batch: BatchV1Api;
  core: CoreV1Api;
  namespace: string;
  /** The ServiceAccount the worker calls the API server as, when its credentials say (a ServiceAccount token). */
  serviceAccount?: { namespace: string; name: string } | null;
}

const IN_CLUSTER_NAMESPACE = '/var/run/secrets/kubernetes.io/serviceaccount/namespace';
const IN_CLUSTER_TOKEN = '/var/run/secrets/kubernetes.io/serviceaccount/token';

/**
 * The ServiceAccount a token belongs to, from its `sub` claim (`system:serviceaccount:<ns>:<name>`,
 * in legacy and bound tokens alike); null for any other token. Not verified: it only names the
 * account so that no run's pod is given the worker's own (its Role would let a flow create Jobs
 * outside the worker's bounds). A token of another kind means the worker is not a ServiceAccount.
 */
export function serviceAccountOfToken(token: string | undefined): { namespace: string; name: string } | null {
  const payload = token?.trim().split('.')[1];
  if (!payload) return null;
  try {
    const sub = (JSON.parse(Buffer.from(payload, 'base64url').toString('utf8')) as { sub?: unknown }).sub;
    const match = typeof sub === 'string' ? /^system:serviceaccount:([^:]+):([^:]+)$/.exec(sub) : null;
    return match ? { namespace: match[1]!, name: match[2]! } : null;
  } catch {
    return null;
  }
}

function readToken(path: string): string | undefined {
  try {
    return readFileSync(path, 'utf8');
  } catch {
    return undefined;
  }
}

/** `--kubeconfig` when given; otherwise the pod's service account inside a cluster, else `KUBECONFIG` / `~/.kube/config`. */
export function connectCluster(options: { kubeconfig: string | null; namespace: string | null }): Cluster {
  const config = new KubeConfig();
  let inCluster = false;
  if (options.kubeconfig) config.loadFromFile(options.kubeconfig);
  else if (process.env.KUBERNETES_SERVICE_HOST && existsSync(IN_CLUSTER_NAMESPACE)) {
    config.loadFromCluster();
    inCluster = true;
  } else config.loadFromDefault();
  if (!config.getCurrentCluster()) {
    throw new Error('no Kubernetes cluster configured: pass --kubeconfig <file>, set KUBECONFIG, or run the worker in a cluster');
  }
  const context = config.getContextObject(config.getCurrentContext());
  const namespace = options.namespace ?? context?.namespace ?? 'default';
  const user = config.getCurrentUser();
  const serviceAccount = serviceAccountOfToken(inCluster ? readToken(IN_CLUSTER_TOKEN) : (user?.token ?? undefined));
  return { config, batch: config.makeApiClient(BatchV1Api), core: config.makeApiClient(CoreV1Api), namespace, serviceAccount };
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
