import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { TestServer } from '@outpost/api/testing';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestServer } from './support/api-testing.js';
import { MAIN } from './support/main-process.js';
import { waitFor } from './support/wait.js';

describe("the worker's own log lines", () => {
  let server: TestServer;
  let scratch: string;
  beforeAll(async () => {
    server = await startTestServer();
    scratch = mkdtempSync(join(tmpdir(), 'outpost-worker-log-format-'));
  });
  afterAll(async () => {
    await server?.close();
    rmSync(scratch, { recursive: true, force: true });
  });

  /** Runs the worker until it says it is running, then stops it; returns its first lines. */
  async function linesOf(extra: string[], env: Record<string, string> = {}): Promise<string[]> {
    const child = spawn(process.execPath, ['--import', 'tsx', MAIN, 'start', '--pool', 'default', '--prestart', '0', ...extra], {
      env: {
        PATH: process.env.PATH ?? '',
        OUTPOST_API_URL: server.url,
        OUTPOST_API_KEY: await server.createKey('worker', ['default']),
        OUTPOST_WORKER_CACHE_DIR: join(scratch, 'cache'),
        OUTPOST_WORKER_SPOOL_DIR: join(scratch, 'spool'),
        ...env,
      },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let out = '';
    child.stdout.on('data', (d: Buffer) => (out += d.toString()));
    const exited = new Promise((resolve) => child.once('exit', resolve));
    try {
      await waitFor(() => /worker running/.test(out), 30_000, 'the worker to run');
    } finally {
      child.kill('SIGTERM');
      await exited;
    }
    return out.split('\n').filter((line) => line.trim() !== '');
  }

  it('are pino JSON when stdout is piped, for log collectors', async () => {
    const lines = await linesOf([]);
    const running = lines.find((l) => l.includes('worker running'));
    expect(JSON.parse(running ?? '')).toMatchObject({ msg: 'worker running', service: 'outpost-worker' });
  });

  it('are readable lines with --log-format pretty (the default on a terminal), and JSON again with OUTPOST_LOG_FORMAT=json', async () => {
    const lines = await linesOf(['--log-format', 'pretty']);
    const running = lines.find((l) => l.includes('worker running'));
    expect(running).toMatch(/^\[\d\d:\d\d:\d\d\] INFO: worker running/);
    expect(() => JSON.parse(running ?? '')).toThrow();
    const json = await linesOf([], { OUTPOST_LOG_FORMAT: 'json' });
    expect(JSON.parse(json.find((l) => l.includes('worker running')) ?? '').msg).toBe('worker running');
  });

  it('refuses a format it does not know, naming the flag', async () => {
    const child = spawn(process.execPath, ['--import', 'tsx', MAIN, 'start', '--pool', 'default', '--log-format', 'xml'], {
      env: { PATH: process.env.PATH ?? '', OUTPOST_API_URL: server.url, OUTPOST_API_KEY: 'k'.repeat(20) },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let err = '';
    child.stderr.on('data', (d: Buffer) => (err += d.toString()));
    const code = await new Promise((resolve) => child.once('exit', resolve));
    expect(code).toBe(2);
    expect(err).toContain('--log-format');
  });
});
