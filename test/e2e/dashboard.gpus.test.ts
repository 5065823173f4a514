import { randomUUID } from 'node:crypto';
import { OutpostClient, unwrap } from '@outpost/sdk/client';
import type { Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { PolicyWatch, screenshot, signedInPage, useDashboard } from '../support/dashboard.js';

const dashboard = useDashboard({ loops: false });
let worker: OutpostClient;
let page: Page;
const policy = new PolicyWatch();
const workerId = randomUUID();

beforeAll(async () => {
  worker = new OutpostClient({ baseUrl: dashboard.server.url, token: await dashboard.server.createKey('worker') });
  unwrap(
    await dashboard.owner.call('poolsUpdate', {
      params: { pool: 'default' },
      body: { gpuQuota: 4, gpuQuotaByTag: { 'team:vision': 2 } },
    }),
  );
  // A worker with four 80 GB GPUs, as its heartbeat advertises them.
  unwrap(
    await worker.call('workersHeartbeat', {
      params: { pool: 'default' },
      body: {
        workerId,
        name: 'gpu-box-1',
        capacity: 8,
        runs: [],
        resources: {
          gpus: ['0', '1', '2', '3'].map((id) => ({ id, model: 'NVIDIA A100-SXM4-80GB', memoryMb: 81_920 })),
          memoryGb: 512,
          cpus: 64,
        },
      },
    }),
  );
  ({ page } = await signedInPage(dashboard.browser, dashboard.server, policy));
}, 120_000);
afterAll(async () => {
  await worker?.close();
});

describe('GPU use on the work pools page', () => {
  it('shows which devices of a worker are busy and with which run, and the pool’s GPUs in use of its total', async () => {
    const { deployment } = unwrap(
      await dashboard.owner.call('deploymentsUpsert', {
        body: {
          flowName: 'train',
          name: 'e2e',
          source: `dir:///${randomUUID()}`,
          entrypoint: 'flow.mjs',
          workPool: 'default',
          resources: { gpus: 2 },
        },
      }),
    );
    const big = unwrap(await dashboard.owner.call('deploymentsCreateRun', { params: { id: deployment.id }, body: {} })).flowRun;
    const small = unwrap(
      await dashboard.owner.call('deploymentsCreateRun', { params: { id: deployment.id }, body: { resources: { gpus: 1 } } }),
    ).flowRun;
    const { runs } = unwrap(await worker.call('claim', { params: { pool: 'default' }, body: { workerId, limit: 10 } }));
    const assigned = new Map(runs.map((r) => [r.flowRun.id, r.assigned?.gpus]));
    expect(assigned.get(big.id)).toEqual(['0', '1']);
    expect(assigned.get(small.id)).toEqual(['2']);

    await page.goto(`${dashboard.server.url}/#/work-pools`);
    const card = page.locator('[data-testid="pool-card"][data-pool="default"]');
    await card.getByTestId('pool-gpus-used').getByText('GPUs 3 / 4 in use').waitFor();
    expect(await card.getByTestId('pool-gpus').textContent()).toContain('GPU quota 4');
    const row = card.getByTestId('worker-row').filter({ hasText: 'gpu-box-1' });
    const devices = row.getByTestId('gpu-device');
    await devices.nth(3).waitFor();
    expect(await devices.count()).toBe(4);
    const busy = await devices.evaluateAll((els) =>
      els.map((el) => ({ id: el.textContent, busy: el.getAttribute('data-busy'), run: el.getAttribute('data-run') })),
    );
    expect(busy).toEqual([
      { id: '0', busy: 'true', run: big.id },
      { id: '1', busy: 'true', run: big.id },
      { id: '2', busy: 'true', run: small.id },
      { id: '3', busy: 'false', run: null },
    ]);
    expect(await devices.nth(2).getAttribute('title')).toContain(small.name);
    expect(await row.getByTestId('gpu-holders').textContent()).toBe(`0,1 ${big.name} · 2 ${small.name}`);
    await screenshot(page, 'work-pool-gpus');

    // A busy device links to the run holding it.
    await devices.nth(2).click();
    await page.getByTestId('run-state').waitFor();
    expect(page.url()).toContain(`/runs/${small.id}`);
    expect(policy.violations).toEqual([]);
  });
});
