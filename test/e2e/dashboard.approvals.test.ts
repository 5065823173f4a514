import { randomUUID } from 'node:crypto';
import { createSignInLink } from '@outpost/api';
import { OutpostClient, unwrap } from '@outpost/sdk/client';
import type { Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { PolicyWatch, screenshot, signedInPage, useDashboard } from '../support/dashboard.js';

const dashboard = useDashboard({ loops: false });
let worker: OutpostClient;
let page: Page;
let deploymentId: string;
const policy = new PolicyWatch();
const clients: OutpostClient[] = [];

const FORM = {
  type: 'object',
  properties: {
    reason: { type: 'string', minLength: 3, title: 'Reason' },
    replicas: { type: 'integer', minimum: 1, title: 'Replicas' },
  },
  required: ['reason', 'replicas'],
};

/** A run claimed and started over HTTP (no worker process runs it), suspended on an approval with a form; the claim may take earlier resumed runs too, left held. */
async function suspendedOnApproval(title: string): Promise<{ runId: string; waitId: string }> {
  const { flowRun } = unwrap(await dashboard.owner.call('deploymentsCreateRun', { params: { id: deploymentId }, body: {} }));
  const { runs } = unwrap(
    await worker.call('claim', { params: { pool: 'default' }, body: { workerId: randomUUID(), limit: 10 } }),
  );
  const claimed = runs.find((r) => r.flowRun.id === flowRun.id);
  if (!claimed) throw new Error('the run was not claimed');
  const run = new OutpostClient({ baseUrl: dashboard.server.url, token: claimed.token });
  clients.push(run);
  unwrap(
    await run.call('flowRunsSetState', {
      params: { id: flowRun.id },
      body: { transitionId: randomUUID(), state: { type: 'RUNNING' } },
    }),
  );
  const { wait } = unwrap(
    await run.call('flowRunWaitsCreate', {
      params: { id: flowRun.id },
      body: { key: 'wait-1', spec: { kind: 'approval', title, description: 'Promote the model to production.', form: FORM } },
    }),
  );
  const suspended = unwrap(
    await run.call('flowRunSuspend', { params: { id: flowRun.id }, body: { waitId: wait.id, results: [] } }),
  );
  expect(suspended.suspended).toBe(true);
  return { runId: flowRun.id, waitId: wait.id };
}

beforeAll(async () => {
  worker = new OutpostClient({ baseUrl: dashboard.server.url, token: await dashboard.server.createKey('worker') });
  ({
    deployment: { id: deploymentId },
  } = unwrap(
    await dashboard.owner.call('deploymentsUpsert', {
      body: { flowName: 'promote', name: 'e2e', source: `dir:///${randomUUID()}`, entrypoint: 'flow.mjs', workPool: 'default' },
    }),
  ));
  ({ page } = await signedInPage(dashboard.browser, dashboard.server, policy));
}, 120_000);
afterAll(async () => {
  for (const c of clients) await c.close();
  await worker?.close();
});

describe('approvals in the dashboard', () => {
  it('lists a suspended run’s approval in the inbox, and approving it on the run page with its form resumes the run', async () => {
    const { runId, waitId } = await suspendedOnApproval('Deploy model');

    await page.goto(`${dashboard.server.url}/#/approvals`);
    const row = page.getByTestId('approval-row').filter({ hasText: 'Deploy model' });
    await row.waitFor();
    await row.getByTestId('approval-run-link').click();

    const banner = page.getByTestId('run-waiting-banner');
    await banner.waitFor();
    expect(await banner.textContent()).toContain('Suspended, waiting for approval “Deploy model”');
    expect(await page.getByTestId('run-state').textContent()).toContain('Suspended');

    // The browser checks the form against its schema before anything is sent.
    await page.getByTestId('param-reason').fill('ok');
    await page.getByTestId('param-replicas').fill('0');
    await page.getByTestId('approval-approve').click();
    await page.locator('[aria-invalid="true"]').first().waitFor();
    expect(unwrap(await dashboard.owner.call('waitsGet', { params: { id: waitId }, query: {} })).wait.status).toBe('WAITING');

    await page.getByTestId('param-reason').fill('traffic doubled');
    await page.getByTestId('param-replicas').fill('3');
    await page.getByTestId('approval-comment').fill('ship it');
    await page.getByTestId('approval-approve').click();

    const decided = page.getByTestId('approval-decision');
    await decided.waitFor();
    expect(await decided.getAttribute('data-approved')).toBe('true');
    expect(await decided.textContent()).toContain('Approved by owner');
    expect(await decided.textContent()).toContain('“ship it”');
    await screenshot(page, 'approval-decided');

    const { wait } = unwrap(await dashboard.owner.call('waitsGet', { params: { id: waitId }, query: {} }));
    expect(wait.value).toMatchObject({ approved: true, data: { reason: 'traffic doubled', replicas: 3 }, comment: 'ship it' });
    const run = unwrap(await dashboard.owner.call('flowRunsGet', { params: { id: runId } }));
    expect(run).toMatchObject({ attempt: 2, state: { type: 'SCHEDULED', name: 'Resuming' } });
    await page.getByTestId('run-state').getByText('Resuming').waitFor();
    // The new attempt is a resumption, not a retry: the run allows none, and spent none.
    await expect
      .poll(async () => await page.getByTestId('run-attempt').textContent(), { timeout: 30_000 })
      .toBe('2 (resumed after a wait)');
    expect(await page.getByTestId('run-section-link').allTextContents()).toContain('Waits');
    expect(policy.violations).toEqual([]);
  });

  it('approves one approval with its form and rejects another from the inbox, without leaving it or reloading the page', async () => {
    const scale = await suspendedOnApproval('Scale service');
    const purge = await suspendedOnApproval('Purge cache');
    const scaleRun = unwrap(await dashboard.owner.call('flowRunsGet', { params: { id: scale.runId } }));

    await page.goto(`${dashboard.server.url}/#/approvals`);
    const scaleRow = page.getByTestId('approval-row').filter({ hasText: 'Scale service' });
    await scaleRow.waitFor();
    // The button names the approval and its run for a screen reader; the keyboard opens it.
    const open = page.getByRole('button', { name: `Approve / Reject… “Scale service” for ${scaleRun.name}` });
    expect(await open.count()).toBe(1);
    await open.focus();
    await page.keyboard.press('Enter');

    const dialog = page.getByTestId('approval-dialog');
    await dialog.waitFor();
    expect(await dialog.getByRole('heading').textContent()).toBe('Scale service');
    expect(await dialog.textContent()).toContain('Promote the model to production.');
    expect(await dialog.getByTestId('approval-dialog-run').textContent()).toBe(scaleRun.name);
    // Focus is in the form, on its first field; Escape closes it and gives focus back to the button.
    expect(await dialog.getByTestId('param-reason').evaluate((el) => el === el.ownerDocument.activeElement)).toBe(true);
    await page.keyboard.press('Escape');
    await dialog.waitFor({ state: 'detached' });
    expect(await open.evaluate((el) => el === el.ownerDocument.activeElement)).toBe(true);
    await page.keyboard.press('Enter');
    await dialog.getByTestId('param-reason').waitFor();
    expect(await dialog.getByTestId('param-reason').evaluate((el) => el === el.ownerDocument.activeElement)).toBe(true);

    await page.keyboard.type('load doubled');
    await dialog.getByTestId('param-replicas').fill('4');
    await screenshot(page, 'approvals-inbox-dialog');
    await dialog.getByTestId('approval-approve').click();
    await dialog.waitFor({ state: 'detached' });

    // The decision is said where focus now is, and the row moves to the recent decisions.
    const status = page.getByTestId('approval-decided-status');
    expect(await status.textContent()).toContain(`Approved “Scale service” for ${scaleRun.name}`);
    expect(await status.evaluate((el) => el === el.ownerDocument.activeElement)).toBe(true);
    await scaleRow.waitFor({ state: 'detached' });
    const scaleRecent = page.getByTestId('approval-recent').filter({ hasText: 'Scale service' });
    await scaleRecent.waitFor();
    expect(await scaleRecent.getByTestId('approval-decision').getAttribute('data-approved')).toBe('true');

    await page.getByTestId('approval-row').filter({ hasText: 'Purge cache' }).getByTestId('approval-decide').click();
    await dialog.waitFor();
    await dialog.getByTestId('approval-comment').fill('cache is warm, not now');
    await dialog.getByTestId('approval-reject').click();
    await dialog.waitFor({ state: 'detached' });
    const purgeRecent = page.getByTestId('approval-recent').filter({ hasText: 'Purge cache' });
    await purgeRecent.waitFor();
    expect(await purgeRecent.textContent()).toContain('Rejected');
    expect(await purgeRecent.textContent()).toContain('“cache is warm, not now”');
    expect(await page.getByTestId('approval-row').filter({ hasText: 'Purge cache' }).count()).toBe(0);
    await screenshot(page, 'approvals-inbox-decided');

    const scaled = unwrap(await dashboard.owner.call('waitsGet', { params: { id: scale.waitId }, query: {} })).wait;
    expect(scaled.status).toBe('RESOLVED');
    expect(scaled.value).toMatchObject({ approved: true, data: { reason: 'load doubled', replicas: 4 }, comment: null });
    const purged = unwrap(await dashboard.owner.call('waitsGet', { params: { id: purge.waitId }, query: {} })).wait;
    expect(purged.status).toBe('RESOLVED');
    expect(purged.value).toMatchObject({ approved: false, data: null, comment: 'cache is warm, not now' });
    for (const runId of [scale.runId, purge.runId]) {
      expect(unwrap(await dashboard.owner.call('flowRunsGet', { params: { id: runId } })).state).toMatchObject({
        type: 'SCHEDULED',
        name: 'Resuming',
      });
    }
    expect(policy.violations).toEqual([]);
  });

  it('says in the inbox’s form when someone else decided the approval first, and closing it drops the row', async () => {
    const { waitId } = await suspendedOnApproval('Rotate keys');
    await page.goto(`${dashboard.server.url}/#/approvals`);
    const row = page.getByTestId('approval-row').filter({ hasText: 'Rotate keys' });
    await row.getByTestId('approval-decide').click();
    const dialog = page.getByTestId('approval-dialog');
    await dialog.waitFor();
    unwrap(
      await dashboard.owner.call('waitsDecide', { params: { id: waitId }, body: { approved: false, comment: 'done elsewhere' } }),
    );

    await dialog.getByTestId('param-reason').fill('routine rotation');
    await dialog.getByTestId('param-replicas').fill('1');
    await dialog.getByTestId('approval-approve').click();
    const error = dialog.getByTestId('approval-error');
    await error.waitFor();
    expect(await error.textContent()).toContain('already resolved');
    expect(unwrap(await dashboard.owner.call('waitsGet', { params: { id: waitId }, query: {} })).wait.value).toMatchObject({
      approved: false,
      comment: 'done elsewhere',
    });

    await dialog.getByTestId('approval-cancel').click();
    await dialog.waitFor({ state: 'detached' });
    await row.waitFor({ state: 'detached' });
    const recent = page.getByTestId('approval-recent').filter({ hasText: 'Rotate keys' });
    await recent.waitFor();
    expect(await recent.textContent()).toContain('“done elsewhere”');
  });

  it('shows a viewer the waiting approvals without a button to decide them, in the inbox and on the run page', async () => {
    const { runId } = await suspendedOnApproval('Viewer cannot decide');
    const context = await dashboard.browser.newContext({ viewport: { width: 1360, height: 860 } });
    try {
      const viewer = policy.watch(await context.newPage());
      const link = await createSignInLink(dashboard.server.sql, { workspaceId: dashboard.server.workspaceId, role: 'viewer' });
      await viewer.goto(`${dashboard.server.url}${link.path}`);
      await viewer.getByTestId('workspace-name').getByText('Default').waitFor();
      await viewer.goto(`${dashboard.server.url}/#/approvals`);
      await viewer.getByTestId('approval-row').filter({ hasText: 'Viewer cannot decide' }).waitFor();
      expect(await viewer.getByTestId('approval-decide').count()).toBe(0);
      // The run page says why there is no form instead of offering one the API would refuse.
      await viewer.goto(`${dashboard.server.url}/#/runs/${runId}`);
      const notYours = viewer.getByTestId('run-approval-not-yours');
      await notYours.waitFor();
      expect(await notYours.textContent()).toMatch(/role \(viewer\) cannot approve or reject it/);
      expect(await viewer.getByTestId('approval-form').count()).toBe(0);
      // The owner, on the same inbox, has one.
      await page.goto(`${dashboard.server.url}/#/approvals`);
      await page.getByTestId('approval-row').filter({ hasText: 'Viewer cannot decide' }).getByTestId('approval-decide').waitFor();
    } finally {
      await context.close();
    }
  });

  it('rejecting needs no form, and the decision shows in the inbox’s recent decisions', async () => {
    const { waitId } = await suspendedOnApproval('Drop table');
    await page.goto(`${dashboard.server.url}/#/approvals`);
    await page.getByTestId('approval-row').filter({ hasText: 'Drop table' }).getByTestId('approval-run-link').click();
    await page.getByTestId('approval-reject').click();
    await page.getByTestId('approval-decision').waitFor();
    const { wait } = unwrap(await dashboard.owner.call('waitsGet', { params: { id: waitId }, query: {} }));
    expect(wait.value).toMatchObject({ approved: false, data: null });

    await page.goto(`${dashboard.server.url}/#/approvals`);
    const recent = page.getByTestId('approval-recent').filter({ hasText: 'Drop table' });
    await recent.waitFor();
    expect(await recent.textContent()).toContain('Rejected');
    expect(await page.getByTestId('approval-row').filter({ hasText: 'Drop table' }).count()).toBe(0);
  });
});
