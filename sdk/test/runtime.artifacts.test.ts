import { afterEach, describe, expect, it, vi } from 'vitest';
import { artifact, flow, task } from '../src/index.js';
import { executeUnderWorker, MemoryWorker } from './runtime.memory-worker.js';

afterEach(() => {
  vi.restoreAllMocks();
});

describe('artifacts', () => {
  it('print one short line each when run locally', async () => {
    const lines: string[] = [];
    vi.spyOn(console, 'log').mockImplementation((line: unknown) => lines.push(String(line)));
    const report = flow({ name: 'art-local' }, async () => {
      await artifact.markdown('report', '\n# Accuracy 93%\n\nlots more text');
      await artifact.table('metrics', [
        { epoch: 1, loss: 0.5 },
        { epoch: 2, acc: 0.9 },
      ]);
      await artifact.link('model', 'https://models.internal/churn/42', 'churn v42');
      await artifact.progress('training', 0.25);
    });

    await report();

    expect(lines).toEqual([
      "[art-local] info artifact markdown 'report': # Accuracy 93%",
      "[art-local] info artifact table 'metrics': 2 row(s) × 3 column(s)",
      "[art-local] info artifact link 'model': churn v42 <https://models.internal/churn/42>",
      "[art-local] info artifact progress 'training': 25%",
    ]);
  });

  it('are sent to the worker with the task run that made them, tables as columns and rows', async () => {
    const train = task('art-train', async () => {
      await artifact.table('metrics', [
        { epoch: 1, loss: 0.5, when: new Date('2024-01-01T00:00:00Z') },
        { epoch: 2, note: { best: true } },
      ]);
    });
    flow({ name: 'art-flow' }, async () => {
      await artifact.markdown('summary', '**done**', { description: 'the summary' });
      await train();
    });
    const worker = new MemoryWorker();

    await executeUnderWorker('art-flow', worker);

    const [summary, metrics] = worker.rpcs('createArtifact');
    expect(summary).toMatchObject({
      key: 'summary',
      type: 'markdown',
      data: { markdown: '**done**' },
      description: 'the summary',
    });
    expect(summary?.taskRunId).toBeUndefined();
    const trainRun = worker.creates().find((c) => c.name === 'art-train');
    expect(metrics).toMatchObject({
      key: 'metrics',
      type: 'table',
      taskRunId: trainRun?.id,
      data: {
        columns: ['epoch', 'loss', 'when', 'note'],
        rows: [
          [1, 0.5, '2024-01-01T00:00:00.000Z', null],
          [2, null, null, '{"best":true}'],
        ],
      },
    });
  });

  it('send progress updates of one key in the order they were made, even when not awaited', async () => {
    flow({ name: 'art-progress' }, async () => {
      const updates = [0.1, 0.5, 0.9, 1].map((f) => artifact.progress('epochs', f));
      await Promise.all(updates);
    });
    const worker = new MemoryWorker();
    let inFlight = 0;
    let peak = 0;
    worker.gate = async (rpc) => {
      if (rpc.method !== 'createArtifact') return;
      inFlight += 1;
      peak = Math.max(peak, inFlight);
      await new Promise((resolve) => setTimeout(resolve, 5));
      inFlight -= 1;
    };

    await executeUnderWorker('art-progress', worker);

    expect(worker.rpcs('createArtifact').map((a) => (a.data as { progress: number }).progress)).toEqual([0.1, 0.5, 0.9, 1]);
    expect(peak).toBe(1);
  });

  it('refuse an invalid key, a fraction outside 0..1, a non-http link and data over 256 KiB', async () => {
    await expect(artifact.markdown('Bad Key', 'x')).rejects.toThrow(/invalid markdown artifact 'Bad Key': key: use lowercase/);
    await expect(artifact.progress('p', 1.5)).rejects.toThrow(/data\.progress/);
    await expect(artifact.link('l', 'javascript:alert(1)')).rejects.toThrow(/invalid link artifact 'l': data\.url/);
    await expect(artifact.markdown('big', 'x'.repeat(300 * 1024))).rejects.toThrow(/must be at most 262144 bytes/);
  });

  it('never fail the flow when the worker cannot record them', async () => {
    flow({ name: 'art-unrecorded' }, async () => {
      await artifact.markdown('report', 'hello');
      return 'ok';
    });
    const worker = new MemoryWorker();
    worker.failMethods.add('createArtifact');

    await executeUnderWorker('art-unrecorded', worker);

    expect(worker.rpcs('setState').map((s) => s.state.type)).toEqual(['RUNNING', 'COMPLETED']);
    expect(worker.logs().find((l) => l.level === 'warning')?.message).toContain("artifact 'report' could not be recorded");
  });
});
