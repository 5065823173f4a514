import { randomUUID } from 'node:crypto';
import { OutpostClient, unwrap } from '@outpost/sdk/client';
import type { FlowRun, JsonObject } from '@outpost/sdk/contracts';
import type { Page } from 'playwright-core';
import { beforeAll, describe, expect, it } from 'vitest';
import { PolicyWatch, screenshot, signedInPage, useDashboardStack } from '../support/dashboard.js';

const stack = useDashboardStack();
let page: Page;
const policy = new PolicyWatch();

async function createRun(flowName: string, parameters: JsonObject = {}): Promise<FlowRun> {
  const id = stack.deployments.get(flowName);
  if (!id) throw new Error(`no deployment for ${flowName}`);
  return unwrap(await stack.owner.call('deploymentsCreateRun', { params: { id }, body: { parameters } })).flowRun;
}

async function apiRun(id: string): Promise<FlowRun> {
  return unwrap(await stack.owner.call('flowRunsGet', { params: { id } }));
}

/** Marks the document; a reload would lose the mark. */
async function markDocument(): Promise<void> {
  await page.evaluate(() => {
    (globalThis as unknown as { __sameDocument: boolean }).__sameDocument = true;
  });
}

async function sameDocument(): Promise<boolean> {
  return page.evaluate(() => (globalThis as unknown as { __sameDocument?: boolean }).__sameDocument === true);
}

const stateBadge = (state: string) => page.locator(`[data-testid="run-state"][data-state="${state}"]`);

/** Deploys the fixture bundle's `raw/events` asset as the `assets` flow the worker runs; the name of its check. */
async function deployAssets(): Promise<string> {
  const check = 'every_event_falls_within_its_day';
  const greet = unwrap(await stack.owner.call('deploymentsGet', { params: { id: stack.deployments.get('greet') as string } }));
  // The fixture bundle's `raw/events` asset, deployed as the `assets` flow that the worker runs.
  unwrap(
    await stack.owner.call('deploymentsUpsert', {
      body: {
        flowName: 'assets',
        name: 'e2e',
        source: greet.source,
        entrypoint: greet.entrypoint,
        workPool: 'default',
        assets: [
          {
            key: 'raw/events',
            partitions: { kind: 'time', cadence: 'daily', start: '2026-01-01', end: '2026-02-01', timezone: 'UTC' },
            codeVersion: 'v1',
            checks: [{ name: check, blocking: false }],
          },
        ],
      },
    }),
  );
  return check;
}

beforeAll(async () => {
  ({ page } = await signedInPage(stack.browser, stack));
  policy.watch(page);
});

describe('the dashboard against a real API and worker', () => {
  it('signs in through the one-time link, which leaves the address bar and works only once', async () => {
    expect(page.url()).not.toContain('token=');
    await page.getByTestId('nav-overview').waitFor();
    expect(await page.locator('.role').textContent()).toBe('owner');
    await screenshot(page, 'overview');

    const url = await stack.signInUrl();
    const first = await stack.browser.newContext();
    const second = await stack.browser.newContext();
    try {
      const a = await first.newPage();
      await a.goto(url);
      await a.getByTestId('workspace-name').getByText('Default').waitFor();
      const b = await second.newPage();
      await b.goto(url);
      await b.getByTestId('sign-in-error').waitFor();
      expect(await b.getByTestId('sign-in-error').textContent()).toContain('expired or was already used');
      await screenshot(b, 'sign-in-used-link');
    } finally {
      await first.close();
      await second.close();
    }
  });

  it('starts a run with parameters from the deployment page and shows it reach COMPLETED without a reload', async () => {
    await page.getByTestId('nav-deployments').click();
    const row = page.locator('[data-testid="deployment-row"][data-deployment="greet/e2e"]');
    await row.waitFor();
    await screenshot(page, 'deployments');
    await row.getByTestId('deployment-run').click();
    await page.getByTestId('run-dialog').waitFor();
    // A minimum of one character is "1 character": counts are pluralised by one helper everywhere.
    expect(await page.getByTestId('run-dialog').textContent()).toContain('at least 1 character');
    expect(await page.getByTestId('run-dialog').textContent()).not.toContain('1 characters');
    await page.getByTestId('param-name').fill('Ada');
    await page.getByTestId('param-times').fill('3');
    await screenshot(page, 'run-dialog');
    await markDocument();
    await page.getByTestId('run-submit').click();

    await page.waitForURL(/#\/runs\/[0-9a-f-]{36}$/);
    const id = page.url().split('/').at(-1) ?? '';
    await page.getByTestId('run-detail').waitFor();
    await stateBadge('COMPLETED').waitFor({ timeout: 60_000 });
    expect(await sameDocument()).toBe(true);
    expect(await page.getByTestId('run-parameters').textContent()).toContain('Ada');
    const run = await apiRun(id);
    expect(run.state.type).toBe('COMPLETED');
    expect(run.parameters).toEqual({ name: 'Ada', times: 3 });
    // The return value stays in the worker's result storage: the page shows where, as the API holds it.
    const ref = (run.state.data as { resultRef?: string } | null)?.resultRef;
    expect(ref).toEqual(expect.any(String));
    await expect.poll(() => page.getByTestId('run-result').textContent()).toBe(`in your storage at ${ref}`);
    // The deployment is named with its flow, here as on every page.
    expect(await page.getByTestId('run-deployment').textContent()).toBe('greet/e2e');

    // Its logs: every line arrives, and the line full of markup is shown as the text it is.
    await page.locator('[data-testid="log-line"]', { hasText: 'hello Ada #3' }).waitFor({ timeout: 30_000 });
    const markup = page.locator('[data-testid="log-line"]', { hasText: 'markup stays text' });
    await markup.waitFor({ timeout: 30_000 });
    expect(await markup.locator('.log-message').textContent()).toBe(
      '<script>window.__pwned = true</script><img src=x onerror="window.__pwned = true"> markup stays text',
    );
    expect(await page.locator('[data-testid="log-lines"] img').count()).toBe(0);
    expect(await page.locator('[data-testid="log-lines"] script').count()).toBe(0);
    expect(await page.evaluate(() => (globalThis as unknown as { __pwned?: boolean }).__pwned)).toBeUndefined();

    // Its artifacts (markdown with markup shown as text, a table, a progress bar) and its subflow run.
    const summary = page.locator('[data-testid="artifact"][data-key="summary"]');
    await summary.waitFor({ timeout: 30_000 });
    expect(await summary.textContent()).toContain('<img src=x onerror="window.__pwned = true"> stays text');
    expect(await summary.locator('img').count()).toBe(0);
    // GitHub-flavoured markdown, and an SVG image drawn with its script and handler removed.
    const report = page.locator('[data-testid="artifact"][data-key="report"]');
    await report.waitFor();
    expect(await report.locator('table td').allTextContents()).toEqual(['b', '0.87', 'a', '0.91']);
    expect(await report.locator('del').textContent()).toBe('draft');
    const chart = report.locator('img[alt="chart"]');
    await chart.waitFor();
    const src = (await chart.getAttribute('src')) ?? '';
    expect(src.startsWith('data:image/svg+xml;base64,')).toBe(true);
    const drawn = Buffer.from(src.split(',')[1] ?? '', 'base64').toString();
    expect(drawn).toContain('<rect');
    expect(drawn).not.toMatch(/script|onload|__pwned/);
    // Drawn: the cleaned SVG decodes to its 40-pixel width once the image has loaded.
    await expect.poll(() => chart.evaluate((img) => (img as unknown as { naturalWidth: number }).naturalWidth)).toBe(40);
    // A table artifact sorts by a column header: by value, then the other way.
    const squares = page.locator('[data-testid="artifact"][data-type="table"]');
    await squares.waitFor();
    const column = async () => squares.locator('tbody tr td:first-child').allTextContents();
    expect(await column()).toEqual(['1', '10', '2']);
    await squares.getByTestId('sort-header').first().getByRole('button').click();
    expect(await column()).toEqual(['1', '2', '10']);
    expect(await squares.getByTestId('sort-header').first().getAttribute('aria-sort')).toBe('ascending');
    await squares.getByTestId('sort-header').first().getByRole('button').press('Enter');
    expect(await column()).toEqual(['10', '2', '1']);
    // Drawn like the Markdown table above it: a border and padding on every cell.
    const cellStyle = (cell: ReturnType<Page['locator']>) =>
      cell.evaluate((el) => {
        const style = (globalThis as unknown as { getComputedStyle(e: unknown): Record<string, string> }).getComputedStyle(el);
        return { border: style.borderTopWidth, padding: style.paddingLeft, display: style.display };
      });
    const tableCell = await cellStyle(squares.locator('tbody td').first());
    expect(tableCell).toEqual(await cellStyle(report.locator('table td').first()));
    expect(tableCell).toEqual({ border: '1px', padding: '8px', display: 'table-cell' });
    await squares.scrollIntoViewIfNeeded();
    await screenshot(page, 'run-artifact-table');
    expect(await page.getByTestId('artifact-progress').getAttribute('data-percent')).toBe('100');
    await page.getByTestId('run-child').first().waitFor({ timeout: 30_000 });
    expect(await page.evaluate(() => (globalThis as unknown as { __pwned?: boolean }).__pwned)).toBeUndefined();
    await screenshot(page, 'run-detail-completed');
  });

  it('follows new runs and their states on the runs page over the live event stream', async () => {
    await page.getByTestId('nav-runs').click();
    await page.locator('[data-testid="live-status"][data-status="live"]').waitFor({ timeout: 20_000 });
    await markDocument();
    const run = await createRun('greet', { name: 'Grace' });
    const row = page.locator(`[data-testid="run-row"][data-run-id="${run.id}"]`);
    await row.waitFor({ timeout: 20_000 });
    await row.locator('[data-testid="state-badge"][data-state="COMPLETED"]').waitFor({ timeout: 60_000 });
    expect(await sameDocument()).toBe(true);
    expect(await page.getByTestId('live-status').getAttribute('data-status')).toBe('live');
    await screenshot(page, 'runs');
  });

  it('cancels a long run from its page', async () => {
    const run = await createRun('forever');
    await page.goto(`${stack.server.url}/#/runs/${run.id}`);
    await stateBadge('RUNNING').waitFor({ timeout: 60_000 });
    await page.locator('[data-testid="log-line"]', { hasText: 'waiting to be cancelled' }).waitFor({ timeout: 30_000 });
    // Cancel asks first; Escape keeps the run going.
    await page.getByTestId('run-cancel').click();
    const dialog = page.getByTestId('run-cancel-dialog');
    await dialog.waitFor();
    expect(await dialog.getAttribute('aria-label')).toBe(`Cancel ${run.name}?`);
    await page.keyboard.press('Escape');
    await dialog.waitFor({ state: 'detached' });
    expect((await apiRun(run.id)).state.type).toBe('RUNNING');
    // From the keyboard: Tab to "Cancel run" and press Enter.
    await page.getByTestId('run-cancel').click();
    await dialog.waitFor();
    await screenshot(page, 'run-cancel-dialog');
    for (let i = 0; i < 3; i++) {
      if (
        await page
          .getByTestId('run-cancel-confirm')
          .evaluate((el) => el === (globalThis as unknown as { document: { activeElement: unknown } }).document.activeElement)
      )
        break;
      await page.keyboard.press('Tab');
    }
    await page.keyboard.press('Enter');
    await page.getByTestId('run-action-outcome').getByText('Cancellation requested.').waitFor();
    // The page shows CANCELLED as soon as the API has it, not a poll interval later.
    let apiCancelledAt = 0;
    await expect
      .poll(
        async () => {
          const type = (await apiRun(run.id)).state.type;
          if (type === 'CANCELLED' && apiCancelledAt === 0) apiCancelledAt = Date.now();
          return type;
        },
        { timeout: 60_000, interval: 50 },
      )
      .toBe('CANCELLED');
    await stateBadge('CANCELLED').waitFor({ timeout: 60_000 });
    const lag = Date.now() - apiCancelledAt;
    expect(lag).toBeLessThan(1500);
    expect(await page.getByTestId('run-retry').isEnabled()).toBe(true);
    await screenshot(page, 'run-detail-cancelled');
  });

  it("keeps the runs list's filters and chart in the address: a link reproduces the view, and Back restores the view before", async () => {
    const greetId = stack.deployments.get('greet') as string;
    const { flowRun: tagged } = unwrap(
      await stack.owner.call('deploymentsCreateRun', {
        params: { id: greetId },
        body: { tags: ['report'], parameters: { name: 'Tagged' } },
      }),
    );
    await expect.poll(async () => (await apiRun(tagged.id)).state.type, { timeout: 60_000 }).toBe('COMPLETED');
    // A run still going, drawn hollow at its duration so far.
    const going = await createRun('forever');
    await expect.poll(async () => (await apiRun(going.id)).state.type, { timeout: 60_000 }).toBe('RUNNING');

    await page.goto(`${stack.server.url}/#/runs`);
    await page.getByTestId('run-row').first().waitFor();
    await markDocument();
    await page.getByTestId('filter-state-COMPLETED').click();
    await page.waitForURL(/state=COMPLETED/);
    await page.getByTestId('filter-flow').selectOption('greet');
    await page.waitForURL(/flow=greet/);
    await page.getByTestId('filter-deployment').selectOption(greetId);
    await page.waitForURL(/deployment=/);
    await page.getByTestId('filter-tag').fill('report');
    await page.getByTestId('filter-tag').press('Enter');
    await page.waitForURL(/tag=report/);
    await page.getByTestId('filter-window').selectOption('24h');
    await page.waitForURL(/window=24h/);
    await page.getByTestId('chart-durations').click();
    await page.waitForURL(/chart=durations/);
    expect(await sameDocument()).toBe(true);

    const rows = page.locator('[data-testid="runs-table"] [data-testid="run-row"]');
    await expect.poll(() => rows.evaluateAll((n) => n.map((e) => e.getAttribute('data-run-id')))).toEqual([tagged.id]);
    const dot = page.locator(`[data-testid="scatter-dot"][data-run-id="${tagged.id}"]`);
    await dot.waitFor();
    expect(await page.getByTestId('scatter-dot').count()).toBe(1);
    expect(await dot.getAttribute('data-state')).toBe('COMPLETED');
    expect(await dot.getAttribute('href')).toBe(`#/runs/${tagged.id}`);
    const label = (await dot.getAttribute('aria-label')) ?? '';
    expect(label).toMatch(new RegExp(`^${tagged.name} · Completed · [^·]+ · started [^·]+$`));
    expect(await dot.locator('title').textContent()).toBe(label);
    expect(await dot.locator('circle').getAttribute('class')).toBe('fill-completed');
    expect(await page.getByTestId('scatter-y-tick').count()).toBeGreaterThan(1);
    expect(await page.getByTestId('scatter-x-tick').count()).toBeGreaterThan(0);
    await screenshot(page, 'runs-durations-filtered');

    // The address alone reproduces the view in another tab.
    const shared = page.url();
    const other = await page.context().newPage();
    try {
      await other.goto(shared);
      await other.locator(`[data-testid="scatter-dot"][data-run-id="${tagged.id}"]`).waitFor();
      expect(await other.getByTestId('filter-state-COMPLETED').getAttribute('aria-pressed')).toBe('true');
      expect(await other.getByTestId('filter-state-FAILED').getAttribute('aria-pressed')).toBe('false');
      await expect.poll(() => other.getByTestId('filter-flow').inputValue()).toBe('greet');
      await expect.poll(() => other.getByTestId('filter-deployment').inputValue()).toBe(greetId);
      expect(await other.getByTestId('filter-tag').inputValue()).toBe('report');
      expect(await other.getByTestId('filter-window').inputValue()).toBe('24h');
      expect(await other.getByTestId('chart-durations').getAttribute('aria-pressed')).toBe('true');
      const otherRows = other.locator('[data-testid="runs-table"] [data-testid="run-row"]');
      await expect.poll(() => otherRows.evaluateAll((n) => n.map((e) => e.getAttribute('data-run-id')))).toEqual([tagged.id]);
    } finally {
      await other.close();
    }

    // Back undoes one change at a time, in the same document.
    await page.goBack();
    await page.getByTestId('duration-scatter').waitFor({ state: 'detached' });
    expect(page.url()).not.toContain('chart=');
    expect(await page.getByTestId('filter-window').inputValue()).toBe('24h');
    await page.goBack();
    await expect.poll(() => page.getByTestId('filter-window').inputValue()).toBe('all');
    expect(await page.getByTestId('filter-tag').inputValue()).toBe('report');
    await page.goBack();
    await expect.poll(() => page.getByTestId('filter-tag').inputValue()).toBe('');
    expect(page.url()).toMatch(/deployment=/);
    await page.goBack();
    await expect.poll(() => page.getByTestId('filter-deployment').inputValue()).toBe('');
    expect(await page.getByTestId('filter-flow').inputValue()).toBe('greet');
    await page.goBack();
    await expect.poll(() => page.getByTestId('filter-flow').inputValue()).toBe('');
    expect(await page.getByTestId('filter-state-COMPLETED').getAttribute('aria-pressed')).toBe('true');
    await page.goBack();
    await expect.poll(() => page.getByTestId('filter-state-COMPLETED').getAttribute('aria-pressed')).toBe('false');
    expect(page.url()).toMatch(/#\/runs$/);
    expect(await sameDocument()).toBe(true);

    // Forward again to the chart, now over every run: the one still going is a hollow ring.
    await page.goto(`${stack.server.url}/#/runs?flow=forever&chart=durations`);
    const ring = page.locator(`[data-testid="scatter-dot"][data-run-id="${going.id}"]`);
    await ring.waitFor();
    expect(await ring.getAttribute('data-running')).toBe('true');
    expect(await ring.locator('circle').getAttribute('class')).toBe('scatter-running stroke-running');
    expect(await ring.getAttribute('aria-label')).toMatch(/ so far · started /);
    await screenshot(page, 'runs-durations-running');
    unwrap(await stack.owner.call('flowRunsCancel', { params: { id: going.id }, body: {} }));
    await page
      .locator(`[data-testid="scatter-dot"][data-run-id="${going.id}"][data-running="false"]`)
      .waitFor({ timeout: 60_000 });
  });

  it('retries a failed run as a new attempt', async () => {
    const run = await createRun('flaky');
    await page.goto(`${stack.server.url}/#/runs/${run.id}`);
    await stateBadge('FAILED').waitFor({ timeout: 60_000 });
    expect(await page.getByTestId('run-attempt').textContent()).toContain('1');
    await page.getByTestId('run-retry').click();
    await page.getByTestId('run-action-outcome').getByText('Run scheduled again.').waitFor();
    await page.getByTestId('run-attempt').getByText('2').waitFor({ timeout: 30_000 });
    await stateBadge('FAILED').waitFor({ timeout: 60_000 });
    const retried = await apiRun(run.id);
    expect(retried.attempt).toBe(2);
    expect(retried.state.type).toBe('FAILED');
    // The duration is the wall-clock time from the first start to the end, said so on hover; the
    // attempts' running time, which leaves out the wait before the retry, stands beside it, labelled.
    const duration = page.getByTestId('run-duration');
    await page.getByTestId('run-working-time').getByText('working over 2 attempts').waitFor({ timeout: 30_000 });
    expect(await duration.locator('[title]').first().getAttribute('title')).toContain("from the run's first start to its end");
    // A retry asked for by hand says so, and each attempt keeps its worker after the run ended.
    expect(await page.getByTestId('run-attempt').textContent()).toBe('2 (retried by hand)');
    const rows = page.getByTestId('run-attempt-row');
    await rows.nth(1).locator('[data-testid="run-attempt-badge"][data-state="FAILED"]').waitFor({ timeout: 30_000 });
    expect(await rows.count()).toBe(2);
    expect(await rows.nth(0).getByTestId('run-attempt-cause').textContent()).toBe('first attempt');
    expect(await rows.nth(1).getByTestId('run-attempt-cause').textContent()).toBe('retried by hand');
    for (const i of [0, 1]) {
      expect((await rows.nth(i).getByTestId('run-attempt-worker').textContent())?.trim()).not.toBe('');
      expect(await rows.nth(i).getByTestId('run-attempt-badge').getAttribute('data-state')).toBe('FAILED');
    }
    // The logs: a task column, a separator where attempt 2 begins, and a jump to its failure.
    const prepared = page.locator('[data-testid="log-line"][data-attempt="2"]', { hasText: 'preparing the flaky input' });
    await prepared.waitFor({ timeout: 30_000 });
    expect(await prepared.getByTestId('log-task').textContent()).toMatch(/^prepare/);
    const separator = page.getByTestId('log-attempt-separator');
    expect(await separator.count()).toBe(1);
    expect(await separator.textContent()).toBe('attempt 2');
    await page.locator('[data-testid="log-line"][data-attempt="2"]', { hasText: 'about to fail on purpose' }).waitFor();
    await page.getByTestId('log-jump-failure').click();
    const detail = page.getByTestId('log-line-detail');
    await detail.waitFor();
    expect(await detail.textContent()).toContain('attempt 2');
    expect(await detail.locator('pre').textContent()).toBe('about to fail on purpose');
    await screenshot(page, 'run-detail-retried');
  });

  it("names an asset run's task runs after the partition in the Gantt chart, a long name cut short on one line and titled whole", async () => {
    const check = await deployAssets();
    const { flowRunId } = unwrap(
      await stack.owner.call('assetsMaterialize', { body: { assets: ['raw/events'], partitions: { keys: ['2026-01-03'] } } }),
    );
    await page.goto(`${stack.server.url}/#/runs/${flowRunId}`);
    await stateBadge('COMPLETED').waitFor({ timeout: 60_000 });
    const names = page.getByTestId('task-run-name');
    const expected = ['raw/events [2026-01-03]', `raw/events:${check} [2026-01-03]`];
    await expect.poll(async () => (await names.allTextContents()).sort(), { timeout: 30_000 }).toEqual(expected);
    const { items } = unwrap(
      await stack.owner.call('taskRunsList', { params: { id: flowRunId as string }, query: { limit: 10 } }),
    );
    expect(items.map((t) => t.name).sort()).toEqual(expected);
    for (const name of expected) {
      expect(await names.filter({ hasText: name }).getAttribute('title')).toBe(name);
    }
    type Box = { scrollWidth: number; clientWidth: number; clientHeight: number };
    const measure = (hasText: string) =>
      names.filter({ hasText }).evaluate((el) => {
        const box = el as unknown as Box;
        const style = (
          globalThis as unknown as { getComputedStyle: (e: unknown) => { textOverflow: string; whiteSpace: string } }
        ).getComputedStyle(el);
        return {
          cut: box.scrollWidth > box.clientWidth,
          height: box.clientHeight,
          ellipsis: style.textOverflow === 'ellipsis' && style.whiteSpace === 'nowrap',
        };
      });
    // The asset's own name fits its column wholly; the check's is wider, so it stays on one line
    // (no taller than the short name) and ends in an ellipsis instead of wrapping onto the next row.
    const short = await measure(expected[0] as string);
    expect(short.cut).toBe(false);
    const long = await measure(check);
    expect(long.cut).toBe(true);
    expect(long.ellipsis).toBe(true);
    expect(long.height).toBe(short.height);
    const checkLabel = names.filter({ hasText: check });
    await checkLabel.scrollIntoViewIfNeeded();
    await screenshot(page, 'run-detail-asset-gantt');
  });

  it('leads from the top of the run page to each section the run has, and shows a log line’s task with its partition', async () => {
    const check = await deployAssets();
    const { flowRunId } = unwrap(
      await stack.owner.call('assetsMaterialize', { body: { assets: ['raw/events'], partitions: { keys: ['2026-01-04'] } } }),
    );
    await page.goto(`${stack.server.url}/#/runs/${flowRunId}`);
    await stateBadge('COMPLETED').waitFor({ timeout: 60_000 });
    const links = page.getByTestId('run-section-link');
    // The run has task runs and logs, and no waits: the navigation offers what it has and nothing else.
    await expect
      .poll(async () => await links.allTextContents(), { timeout: 30_000 })
      .toEqual(expect.arrayContaining(['Logs', 'Task runs']));
    expect(await links.allTextContents()).not.toContain('Waits');
    // In a screen too short for the page, the navigation is in its first screen and the logs are
    // below it; the Logs button brings the logs into view without the reader scrolling.
    const size = page.viewportSize();
    await page.setViewportSize({ width: size?.width ?? 1280, height: 500 });
    try {
      const nav = await page.getByTestId('run-sections').boundingBox();
      expect(nav?.y ?? Number.POSITIVE_INFINITY).toBeLessThan(500);
      const logs = page.locator('#run-logs');
      expect((await logs.boundingBox())?.y).toBeGreaterThan(500);
      await links.filter({ hasText: 'Logs' }).click();
      await expect
        .poll(async () => {
          const box = await logs.boundingBox();
          return box !== null && box.y >= 0 && box.y < 250;
        })
        .toBe(true);
    } finally {
      if (size) await page.setViewportSize(size);
    }
    const logs = page.locator('#run-logs');
    expect(
      await logs.evaluate(
        (el) => el === (globalThis as unknown as { document: { activeElement: unknown } }).document.activeElement,
      ),
    ).toBe(true);
    // The check's log lines name their task; the partition key is shown whole however long the name is.
    const task = page.locator('[data-testid="log-task"]', { hasText: check }).first();
    await task.waitFor({ timeout: 30_000 });
    expect(await task.getAttribute('title')).toBe(`raw/events:${check} [2026-01-04]`);
    const partition = task.getByTestId('log-task-partition');
    expect(await partition.textContent()).toBe('[2026-01-04]');
    const [column, key] = await Promise.all([task.boundingBox(), partition.boundingBox()]);
    expect(column && key && key.x + key.width <= column.x + column.width + 0.5).toBe(true);
    expect(
      await partition.evaluate((el) => {
        const box = el as unknown as { scrollWidth: number; clientWidth: number };
        return box.scrollWidth <= box.clientWidth;
      }),
    ).toBe(true);
    await screenshot(page, 'run-detail-sections');
  });

  it('shows the other main pages, all within the content security policy', async () => {
    for (const [nav, ready, name] of [
      ['nav-overview', 'runs-chart', 'overview-after-runs'],
      ['nav-work-pools', 'pool-card', 'work-pools'],
      ['nav-settings', 'api-keys-table', 'settings'],
    ] as const) {
      await page.getByTestId(nav).click();
      await page.getByTestId(ready).first().waitFor();
      if (nav === 'nav-overview') expect(await page.getByTestId('kpi-runs').textContent()).toMatch(/[1-9]/);
      await screenshot(page, name);
    }
    expect(policy.violations, policy.violations.join('\n')).toEqual([]);
  });

  it('says on the run page and the deployments page that no worker polls a pool, and drops it once one does', async () => {
    unwrap(await stack.owner.call('poolsCreate', { body: { name: 'unpolled' } }));
    const { deployment } = unwrap(
      await stack.owner.call('deploymentsUpsert', {
        body: {
          flowName: 'greet',
          name: 'unpolled',
          source: `oci-layout:///nowhere@sha256:${'b'.repeat(64)}`,
          entrypoint: 'x.js',
          workPool: 'unpolled',
        },
      }),
    );
    const run = unwrap(await stack.owner.call('deploymentsCreateRun', { params: { id: deployment.id }, body: {} })).flowRun;
    expect(run.waitingFor).toBe('no_worker');

    await page.goto(`${stack.server.url}/#/runs/${run.id}`);
    const banner = page.getByTestId('pool-waiting-banner');
    await banner.waitFor();
    expect(await banner.textContent()).toContain('No worker is polling work pool unpolled');
    expect(await banner.textContent()).toContain('outpost worker start --pool unpolled');
    await screenshot(page, 'run-detail-no-worker');

    await page.getByTestId('nav-deployments').click();
    await page.getByTestId('deployments-table').waitFor();
    const banners = page.getByTestId('pool-waiting-banner');
    await banners.first().waitFor();
    // Only the pool nobody polls: `default` has the stack's worker.
    expect(await banners.allTextContents()).toEqual([expect.stringContaining('work pool unpolled')]);
    await screenshot(page, 'deployments-no-worker');

    // A worker heartbeats on the pool: the run page's next read drops the banner.
    const key = await stack.server.createKey('worker', ['unpolled']);
    const worker = new OutpostClient({ baseUrl: stack.server.url, token: key });
    try {
      unwrap(
        await worker.call('workersHeartbeat', {
          params: { pool: 'unpolled' },
          body: { workerId: randomUUID(), name: 'late-worker', capacity: 1, runs: [] },
        }),
      );
    } finally {
      await worker.close();
    }
    await page.goto(`${stack.server.url}/#/runs/${run.id}`);
    await page.getByTestId('run-detail').waitFor();
    await page.getByTestId('run-state').waitFor();
    expect(await page.getByTestId('pool-waiting-banner').count()).toBe(0);
    unwrap(await stack.owner.call('flowRunsCancel', { params: { id: run.id }, body: {} }));
    expect(policy.violations, policy.violations.join('\n')).toEqual([]);
  });

  it('signs out: the session ends and the pages ask to sign in again', async () => {
    await page.getByTestId('sign-out').click();
    await page.getByTestId('sign-in-form').waitFor();
    await page.goto(`${stack.server.url}/#/runs`);
    await page.getByTestId('sign-in-form').waitFor();
    expect(page.url()).toContain('#/sign-in');
    await screenshot(page, 'sign-in');
  });
});
