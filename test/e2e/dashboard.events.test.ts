import { createHmac, randomUUID } from 'node:crypto';
import { createSignInLink } from '@outpost/api';
import { unwrap } from '@outpost/sdk/client';
import type { Page } from 'playwright-core';
import { beforeAll, describe, expect, it } from 'vitest';
import { PolicyWatch, screenshot, useDashboard } from '../support/dashboard.js';

const dashboard = useDashboard({ loops: false });
let page: Page;
const policy = new PolicyWatch();

beforeAll(async () => {
  const context = await dashboard.browser.newContext({ viewport: { width: 1360, height: 860 } });
  page = policy.watch(await context.newPage());
  const link = await createSignInLink(dashboard.server.sql, { workspaceId: dashboard.server.workspaceId, role: 'owner' });
  await page.goto(`${dashboard.server.url}${link.path}`);
  await page.getByTestId('workspace-name').getByText('Default').waitFor();
}, 120_000);

describe('events and webhooks in the dashboard', () => {
  it('shows events newest first, and an event emitted while the page is open appears at the top without a reload', async () => {
    unwrap(
      await dashboard.owner.call('eventsEmit', {
        body: {
          events: [{ kind: 'model.trained', resource: { kind: 'model', id: 'churn', name: 'churn' }, payload: { auc: 0.91 } }],
        },
      }),
    );
    await page.goto(`${dashboard.server.url}/#/events`);
    const first = page.getByTestId('event-row').first();
    await first.getByText('model.trained').waitFor();
    await page.locator('[data-testid="live-status"][data-status="live"]').waitFor();

    // Emitted over HTTP while the page stays open: only the stream can bring it.
    const { ids } = unwrap(
      await dashboard.owner.call('eventsEmit', {
        body: {
          events: [
            {
              kind: 'model.metrics',
              resource: { kind: 'model', id: 'churn', name: 'churn' },
              payload: { auc: 0.93, note: '<b>not markup</b>' },
            },
          ],
        },
      }),
    );
    const liveRow = page.locator(`[data-testid="event-row"][data-event-id="${ids[0]}"]`);
    await liveRow.waitFor();
    expect(await page.getByTestId('event-row').first().getAttribute('data-event-id')).toBe(ids[0]);
    // The sign-in's audit event is older still.
    expect((await page.getByTestId('event-kind').allTextContents()).slice(0, 2)).toEqual(['model.metrics', 'model.trained']);
    expect(await liveRow.textContent()).toContain('churn');
    expect(await liveRow.textContent()).toContain('api');

    await liveRow.getByTestId('event-toggle').click();
    const payload = page.getByTestId('event-payload');
    await payload.waitFor();
    expect(await payload.textContent()).toContain('"auc": 0.93');
    expect(await payload.textContent()).toContain('"<b>not markup</b>"');
    await screenshot(page, 'events-live');

    // A prefix filter keeps the matching kinds, and the stream honours it for later events.
    await page.getByTestId('events-kind').fill('model.met*');
    await page.getByTestId('events-apply').click();
    await expect.poll(() => page.getByTestId('event-row').count(), { timeout: 10_000 }).toBe(1);
    expect(await page.getByTestId('event-kind').allTextContents()).toEqual(['model.metrics']);
    await page.locator('[data-testid="live-status"][data-status="live"]').waitFor();
    unwrap(
      await dashboard.owner.call('eventsEmit', { body: { events: [{ kind: 'model.trained' }, { kind: 'model.metrics' }] } }),
    );
    await expect.poll(() => page.getByTestId('event-row').count(), { timeout: 10_000 }).toBe(2);
    expect(await page.getByTestId('event-kind').allTextContents()).toEqual(['model.metrics', 'model.metrics']);
    expect(policy.violations).toEqual([]);
  });

  it('links a flow run’s events to the run page and filters by resource id', async () => {
    const runId = randomUUID();
    unwrap(
      await dashboard.owner.call('eventsEmit', {
        body: { events: [{ kind: 'deploy.done', resource: { kind: 'flow-run', id: runId, name: 'nightly-42' } }] },
      }),
    );
    await page.goto(`${dashboard.server.url}/#/events?resourceId=${runId}`);
    // The previous filter's rows stay until the new read replaces them: wait for this event's row.
    await page.locator('[data-testid="event-row"][data-kind="deploy.done"]').waitFor();
    expect(await page.getByTestId('event-row').count()).toBe(1);
    const link = page.getByTestId('event-resource-link');
    expect(await link.textContent()).toBe('nightly-42');
    expect(await link.getAttribute('href')).toBe(`#/runs/${runId}`);
    expect(await page.getByTestId('events-resource').inputValue()).toBe(runId);
  });

  it('hides internal bookkeeping until "Show internal events" is ticked, then lists and streams it', async () => {
    unwrap(await dashboard.owner.call('poolsCreate', { body: { name: 'sensing' } }));
    const poll = () =>
      dashboard.owner.call('poolRunsAdopt', {
        params: { pool: 'sensing' },
        body: { workerId: randomUUID(), runs: [{ id: randomUUID(), attempt: 1 }] },
      });
    // A restarted worker adopting its runs (audited, internal), then an event after it.
    unwrap(await poll());
    const { ids } = unwrap(await dashboard.owner.call('eventsEmit', { body: { events: [{ kind: 'after.poll' }] } }));
    await page.goto(`${dashboard.server.url}/#/events`);
    await page.locator(`[data-testid="event-row"][data-event-id="${ids[0]}"]`).waitFor();
    const claims = page.locator('[data-testid="event-row"][data-kind="audit.pool-runs-adopt"]');
    expect(await claims.count()).toBe(0);
    expect(await page.getByTestId('events-internal').isChecked()).toBe(false);

    await page.getByTestId('events-internal').check();
    await claims.first().waitFor();
    expect(page.url()).toContain('internal=true');
    expect(await claims.count()).toBe(1);
    // The stream carries them too while the box is ticked.
    await page.locator('[data-testid="live-status"][data-status="live"]').waitFor();
    unwrap(await poll());
    await expect.poll(() => claims.count(), { timeout: 10_000 }).toBe(2);

    await page.getByTestId('events-internal').uncheck();
    await expect.poll(() => claims.count(), { timeout: 10_000 }).toBe(0);
    await page.locator(`[data-testid="event-row"][data-event-id="${ids[0]}"]`).waitFor();
    expect(page.url()).not.toContain('internal=true');
    expect(policy.violations).toEqual([]);
  });

  it('creates a webhook whose URL and secret are shown once, and a signed post to that URL becomes an event', async () => {
    await page.goto(`${dashboard.server.url}/#/webhooks`);
    await page.getByTestId('webhooks-page').getByText('No webhooks.').waitFor();
    await page.getByTestId('webhook-name').fill('github');
    await page.getByTestId('webhook-kind').fill('github.push');
    await page.getByTestId('webhook-create').click();

    const created = page.getByTestId('webhook-created');
    await created.waitFor();
    const url = await page.getByTestId('webhook-url').inputValue();
    const secret = await page.getByTestId('webhook-secret').inputValue();
    expect(url).toMatch(new RegExp(`^${dashboard.server.url.replace(/[.]/g, '\\.')}/api/v1/hooks/wh_[A-Za-z0-9_-]{43}$`));
    expect(secret.length).toBeGreaterThan(20);
    const row = page.locator('[data-testid="webhook-row"][data-webhook-name="github"]');
    await row.waitFor();
    expect(await row.textContent()).toContain('github.push');
    expect(await row.getByTestId('webhook-enabled').textContent()).toBe('Enabled');
    expect(await row.getByTestId('webhook-last-used').textContent()).toBe('never');
    const token = url.slice(url.lastIndexOf('/') + 1);
    expect(await row.textContent()).not.toContain(token);
    await screenshot(page, 'webhook-created');

    // The URL the page showed works: a signed post becomes a github.push event.
    const body = JSON.stringify({ ref: 'refs/heads/main' });
    const signature = `sha256=${createHmac('sha256', secret).update(body).digest('hex')}`;
    const res = await fetch(url, {
      method: 'POST',
      headers: { 'content-type': 'application/json', 'x-outpost-signature': signature },
      body,
    });
    expect(res.status).toBe(202);
    const { items } = unwrap(await dashboard.owner.call('eventsList', { query: { kind: 'github.push' } }));
    expect(items).toHaveLength(1);

    // Once dismissed (or on a reload) the secret is gone from the page for good.
    await page.getByTestId('webhook-done').click();
    await page.reload();
    await row.waitFor();
    expect(await page.getByTestId('webhook-created').count()).toBe(0);
    expect(await page.content()).not.toContain(token);
    expect(await page.content()).not.toContain(secret);
    expect(await row.getByTestId('webhook-last-used').textContent()).toMatch(/^(just now|\d+(\.\d+)?\s?\w+ ago)$/);

    await row.getByTestId('webhook-delete').click();
    await row.getByTestId('webhook-delete-confirm').click();
    await page.getByTestId('webhooks-page').getByText('No webhooks.').waitFor();
    expect(unwrap(await dashboard.owner.call('eventWebhooksList', {})).items).toHaveLength(0);
    expect(policy.violations).toEqual([]);
  });
});
