import { type ChildProcess, execFile, spawn } from 'node:child_process';
import { createHash, createPrivateKey, randomUUID, sign, X509Certificate } from 'node:crypto';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { createServer, get, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { createServer as createNetServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';

const run = promisify(execFile);
const REGISTRY_BINARY = '/usr/bin/docker-registry';
const START_DEADLINE_MS = 20_000;

export interface RegistryToken {
  /** URL of the token endpoint the registry sends clients to. */
  realm: string;
  service: string;
  issuer: string;
  /** PEM bundle holding the certificate whose key signs the tokens. */
  rootCertBundle: string;
}

export interface StartRegistryOptions {
  /** Require basic authentication with this one user (bcrypt htpasswd file made by `htpasswd -Bbn`). */
  htpasswd?: { username: string; password: string };
  /** Require bearer tokens from a token server (see `startTokenServer`). */
  token?: RegistryToken;
}

export interface TestRegistry {
  /** `http://127.0.0.1:<port>` */
  url: string;
  /** `127.0.0.1:<port>`, as written in `oci://` references. */
  host: string;
  /** Root of the registry's filesystem storage. */
  storageDir: string;
  /** Where the registry keeps a blob's bytes on disk, for tests that tamper with them. */
  blobDataPath(digest: string): string;
  stop(): Promise<void>;
}

export async function freePort(): Promise<number> {
  const server = createNetServer();
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', resolve);
  });
  const address = server.address();
  await new Promise<void>((resolve) => server.close(() => resolve()));
  if (!address || typeof address === 'string') throw new Error('no port');
  return address.port;
}

/** One GET without keep-alive, so polling leaves no socket behind. */
function probe(url: string): Promise<number | null> {
  return new Promise((resolve) => {
    const request = get(url, { agent: false, timeout: 1000 }, (response) => {
      response.resume();
      resolve(response.statusCode ?? null);
    });
    request.on('timeout', () => request.destroy());
    request.on('error', () => resolve(null));
  });
}

function authSection(options: StartRegistryOptions, dir: string): string {
  if (options.token) {
    const { realm, service, issuer, rootCertBundle } = options.token;
    return `auth:\n  token:\n    realm: ${realm}\n    service: ${service}\n    issuer: ${issuer}\n    rootcertbundle: ${rootCertBundle}\n`;
  }
  if (options.htpasswd) return `auth:\n  htpasswd:\n    realm: outpost-test\n    path: ${join(dir, 'htpasswd')}\n`;
  return '';
}

async function stopProcess(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  child.kill('SIGTERM');
  const timer = setTimeout(() => child.kill('SIGKILL'), 5000);
  await exited;
  clearTimeout(timer);
}

async function launch(dir: string, options: StartRegistryOptions): Promise<TestRegistry> {
  const port = await freePort();
  const storageDir = join(dir, 'storage');
  const config = [
    'version: 0.1',
    'log:\n  level: warn\n  accesslog:\n    disabled: true',
    `storage:\n  filesystem:\n    rootdirectory: ${storageDir}\n  delete:\n    enabled: true`,
    `http:\n  addr: 127.0.0.1:${port}\n  secret: outpost-test-secret`,
    authSection(options, dir),
  ].join('\n');
  const configPath = join(dir, 'config.yml');
  await writeFile(configPath, config);
  const child = spawn(REGISTRY_BINARY, ['serve', configPath], { stdio: ['ignore', 'pipe', 'pipe'] });
  // A test process that dies without calling stop() must not leave a registry running behind it.
  const killOnExit = () => child.kill('SIGKILL');
  process.once('exit', killOnExit);
  child.once('exit', () => process.off('exit', killOnExit));
  let output = '';
  const collect = (chunk: Buffer) => {
    output = (output + chunk.toString('utf8')).slice(-4000);
  };
  child.stdout?.on('data', collect);
  child.stderr?.on('data', collect);
  const url = `http://127.0.0.1:${port}`;
  const deadline = Date.now() + START_DEADLINE_MS;
  for (;;) {
    if (child.exitCode !== null || child.signalCode !== null) {
      throw new Error(`docker-registry exited during start (${child.exitCode ?? child.signalCode}):\n${output}`);
    }
    const status = await probe(`${url}/v2/`);
    if (status === 200 || status === 401) break;
    if (Date.now() > deadline) {
      await stopProcess(child);
      throw new Error(`docker-registry did not answer on ${url} within ${START_DEADLINE_MS} ms:\n${output}`);
    }
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
  return {
    url,
    host: `127.0.0.1:${port}`,
    storageDir,
    blobDataPath(digest: string) {
      const hex = digest.replace(/^sha256:/, '');
      return join(storageDir, 'docker', 'registry', 'v2', 'blobs', 'sha256', hex.slice(0, 2), hex, 'data');
    },
    async stop() {
      await stopProcess(child);
      await rm(dir, { recursive: true, force: true });
    },
  };
}

/** Starts Debian's docker-registry on a free loopback port, storing under a fresh temporary directory. */
export async function startRegistry(options: StartRegistryOptions = {}): Promise<TestRegistry> {
  const dir = await mkdtemp(join(tmpdir(), 'outpost-registry-'));
  try {
    if (options.htpasswd) {
      const { stdout } = await run('htpasswd', ['-Bbn', options.htpasswd.username, options.htpasswd.password]);
      await writeFile(join(dir, 'htpasswd'), stdout);
    }
    // The free port is found before the registry binds it; another process may take it in between.
    for (let attempt = 1; ; attempt++) {
      try {
        return await launch(dir, options);
      } catch (error) {
        if (attempt >= 3 || !/address already in use/.test(String(error))) throw error;
      }
    }
  } catch (error) {
    await rm(dir, { recursive: true, force: true });
    throw error;
  }
}

export interface TokenServer {
  token: RegistryToken;
  /** Tokens issued so far, for tests that check the client reuses them. */
  issued(): number;
  stop(): Promise<void>;
}

export interface StartTokenServerOptions {
  username: string;
  password: string;
  /** Accepted as an OAuth2 refresh token (the `identitytoken` of a Docker config). */
  refreshToken?: string;
}

function base64url(value: Buffer | string): string {
  return Buffer.from(value).toString('base64url');
}

/** Access asked for as `repository:acme/flows:pull,push`, in the claim shape distribution reads. */
function accessFor(scopes: string[]): { type: string; name: string; actions: string[] }[] {
  return scopes.flatMap((scope) => {
    const match = /^([a-z]+):(.+):([a-z*,]+)$/.exec(scope);
    return match ? [{ type: match[1] ?? '', name: match[2] ?? '', actions: (match[3] ?? '').split(',') }] : [];
  });
}

async function readRequestBody(request: IncomingMessage): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const chunk of request) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks).toString('utf8');
}

/**
 * A distribution token server on 127.0.0.1: GET with basic credentials or the OAuth2 refresh-token
 * POST returns an RS256 JWT whose `x5c` header carries a self-signed certificate made by openssl,
 * the same certificate docker-registry trusts through `rootcertbundle`.
 */
export async function startTokenServer(options: StartTokenServerOptions): Promise<TokenServer> {
  const dir = await mkdtemp(join(tmpdir(), 'outpost-token-'));
  const keyPath = join(dir, 'key.pem');
  const certPath = join(dir, 'cert.pem');
  await run('openssl', [
    ...['req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-days', '1', '-subj', '/CN=outpost-test-token'],
    ...['-keyout', keyPath, '-out', certPath],
  ]);
  const key = createPrivateKey(await readFile(keyPath));
  const certificate = new X509Certificate(await readFile(certPath));
  const service = 'outpost-test-registry';
  const issuer = 'outpost-test-issuer';
  let issued = 0;

  const handle = async (request: IncomingMessage, response: ServerResponse) => {
    const url = new URL(request.url ?? '/', 'http://127.0.0.1');
    let scopes = url.searchParams.getAll('scope');
    let authorized = false;
    if (request.method === 'POST') {
      const form = new URLSearchParams(await readRequestBody(request));
      scopes = (form.get('scope') ?? '').split(' ').filter(Boolean);
      authorized =
        form.get('grant_type') === 'refresh_token' &&
        !!options.refreshToken &&
        form.get('refresh_token') === options.refreshToken;
    } else {
      const header = request.headers.authorization ?? '';
      const expected = `Basic ${Buffer.from(`${options.username}:${options.password}`).toString('base64')}`;
      authorized = header === expected;
      // Anonymous requests get a token granting nothing, as public token servers do.
      if (header === '') scopes = [];
      else if (!authorized) {
        response.writeHead(401, { 'content-type': 'application/json' }).end('{"details":"invalid credentials"}');
        return;
      }
    }
    if (request.method === 'POST' && !authorized) {
      response.writeHead(401, { 'content-type': 'application/json' }).end('{"error":"invalid_grant"}');
      return;
    }
    const now = Math.floor(Date.now() / 1000);
    const header = { alg: 'RS256', typ: 'JWT', x5c: [certificate.raw.toString('base64')] };
    const claims = {
      iss: issuer,
      sub: authorized ? options.username : '',
      aud: service,
      exp: now + 300,
      nbf: now - 10,
      iat: now,
      jti: randomUUID(),
      access: accessFor(scopes),
    };
    const signingInput = `${base64url(JSON.stringify(header))}.${base64url(JSON.stringify(claims))}`;
    const token = `${signingInput}.${base64url(sign('sha256', Buffer.from(signingInput), key))}`;
    issued++;
    const body = request.method === 'POST' ? { access_token: token, expires_in: 300 } : { token, expires_in: 300 };
    response.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify(body));
  };

  const server: Server = createServer((request, response) => {
    handle(request, response).catch(() => response.writeHead(500).end());
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const address = server.address();
  if (!address || typeof address === 'string') throw new Error('no port');
  return {
    token: { realm: `http://127.0.0.1:${address.port}/token`, service, issuer, rootCertBundle: certPath },
    issued: () => issued,
    async stop() {
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
      await rm(dir, { recursive: true, force: true });
    },
  };
}

/** sha256 of a file on disk, for assertions about what a registry stores. */
export async function fileDigest(path: string): Promise<string> {
  return `sha256:${createHash('sha256')
    .update(await readFile(path))
    .digest('hex')}`;
}
