import { spawn } from 'node:child_process';
import { readFile } from 'node:fs/promises';
import { homedir } from 'node:os';
import { join } from 'node:path';
import { BundleError, isErrnoException } from './errors.js';

/** Registry credentials: a user name and password (or access token), or an OAuth2 identity (refresh) token. */
export type RegistryCredentials = { username: string; password: string } | { identityToken: string };

interface DockerAuthEntry {
  auth?: string;
  username?: string;
  password?: string;
  identitytoken?: string;
}

interface DockerConfig {
  auths?: Record<string, DockerAuthEntry>;
  credHelpers?: Record<string, string>;
  credsStore?: string;
}

// Docker stores Docker Hub credentials under its legacy index URL.
const DOCKER_HUB_HOSTS = new Set(['docker.io', 'index.docker.io', 'registry-1.docker.io']);
const DOCKER_HUB_KEY = 'https://index.docker.io/v1/';
const HELPER_TIMEOUT_MS = 30_000;

/** `https://host:5000/v1/` → `host:5000`, as Docker's own lookup does. */
function normalizeHost(value: string): string {
  const withoutScheme = value.replace(/^[a-z][a-z0-9+.-]*:\/\//i, '');
  const slash = withoutScheme.indexOf('/');
  const host = (slash === -1 ? withoutScheme : withoutScheme.slice(0, slash)).toLowerCase();
  return DOCKER_HUB_HOSTS.has(host) ? 'docker.io' : host;
}

function fromAuthEntry(entry: DockerAuthEntry): RegistryCredentials | null {
  if (entry.identitytoken) return { identityToken: entry.identitytoken };
  if (entry.auth) {
    const decoded = Buffer.from(entry.auth, 'base64').toString('utf8');
    const colon = decoded.indexOf(':');
    if (colon > 0) return { username: decoded.slice(0, colon), password: decoded.slice(colon + 1) };
  }
  if (entry.username && entry.password) return { username: entry.username, password: entry.password };
  return null;
}

/** Runs `docker-credential-<helper> get`, the protocol every Docker credential helper speaks. */
function runCredentialHelper(helper: string, serverUrl: string, env: NodeJS.ProcessEnv): Promise<RegistryCredentials | null> {
  if (!/^[A-Za-z0-9_.-]+$/.test(helper))
    return Promise.reject(new BundleError('invalid', `invalid credential helper name "${helper}"`));
  const command = `docker-credential-${helper}`;
  return new Promise((resolvePromise, reject) => {
    const child = spawn(command, ['get'], { env, stdio: ['pipe', 'pipe', 'pipe'], timeout: HELPER_TIMEOUT_MS });
    const stdout: Buffer[] = [];
    const stderr: Buffer[] = [];
    child.stdout.on('data', (chunk: Buffer) => stdout.push(chunk));
    child.stderr.on('data', (chunk: Buffer) => stderr.push(chunk));
    child.on('error', (error) => {
      reject(new BundleError('invalid', `credential helper ${command} could not run: ${error.message}`, { cause: error }));
    });
    child.on('close', (code) => {
      const output = Buffer.concat(stdout).toString('utf8');
      if (code !== 0) {
        // Helpers say "credentials not found" (on either stream) when they hold nothing for the host.
        if (/not found/i.test(output + Buffer.concat(stderr).toString('utf8'))) return resolvePromise(null);
        return reject(new BundleError('invalid', `credential helper ${command} failed with exit code ${code}`));
      }
      try {
        const parsed = JSON.parse(output) as { Username?: unknown; Secret?: unknown };
        if (typeof parsed.Secret !== 'string' || parsed.Secret === '') return resolvePromise(null);
        if (parsed.Username === '<token>') return resolvePromise({ identityToken: parsed.Secret });
        if (typeof parsed.Username !== 'string') return resolvePromise(null);
        resolvePromise({ username: parsed.Username, password: parsed.Secret });
      } catch (error) {
        reject(new BundleError('invalid', `credential helper ${command} printed something that is not JSON`, { cause: error }));
      }
    });
    child.stdin.on('error', () => {
      // The helper may exit before reading stdin; its exit code tells the story.
    });
    child.stdin.end(serverUrl);
  });
}

async function readDockerConfig(path: string): Promise<DockerConfig | null> {
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (error) {
    if (isErrnoException(error) && (error.code === 'ENOENT' || error.code === 'ENOTDIR')) return null;
    throw new BundleError('invalid', `cannot read Docker config ${path}: ${String(error)}`, { cause: error });
  }
  try {
    const parsed: unknown = JSON.parse(text);
    return parsed !== null && typeof parsed === 'object' ? (parsed as DockerConfig) : null;
  } catch (error) {
    throw new BundleError('invalid', `Docker config ${path} is not valid JSON`, { cause: error });
  }
}

/**
 * Finds credentials for a registry host (`host[:port]`): `OUTPOST_REGISTRY_USERNAME` and
 * `OUTPOST_REGISTRY_PASSWORD` first, then the Docker config at `$DOCKER_CONFIG/config.json` or
 * `~/.docker/config.json` (`credHelpers`, then `auths` entries with `auth` or `identitytoken`, then
 * `credsStore`). Returns null when nothing is configured: the registry is then tried anonymously.
 */
export async function resolveRegistryCredentials(
  registryHost: string,
  env: NodeJS.ProcessEnv = process.env,
): Promise<RegistryCredentials | null> {
  const username = env.OUTPOST_REGISTRY_USERNAME;
  const password = env.OUTPOST_REGISTRY_PASSWORD;
  if (username && password) return { username, password };
  if (username || password) {
    throw new BundleError('invalid', 'set both OUTPOST_REGISTRY_USERNAME and OUTPOST_REGISTRY_PASSWORD, or neither');
  }
  const configPath = env.DOCKER_CONFIG
    ? join(env.DOCKER_CONFIG, 'config.json')
    : join(env.HOME || homedir(), '.docker', 'config.json');
  const config = await readDockerConfig(configPath);
  if (!config) return null;
  const host = normalizeHost(registryHost);
  const serverUrl = host === 'docker.io' ? DOCKER_HUB_KEY : host;
  for (const [key, helper] of Object.entries(config.credHelpers ?? {})) {
    if (normalizeHost(key) === host) return runCredentialHelper(helper, serverUrl, env);
  }
  for (const [key, entry] of Object.entries(config.auths ?? {})) {
    if (normalizeHost(key) !== host || entry === null || typeof entry !== 'object') continue;
    const credentials = fromAuthEntry(entry);
    if (credentials) return credentials;
  }
  if (config.credsStore) return runCredentialHelper(config.credsStore, serverUrl, env);
  return null;
}

/** Credentials as given (`null` = anonymous), or resolved from the environment when not given. */
export async function credentialsFor(
  host: string,
  credentials: RegistryCredentials | null | undefined,
): Promise<RegistryCredentials | null> {
  return credentials === undefined ? resolveRegistryCredentials(host) : credentials;
}
