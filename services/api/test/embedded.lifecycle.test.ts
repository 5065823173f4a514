import { type ChildProcess, spawn } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { chmod, mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import postgres from 'postgres';
import { afterAll, beforeAll, expect, test } from 'vitest';
import { startEmbeddedPostgres } from '../src/db/embedded.js';
import { eventually } from './helpers.js';

let dir: string;

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'outpost-embedded-test-'));
  await chmod(dir, 0o755);
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

function postmasterPid(dataDir: string): number | null {
  const file = join(dataDir, 'postmaster.pid');
  if (!existsSync(file)) return null;
  return Number(readFileSync(file, 'utf8').split('\n')[0]);
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

test('embedded Postgres initialises once, keeps its data across restarts, and stops without leaving a process', async () => {
  const dataDir = join(dir, 'pg');
  const progress: string[] = [];
  const first = await startEmbeddedPostgres({ dataDir, onProgress: (m) => progress.push(m) });
  expect(progress.some((m) => m.includes('initialising'))).toBe(true);
  expect(first.url).toMatch(/^postgres:\/\/postgres:[^@]+@127\.0\.0\.1:\d+\/outpost$/);
  const pid = postmasterPid(dataDir);
  expect(pid && alive(pid)).toBe(true);
  const sql = postgres(first.url, { max: 1 });
  await sql`CREATE TABLE kept (v text)`;
  await sql`INSERT INTO kept VALUES ('still here')`;
  await sql.end();
  await first.stop();
  expect(alive(pid as number)).toBe(false);

  const again: string[] = [];
  const second = await startEmbeddedPostgres({ dataDir, onProgress: (m) => again.push(m) });
  expect(again.some((m) => m.includes('initialising'))).toBe(false);
  const sql2 = postgres(second.url, { max: 1 });
  expect(await sql2`SELECT v FROM kept`).toEqual([{ v: 'still here' }]);
  await sql2.end();
  await second.stop();
  expect(postmasterPid(dataDir)).toBeNull();
});

function startMain(dataDir: string): { child: ChildProcess; output: () => string } {
  const env: NodeJS.ProcessEnv = { ...process.env, OUTPOST_LOG_LEVEL: 'warn' };
  delete env.DATABASE_URL;
  delete env.TEST_DATABASE_URL;
  const main = fileURLToPath(new URL('../src/main.ts', import.meta.url));
  const child = spawn(process.execPath, ['--import', 'tsx', main, 'server', 'start', '--port', '0', '--data-dir', dataDir], {
    env,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let output = '';
  child.stdout?.on('data', (chunk: Buffer) => {
    output += chunk.toString();
  });
  child.stderr?.on('data', (chunk: Buffer) => {
    output += chunk.toString();
  });
  return { child, output: () => output };
}

function exited(child: ChildProcess): Promise<number | null> {
  return new Promise((resolve) => {
    if (child.exitCode !== null) resolve(child.exitCode);
    else child.once('exit', (code) => resolve(code));
  });
}

test('`server start` on embedded Postgres prints the URL and a first owner key, and SIGTERM leaves nothing running', async () => {
  const dataDir = join(dir, 'server-pg');
  const first = startMain(dataDir);
  try {
    const url = await eventually(
      async () => /Outpost API: (http:\/\/127\.0\.0\.1:\d+)/.exec(first.output())?.[1],
      45_000,
      'the server URL',
    );
    // The key's line may arrive in a later chunk than the URL's on a loaded machine.
    const key = await eventually(
      async () => /Owner API key[^:]*: (op_\w+)/.exec(first.output())?.[1],
      15_000,
      'the first owner key',
    );
    expect(key).toMatch(/^op_/);
    expect((await fetch(`${url}/readyz`)).status).toBe(200);
    const who = await fetch(`${url}/api/v1/whoami`, { headers: { authorization: `Bearer ${key}` } });
    expect(who.status).toBe(200);
    const pid = postmasterPid(dataDir);
    expect(pid && alive(pid)).toBe(true);

    first.child.kill('SIGTERM');
    expect(await exited(first.child)).toBe(0);
    expect(alive(pid as number)).toBe(false);
    expect(first.output()).not.toMatch(/Error|at .+:\d+:\d+/);
  } finally {
    if (first.child.exitCode === null) first.child.kill('SIGKILL');
  }

  // The second start finds the owner key in place and prints none.
  const second = startMain(dataDir);
  try {
    await eventually(async () => (/Outpost API: /.test(second.output()) ? true : undefined), 45_000, 'the second start');
    expect(second.output()).not.toContain('Owner API key');
    const pid = postmasterPid(dataDir);
    second.child.kill('SIGINT');
    expect(await exited(second.child)).toBe(0);
    expect(alive(pid as number)).toBe(false);
  } finally {
    if (second.child.exitCode === null) second.child.kill('SIGKILL');
  }
});

test('a process that embeds Postgres and is sent SIGTERM stops Postgres before it dies', async () => {
  const dataDir = join(dir, 'held-pg');
  const fixture = fileURLToPath(new URL('./fixtures/hold-embedded.ts', import.meta.url));
  const child = spawn(process.execPath, ['--import', 'tsx', fixture, dataDir], { stdio: ['ignore', 'pipe', 'inherit'] });
  try {
    let output = '';
    child.stdout?.on('data', (chunk: Buffer) => {
      output += chunk.toString();
    });
    await eventually(async () => (output.includes('ready') ? true : undefined), 45_000, 'embedded Postgres to start');
    const pid = postmasterPid(dataDir);
    expect(pid && alive(pid)).toBe(true);
    const signal = new Promise((resolve) => child.once('exit', (_code, sig) => resolve(sig)));
    child.kill('SIGTERM');
    expect(await signal).toBe('SIGTERM');
    expect(alive(pid as number)).toBe(false);
  } finally {
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
  }
});
