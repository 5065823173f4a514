import { execFile } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { createServer } from 'node:net';
import { homedir, tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { Agent, fetch } from 'undici';

const here = path.dirname(fileURLToPath(import.meta.url));
export const controlPlaneScript = path.join(here, 'control-plane.sh');
const cacheDir =
  process.env.OUTPOST_KUBE_CACHE ?? path.join(process.env.XDG_CACHE_HOME || path.join(homedir(), '.cache'), 'outpost-kube');
/** kubectl v1.20.2, built with the control plane from the same source tree. */
export const kubectlPath = path.join(cacheDir, 'bin', 'kubectl');

export interface CommandResult {
  code: number;
  stdout: string;
  stderr: string;
}

/** A real Kubernetes control plane (etcd, kube-apiserver, kube-controller-manager, kube-scheduler) on loopback. */
export interface KubeCluster {
  /** A kubeconfig (token auth, TLS unverified) whose context's namespace is `namespace`. */
  kubeconfigPath: string;
  /** `https://127.0.0.1:<port>` */
  server: string;
  /** Bearer token of a cluster admin (system:masters). */
  token: string;
  /** A fresh namespace this cluster created, with its `default` ServiceAccount in place. */
  namespace: string;
  /** The plane's: where etcd's data, the certificates, the token file and the component logs live. */
  stateDir: string;
  /** Runs kubectl v1.20.2 against the cluster (default namespace: `namespace`); never rejects on a non-zero exit. */
  kubectl(args: string[], options?: { stdin?: string }): Promise<CommandResult>;
  /** Stops the plane this file started, or clears what the file left on a shared one (startKubeCluster). */
  stop(): Promise<void>;
}

function run(file: string, args: string[], env: NodeJS.ProcessEnv, stdin?: string): Promise<CommandResult> {
  return new Promise((resolve) => {
    const child = execFile(file, args, { env, maxBuffer: 64 * 1024 * 1024 }, (error, stdout, stderr) => {
      const code = error ? (typeof error.code === 'number' ? error.code : 1) : 0;
      resolve({ code, stdout, stderr });
    });
    if (stdin !== undefined) child.stdin?.end(stdin);
    else child.stdin?.end();
  });
}

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      const port = typeof address === 'object' && address ? address.port : 0;
      server.close(() => resolve(port));
    });
  });
}

/** Resolves once `check` does, trying every `intervalMs` for at most `timeoutMs`. */
export async function until<T>(
  what: string,
  check: () => Promise<T | undefined | null | false>,
  timeoutMs = 60_000,
  intervalMs = 200,
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let lastError: unknown;
  for (;;) {
    try {
      const value = await check();
      if (value) return value;
    } catch (error) {
      lastError = error;
    }
    if (Date.now() > deadline) {
      throw new Error(`timed out waiting for ${what}${lastError ? `: ${String(lastError)}` : ''}`);
    }
    await new Promise((resolve) => setTimeout(resolve, intervalMs));
  }
}

/** A control plane's address, admin token and state directory: what a file needs to work on it. */
export interface ControlPlane {
  /** `https://127.0.0.1:<port>` */
  server: string;
  token: string;
  /** etcd's data, the certificates (`pki/apiserver.crt`), the token file and the component logs. */
  stateDir: string;
}

/** A control plane this process started: `stop` ends every component and removes its state. */
export type RunningControlPlane = ControlPlane & { stop(): Promise<void> };

/**
 * Starts a control plane on free ports, in a temporary state directory, and waits until the API
 * server answers `/readyz`. Needs the binaries built by `control-plane.sh build` (npm test runs
 * test/support/kube/build-once.mjs first). `stop` ends every component and removes the state.
 */
export async function startControlPlane(): Promise<RunningControlPlane> {
  const stateDir = await mkdtemp(path.join(tmpdir(), 'outpost-kube-'));
  // kubectl keeps its caches under HOME: the state directory, not the developer’s ~/.kube.
  const env = { ...process.env, HOME: stateDir, OUTPOST_KUBE_CACHE: cacheDir };
  const script = (args: string[]) => run(controlPlaneScript, args, env);
  const stop = async () => {
    await script(['down', stateDir]);
    await rm(stateDir, { recursive: true, force: true });
  };
  try {
    const built = await script(['built']);
    if (built.code !== 0) {
      throw new Error(
        `the Kubernetes control plane is not built — run \`node test/support/kube/build-once.mjs\`, then the tests again`,
      );
    }
    const start = async () => {
      const ports = [await freePort(), await freePort(), await freePort()] as const;
      return { api: ports[0], up: await script(['up', stateDir, ...ports.map(String)]) };
    };
    let { api, up } = await start();
    if (up.code !== 0) {
      // A port taken between choosing and binding it, or a start slower than the wait on a loaded
      // machine: once more, on fresh ports and a fresh state; a second failure says both.
      const first = up.stderr.trim();
      await script(['down', stateDir]);
      await rm(stateDir, { recursive: true, force: true });
      await mkdir(stateDir, { recursive: true });
      ({ api, up } = await start());
      if (up.code !== 0) throw new Error(`control-plane.sh up failed twice (${up.code}): ${first}\n${up.stderr.trim()}`);
    }
    const node = await script(['node', stateDir]);
    if (node.code !== 0) throw new Error(`control-plane.sh node failed (${node.code}): ${node.stderr.trim()}`);

    const server = `https://127.0.0.1:${api}`;
    const token = (await readFile(path.join(stateDir, 'token'), 'utf8')).trim();
    const insecure = new Agent({ connect: { rejectUnauthorized: false } });
    try {
      await until('the kube-apiserver to answer /readyz', async () => {
        const response = await fetch(`${server}/readyz`, { headers: { authorization: `Bearer ${token}` }, dispatcher: insecure });
        await response.body?.cancel();
        return response.status === 200;
      });
    } finally {
      await insecure.close();
    }
    return { server, token, stateDir, stop };
  } catch (error) {
    await stop();
    throw error;
  }
}

/**
 * A cluster for one test file: a fresh namespace, with its `default` ServiceAccount in place, on a
 * control plane. Under the `e2e-kube` project the plane is the one its files share, started by the
 * first that asks (shared-plane.ts); `stop` then removes what the file left on it, not the plane.
 * Anywhere else (a benchmark, a file run by another project) the file starts a plane of its own and
 * `stop` ends it.
 */
export async function startKubeCluster(): Promise<KubeCluster> {
  const shared = await sharedControlPlane();
  if (shared) return clusterOn(shared, () => clearSharedPlane(shared));
  const plane = await startControlPlane();
  try {
    return await clusterOn(plane, plane.stop);
  } catch (error) {
    await plane.stop();
    throw error;
  }
}

declare module 'vitest' {
  interface ProvidedContext {
    /** The address a file of the `e2e-kube` project asks for the control plane its files share. */
    kubeControlPlane?: string;
  }
}

/** The project's shared plane, when this file runs under vitest in a project that provides one. */
async function sharedControlPlane(): Promise<ControlPlane | null> {
  if (!process.env.VITEST) return null;
  const { inject } = await import('vitest');
  const url = inject('kubeControlPlane');
  if (!url) return null;
  const response = await fetch(url, { method: 'POST' });
  const body = await response.text();
  if (!response.ok) throw new Error(`the shared Kubernetes control plane did not start: ${body}`);
  return JSON.parse(body) as ControlPlane;
}

/**
 * Leaves a shared plane as the next file expects it: the files of the project run one at a time, so
 * every namespace but the system's, every Pod and every Node on it are this file's. Pods go at once
 * (no kubelet is left to confirm a graceful end), and the namespaces after, in the background.
 */
async function clearSharedPlane(plane: ControlPlane): Promise<void> {
  const kubectl = await adminKubectl(plane);
  const failures: string[] = [];
  const step = async (args: string[]) => {
    const result = await kubectl(args);
    if (result.code !== 0) failures.push(`kubectl ${args.join(' ')}: ${result.stderr.trim()}`);
    return result;
  };
  const listed = await step(['get', 'namespaces', '-o', 'jsonpath={.items[*].metadata.name}']);
  const namespaces = listed.stdout.split(/\s+/).filter((name) => name && !SYSTEM_NAMESPACES.has(name));
  // An earlier file's namespaces may still be terminating when listed and gone a moment later.
  if (namespaces.length > 0) await step(['delete', 'namespace', '--wait=false', '--ignore-not-found', ...namespaces]);
  await step(['delete', 'pods', '--all-namespaces', '--all', '--force', '--grace-period=0']);
  await step(['delete', 'nodes', '--all']);
  await kubectl.done();
  if (failures.length > 0) throw new Error(`cannot clear the shared control plane for the next file: ${failures.join('; ')}`);
}

const SYSTEM_NAMESPACES = new Set(['default', 'kube-system', 'kube-public', 'kube-node-lease']);

/** kubectl as the plane's admin (default namespace `namespace`), from a directory of its own; `done` removes that directory. */
async function adminKubectl(plane: ControlPlane, namespace = 'default') {
  const home = await mkdtemp(path.join(tmpdir(), 'outpost-kubectl-'));
  const kubeconfigPath = path.join(home, 'kubeconfig.yaml');
  await writeFile(kubeconfigPath, kubeconfig(plane, namespace), { mode: 0o600 });
  const env = { ...process.env, HOME: home, OUTPOST_KUBE_CACHE: cacheDir };
  const kubectl = (args: string[], options: { stdin?: string } = {}) =>
    run(
      kubectlPath,
      ['--kubeconfig', kubeconfigPath, '--cache-dir', path.join(home, 'kubectl-cache'), ...args],
      env,
      options.stdin,
    );
  return Object.assign(kubectl, { home, kubeconfigPath, done: () => rm(home, { recursive: true, force: true }) });
}

function kubeconfig(plane: ControlPlane, namespace: string): string {
  return [
    'apiVersion: v1',
    'kind: Config',
    `clusters: [{name: outpost-test, cluster: {server: "${plane.server}", insecure-skip-tls-verify: true}}]`,
    `users: [{name: admin, user: {token: "${plane.token}"}}]`,
    `contexts: [{name: outpost-test, context: {cluster: outpost-test, user: admin, namespace: ${namespace}}}]`,
    'current-context: outpost-test',
    '',
  ].join('\n');
}

/** A fresh namespace on `plane` and a kubeconfig whose context names it; `release` runs on `stop`. */
async function clusterOn(plane: ControlPlane, release: () => Promise<void>): Promise<KubeCluster> {
  const namespace = `outpost-test-${randomBytes(4).toString('hex')}`;
  const admin = await adminKubectl(plane, namespace);
  const stop = async () => {
    try {
      await release();
    } finally {
      await admin.done();
    }
  };
  try {
    const { kubeconfigPath } = admin;
    const kubectl = admin;
    const created = await kubectl(['create', 'namespace', namespace]);
    if (created.code !== 0) throw new Error(`cannot create namespace ${namespace}: ${created.stderr.trim()}`);
    // Pods are refused until the ServiceAccount controller made the namespace's `default` account.
    await until(
      `the default ServiceAccount of ${namespace}`,
      async () => (await kubectl(['get', 'serviceaccount', 'default'])).code === 0,
    );
    return { kubeconfigPath, server: plane.server, token: plane.token, namespace, stateDir: plane.stateDir, kubectl, stop };
  } catch (error) {
    await admin.done();
    throw error;
  }
}
