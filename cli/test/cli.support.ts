import { spawn } from 'node:child_process';
import { mkdir, symlink, writeFile } from 'node:fs/promises';
import { createServer, type IncomingMessage, type RequestListener, type Server } from 'node:http';
import { createServer as createHttpsServer } from 'node:https';
import type { AddressInfo } from 'node:net';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

/** The `outpost` command, run as users run it (the launcher npm links). */
export const CLI = fileURLToPath(new URL('../bin/outpost.js', import.meta.url));
export const HELLO_EXAMPLE = fileURLToPath(new URL('../../sdk/examples/hello/', import.meta.url));

/** The repository's node_modules, through which a throwaway project resolves @outpost/sdk and its types. */
export const ROOT_NODE_MODULES = fileURLToPath(new URL('../../node_modules', import.meta.url));

/**
 * Makes `dir` (which must exist) a throwaway ES-module project: a link to the repository's
 * node_modules, a package.json, and `files` by their paths within it. Returns `dir`.
 */
export async function writeProject(dir: string, files: Record<string, string>): Promise<string> {
  await symlink(ROOT_NODE_MODULES, join(dir, 'node_modules'), 'dir');
  await writeFile(join(dir, 'package.json'), '{ "type": "module" }\n');
  for (const [path, text] of Object.entries(files)) {
    await mkdir(dirname(join(dir, path)), { recursive: true });
    await writeFile(join(dir, path), text);
  }
  return dir;
}

export interface CliResult {
  code: number | null;
  pid: number | undefined;
  stdout: string;
  stderr: string;
}

type CliOptions = {
  cwd?: string;
  env?: Record<string, string>;
  timeoutMs?: number;
  /**
   * Run without the capabilities that let root read and write past file permissions (setpriv), so
   * that a directory's permissions bind root as they bind anyone; the checkout stays readable, even
   * from a private directory, since root owns it.
   */
  withoutFileOverride?: boolean;
};

const NO_FILE_OVERRIDE = [
  '--bounding-set',
  '-dac_override,-dac_read_search',
  '--inh-caps',
  '-dac_override,-dac_read_search',
  '--',
];

/**
 * Runs `outpost <args>` in a child process with a clean environment (PATH and HOME only, plus
 * `env`), so a developer's own OUTPOST_* variables never leak into a test.
 */
export function outpost(args: string[], options: CliOptions = {}): Promise<CliResult> {
  return startOutpost(args, options).exited;
}

/**
 * `outpost <args>` against a test API as its owner: OUTPOST_API_URL and OUTPOST_API_KEY name `server`,
 * and `options.env` adds to them (or overrides HOME).
 */
export function outpostOn(
  server: { url: string; ownerKey: string },
  args: string[],
  options: CliOptions = {},
): Promise<CliResult> {
  return outpost(args, { ...options, env: { OUTPOST_API_URL: server.url, OUTPOST_API_KEY: server.ownerKey, ...options.env } });
}

export interface RecordedRequest {
  method: string;
  url: string;
  authorization: string | undefined;
}

/**
 * A small HTTP server standing in for the API at the process seam: it answers `whoami` and records
 * what the CLI sent, which is what configuration tests need to observe.
 */
export async function startWhoamiServer(
  options: { tls?: { key: string; cert: string } } = {},
): Promise<{ url: string; requests: RecordedRequest[]; close(): Promise<void> }> {
  const requests: RecordedRequest[] = [];
  const handler: RequestListener = (req: IncomingMessage, res) => {
    requests.push({ method: req.method ?? '', url: req.url ?? '', authorization: req.headers.authorization });
    req.resume();
    if (req.method === 'GET' && req.url === '/api/v1/whoami') {
      res.writeHead(200, { 'content-type': 'application/json' });
      res.end(
        JSON.stringify({
          workspace: {
            id: '00000000-0000-4000-8000-000000000001',
            slug: 'acme',
            name: 'Acme',
            createdAt: '2026-01-01T00:00:00.000Z',
          },
          principal: { kind: 'api_key', id: '00000000-0000-4000-8000-000000000002', role: 'owner' },
        }),
      );
      return;
    }
    res.writeHead(404, { 'content-type': 'application/problem+json' });
    res.end(
      JSON.stringify({
        type: 'about:blank',
        title: 'Not found',
        status: 404,
        code: 'not_found',
        detail: `no route ${req.method} ${req.url}`,
      }),
    );
  };
  const server: Server = options.tls ? createHttpsServer(options.tls, handler) : createServer(handler);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `${options.tls ? 'https' : 'http'}://127.0.0.1:${port}`,
    requests,
    close: () =>
      new Promise<void>((resolve, reject) => {
        server.closeAllConnections();
        server.close((error) => (error ? reject(error) : resolve()));
      }),
  };
}

/** A loopback port nothing listens on: bound, then released. */
export async function closedPort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}

export interface RunningCli {
  /** stdout and stderr so far. */
  stdout(): string;
  stderr(): string;
  /** Resolves when `pattern` appears on stdout; rejects if the process exits first. */
  waitForStdout(pattern: RegExp): Promise<void>;
  exited: Promise<CliResult>;
  kill(): void;
}

/** `outpost <args>` as a child process still running, for commands that stream (`--follow`). */
export function startOutpost(args: string[], options: CliOptions = {}): RunningCli {
  const [file, argv] = options.withoutFileOverride
    ? ['setpriv', [...NO_FILE_OVERRIDE, process.execPath, CLI, ...args]]
    : [process.execPath, [CLI, ...args]];
  const child = spawn(file, argv, {
    cwd: options.cwd ?? process.cwd(),
    env: { PATH: process.env.PATH ?? '', HOME: process.env.HOME ?? '/tmp', ...options.env },
    stdio: ['ignore', 'pipe', 'pipe'],
    timeout: options.timeoutMs ?? 60_000,
    killSignal: 'SIGKILL',
  });
  let stdout = '';
  let stderr = '';
  const waiters = new Set<() => void>();
  child.stdout.on('data', (c: Buffer) => {
    stdout += c.toString('utf8');
    for (const w of waiters) w();
  });
  child.stderr.on('data', (c: Buffer) => {
    stderr += c.toString('utf8');
  });
  const exited = new Promise<CliResult>((resolve, reject) => {
    child.on('error', reject);
    child.on('close', (code) => {
      for (const w of waiters) w();
      resolve({ code, pid: child.pid, stdout, stderr });
    });
  });
  return {
    stdout: () => stdout,
    stderr: () => stderr,
    exited,
    kill: () => child.kill('SIGKILL'),
    waitForStdout(pattern) {
      return new Promise((resolve, reject) => {
        const check = () => {
          if (pattern.test(stdout)) {
            waiters.delete(check);
            resolve();
          } else if (child.exitCode !== null || child.signalCode !== null) {
            waiters.delete(check);
            reject(new Error(`outpost exited before ${pattern}; stdout:\n${stdout}\nstderr:\n${stderr}`));
          }
        };
        waiters.add(check);
        check();
      });
    },
  };
}
