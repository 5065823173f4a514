import { spawn } from 'node:child_process';
import { chmodSync, existsSync, mkdirSync, mkdtempSync, rmSync, statSync, symlinkSync } from 'node:fs';
import { createServer, type Server } from 'node:net';
import { tmpdir, userInfo } from 'node:os';
import { dirname, join } from 'node:path';
import { createApiKey, freePort } from '@outpost/api';
import { createTestDatabase, startTestServer, type TestDatabase, type TestServer } from '@outpost/api/testing';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CLI, type CliResult, outpost } from './cli.support.js';

const ROOT = userInfo().uid === 0;

/**
 * A start-up failure ends in one line on stderr, `error: <what> — <what to do>`, and a non-zero
 * exit: nothing follows it (no stack, no second line of advice); progress lines may come before.
 */
function expectOneLine(result: CliResult, pattern: RegExp): void {
  expect(result.code, result.stderr).not.toBe(0);
  const lines = result.stderr.split('\n').filter((line) => line.trim() !== '');
  const first = lines.findIndex((line) => line.startsWith('error:'));
  expect(first, result.stderr).toBeGreaterThanOrEqual(0);
  expect(lines.slice(first), result.stderr).toHaveLength(1);
  expect(lines[first]).toMatch(/^error: .+ — .+/);
  expect(lines[first]).toMatch(pattern);
  expect(result.stderr).not.toMatch(/\n\s+at /);
}

/** The outermost directory above `path` that other users cannot enter, if there is one. */
function privateAncestor(path: string): string | null {
  let found: string | null = null;
  for (let dir = dirname(path); dir !== dirname(dir); dir = dirname(dir)) {
    if ((statSync(dir).mode & 0o001) === 0) found = dir;
  }
  return found;
}

function holdPort(): Promise<{ port: number; server: Server }> {
  return new Promise((resolve) => {
    const server = createServer();
    server.listen(0, '127.0.0.1', () => resolve({ port: (server.address() as { port: number }).port, server }));
  });
}

describe('outpost server start and outpost dev (npm start)', () => {
  let scratch: string;
  let database: TestDatabase;

  beforeAll(async () => {
    scratch = mkdtempSync(join(tmpdir(), 'outpost-startup-'));
    database = await createTestDatabase();
  });

  afterAll(async () => {
    await database.drop();
    rmSync(scratch, { recursive: true, force: true });
  });

  it('names a DATABASE_URL that is not a Postgres URL', async () => {
    const other = await outpost(['server', 'start', '--port', '0'], { env: { DATABASE_URL: 'mysql://root@127.0.0.1/outpost' } });
    expectOneLine(other, /DATABASE_URL starts with "mysql:\/\/", not postgres:\/\/ — set it to a Postgres URL/);
    const garbage = await outpost(['server', 'start', '--port', '0'], { env: { DATABASE_URL: 'not a url' } });
    expectOneLine(garbage, /DATABASE_URL is not a URL/);
  });

  it('says when the database cannot be reached, and where it looked', async () => {
    const port = await freePort();
    const url = `postgres://postgres:secret-pw@127.0.0.1:${port}/outpost`;
    for (const args of [
      ['server', 'start', '--port', '0'],
      ['dev', '--port', '0'],
    ]) {
      const result = await outpost(args, { env: { DATABASE_URL: url } });
      expectOneLine(result, new RegExp(`cannot reach the database at 127\\.0\\.0\\.1:${port}/outpost \\(connection refused\\)`));
      expect(result.stderr).not.toContain('secret-pw');
    }
  });

  it('says when the port is taken, for the server and for npm start', async () => {
    const { port, server } = await holdPort();
    try {
      const start = await outpost(['server', 'start', '--port', String(port)], { env: { DATABASE_URL: database.url } });
      expectOneLine(start, new RegExp(`port ${port} on 127\\.0\\.0\\.1 is in use .* — stop it, or pass --port`));
      const dev = await outpost(['dev'], { cwd: scratch, env: { DATABASE_URL: database.url, OUTPOST_PORT: String(port) } });
      expectOneLine(dev, new RegExp(`port ${port} on 127\\.0\\.0\\.1 is in use`));
    } finally {
      server.close();
    }
  });

  it('listens where OUTPOST_HOST and OUTPOST_PORT, or PORT, say when no flag does, and names a bad one', async () => {
    // A database of its own: `outpost dev` above sealed the shared one's signing keys with its key.
    const own = await createTestDatabase();
    const { port, server } = await holdPort();
    try {
      const envs: Record<string, string>[] = [
        { OUTPOST_PORT: String(port) },
        { PORT: String(port) },
        { OUTPOST_HOST: '127.0.0.1', PORT: String(port) },
      ];
      for (const env of envs) {
        const start = await outpost(['server', 'start'], { env: { DATABASE_URL: own.url, ...env } });
        expectOneLine(start, new RegExp(`port ${port} on 127\\.0\\.0\\.1 is in use`));
      }
    } finally {
      server.close();
    }
    const bad = await outpost(['server', 'start'], { env: { DATABASE_URL: own.url, OUTPOST_PORT: 'http', PORT: '4200' } });
    expectOneLine(bad, /OUTPOST_PORT must be a port from 0 to 65535, got "http"/);
    await own.drop();
  });

  it('says when the data directory cannot be written', async () => {
    const locked = join(scratch, 'read-only');
    mkdirSync(locked, { mode: 0o755 });
    chmodSync(locked, 0o555);
    // Root writes anywhere, so as root the command runs without the capabilities that allow it.
    const result = await outpost(['server', 'start', '--port', '0', '--data-dir', join(locked, 'pg')], {
      cwd: scratch,
      withoutFileOverride: ROOT,
    });
    expectOneLine(
      result,
      new RegExp(
        `cannot write the data directory ${locked}/pg .* — fix its permissions, choose another directory with --data-dir`,
      ),
    );
  });

  it('says which directory stops Postgres from reaching its data', async () => {
    // A private directory on the way to the data. As root with no user namespaces (no `unshare` on
    // PATH here), Postgres runs as the `postgres` user, which cannot enter it; as an ordinary user,
    // a directory the user itself cannot enter.
    const hidden = mkdtempSync(join(scratch, 'private-'));
    const dataDir = join(hidden, 'project', '.outpost', 'pg');
    const bin = join(scratch, 'bin');
    mkdirSync(bin, { recursive: true });
    for (const tool of ['id', 'useradd']) {
      const found = ['/usr/bin', '/usr/sbin', '/bin', '/sbin'].map((dir) => join(dir, tool)).find((path) => existsSync(path));
      if (found) symlinkSync(found, join(bin, tool));
    }
    if (!ROOT) chmodSync(hidden, 0o000);
    try {
      const result = await outpost(['server', 'start', '--port', '0', '--data-dir', dataDir], {
        cwd: scratch,
        env: ROOT ? { PATH: bin } : {},
      });
      // The Postgres binaries are checked first: from a checkout in a private directory, that
      // directory is the one named; otherwise the one on the way to the data.
      const blocking = privateAncestor(CLI) ?? scratch;
      expectOneLine(
        result,
        ROOT
          ? new RegExp(`the \`postgres\` user .* cannot enter ${blocking} — run \`npm start\` as an ordinary user`)
          : new RegExp(`cannot write the data directory ${dataDir}`),
      );
    } finally {
      chmodSync(hidden, 0o700);
    }
  });
});

describe('outpost worker start', () => {
  let server: TestServer;

  beforeAll(async () => {
    server = await startTestServer();
  });

  afterAll(async () => {
    await server.close();
  });

  it('refuses a key the API does not know in one line that says which key to make', async () => {
    const result = await outpost(['worker', 'start', '--pool', 'default'], {
      env: { OUTPOST_API_URL: server.url, OUTPOST_API_KEY: 'op_notAKeyAtAll00000000000000000000000' },
    });
    expectOneLine(
      result,
      /the API refused the worker: .* — check OUTPOST_API_KEY; .* outpost keys create <name> --role worker --pool default/,
    );
  });

  it('refuses a worker key limited to another pool, naming the pool', async () => {
    const { key } = await createApiKey(server.sql, {
      workspaceId: server.workspaceId,
      name: 'w-a',
      role: 'worker',
      pools: ['pool-a'],
    });
    const result = await outpost(['worker', 'start', '--pool', 'pool-b'], {
      env: { OUTPOST_API_URL: server.url, OUTPOST_API_KEY: key },
    });
    expectOneLine(result, /the API refused the worker: .* — use a worker key allowed on pool "pool-b"/);
  });

  it('says at once what it waits for while the API is unreachable, and stops cleanly', async () => {
    const port = await freePort();
    const child = spawn(process.execPath, [CLI, 'worker', 'start', '--pool', 'default'], {
      env: {
        PATH: process.env.PATH ?? '',
        HOME: process.env.HOME ?? '/tmp',
        OUTPOST_API_URL: `http://127.0.0.1:${port}`,
        OUTPOST_API_KEY: 'op_notAKeyAtAll00000000000000000000000',
      },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let output = '';
    const waiting = new Promise<void>((resolve) => {
      const onData = (chunk: Buffer) => {
        output += chunk.toString('utf8');
        if (output.includes(`waiting for the API at http://127.0.0.1:${port}`)) resolve();
      };
      child.stdout.on('data', onData);
      child.stderr.on('data', onData);
    });
    const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
    await waiting;
    expect(output).toContain('check OUTPOST_API_URL');
    child.kill('SIGTERM');
    expect(await exited).toBe(0);
  });
});
