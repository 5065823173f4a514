import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it, vi } from 'vitest';
import { asset, flow, fsIO, materialize, task } from '../src/index.js';
import { IntegrationError, linkWandbRun } from '../src/integrations/index.js';
import { testFlow } from '../src/testing/index.js';

const dir = mkdtempSync(path.join(tmpdir(), 'outpost-wandb-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('linkWandbRun', () => {
  it("links the W&B run named by the flow's environment from a task", async () => {
    const link = task('link', () =>
      linkWandbRun({ env: { WANDB_ENTITY: 'acme-ml', WANDB_PROJECT: 'churn', WANDB_RUN_ID: '3kq9x2ab' } }),
    );
    const run = await testFlow(
      flow({ name: 'wandb' }, () => link()),
      undefined,
      { fakeClock: false },
    );
    expect(run.expectCompleted()).toBe('https://wandb.ai/acme-ml/churn/runs/3kq9x2ab');
    expect(run.artifacts.map((a) => [a.type, a.key, a.data])).toEqual([
      ['link', 'wandb-run', { url: 'https://wandb.ai/acme-ml/churn/runs/3kq9x2ab', text: 'W&B run acme-ml/churn/3kq9x2ab' }],
    ]);
  });

  it("puts a self-hosted server's run URL in the asset's materialisation metadata", async () => {
    const model = asset({ key: 'churn/model', io: fsIO({ dir }) }, async (ctx) => {
      await linkWandbRun({
        entity: 'acme-ml',
        project: 'churn',
        runId: 'r1',
        baseUrl: 'https://wandb.internal/',
        asset: ctx,
        env: {},
      });
      return 1;
    });
    vi.spyOn(console, 'log').mockImplementation(() => undefined);
    try {
      const result = await materialize([model]);
      const event = result.events.find((e) => e.kind === 'materialization');
      expect(event?.kind === 'materialization' && event.metadata).toMatchObject({
        wandbRun: 'https://wandb.internal/acme-ml/churn/runs/r1',
      });
    } finally {
      vi.restoreAllMocks();
    }
  });

  it('names what is missing or malformed', async () => {
    await expect(linkWandbRun({ env: { WANDB_ENTITY: 'acme', WANDB_PROJECT: 'churn' } })).rejects.toThrow(
      /needs its runId .* set WANDB_RUN_ID/,
    );
    await expect(linkWandbRun({ entity: 'acme', project: '../admin', runId: 'r1', env: {} })).rejects.toBeInstanceOf(
      IntegrationError,
    );
  });
});
