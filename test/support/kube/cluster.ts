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
  /** Where etcd's data, the certificates, the token file and the component logs live. */
  stateDir: string;
  /** Runs kubectl v1.20.2 against the cluster (default namespace: `namespace`); never rejects on a non-zero exit. */
  kubectl(args: string[], options?: { stdin?: string }): Promise<CommandResult>;
  /** Stops every component and removes the state directory. */
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

/**
 * Starts a control plane of its own on free ports, in a temporary state directory, waits until the
 * API server answers `/readyz`, and creates a fresh namespace. Needs the binaries built by
 * `control-plane.sh build` (npm test runs test/support/kube/build-once.mjs first).
 */
export async function startKubeCluster(): Promise<KubeCluster> {
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

    const namespace = `outpost-test-${randomBytes(4).toString('hex')}`;
    const kubeconfigPath = path.join(stateDir, 'kubeconfig.yaml');
    await writeFile(
      kubeconfigPath,
      [
        'apiVersion: v1',
        'kind: Config',
        `clusters: [{name: outpost-test, cluster: {server: "${server}", insecure-skip-tls-verify: true}}]`,
        `users: [{name: admin, user: {token: "${token}"}}]`,
        `contexts: [{name: outpost-test, context: {cluster: outpost-test, user: admin, namespace: ${namespace}}}]`,
        'current-context: outpost-test',
        '',
      ].join('\n'),
      { mode: 0o600 },
    );
    const kubectl = (args: string[], options: { stdin?: string } = {}) =>
      run(
        kubectlPath,
        ['--kubeconfig', kubeconfigPath, '--cache-dir', path.join(stateDir, 'kubectl-cache'), ...args],
        env,
        options.stdin,
      );

    const created = await kubectl(['create', 'namespace', namespace]);
    if (created.code !== 0) throw new Error(`cannot create namespace ${namespace}: ${created.stderr.trim()}`);
    // Pods are refused until the ServiceAccount controller made the namespace's `default` account.
    await until(
      `the default ServiceAccount of ${namespace}`,
      async () => (await kubectl(['get', 'serviceaccount', 'default'])).code === 0,
    );

    return { kubeconfigPath, server, token, namespace, stateDir, kubectl, stop };
  } catch (error) {
    await stop();
    throw error;
  }
}
