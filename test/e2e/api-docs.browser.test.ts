import { routes } from '@outpost/sdk/contracts';
import type { BrowserContext, Page } from 'playwright-core';
import { beforeAll, describe, expect, it } from 'vitest';
import { PolicyWatch, screenshot, useDashboard } from '../support/dashboard.js';

const dashboard = useDashboard({ loops: false });
let context: BrowserContext;
let page: Page;
const policy = new PolicyWatch();
/** Every request the page makes that is not to the server under test. */
const elsewhere: string[] = [];
const pageErrors: string[] = [];

beforeAll(async () => {
  // A browser with no credential of any kind: the reference is for anyone who can reach the server.
  context = await dashboard.browser.newContext({ viewport: { width: 1360, height: 900 } });
  page = policy.watch(await context.newPage());
  page.on('request', (request) => {
    if (!request.url().startsWith(`${dashboard.server.url}/`) && !request.url().startsWith('data:'))
      elsewhere.push(request.url());
  });
  page.on('pageerror', (error) => pageErrors.push(error.message));
});

describe('the API reference at /api/docs in a browser', () => {
  it('shows the operations of the OpenAPI document by resource, with nothing loaded from elsewhere and no policy violation', async () => {
    await page.goto(`${dashboard.server.url}/api/docs`);
    // An operation by its summary: the first resource's group is open from the start.
    await page.getByText(routes.whoami.summary, { exact: true }).first().waitFor({ timeout: 60_000 });
    await screenshot(page, 'api-docs');
    // The operations are grouped by the resource they are tagged with; opening one shows its operations.
    await page.getByText('Work pools', { exact: true }).first().waitFor();
    await page.getByText('Flow runs', { exact: true }).first().click();
    await page.getByText(routes.flowRunsGet.summary, { exact: true }).first().waitFor();
    await screenshot(page, 'api-docs-flow-runs');

    expect(elsewhere).toEqual([]);
    expect(pageErrors).toEqual([]);
    expect(policy.violations).toEqual([]);
  });
});
