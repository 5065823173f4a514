import { randomUUID } from 'node:crypto';
import { startTestServer, type TestServer } from '@outpost/api/testing';
import { OutpostClient, unwrap } from '@outpost/sdk/client';
import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { launchChromium, PolicyWatch, screenshot, signedInPage } from '../support/dashboard.js';

let server: TestServer;
let owner: OutpostClient;
let worker: OutpostClient;
let browser: Browser;
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
  const { flowRun } = unwrap(await owner.call('deploymentsCreateRun', { params: { id: deploymentId }, body: {} }));
  const { runs } = unwrap(
    await worker.call('claim', { params: { pool: 'default' }, body: { workerId: randomUUID(), limit: 10 } }),
  );
  const claimed = runs.find((r) => r.flowRun.id === flowRun.id);
  if (!claimed) throw new Error('the run was not claimed');
  const run = new OutpostClient({ baseUrl: server.url, token: claimed.token });
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
  server = await startTestServer({ loops: false });
  owner = new OutpostClient({ baseUrl: server.url, token: server.ownerKey });
  worker = new OutpostClient({ baseUrl: server.url, token: await server.createKey('worker') });
  ({
    deployment: { id: deploymentId },
  } = unwrap(
    await owner.call('deploymentsUpsert', {
      body: { flowName: 'promote', name: 'e2e', source: `dir:///${randomUUID()}`, entrypoint: 'flow.mjs', workPool: 'default' },
    }),
  ));
  browser = await launchChromium();
  ({ page } = await signedInPage(browser, server, policy));
}, 120_000);
afterAll(async () => {
  await browser?.close();
  for (const c of clients) await c.close();
  await worker?.close();
  await owner?.close();
  await server?.close();
});

describe('approvals in the dashboard', () => {
  it('lists a suspended run’s approval in the inbox, and approving it on the run page with its form resumes the run', async () => {
    const { runId, waitId } = await suspendedOnApproval('Deploy model');

    await page.goto(`${server.url}/#/approvals`);
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
    expect(unwrap(await owner.call('waitsGet', { params: { id: waitId }, query: {} })).wait.status).toBe('WAITING');

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

    const { wait } = unwrap(await owner.call('waitsGet', { params: { id: waitId }, query: {} }));
    expect(wait.value).toMatchObject({ approved: true, data: { reason: 'traffic doubled', replicas: 3 }, comment: 'ship it' });
    const run = unwrap(await owner.call('flowRunsGet', { params: { id: runId } }));
    expect(run).toMatchObject({ attempt: 2, state: { type: 'SCHEDULED', name: 'Resuming' } });
    await page.getByTestId('run-state').getByText('Resuming').waitFor();
    // The new attempt is a resumption, not a retry: the run allows none, and spent none.
    await expect
      .poll(async () => await page.getByTestId('run-attempt').textContent(), { timeout: 30_000 })
      .toBe('2 (resumed after a wait)');
    expect(await page.getByTestId('run-section-link').allTextContents()).toContain('Waits');
    expect(policy.violations).toEqual([]);
  });

  it('rejecting needs no form, and the decision shows in the inbox’s recent decisions', async () => {
    const { waitId } = await suspendedOnApproval('Drop table');
    await page.goto(`${server.url}/#/approvals`);
    await page.getByTestId('approval-row').filter({ hasText: 'Drop table' }).getByTestId('approval-run-link').click();
    await page.getByTestId('approval-reject').click();
    await page.getByTestId('approval-decision').waitFor();
    const { wait } = unwrap(await owner.call('waitsGet', { params: { id: waitId }, query: {} }));
    expect(wait.value).toMatchObject({ approved: false, data: null });

    await page.goto(`${server.url}/#/approvals`);
    const recent = page.getByTestId('approval-recent').filter({ hasText: 'Drop table' });
    await recent.waitFor();
    expect(await recent.textContent()).toContain('Rejected');
    expect(await page.getByTestId('approval-row').filter({ hasText: 'Drop table' }).count()).toBe(0);
  });
});
