import { readFileSync } from 'node:fs';
import { unwrap } from '@outpost/sdk/client';
import type { FlowRun, WorkPool, WorkQueue } from '@outpost/sdk/contracts';
import type { Locator, Page } from 'playwright-core';
import { beforeAll, describe, expect, it } from 'vitest';
import { PolicyWatch, screenshot, signedInPage, signInWithKey, useDashboardStack } from '../support/dashboard.js';

const WORKER_VERSION = (
  JSON.parse(readFileSync(new URL('../../worker/package.json', import.meta.url), 'utf8')) as { version: string }
).version;

const stack = useDashboardStack();
let page: Page;
const policy = new PolicyWatch();

const card = (name: string): Locator => page.locator(`[data-testid="pool-card"][data-pool="${name}"]`);

async function apiPool(name: string): Promise<WorkPool> {
  return unwrap(await stack.owner.call('poolsGet', { params: { pool: name } }));
}

async function apiQueue(pool: string, name: string): Promise<WorkQueue | undefined> {
  return unwrap(await stack.owner.call('queuesList', { params: { pool } })).items.find((q) => q.name === name);
}

interface FocusedDocument {
  document: { activeElement: { getAttribute(name: string): string | null } | null };
}

async function focusedTestId(): Promise<string | null | undefined> {
  return page.evaluate(() => (globalThis as unknown as FocusedDocument).document.activeElement?.getAttribute('data-testid'));
}

beforeAll(async () => {
  ({ page } = await signedInPage(stack.browser, stack));
  policy.watch(page);
});

describe('the work pools page against a real API and worker', () => {
  it('creates a pool from the dashboard, edits its limit and description, and pauses and resumes it', async () => {
    await page.getByTestId('nav-work-pools').click();
    await card('default').waitFor();
    await page.getByTestId('pools-new').click();
    const dialog = page.getByTestId('pool-dialog');
    await dialog.waitFor();
    await page.getByTestId('pool-name').fill('etl-pool');
    await page.getByTestId('pool-limit').fill('4');
    await page.getByTestId('pool-description').fill('Nightly ETL runs');
    await screenshot(page, 'work-pools-create-dialog');
    await page.getByTestId('pool-submit').click();
    await card('etl-pool').waitFor();
    await dialog.waitFor({ state: 'detached' });
    expect(await card('etl-pool').getByTestId('pool-limit-value').textContent()).toBe('4');
    expect(await card('etl-pool').getByTestId('pool-description-text').textContent()).toBe('Nightly ETL runs');
    expect(await apiPool('etl-pool')).toMatchObject({ concurrencyLimit: 4, description: 'Nightly ETL runs', paused: false });
    // The new pool has its default queue.
    await card('etl-pool').locator('[data-testid="queue-row"][data-queue="default"]').waitFor();

    // Focus goes back to the button that opened the dialog once it closes.
    await card('etl-pool').getByTestId('pool-edit').click();
    await page.getByTestId('pool-limit').fill('7');
    await page.getByTestId('pool-description').fill('ETL, now seven at a time');
    await page.getByTestId('pool-submit').click();
    await expect.poll(() => card('etl-pool').getByTestId('pool-limit-value').textContent()).toBe('7');
    expect(await focusedTestId()).toBe('pool-edit');
    expect(await apiPool('etl-pool')).toMatchObject({ concurrencyLimit: 7, description: 'ETL, now seven at a time' });
    expect(await card('etl-pool').getByTestId('pool-silence-value').textContent()).toBe(
      'offline up to 10 min, retried meanwhile',
    );

    // What the pool does when a worker falls silent: wait out a half-hour tolerance, then no limit at all.
    await card('etl-pool').getByTestId('pool-edit').click();
    expect(await page.getByTestId('pool-tolerance').inputValue()).toBe('600');
    await page.getByTestId('pool-silence').selectOption('wait');
    await page.getByTestId('pool-tolerance').fill('1800');
    await page.getByTestId('pool-submit').click();
    await expect
      .poll(() => card('etl-pool').getByTestId('pool-silence-value').textContent())
      .toBe('offline up to 30 min, never retried meanwhile');
    expect(await apiPool('etl-pool')).toMatchObject({ onWorkerSilence: 'wait', disconnectedToleranceSeconds: 1800 });
    await card('etl-pool').getByTestId('pool-edit').click();
    await page.getByTestId('pool-tolerance').fill('');
    await page.getByTestId('pool-submit').click();
    await expect
      .poll(() => card('etl-pool').getByTestId('pool-silence-value').textContent())
      .toBe('offline without limit, never retried meanwhile');
    expect((await apiPool('etl-pool')).disconnectedToleranceSeconds).toBeNull();

    // A limit that is not a number is refused in the form, naming the field.
    await card('etl-pool').getByTestId('pool-edit').click();
    await page.getByTestId('pool-limit').fill('seven');
    await page.getByTestId('pool-submit').click();
    expect(await page.getByTestId('pool-limit').getAttribute('aria-invalid')).toBe('true');
    await page.keyboard.press('Escape');
    await page.getByTestId('pool-dialog').waitFor({ state: 'detached' });
    expect((await apiPool('etl-pool')).concurrencyLimit).toBe(7);

    await card('etl-pool').getByTestId('pool-toggle-pause').click();
    await expect.poll(() => card('etl-pool').getByTestId('pool-status').textContent()).toBe('Paused');
    expect((await apiPool('etl-pool')).paused).toBe(true);
    await screenshot(page, 'work-pools-paused');
    await card('etl-pool').getByTestId('pool-toggle-pause').click();
    await expect.poll(() => card('etl-pool').getByTestId('pool-status').textContent()).toBe('Active');
    expect((await apiPool('etl-pool')).paused).toBe(false);
  });

  it('creates a queue with a priority and limit, edits it, and pauses and resumes it', async () => {
    await card('etl-pool').getByTestId('queue-new').click();
    await page.getByTestId('queue-name').fill('urgent');
    await page.getByTestId('queue-priority').fill('1');
    await page.getByTestId('queue-limit').fill('2');
    await page.getByTestId('queue-submit').click();
    const row = card('etl-pool').locator('[data-testid="queue-row"][data-queue="urgent"]');
    await row.waitFor();
    expect(await row.getByTestId('queue-limit-value').textContent()).toBe('2');
    expect(await apiQueue('etl-pool', 'urgent')).toMatchObject({ priority: 1, concurrencyLimit: 2, paused: false });

    await row.getByTestId('queue-edit').click();
    await page.getByTestId('queue-limit').fill('3');
    await page.getByTestId('queue-priority').fill('5');
    await page.getByTestId('queue-submit').click();
    await expect.poll(() => row.getByTestId('queue-limit-value').textContent()).toBe('3');
    expect(await apiQueue('etl-pool', 'urgent')).toMatchObject({ priority: 5, concurrencyLimit: 3 });

    await row.getByTestId('queue-toggle-pause').click();
    await expect.poll(() => row.getByTestId('queue-status').textContent()).toBe('Paused');
    expect((await apiQueue('etl-pool', 'urgent'))?.paused).toBe(true);
    await row.getByTestId('queue-toggle-pause').click();
    await expect.poll(() => row.getByTestId('queue-status').textContent()).toBe('Active');
    expect((await apiQueue('etl-pool', 'urgent'))?.paused).toBe(false);
  });

  it("shows a Kubernetes pool's base job template problems under the field, each with its path", async () => {
    await page.getByTestId('pools-new').click();
    await page.getByTestId('pool-name').fill('cluster');
    await page.getByTestId('pool-type').selectOption('kubernetes');
    const template = page.getByTestId('pool-template');
    const job = JSON.parse(await template.inputValue()) as { spec: Record<string, unknown> };
    job.spec.backoffLimit = 3;
    await template.fill(JSON.stringify(job, null, 2));
    await page.getByTestId('pool-submit').click();
    const errors = page.getByTestId('pool-template-errors');
    await errors.waitFor();
    expect(await errors.textContent()).toContain('spec.backoffLimit');
    expect(await template.getAttribute('aria-invalid')).toBe('true');
    await screenshot(page, 'work-pools-template-errors');
    expect(unwrap(await stack.owner.call('poolsList', {})).items.map((p) => p.name)).not.toContain('cluster');

    job.spec.backoffLimit = 0;
    await template.fill(JSON.stringify(job, null, 2));
    await page.getByTestId('pool-submit').click();
    await card('cluster').waitFor();
    expect(await apiPool('cluster')).toMatchObject({ type: 'kubernetes', baseJobTemplate: job });
  });

  it('lists the live worker with its version and the run it is running now, which leaves its list when cancelled', async () => {
    const id = stack.deployments.get('forever') ?? '';
    const run: FlowRun = unwrap(
      await stack.owner.call('deploymentsCreateRun', { params: { id }, body: { parameters: {} } }),
    ).flowRun;
    try {
      const worker = card('default').locator('[data-testid="worker-row"][data-worker="dashboard-e2e"]');
      await worker.waitFor();
      expect(await worker.getByTestId('worker-status').textContent()).toBe('Online');
      expect(await worker.getByTestId('worker-version').textContent()).toBe(WORKER_VERSION);
      await worker.locator(`[data-testid="worker-run"][data-run-id="${run.id}"]`).waitFor({ timeout: 30_000 });
      expect(await worker.locator(`[data-testid="worker-run"][data-run-id="${run.id}"]`).textContent()).toBe(run.name);
      await screenshot(page, 'work-pools-worker-running');
      await worker.locator(`[data-testid="worker-run"][data-run-id="${run.id}"]`).click();
      await page.waitForURL(new RegExp(`#/runs/${run.id}$`));
    } finally {
      unwrap(await stack.owner.call('flowRunsCancel', { params: { id: run.id }, body: {} }));
    }
    await expect
      .poll(async () => unwrap(await stack.owner.call('flowRunsGet', { params: { id: run.id } })).state.type, { timeout: 30_000 })
      .toBe('CANCELLED');
    await page.getByTestId('nav-work-pools').click();
    const worker = card('default').locator('[data-testid="worker-row"][data-worker="dashboard-e2e"]');
    await expect.poll(() => worker.getByTestId('worker-runs').getAttribute('data-count'), { timeout: 15_000 }).toBe('0');
    expect(policy.violations).toEqual([]);
  });

  it('shows a viewer the pools, queues and workers with nothing to change', async () => {
    const context = await stack.browser.newContext({ viewport: { width: 1360, height: 860 } });
    try {
      const viewer = policy.watch(await context.newPage());
      await signInWithKey(viewer, stack.server.url, await stack.server.createKey('viewer'));
      await viewer.getByTestId('nav-work-pools').click();
      await viewer.locator('[data-testid="pool-card"][data-pool="etl-pool"] [data-testid="queue-row"]').first().waitFor();
      await viewer.locator('[data-testid="worker-row"]').first().waitFor();
      for (const id of ['pools-new', 'pool-edit', 'pool-toggle-pause', 'queue-new', 'queue-edit', 'queue-toggle-pause']) {
        expect(await viewer.getByTestId(id).count()).toBe(0);
      }
      await screenshot(viewer, 'work-pools-viewer');
    } finally {
      await context.close();
    }
    expect(policy.violations).toEqual([]);
  });
});
