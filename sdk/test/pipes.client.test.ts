import { spawn } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { PipesProcessError, pipes } from '../src/index.js';
import { buildPipesScript } from './support/pipes-script.js';

let dir: string;
let script: string;

beforeAll(async () => {
  dir = await mkdtemp(path.join(tmpdir(), 'outpost-pipes-client-'));
  script = await buildPipesScript(dir);
});

afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

/** Runs the script on its own, outside Outpost, and collects what it printed. */
function runAlone(mode: string): Promise<{ code: number | null; stdout: string; stderr: string }> {
  const env = { ...process.env };
  delete env.OUTPOST_PIPES_CONTEXT;
  delete env.OUTPOST_PIPES_MESSAGES;
  const child = spawn(process.execPath, [script, mode], { env, stdio: ['ignore', 'pipe', 'pipe'] });
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (chunk: Buffer) => {
    stdout += chunk.toString();
  });
  child.stderr.on('data', (chunk: Buffer) => {
    stderr += chunk.toString();
  });
  return new Promise((resolve) => child.on('close', (code) => resolve({ code, stdout, stderr })));
}

describe('the Node Pipes client', () => {
  it('prints what it would report to stderr when run outside Outpost, and the program still succeeds', async () => {
    const { code, stdout, stderr } = await runAlone('full');
    expect(code).toBe(0);
    expect(stdout).toBe('printed on stdout\n');
    const lines = stderr.split('\n').filter((l) => l.startsWith('outpost_pipes: '));
    expect(lines).toEqual([
      'outpost_pipes: no OUTPOST_PIPES_CONTEXT in the environment, so reports are printed here',
      'outpost_pipes: [info] epoch 1: loss 0.40',
      'outpost_pipes: [warning] epoch 2: loss 0.30',
      'outpost_pipes: [debug] epoch 3: loss 0.21',
      'outpost_pipes: [error] epoch 4: loss 0.20',
      'outpost_pipes: metadata {"auc":0.7,"model_path":"s3://ml-bucket/churn/model.pkl"}',
      'outpost_pipes: metadata {"auc":0.91}',
      'outpost_pipes: check auc_above_0_8 passed {"auc":0.91}',
      'outpost_pipes: check no_leakage failed {"leaked":3}',
      'outpost_pipes: artifact markdown report {"markdown":"# Churn model\\n\\nAUC **0.91**","description":"the training report"}',
      'outpost_pipes: artifact table metrics {"rows":[{"epoch":1,"loss":0.4},{"epoch":2,"loss":0.3}]}',
      'outpost_pipes: artifact link model {"url":"https://models.internal/churn/42","text":"churn model v42"}',
      'outpost_pipes: artifact progress training {"progress":1}',
      'outpost_pipes: result {"first":1}',
      expect.stringMatching(/^outpost_pipes: result \{"context":\{"protocol":1,"run":\{"id":"local","name":"local"/),
      'outpost_pipes: closed',
    ]);
  });

  it('closes at exit with the uncaught error that ended the program, which becomes the failure of pipes.run', async () => {
    const error = await pipes.run([process.execPath, script, 'crash'], { forwardOutput: false }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(PipesProcessError);
    const failure = error as PipesProcessError;
    expect(failure.exitCode).toBe(1);
    expect(failure.clientError).toMatchObject({ type: 'TypeError', message: 'the model file is corrupt' });
    expect(failure.clientError?.traceback).toContain('TypeError: the model file is corrupt');
    expect(failure.message).toMatch(/exited with status 1: TypeError: the model file is corrupt$/);
    // The stderr tail is kept even when output is not forwarded.
    expect(failure.stderr.join('\n')).toContain('the model file is corrupt');
  });

  it('refuses a message over 1 MiB and any message after close, without breaking the channel', async () => {
    for (const channel of ['fd', 'file'] as const) {
      const outcome = await pipes.run([process.execPath, script, 'huge'], { channel });
      expect((outcome.result as { refused: string }).refused).toMatch(
        /^the 'metadata' message is \d+ bytes, more than 1048576; report a location, not data$/,
      );
      expect(outcome.metadata).toEqual({});
    }
  });
});
