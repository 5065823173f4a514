import { randomUUID } from 'node:crypto';
import { OutpostClient, unwrap } from '@outpost/sdk/client';
import { OrganisationUsageResponse, USAGE_MEASURES, USAGE_MONTHS_MAX } from '@outpost/sdk/contracts';
import type { BrowserContext, Page } from 'playwright-core';
import { afterAll, describe, expect, it } from 'vitest';
import { axeViolations, screenshot } from '../support/dashboard.js';
import { PASSWORD, useOrganisationDashboard } from '../support/organisation-dashboard.js';

const ALICE = 'alice@usage.example.com';
const BOB = 'bob@usage.example.com';
const CAROL = 'carol@usage.example.com';
/** Every organisation holds at most this many workspaces; the scale check fills one up. */
const WORKSPACES_MAX = 100;

let organisation: string;
let organisationId: string;
const clients: OutpostClient[] = [];

/** `YYYY-MM`, `n` months after `month`. */
function addMonths(month: string, n: number): string {
  const index = Number(month.slice(0, 4)) * 12 + Number(month.slice(5, 7)) - 1 + n;
  return `${Math.floor(index / 12)}-${String((index % 12) + 1).padStart(2, '0')}`;
}
const thisMonth = () => new Date().toISOString().slice(0, 7);

/** `bypassCSP` lets axe-core's inline script in, for the accessibility check. */
async function signedIn(email: string, { bypassCSP = false } = {}): Promise<{ context: BrowserContext; page: Page }> {
  const { context, page } = await dash.freshPage({ bypassCSP });
  await page.goto(`${dash.server.url}/#/sign-in`);
  await page.getByTestId('sign-in-email').fill(email);
  await page.getByTestId('sign-in-password').fill(PASSWORD);
  await page.getByTestId('sign-in-password-submit').click();
  // A person who can open more than one workspace is asked which to sign in to.
  const signedInAs = page.getByTestId('user-email').getByText(email);
  const which = page.getByTestId('sign-in-password-workspace');
  await signedInAs.or(which).waitFor();
  if (await which.isVisible()) {
    await which.fill('default');
    await page.getByTestId('sign-in-password-submit').click();
    await signedInAs.waitFor();
  }
  await page.getByTestId('nav-organisation').click();
  await page.getByTestId('organisation-role').waitFor();
  return { context, page };
}

/** What the API answers the signed-in person, with the session's cookie as the page sends it. */
async function usageFromApi(context: BrowserContext, query: Record<string, string>): Promise<OrganisationUsageResponse> {
  const res = await context.request.get(
    `${dash.server.url}/api/v1/organisations/${organisation}/usage?${new URLSearchParams(query).toString()}`,
  );
  expect(res.status()).toBe(200);
  return OrganisationUsageResponse.parse(await res.json());
}

/** Each row of the usage table: its workspace and the raw figure behind each formatted cell. */
function tableRows(page: Page): Promise<{ workspace: string; figures: Record<string, number> }[]> {
  return page.$$eval('[data-testid="organisation-usage-row"]', (rows) =>
    rows.map((row) => ({
      workspace: row.getAttribute('data-workspace') ?? '',
      figures: Object.fromEntries(
        [...row.querySelectorAll('td[data-measure]')].map((td) => [
          td.getAttribute('data-measure') ?? '',
          Number(td.getAttribute('data-value')),
        ]),
      ),
    })),
  );
}

/** What the scale check uses of the page's globals (this package compiles without the DOM's types). */
interface InPage {
  document: { body: unknown; querySelectorAll(selector: string): { length: number } };
  MutationObserver: new (
    callback: () => void,
  ) => { observe(target: unknown, options: { childList: boolean; subtree: boolean }): void; disconnect(): void };
  usageDrawn: Promise<number>;
}

/** The month's items of an answer, as the table's rows read. */
function itemsOf(answer: OrganisationUsageResponse, month: string) {
  return answer.items
    .filter((i) => i.month === month)
    .map((i) => ({ workspace: i.workspace, figures: Object.fromEntries(USAGE_MEASURES.map((m) => [m, i[m]])) }));
}

/** Runs of the default workspace, one claimed, run and failed over HTTP as a worker would, and custom events. */
async function useTheDefaultWorkspace(): Promise<void> {
  const { deployment } = unwrap(
    await dash.owner.call('deploymentsUpsert', {
      body: { flowName: 'train', name: 'nightly', source: `dir:///${randomUUID()}`, entrypoint: 'flow.mjs', workPool: 'default' },
    }),
  );
  const runs = [];
  for (let i = 0; i < 3; i++) {
    runs.push(unwrap(await dash.owner.call('deploymentsCreateRun', { params: { id: deployment.id }, body: {} })).flowRun);
  }
  const [claimed] = unwrap(
    await dash.owner.call('claim', { params: { pool: 'default' }, body: { workerId: randomUUID(), limit: 1 } }),
  ).runs;
  if (!claimed) throw new Error('no run was claimed');
  const run = new OutpostClient({ baseUrl: dash.server.url, token: claimed.token });
  clients.push(run);
  for (const type of ['RUNNING', 'FAILED'] as const) {
    unwrap(
      await run.call('flowRunsSetState', {
        params: { id: claimed.flowRun.id },
        body: { transitionId: randomUUID(), state: { type } },
      }),
    );
  }
  unwrap(
    await dash.owner.call('eventsEmit', {
      body: { events: Array.from({ length: 5 }, (_, i) => ({ kind: 'billing.probe', payload: { i } })) },
    }),
  );
}

const dash = useOrganisationDashboard({ seed });

async function seed(): Promise<void> {
  const { server } = dash;
  // The first owner of the default workspace owns its organisation; Bob and Carol run flows in it.
  await dash.person(ALICE, 'owner');
  await dash.person(BOB, 'runner');
  await dash.person(CAROL, 'runner');
  organisation = dash.organisation.slug;
  organisationId = dash.organisation.id;
  // Bob audits the organisation; Carol stays a plain member of it.
  await server.sql`
    UPDATE organisation_members SET role = 'auditor'
    WHERE organisation_id = ${organisationId} AND user_id = (SELECT id FROM users WHERE email = ${BOB})`;
  // A second workspace, which used something last month and nothing yet this month.
  await server.sql`INSERT INTO workspaces (organisation_id, slug, name) VALUES (${organisationId}, 'vision', 'Vision team')`;
  await server.sql`
    INSERT INTO workspace_usage (workspace_id, month, runs, task_runs, compute_seconds, log_lines, log_bytes, events, metadata_bytes)
    SELECT id, ${`${addMonths(thisMonth(), -1)}-01`}::date, 1234567, 89, 12345.5, 4000, 5500000, 77, 2500000000
    FROM workspaces WHERE slug = 'vision'`;
  await useTheDefaultWorkspace();
}
afterAll(async () => {
  for (const c of clients) await c.close();
});

describe("the organisation's usage in the dashboard", () => {
  it("shows the organisation's owner each workspace's figures for this month as the API counts them, over a range she chooses, for one workspace, and as CSV", async () => {
    const { context, page } = await signedIn(ALICE);
    await page.getByTestId('organisation-role').getByText('organisation owner').waitFor();
    const section = page.getByTestId('organisation-usage');
    const table = page.getByTestId('organisation-usage-table');
    await page.locator('[data-testid="organisation-usage-row"][data-workspace="vision"]').waitFor();

    // By default the last six months, this one shown in the table.
    const to = thisMonth();
    const from = addMonths(to, -5);
    expect(await page.getByTestId('organisation-usage-from').inputValue()).toBe(from);
    expect(await page.getByTestId('organisation-usage-to').inputValue()).toBe(to);
    expect(await table.getAttribute('data-month')).toBe(to);
    const answer = await usageFromApi(context, { from, to });
    expect(await tableRows(page)).toEqual(itemsOf(answer, to));
    const [defaultRow] = itemsOf(answer, to).filter((r) => r.workspace === 'default');
    // Three runs made, one of them ran, and five custom events among the workspace's events.
    expect(defaultRow?.figures.runs).toBe(3);
    expect(defaultRow?.figures.computeSeconds).toBeGreaterThan(0);
    expect(defaultRow?.figures.events).toBeGreaterThanOrEqual(5);
    // Counts are written with the browser's thousands separators, and a sliver of compute as less than a minute.
    const defaultCells = page.locator('[data-testid="organisation-usage-row"][data-workspace="default"]');
    expect(await defaultCells.locator('td[data-measure="runs"]').textContent()).toBe('3');
    expect(await defaultCells.locator('td[data-measure="computeSeconds"]').textContent()).toBe('< 1m');
    // A chart per measure, over the six months, each named for what it draws.
    const charts = page.getByTestId('organisation-usage-chart');
    expect(await charts.count()).toBe(USAGE_MEASURES.length);
    expect(await charts.first().locator('svg').getAttribute('aria-label')).toMatch(/^Runs per month by workspace, /);
    expect(await charts.first().locator('.usage-chart-target').count()).toBe(6);
    await page.getByTestId('organisation-usage').scrollIntoViewIfNeeded();
    await screenshot(page, 'organisation-usage');

    // Last month's figures: vision's, formatted.
    await page.getByTestId('organisation-usage-month').selectOption(addMonths(to, -1));
    await page.locator(`[data-testid="organisation-usage-table"][data-month="${addMonths(to, -1)}"]`).waitFor();
    const vision = page.locator('[data-testid="organisation-usage-row"][data-workspace="vision"]');
    const formatted = await page.evaluate(() => (1234567).toLocaleString());
    expect(await vision.locator('td[data-measure="runs"]').textContent()).toBe(formatted);
    expect(await vision.locator('td[data-measure="computeSeconds"]').textContent()).toBe('3h 26m');
    expect(await vision.locator('td[data-measure="logBytes"]').textContent()).toBe('5.5 MB');
    expect(await vision.locator('td[data-measure="metadataBytes"]').textContent()).toBe('2.5 GB');
    // Its chart table tells the same month apart for people who cannot see the bars.
    const runsChart = charts.first();
    await runsChart.locator('summary').click();
    await runsChart.getByTestId('organisation-usage-chart-table').waitFor();
    expect(await runsChart.getByTestId('organisation-usage-chart-table').innerText()).toContain(formatted);

    // A year instead: the table stays on this month, the charts span twelve, the download follows.
    const yearFrom = addMonths(to, -11);
    const reread = page.waitForResponse((r) => r.url().includes(`/usage?from=${yearFrom}`));
    await page.getByTestId('organisation-usage-from').fill(yearFrom);
    expect((await reread).status()).toBe(200);
    await expect.poll(() => charts.first().locator('.usage-chart-target').count(), { timeout: 15_000 }).toBe(12);
    const exportLink = page.getByTestId('organisation-usage-export');
    const yearHref = new URL(`${dash.server.url}${await exportLink.getAttribute('href')}`);
    expect(yearHref.pathname).toBe(`/api/v1/organisations/${organisation}/usage/export`);
    expect(Object.fromEntries(yearHref.searchParams)).toEqual({ from: yearFrom, to });

    // One workspace: its row alone, and the download is its range and its workspace.
    await page.getByTestId('organisation-usage-workspace').selectOption('vision');
    await expect.poll(() => page.getByTestId('organisation-usage-row').count(), { timeout: 15_000 }).toBe(1);
    await page.locator('[data-testid="organisation-usage-row"][data-workspace="vision"]').waitFor();
    const href = new URL(`${dash.server.url}${await exportLink.getAttribute('href')}`);
    expect(Object.fromEntries(href.searchParams)).toEqual({ from: yearFrom, to, workspace: 'vision' });
    expect(await exportLink.getAttribute('download')).toBe(`usage-${organisation}-${yearFrom}-to-${to}.csv`);
    // The link downloads with the session's cookie: a CSV of the chosen range, a line per month.
    const csv = await context.request.get(href.toString());
    expect(csv.status()).toBe(200);
    expect(csv.headers()['content-type']).toContain('text/csv');
    expect(csv.headers()['content-disposition']).toContain(`filename="usage-${organisation}-${yearFrom}-to-${to}.csv"`);
    const lines = (await csv.text()).trimEnd().split('\r\n');
    expect(lines[0]).toBe('month,workspace,runs,task_runs,compute_seconds,log_lines,log_bytes,events,metadata_bytes');
    expect(lines).toHaveLength(1 + 12);
    expect(lines).toContain(`${addMonths(to, -1)},vision,1234567,89,12345.5,4000,5500000,77,2500000000`);
    expect(await page.getByTestId('organisation-usage-legend').innerText()).toBe('vision');

    // More months than one answer holds: the contract's own check says so before anything is asked,
    // the last range stays shown, and there is no CSV of a range the API would refuse.
    let asked = 0;
    page.on('request', (r) => {
      if (r.url().includes('/usage?')) asked += 1;
    });
    await page.getByTestId('organisation-usage-from').fill(addMonths(to, -USAGE_MONTHS_MAX));
    const problem = page.getByTestId('organisation-usage-range');
    await problem.waitFor();
    expect(await problem.textContent()).toContain(`at most ${USAGE_MONTHS_MAX} months`);
    expect(await section.getByTestId('organisation-usage-export').count()).toBe(0);
    expect(await section.getByTestId('organisation-usage-table').count()).toBe(1);
    expect(asked).toBe(0);
    await screenshot(page, 'organisation-usage-refused');
    // A range it takes again is asked for at once.
    const answered = page.waitForResponse((r) => r.url().includes('/usage?') && r.status() === 200);
    await page.getByTestId('organisation-usage-from').fill(addMonths(to, -2));
    await answered;
    await problem.waitFor({ state: 'detached' });
    expect(await section.getByTestId('organisation-usage-export').getAttribute('href')).toContain(`from=${addMonths(to, -2)}`);
    await context.close();
    expect(dash.policy.violations).toEqual([]);
  });

  it("shows the organisation's auditor its usage, and a plain member of it none", async () => {
    const bob = await signedIn(BOB, { bypassCSP: true });
    await bob.page.getByTestId('organisation-role').getByText('organisation auditor').waitFor();
    await bob.page.locator('[data-testid="organisation-usage-row"][data-workspace="default"]').waitFor();
    const answer = await usageFromApi(bob.context, { from: addMonths(thisMonth(), -5), to: thisMonth() });
    expect(await tableRows(bob.page)).toEqual(itemsOf(answer, thisMonth()));
    expect(await bob.page.getByTestId('organisation-usage-export').count()).toBe(1);
    // The section's controls, table and charts meet WCAG 2 A and AA, with a chart's table open.
    await bob.page.getByTestId('organisation-usage-chart').first().locator('summary').click();
    await bob.page.getByTestId('organisation-usage-chart-table').waitFor();
    expect(await axeViolations(bob.page)).toEqual([]);
    await bob.context.close();

    const carol = await signedIn(CAROL);
    await carol.page.getByTestId('organisation-role').getByText('organisation member').waitFor();
    await carol.page.locator('[data-testid="organisation-workspace-row"][data-workspace="default"]').waitFor();
    expect(await carol.page.getByTestId('organisation-usage').count()).toBe(0);
    expect(await carol.page.getByTestId('organisation-usage-export').count()).toBe(0);
    // Nor does the API answer her.
    const refused = await carol.context.request.get(`${dash.server.url}/api/v1/organisations/${organisation}/usage`);
    expect(refused.status()).toBe(403);
    await carol.context.close();
    expect(dash.policy.violations).toEqual([]);
  });

  it('lets the owner make a token with the scopes she chooses, listing each, which reads the usage it was made for and nothing else', async () => {
    const { context, page } = await signedIn(ALICE, { bypassCSP: true });
    const create = page.getByTestId('organisation-token-create');
    const scope = (name: string) => page.locator(`[data-testid="organisation-token-scope-choice"][data-scope="${name}"]`);
    // audit:read is chosen at first; with no scope at all the form cannot be sent.
    expect(await scope('audit:read').isChecked()).toBe(true);
    expect(await scope('usage:read').isChecked()).toBe(false);
    await page.getByTestId('organisation-token-name').fill('chargeback');
    await scope('audit:read').uncheck();
    expect(await create.isDisabled()).toBe(true);
    await scope('usage:read').check();
    await create.click();
    const secret = page.getByTestId('organisation-token-secret');
    await secret.waitFor();
    const usageOnly = await secret.inputValue();
    expect(await page.getByTestId('organisation-token-usage').textContent()).toContain(
      `GET /api/v1/organisations/${organisation}/usage/export`,
    );
    await page.getByTestId('organisation-token-done').click();

    await page.getByTestId('organisation-token-name').fill('both');
    expect(await scope('audit:read').isChecked()).toBe(true);
    await scope('usage:read').check();
    await create.click();
    await page.getByTestId('organisation-token-done').click();
    const scopesOf = (name: string) =>
      page
        .locator(`[data-testid="organisation-token-row"][data-token-name="${name}"]`)
        .getByTestId('organisation-token-scope')
        .allTextContents();
    await page.locator('[data-testid="organisation-token-row"][data-token-name="both"]').waitFor();
    expect(await scopesOf('both')).toEqual(['audit:read', 'usage:read']);
    expect(await scopesOf('chargeback')).toEqual(['usage:read']);
    expect(await axeViolations(page)).toEqual([]);

    // The usage-only token reads the usage CSV, and not the audit export.
    const headers = { authorization: `Bearer ${usageOnly}` };
    const csv = await fetch(`${dash.server.url}/api/v1/organisations/${organisation}/usage/export`, { headers });
    expect(csv.status).toBe(200);
    expect((await csv.text()).split('\r\n')[0]).toContain('month,workspace,runs');
    const audit = await fetch(`${dash.server.url}/api/v1/organisations/${organisation}/audit-log/export`, { headers });
    expect(audit.status).toBe(403);
    await audit.body?.cancel();
    await page.getByTestId('organisation-tokens').scrollIntoViewIfNeeded();
    await screenshot(page, 'organisation-token-scopes');
    await context.close();
    expect(dash.policy.violations).toEqual([]);
  });

  it('draws every workspace of a full organisation over two years', async () => {
    const [{ count } = { count: 0 }] = await dash.server.sql<{ count: number }[]>`
      SELECT count(*)::int AS count FROM workspaces WHERE organisation_id = ${organisationId}`;
    // The organisation filled to its limit, as the harness makes workspaces; then two years of usage for each.
    await dash.server.sql`
      INSERT INTO workspaces (organisation_id, slug, name)
      SELECT ${organisationId}, 'team-' || lpad(n::text, 3, '0'), 'Team ' || n
      FROM generate_series(1, ${WORKSPACES_MAX - count}) n`;
    const to = thisMonth();
    const from = addMonths(to, 1 - USAGE_MONTHS_MAX);
    await dash.server.sql`
      INSERT INTO workspace_usage (workspace_id, month, runs, task_runs, compute_seconds, log_lines, log_bytes, events, metadata_bytes)
      SELECT w.id, (${`${from}-01`}::date + make_interval(months => k))::date,
             w.n * 10 + k, w.n * 40 + k, w.n * 600.5 + k, w.n * 1000 + k, w.n * 90000 + k, w.n * 3 + k, w.n * 250000 + k
      FROM (SELECT id, row_number() OVER (ORDER BY slug) AS n FROM workspaces WHERE organisation_id = ${organisationId}) w
      CROSS JOIN generate_series(0, ${USAGE_MONTHS_MAX - 1}) k
      ON CONFLICT (workspace_id, month) DO NOTHING`;

    const { context, page } = await signedIn(ALICE);
    await expect.poll(() => page.getByTestId('organisation-usage-row').count(), { timeout: 30_000 }).toBe(WORKSPACES_MAX);
    // Watch the page for the two years' table and charts before asking for them, then time them
    // from the moment the answer arrived.
    await page.evaluate(
      ({ workspaces, months, measures }) => {
        const g = globalThis as unknown as InPage;
        const count = (selector: string) => g.document.querySelectorAll(selector).length;
        const done = () =>
          count('[data-testid="organisation-usage-row"]') === workspaces &&
          count('[data-testid="organisation-usage-month"] option') === months &&
          count('[data-testid="organisation-usage-chart"] svg') === measures;
        g.usageDrawn = new Promise((resolve) => {
          const observer = new g.MutationObserver(() => {
            if (!done()) return;
            observer.disconnect();
            resolve(performance.now());
          });
          observer.observe(g.document.body, { childList: true, subtree: true });
        });
      },
      { workspaces: WORKSPACES_MAX, months: USAGE_MONTHS_MAX, measures: USAGE_MEASURES.length },
    );
    const asked = performance.now();
    const answered = page.waitForResponse((r) => r.url().includes(`/usage?from=${from}`));
    await page.getByTestId('organisation-usage-from').fill(from);
    expect((await answered).status()).toBe(200);
    const drawnAt = await page.evaluate(() => (globalThis as unknown as InPage).usageDrawn);
    const shownMs = performance.now() - asked;
    const responseEnd = await page.evaluate((start) => {
      const entries = performance.getEntriesByType('resource') as unknown as { name: string; responseEnd: number }[];
      return entries.filter((e) => e.name.includes(`/usage?from=${start}`)).at(-1)?.responseEnd ?? Number.NaN;
    }, from);
    console.log(
      `usage of ${WORKSPACES_MAX} workspaces × ${USAGE_MONTHS_MAX} months: drawn ${Math.round(drawnAt - responseEnd)} ms after the answer arrived, ${Math.round(shownMs)} ms from asking to seeing`,
    );

    const answer = await usageFromApi(context, { from, to });
    expect(answer.items).toHaveLength(WORKSPACES_MAX * USAGE_MONTHS_MAX);
    expect(await tableRows(page)).toEqual(itemsOf(answer, to));
    // Seven workspaces with colours of their own, the other 93 as one band in every chart.
    const legend = page.getByTestId('organisation-usage-legend');
    expect(await legend.locator('.legend-item').count()).toBe(8);
    expect(await legend.innerText()).toContain(`${WORKSPACES_MAX - 7} other workspaces`);
    const charts = page.getByTestId('organisation-usage-chart');
    expect(await charts.count()).toBe(USAGE_MEASURES.length);
    for (let i = 0; i < USAGE_MEASURES.length; i++) {
      expect(await charts.nth(i).locator('path').count()).toBe(8);
      expect(await charts.nth(i).locator('.usage-chart-target').count()).toBe(USAGE_MONTHS_MAX);
    }
    // The month's total sums every workspace.
    const runsTotal = answer.items.filter((i) => i.month === to).reduce((sum, i) => sum + i.runs, 0);
    expect(
      Number(await page.locator('[data-testid="organisation-usage-total"] td[data-measure="runs"]').getAttribute('data-value')),
    ).toBe(runsTotal);
    await page.getByTestId('organisation-usage-charts').scrollIntoViewIfNeeded();
    await screenshot(page, 'organisation-usage-full');
    await context.close();
    expect(dash.policy.violations).toEqual([]);
  });
});
