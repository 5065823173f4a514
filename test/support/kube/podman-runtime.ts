import { type ChildProcess, spawn, spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { chmod, mkdir, mkdtemp, writeFile } from 'node:fs/promises';
import path from 'node:path';
import type { CoreV1Api, V1Container, V1Pod } from '@kubernetes/client-node';
import { repoRoot } from '../processes.js';

/**
 * How the test node runs a Pod's container for real: with podman (the runc runtime and the
 * project's ulimits from .outpost/containers.conf, which `npm run images` writes), from the image
 * the container names, pulled from its registry as the kubelet would. The container shares the
 * host's network, as a pod with `hostNetwork` does: the API server, the worker's relay and the
 * registry are all on 127.0.0.1.
 */
export const CONTAINERS_CONF = path.join(repoRoot, '.outpost/containers.conf');

export interface PodmanResult {
  code: number;
  stdout: string;
  stderr: string;
}

export function podman(args: string[]): Promise<PodmanResult> {
  return new Promise((resolve) => {
    const child = spawn('podman', args, { env: { ...process.env, CONTAINERS_CONF }, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (c: Buffer) => {
      stdout += c.toString('utf8');
    });
    child.stderr.on('data', (c: Buffer) => {
      stderr += c.toString('utf8');
    });
    child.once('error', (error) => resolve({ code: 127, stdout, stderr: error.message }));
    child.once('close', (code) => resolve({ code: code ?? 1, stdout, stderr }));
  });
}

/** The last line of what podman said, without its `Error: ` prefix. */
function lastLine(text: string): string {
  const lines = text.trim().split('\n').filter(Boolean);
  return (lines[lines.length - 1] ?? '').replace(/^Error:\s*/, '');
}

/** Thrown when the image cannot be pulled; its message is what the kubelet reports as ErrImagePull. */
export class ImagePullError extends Error {}

/**
 * Pulls the container's image as its pull policy says (`IfNotPresent` unless the tag is `latest` or
 * absent), over plain HTTP: the tests' registries listen on loopback. Returns the image's
 * `docker-pullable://<repository>@sha256:…` id.
 */
export async function pullImage(container: V1Container): Promise<string> {
  const image = container.image ?? '';
  const tag = /:([^/:@]+)$/.exec(image)?.[1];
  const policy = container.imagePullPolicy ?? (!tag || tag === 'latest' ? 'Always' : 'IfNotPresent');
  const present = (await podman(['image', 'exists', image])).code === 0;
  if (policy === 'Never' && !present)
    throw new ImagePullError(`container image "${image}" is not present with pull policy of Never`);
  if (policy === 'Always' || !present) {
    const pulled = await podman(['pull', '--quiet', '--tls-verify=false', image]);
    if (pulled.code !== 0) throw new ImagePullError(`failed to pull image "${image}": ${lastLine(pulled.stderr)}`);
  }
  const repository = image.replace(/@sha256:[a-f0-9]+$/, '').replace(/:[^/:]+$/, '');
  return `docker-pullable://${repository}@${await manifestDigest(image)}`;
}

/**
 * The digest of the manifest the image's registry serves for it, as a kubelet reports it (podman
 * keeps every digest an image was ever known by, across repositories, so it cannot tell which).
 */
async function manifestDigest(image: string): Promise<string> {
  const pinned = /@(sha256:[a-f0-9]{64})$/.exec(image)?.[1];
  if (pinned) return pinned;
  const match = /^([^/]+)\/(.+):([^/:]+)$/.exec(image);
  if (match) {
    const [, host, repository, tag] = match;
    const answer = await fetch(`http://${host}/v2/${repository}/manifests/${tag}`, {
      method: 'HEAD',
      headers: {
        accept: [
          'application/vnd.oci.image.index.v1+json',
          'application/vnd.docker.distribution.manifest.list.v2+json',
          'application/vnd.oci.image.manifest.v1+json',
          'application/vnd.docker.distribution.manifest.v2+json',
        ].join(', '),
      },
    }).catch(() => undefined);
    const digest = answer?.headers.get('docker-content-digest');
    if (digest) return digest;
  }
  return (await podman(['image', 'inspect', '--format', '{{.Digest}}', image])).stdout.trim();
}

/** Kubernetes quantities podman takes: memory in bytes (`512Mi` → 536870912), CPUs as a decimal. */
function bytes(quantity: string): number {
  const match = /^(\d+(?:\.\d+)?)([KMGTE]i?|[kmgte])?$/.exec(quantity);
  if (!match) return Number.NaN;
  const units: Record<string, number> = {
    Ki: 2 ** 10,
    Mi: 2 ** 20,
    Gi: 2 ** 30,
    Ti: 2 ** 40,
    k: 1e3,
    K: 1e3,
    M: 1e6,
    G: 1e9,
    T: 1e12,
  };
  return Math.round(Number(match[1]) * (match[2] ? (units[match[2]] ?? 1) : 1));
}

function cpus(quantity: string): number {
  return quantity.endsWith('m') ? Number(quantity.slice(0, -1)) / 1000 : Number(quantity);
}

/**
 * Files of the pod's volumes that the container mounts, as the kubelet lays them out: a Secret's
 * or a ConfigMap's keys as files, an emptyDir as an empty directory. Returns podman `-v` arguments.
 */
async function volumes(api: CoreV1Api, pod: V1Pod, container: V1Container, dir: string): Promise<string[]> {
  const namespace = pod.metadata?.namespace ?? 'default';
  const args: string[] = [];
  for (const mount of container.volumeMounts ?? []) {
    const volume = pod.spec?.volumes?.find((v) => v.name === mount.name);
    if (!volume) continue;
    const host = path.join(dir, `volume-${mount.name}`);
    await mkdir(host, { recursive: true });
    await chmod(host, 0o777);
    let data: Record<string, string> = {};
    let mode = 0o644;
    if (volume.secret?.secretName) {
      const secret = await api.readNamespacedSecret({ name: volume.secret.secretName, namespace });
      data = Object.fromEntries(
        Object.entries(secret.data ?? {}).map(([k, v]) => [k, Buffer.from(v, 'base64').toString('utf8')]),
      );
      mode = volume.secret.defaultMode ?? mode;
    } else if (volume.configMap?.name) {
      const map = await api.readNamespacedConfigMap({ name: volume.configMap.name, namespace });
      data = map.data ?? {};
      mode = volume.configMap.defaultMode ?? mode;
    }
    const items = volume.secret?.items ?? volume.configMap?.items;
    for (const [key, value] of Object.entries(data)) {
      const item = items?.find((i) => i.key === key);
      if (items && !item) continue;
      const file = path.join(host, item?.path ?? key);
      await mkdir(path.dirname(file), { recursive: true });
      await writeFile(file, value, { mode });
      await chmod(file, mode);
    }
    args.push('-v', `${host}:${mount.mountPath}${mount.readOnly || volume.secret || volume.configMap ? ':ro' : ''}`);
  }
  return args;
}

/**
 * The pod's ServiceAccount credentials where a kubelet puts them (unless the pod opts out): the
 * account's token Secret's `token`, `ca.crt` and `namespace` in
 * /var/run/secrets/kubernetes.io/serviceaccount, and KUBERNETES_SERVICE_HOST/PORT naming the API
 * server on the host's network. A client in the pod then finds the cluster as in any cluster.
 */
const SERVICE_ACCOUNT_DIR = '/var/run/secrets/kubernetes.io/serviceaccount';

async function serviceAccount(
  api: CoreV1Api,
  pod: V1Pod,
  container: V1Container,
  dir: string,
  apiServer: URL,
): Promise<{ args: string[]; env: Record<string, string> }> {
  if (pod.spec?.automountServiceAccountToken === false) return { args: [], env: {} };
  const env = { KUBERNETES_SERVICE_HOST: apiServer.hostname, KUBERNETES_SERVICE_PORT: apiServer.port || '443' };
  // The ServiceAccount admission plugin usually put the token Secret in the pod as a volume already.
  if (container.volumeMounts?.some((m) => m.mountPath === SERVICE_ACCOUNT_DIR)) return { args: [], env };
  const namespace = pod.metadata?.namespace ?? 'default';
  const account = await api.readNamespacedServiceAccount({ name: pod.spec?.serviceAccountName ?? 'default', namespace });
  let data: Record<string, string> | undefined;
  for (const ref of account.secrets ?? []) {
    const secret = await api.readNamespacedSecret({ name: ref.name ?? '', namespace }).catch(() => undefined);
    if (secret?.type === 'kubernetes.io/service-account-token' && secret.data?.token) data = secret.data;
  }
  if (!data) return { args: [], env: {} };
  const host = path.join(dir, 'serviceaccount');
  await mkdir(host, { recursive: true });
  await chmod(host, 0o755);
  for (const key of ['token', 'ca.crt', 'namespace']) {
    const value = data[key];
    if (value) await writeFile(path.join(host, key), Buffer.from(value, 'base64'), { mode: 0o644 });
  }
  return { args: ['-v', `${host}:${SERVICE_ACCOUNT_DIR}:ro`], env };
}

export interface StartedContainer {
  name: string;
  child: ChildProcess;
  imageId: string;
}

/**
 * Starts the Pod's first container with `podman run`, attached: its output streams from the child's
 * stdout and stderr, and the child exits with the container's exit code. The container's `command`
 * replaces the image's entrypoint and `args` its command, as in Kubernetes.
 */
export async function runContainer(
  api: CoreV1Api,
  pod: V1Pod,
  container: V1Container,
  env: Record<string, string>,
  workDir: string,
  imageId: string,
  apiServer: URL,
): Promise<StartedContainer> {
  const uid = pod.metadata?.uid ?? '';
  const name = `k8s_${container.name}_${pod.metadata?.name}_${pod.metadata?.namespace}_${uid.slice(0, 8)}`;
  const dir = await mkdtemp(path.join(workDir, `${uid.slice(0, 8)}-`));
  // The host's network and process namespace (a pod with hostNetwork and hostPID): the pids a flow
  // reports are the machine's, so a test can tell whether what it started is still running. No init:
  // in the host's namespace node is not PID 1.
  const args = ['run', '--name', name, '--network', 'host', '--pid', 'host', '--pull', 'never', '--log-driver', 'none'];
  const account = await serviceAccount(api, pod, container, dir, apiServer);
  for (const [key, value] of Object.entries({ ...account.env, ...env })) args.push('--env', `${key}=${value}`);
  args.push(...account.args);
  const limits = container.resources?.limits ?? {};
  if (limits.memory) args.push('--memory', String(bytes(String(limits.memory))));
  if (limits.cpu) args.push('--cpus', String(cpus(String(limits.cpu))));
  const user = container.securityContext?.runAsUser ?? pod.spec?.securityContext?.runAsUser;
  if (user !== undefined) args.push('--user', String(user));
  if (container.workingDir) args.push('--workdir', container.workingDir);
  args.push(...(await volumes(api, pod, container, dir)));
  if (container.command?.length) args.push('--entrypoint', JSON.stringify(container.command));
  args.push(container.image ?? '', ...(container.args ?? []));
  const child = spawn('podman', args, {
    env: { ...process.env, CONTAINERS_CONF },
    detached: true,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  return { name, child, imageId };
}

/** Sends the container a signal through podman (the `podman run` client only proxies what it gets). */
export async function signalContainer(name: string, signal: NodeJS.Signals): Promise<void> {
  await podman(['kill', '--signal', signal, name]);
}

export async function removeContainer(name: string): Promise<void> {
  await podman(['rm', '--force', '--time', '0', name]);
}

/** The version the images are tagged with (the workspace's). */
export const IMAGE_VERSION = (
  JSON.parse(readFileSync(path.join(repoRoot, 'services/api/package.json'), 'utf8')) as { version: string }
).version;

/** Builds the images as `npm run images` does (layers cached); the workspace must be built. */
export function buildImages(): void {
  const built = spawnSync(process.execPath, [path.join(repoRoot, 'infra/docker/build-images.mjs')], { encoding: 'utf8' });
  if (built.status !== 0) throw new Error(`npm run images failed: ${built.stderr.trim()}`);
}

export interface RegistryContainer {
  /** `127.0.0.1:<port>` */
  host: string;
  /** Pushes `localhost/outpost/<name>:<version>` as `<host>/outpost/<name>:<version>`, and drops that local tag: a pod must pull it. */
  push(name: string): Promise<string>;
  /** Removes the container and the images pulled from it. */
  stop(): Promise<void>;
}

/** Debian's docker-registry as a container (localhost/outpost/registry), on a free loopback port. */
export async function startRegistryContainer(port: number): Promise<RegistryContainer> {
  const host = `127.0.0.1:${port}`;
  const started = await podman(['run', '--detach', '--rm', '--network', 'host', '--env', `REGISTRY_HTTP_ADDR=${host}`, REGISTRY]);
  if (started.code !== 0) throw new Error(`cannot start the registry container: ${lastLine(started.stderr)}`);
  const id = started.stdout.trim();
  const deadline = Date.now() + 30_000;
  while (!(await fetch(`http://${host}/v2/`).catch(() => undefined))?.ok) {
    if (Date.now() > deadline) throw new Error(`the registry container did not answer on ${host}`);
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  const pushed: string[] = [];
  return {
    host,
    async push(name) {
      const target = `${host}/outpost/${name}:${IMAGE_VERSION}`;
      const result = await podman([
        'push',
        '--quiet',
        '--tls-verify=false',
        `localhost/outpost/${name}:${IMAGE_VERSION}`,
        target,
      ]);
      if (result.code !== 0) throw new Error(`cannot push ${name}: ${lastLine(result.stderr)}`);
      await podman(['rmi', '--force', target]);
      pushed.push(target);
      return target;
    },
    async stop() {
      await podman(['rm', '--force', '--time', '0', id]);
      for (const image of pushed) await podman(['rmi', '--force', image]);
    },
  };
}

const REGISTRY = 'localhost/outpost/registry:latest';
