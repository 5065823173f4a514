import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { flow, PipesProcessError, pipes, task } from '../src/index.js';
import { testFlow } from '../src/testing/index.js';

const trainPy = fileURLToPath(new URL('./fixtures/pipes/train.py', import.meta.url));

const train = (channel: 'fd' | 'file', extras: Record<string, unknown>) => pipes.run(['python3', trainPy], { channel, extras });

describe('pipes.run with the Python client', () => {
  for (const channel of ['fd', 'file'] as const) {
    it(`receives the logs, metadata, check, artifact and result a Python script reports over the ${channel} channel`, async () => {
      const launch = task('train', () => train(channel, { epochs: 3 }));
      const run = await testFlow(
        flow({ name: `pipes-python-${channel}` }, () => launch()),
        undefined,
        { fakeClock: false },
      );
      const outcome = run.expectCompleted();
      const trainRun = run.taskRun('train');
      const lines = run.logs.filter((l) => l.taskRunId === trainRun.id).map((l) => `${l.level} ${l.message}`);
      expect(lines.filter((l) => l.includes('epoch'))).toEqual(['info epoch 1 of 3', 'info epoch 2 of 3', 'info epoch 3 of 3']);
      expect(lines).toContain('info printed by python');
      expect(lines.filter((l) => l.startsWith('warning'))).toEqual([]);
      expect(outcome.metadata).toEqual({ auc: 0.91, model_path: 's3://ml-bucket/churn/model.pkl' });
      expect(outcome.checks).toEqual([{ name: 'auc_above_0_8', passed: true, metadata: { auc: 0.91 } }]);
      expect(run.artifacts.map((a) => [a.type, a.key, a.data])).toEqual([['markdown', 'report', { markdown: '# Churn model' }]]);
      expect(outcome.result).toEqual({ task: 'train', python: 3 });
    });
  }

  it('fails with the exception the script raised inside open_pipes()', async () => {
    const error = await train('fd', { fail: true }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(PipesProcessError);
    const failure = error as PipesProcessError;
    expect(failure.exitCode).toBe(1);
    expect(failure.clientError).toMatchObject({ type: 'ValueError', message: 'auc is NaN' });
    expect(failure.clientError?.traceback).toContain('ValueError: auc is NaN');
    expect(failure.message).toMatch(/exited with status 1: ValueError: auc is NaN$/);
  });
});
