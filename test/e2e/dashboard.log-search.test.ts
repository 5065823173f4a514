import { unwrap } from '@outpost/sdk/client';
import type { BrowserContext, Page, Route } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { PolicyWatch, screenshot, signedInPage, useDashboard } from '../support/dashboard.js';

const LINES = 100_000;
/** The one line the search looks for, near the end of the log. */
const DEEP_SEQ = 99_990;

const dashboard = useDashboard({ loops: false });
let context: BrowserContext;
let page: Page;
let runId: string;
const policy = new PolicyWatch();
/** Every read of the run's log the page made, as requested. */
const reads: URL[] = [];
/** The page's reads of the whole log (no `q`), held unanswered while `holding`. */
const held: Route[] = [];
let holding = true;
const pageErrors: string[] = [];

const isLogRead = (url: URL) => url.pathname === `/api/v1/flow-runs/${runId}/logs`;

beforeAll(async () => {
  const { deployment } = unwrap(
    await dashboard.owner.call('deploymentsUpsert', {
      body: {
        flowName: 'long-log',
        name: 'e2e',
        source: `oci://127.0.0.1:5000/acme/flows@sha256:${'a'.repeat(64)}`,
        entrypoint: 'flows/long-log.ts',
        workPool: 'default',
      },
    }),
  );
  runId = unwrap(await dashboard.owner.call('deploymentsCreateRun', { params: { id: deployment.id }, body: {} })).flowRun.id;
  // A long log written straight into the table: what matters here is its length, not how it arrived.
  await dashboard.server.sql`
    INSERT INTO logs (flow_run_id, attempt, seq, workspace_id, timestamp, level, message, stream)
    SELECT ${runId}::uuid, 1, s, ${dashboard.server.workspaceId}::uuid, now() - (${LINES} - s) * interval '1 millisecond',
           CASE WHEN s = ${DEEP_SEQ} THEN 'error' ELSE 'info' END,
           CASE WHEN s = ${DEEP_SEQ} THEN 'Checksum mismatch in shard 42 (expected 9f3c, got 0000)'
                ELSE 'Processed batch ' || s || ': ok' END,
           'flow'
    FROM generate_series(1, ${LINES}) s`;

  ({ context, page } = await signedInPage(dashboard.browser, dashboard.server, policy));
  page.on('pageerror', (error) => pageErrors.push(error.message));
  await page.route(isLogRead, async (route) => {
    const url = new URL(route.request().url());
    reads.push(url);
    if (holding && !url.searchParams.has('q')) held.push(route);
    else await route.continue();
  });
});
afterAll(async () => {
  await context?.close();
});

describe("searching a run's log in the dashboard", () => {
  it('finds a line deep in a 100,000-line log by asking the server, without reading the log itself', async () => {
    await page.goto(`${dashboard.server.url}/#/runs/${runId}`);
    // The page starts reading the whole log; that read is held, so only a search can show the line.
    await page.getByTestId('log-search').waitFor();
    await expect.poll(() => held.length, { timeout: 30_000 }).toBe(1);
    await page.getByTestId('log-search').fill('CHECKSUM MISMATCH');

    const found = page.locator('[data-testid="log-line"]', { hasText: 'Checksum mismatch in shard 42' });
    await found.waitFor();
    expect(await page.getByTestId('log-line').count()).toBe(1);
    expect(await found.getAttribute('data-attempt')).toBe('1');
    expect(await found.getAttribute('data-level')).toBe('error');
    expect(await found.locator('mark').textContent()).toBe('Checksum mismatch');
    await page.getByTestId('log-count').getByText('1 matching line', { exact: true }).waitFor();
    await page.getByRole('region', { name: 'Logs' }).scrollIntoViewIfNeeded();
    await screenshot(page, 'run-log-search');

    const searches = reads.filter((url) => url.searchParams.has('q'));
    // The first search reads from the log's start; the run is live, so later ones poll on from where it stopped.
    expect(new Set(searches.map((url) => url.searchParams.get('q')))).toEqual(new Set(['CHECKSUM MISMATCH']));
    expect(searches[0]?.searchParams.has('cursor')).toBe(false);
    // One search request looked at all 100,000 lines; the page read none of them itself.
    expect(reads.length - searches.length).toBe(1);

    await found.getByTitle('Show the whole line').click();
    expect(await page.getByTestId('log-line-detail').textContent()).toContain(`attempt 1 · #${DEEP_SEQ}`);
  });

  it('says so when no line matches, at the level chosen', async () => {
    await page.getByTestId('log-level').selectOption('warning');
    await page.getByTestId('log-search').fill('100% done_');
    await page.getByTestId('log-empty').getByText('No lines at warning and above match “100% done_”.', { exact: true }).waitFor();
    const last = reads.at(-1);
    expect(last?.searchParams.get('q')).toBe('100% done_');
    expect(last?.searchParams.get('level')).toBe('warning');
  });

  it('goes back to the whole log, read as before, once the search box is cleared', async () => {
    await page.getByTestId('log-level').selectOption('debug');
    await page.getByTestId('log-search').fill('');
    // Reads of the whole log are answered from now on, the one held first.
    holding = false;
    for (const route of held.splice(0)) await route.continue();
    await page
      .getByTestId('log-count')
      .getByText(`${LINES.toLocaleString('en-US')} lines`, { exact: true })
      .waitFor({
        timeout: 60_000,
      });
    // Following the tail, as before: the newest line in view.
    await page.locator('[data-testid="log-line"]', { hasText: `Processed batch ${LINES}: ok` }).waitFor();
    expect(pageErrors).toEqual([]);
    expect(policy.violations).toEqual([]);
  });
});
