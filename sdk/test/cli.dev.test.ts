import { type ChildProcess, spawn } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';
import { chmod, mkdtemp, readFile, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { CLI, outpost } from './cli.support.js';

const SECRET = 'dev-greeting-7c1e0b55';

/** Processes whose command line mentions `text`: what `outpost dev` must not leave behind. */
function processesMentioning(text: string): number[] {
  const pids: number[] = [];
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      if (readFileSync(`/proc/${entry}/cmdline`, 'utf8').includes(text)) pids.push(Number(entry));
    } catch {
      // the process ended while we looked
    }
  }
  return pids;
}

interface DevProcess {
  child: ChildProcess;
  output(): string;
  waitFor(pattern: RegExp, timeoutMs: number): Promise<RegExpMatchArray>;
  exited: Promise<number | null>;
}

function startDev(cwd: string): DevProcess {
  const child = spawn(process.execPath, [CLI, 'dev', '--port', '0'], {
    cwd,
    // No DATABASE_URL: `outpost dev` runs its own embedded Postgres under .outpost/pg, as `npm start` does.
    env: { PATH: process.env.PATH ?? '', HOME: process.env.HOME ?? '/tmp', GREETING_SECRET: SECRET },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let text = '';
  child.stdout?.on('data', (c: Buffer) => {
    text += c.toString('utf8');
  });
  child.stderr?.on('data', (c: Buffer) => {
    text += c.toString('utf8');
  });
  const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
  return {
    child,
    output: () => text,
    exited,
    async waitFor(pattern, timeoutMs) {
      const deadline = Date.now() + timeoutMs;
      for (;;) {
        const match = text.match(pattern);
        if (match) return match;
        if (child.exitCode !== null) throw new Error(`outpost dev exited (${child.exitCode}) before ${pattern}:\n${text}`);
        if (Date.now() > deadline) throw new Error(`timed out waiting for ${pattern}:\n${text}`);
        await new Promise((resolve) => setTimeout(resolve, 100));
      }
    },
  };
}

async function stopDev(dev: DevProcess): Promise<number | null> {
  if (dev.child.exitCode === null) dev.child.kill('SIGINT');
  return dev.exited;
}

describe('outpost dev', () => {
  const running: DevProcess[] = [];
  let cwd: string | null = null;

  afterAll(async () => {
    for (const dev of running) if (dev.child.exitCode === null) dev.child.kill('SIGKILL');
    if (cwd) await rm(cwd, { recursive: true, force: true });
  });

  it('starts the API, a worker and the example; a run completes; Ctrl-C stops everything; a restart reuses the data', async () => {
    cwd = await mkdtemp(join(tmpdir(), 'outpost-cli-dev-'));
    // mkdtemp makes the directory private; run as root, embedded Postgres drops to its own user, which must reach it.
    await chmod(cwd, 0o755);
    const first = startDev(cwd);
    running.push(first);
    await first.waitFor(/Ctrl-C stops everything/, 120_000);
    const out = first.output();
    const url = out.match(/API:\s+(http:\/\/127\.0\.0\.1:\d+)/)?.[1];
    const key = out.match(/owner key:\s+(op_\w+)/)?.[1];
    expect(url).toBeDefined();
    expect(key).toBeDefined();
    expect(out).toContain('stored in .outpost/credentials.json');
    expect(out).toMatch(/deployed:\s+hello\/default → oci-layout:\/\/\/.*\/\.outpost\/registry@sha256:[a-f0-9]{64}/);
    expect(out).toContain(`OUTPOST_API_URL=${url} OUTPOST_API_KEY=${key}`);
    // The one-time dashboard link opens a session once.
    const link = out.match(/dashboard:\s+(http:\/\/127\.0\.0\.1:\d+)\/#\/sign-in\?token=([A-Za-z0-9_-]+)/);
    expect(link?.[1]).toBe(url);
    const signIn = () =>
      fetch(`${url}/api/v1/auth/session`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ token: link?.[2] }),
      });
    expect((await signIn()).status).toBe(200);
    expect((await signIn()).status).toBe(401);

    const credentialsPath = join(cwd, '.outpost', 'credentials.json');
    expect((await stat(credentialsPath)).mode & 0o777).toBe(0o600);
    const credentials = JSON.parse(await readFile(credentialsPath, 'utf8')) as { ownerKey: string; workerKey: string };
    expect(credentials.ownerKey).toBe(key);

    const env = { OUTPOST_API_URL: url!, OUTPOST_API_KEY: key! };
    const run = await outpost(['run', 'hello/default', '--param', 'n=3', '--watch'], { env, timeoutMs: 90_000 });
    expect(run.stdout).toContain('sum of squares 1..3 = 14');
    expect(run.stdout).toContain('greeting secret: ');
    expect(run.stdout).not.toContain(SECRET);
    expect(run.code).toBe(0);

    expect(await stopDev(first)).toBe(0);
    expect(first.output()).toContain('stopped');
    expect(processesMentioning(join(cwd, '.outpost'))).toEqual([]);

    const second = startDev(cwd);
    running.push(second);
    await second.waitFor(/Ctrl-C stops everything/, 120_000);
    expect(second.output()).toContain(`owner key: ${key}`);
    expect(second.output().match(/sign-in\?token=(\S+)/)?.[1]).not.toBe(link?.[2]);
    expect(second.output()).not.toContain('stored in .outpost/credentials.json');
    expect(second.output()).toMatch(/pushed (\d+) blobs \(\1 skipped\)/);
    const again = JSON.parse(await readFile(credentialsPath, 'utf8')) as { ownerKey: string; workerKey: string };
    expect(again).toEqual(credentials);
    // The ML example's nightly schedule adds runs of its own; the data kept across restarts is hello's run.
    const runs = await outpost(['runs', 'ls', '--deployment', 'hello/default', '--json'], {
      env: { ...env, OUTPOST_API_URL: second.output().match(/API:\s+(\S+)/)![1]! },
    });
    expect((JSON.parse(runs.stdout) as { state: { type: string } }[]).map((r) => r.state.type)).toEqual(['COMPLETED']);
    expect(await stopDev(second)).toBe(0);
    expect(processesMentioning(join(cwd, '.outpost'))).toEqual([]);
  }, 300_000);
});
