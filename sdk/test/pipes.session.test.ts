import { spawn } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { flow, pipes, task } from '../src/index.js';
import { testFlow } from '../src/testing/index.js';
import { buildPipesScript } from './support/pipes-script.js';

/*
 * pipes.open: a channel over HTTP for a process the launcher does not start. The tests start the
 * process themselves, as a pod or a remote job would be started by its own system, with only the
 * session's environment to find the launcher by.
 */

const trainPy = fileURLToPath(new URL('./fixtures/pipes/train.py', import.meta.url));
const pythonClient = fileURLToPath(new URL('../python', import.meta.url));
let dir: string;
let script: string;

beforeAll(async () => {
  dir = await mkdtemp(path.join(tmpdir(), 'outpost-pipes-session-'));
  script = await buildPipesScript(dir);
});

afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

/** Starts a program elsewhere (here: a child process this test starts) with the session's variables only. */
function startRemotely(command: string[], env: Record<string, string>): Promise<number | null> {
  const clean = { PATH: process.env.PATH ?? '', PYTHONPATH: pythonClient, ...env };
  const child = spawn(command[0] as string, command.slice(1), { env: clean, stdio: 'ignore' });
  return new Promise((resolve) => child.on('close', (code) => resolve(code)));
}

describe('pipes.open', () => {
  it('receives what a Python program started elsewhere reports over HTTP, as the task’s logs, metadata, check, artifact and result', async () => {
    let exitCode: number | null = -1;
    const launch = task('train-remote', async () => {
      const session = await pipes.open({ extras: { epochs: 2 }, name: 'remote train.py' });
      exitCode = await startRemotely(['python3', trainPy], session.env);
      return session.close();
    });
    const run = await testFlow(
      flow({ name: 'pipes-session-python' }, () => launch()),
      undefined,
      { fakeClock: false },
    );
    const outcome = run.expectCompleted();
    expect(exitCode).toBe(0);
    const trainRun = run.taskRun('train-remote');
    const lines = run.logs.filter((l) => l.taskRunId === trainRun.id).map((l) => `${l.level} ${l.message}`);
    expect(lines.filter((l) => l.includes('epoch'))).toEqual(['info epoch 1 of 2', 'info epoch 2 of 2']);
    expect(lines.filter((l) => l.startsWith('warning'))).toEqual([]);
    expect(outcome.metadata).toEqual({ auc: 0.91, model_path: 's3://ml-bucket/churn/model.pkl' });
    expect(outcome.checks).toEqual([{ name: 'auc_above_0_8', passed: true, metadata: { auc: 0.91 } }]);
    expect(run.artifacts.map((a) => [a.type, a.key])).toEqual([['markdown', 'report']]);
    expect(outcome.result).toEqual({ task: 'train-remote', python: 3 });
    expect(outcome).toMatchObject({ closed: true, clientError: null });
  });

  it('receives the Node client’s messages in order, and the closed message with the error of a program that crashed', async () => {
    const full = await pipes.open({ extras: { mode: 'full' } });
    expect(await startRemotely([process.execPath, script], full.env)).toBe(0);
    const reported = await full.close();
    expect(reported.metadata).toEqual({ auc: 0.91, model_path: 's3://ml-bucket/churn/model.pkl' });
    expect(reported.checks.map((c) => [c.name, c.passed])).toEqual([
      ['auc_above_0_8', true],
      ['no_leakage', false],
    ]);
    expect((reported.result as { context: { protocol: number } }).context.protocol).toBe(1);

    const crash = await pipes.open({ extras: { mode: 'crash' } });
    expect(await startRemotely([process.execPath, script], crash.env)).toBe(1);
    const crashed = await crash.close();
    expect(crashed.closed).toBe(true);
    expect(crashed.clientError).toMatchObject({ type: 'TypeError', message: 'the model file is corrupt' });
  });

  it('answers only its two URLs with the session’s secret, and stops listening once closed', async () => {
    const session = await pipes.open({ extras: { secret: false } });
    const contextUrl = session.env.OUTPOST_PIPES_CONTEXT;
    expect(contextUrl.startsWith(`${session.url}/`)).toBe(true);
    expect(session.url).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/);
    const context = (await (await fetch(contextUrl)).json()) as { protocol: number; extras: unknown };
    expect(context).toMatchObject({ protocol: 1, extras: { secret: false } });
    const secret = new URL(contextUrl).pathname.split('/')[1] as string;
    expect(Buffer.from(secret, 'base64url')).toHaveLength(24);
    const guessed = `${session.url}/${'A'.repeat(secret.length)}/context`;
    expect((await fetch(guessed)).status).toBe(404);
    expect((await fetch(`${session.url}/`)).status).toBe(404);
    expect((await fetch(contextUrl, { method: 'POST', body: '{}' })).status).toBe(404);
    const line = `${JSON.stringify({ outpost_pipes: 1, method: 'result', params: { value: 7 } })}\n`;
    expect((await fetch(session.env.OUTPOST_PIPES_MESSAGES, { method: 'POST', body: line })).status).toBe(204);
    const reported = await session.close();
    expect(reported).toMatchObject({ result: 7, closed: false });
    await expect(fetch(contextUrl)).rejects.toThrow();
  });

  it('refuses a listen address that is not host:port, with the option named', async () => {
    await expect(pipes.open({ listen: 'everywhere' })).rejects.toThrow(/listen must be host:port, e\.g\. 0\.0\.0\.0:0/);
  });
});
