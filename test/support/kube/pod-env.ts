import type { CoreV1Api, V1Container, V1Pod } from '@kubernetes/client-node';

/** Thrown when the kubelet could not build the container's config (a missing Secret or key). */
export class ContainerConfigError extends Error {}

function status(error: unknown): number | undefined {
  const code = (error as { code?: unknown }).code;
  return typeof code === 'number' ? code : undefined;
}

async function readData(
  api: CoreV1Api,
  kind: 'secret' | 'configmap',
  namespace: string,
  name: string,
): Promise<Record<string, string> | null> {
  try {
    if (kind === 'secret') {
      const secret = await api.readNamespacedSecret({ name, namespace });
      return Object.fromEntries(
        Object.entries(secret.data ?? {}).map(([k, v]) => [k, Buffer.from(v, 'base64').toString('utf8')]),
      );
    }
    const map = await api.readNamespacedConfigMap({ name, namespace });
    return map.data ?? {};
  } catch (error) {
    if (status(error) === 404) return null;
    throw error;
  }
}

function fieldValue(pod: V1Pod, fieldPath: string): string {
  const labels = fieldPath.match(/^metadata\.(labels|annotations)\['(.+)'\]$/);
  if (labels) return (labels[1] === 'labels' ? pod.metadata?.labels : pod.metadata?.annotations)?.[labels[2] ?? ''] ?? '';
  switch (fieldPath) {
    case 'metadata.name':
      return pod.metadata?.name ?? '';
    case 'metadata.namespace':
      return pod.metadata?.namespace ?? '';
    case 'metadata.uid':
      return pod.metadata?.uid ?? '';
    case 'spec.nodeName':
      return pod.spec?.nodeName ?? '';
    case 'spec.serviceAccountName':
      return pod.spec?.serviceAccountName ?? '';
    case 'status.hostIP':
    case 'status.podIP':
      return '127.0.0.1';
    default:
      return '';
  }
}

/**
 * The container's environment as the kubelet builds it: `envFrom` first, then `env` in order, with
 * `$(VAR)` references to earlier variables expanded; values from Secrets and ConfigMaps read
 * through the API. A missing Secret, ConfigMap or key that is not optional is a ContainerConfigError.
 */
export async function containerEnv(api: CoreV1Api, pod: V1Pod, container: V1Container): Promise<Record<string, string>> {
  const namespace = pod.metadata?.namespace ?? 'default';
  const env: Record<string, string> = {};
  for (const source of container.envFrom ?? []) {
    const ref = source.secretRef ?? source.configMapRef;
    if (!ref?.name) continue;
    const kind = source.secretRef ? 'secret' : 'configmap';
    const data = await readData(api, kind, namespace, ref.name);
    if (data === null) {
      if (ref.optional) continue;
      throw new ContainerConfigError(`${kind} "${ref.name}" not found`);
    }
    for (const [key, value] of Object.entries(data)) env[`${source.prefix ?? ''}${key}`] = value;
  }
  for (const variable of container.env ?? []) {
    const from = variable.valueFrom;
    if (!from) {
      env[variable.name] = (variable.value ?? '').replace(/\$\(([A-Za-z_][A-Za-z0-9_]*)\)/g, (whole, name: string) =>
        name in env ? (env[name] ?? '') : whole,
      );
      continue;
    }
    const keyRef = from.secretKeyRef ?? from.configMapKeyRef;
    if (keyRef) {
      const kind = from.secretKeyRef ? 'secret' : 'configmap';
      const data = await readData(api, kind, namespace, keyRef.name ?? '');
      const value = data?.[keyRef.key];
      if (value === undefined) {
        if (keyRef.optional) continue;
        throw new ContainerConfigError(
          data === null
            ? `${kind} "${keyRef.name}" not found`
            : `couldn't find key ${keyRef.key} in ${kind} ${namespace}/${keyRef.name}`,
        );
      }
      env[variable.name] = value;
      continue;
    }
    if (from.fieldRef) env[variable.name] = fieldValue(pod, from.fieldRef.fieldPath);
  }
  return env;
}
