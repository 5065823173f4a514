import { randomUUID } from 'node:crypto';
import { unwrap } from '@outpost/sdk/client';
import type { Page } from 'playwright-core';
import { beforeAll, describe, expect, it } from 'vitest';
import { PolicyWatch, screenshot, signedInPage, useDashboard } from '../support/dashboard.js';

const BIG = 100_000;
const NAMES = ['load', 'transform', 'score', 'upload'];

const dashboard = useDashboard({ loops: false });
let page: Page;
let deploymentId: string;
const policy = new PolicyWatch();

/** A run of the test deployment that started `startedAgo` seconds ago, moved straight to `state` (no worker runs it). */
async function createRun(state: 'COMPLETED' | 'RUNNING', startedAgo: number): Promise<string> {
  const { flowRun } = unwrap(await dashboard.owner.call('deploymentsCreateRun', { params: { id: deploymentId }, body: {} }));
  await dashboard.server.sql`
    UPDATE flow_runs SET state_type = ${state}, state_name = ${state === 'RUNNING' ? 'Running' : 'Completed'},
           start_time = now() - ${startedAgo} * interval '1 second', end_time = ${state === 'RUNNING' ? null : dashboard.server.sql`now()`},
           updated_at = now()
    WHERE id = ${flowRun.id}`;
  return flowRun.id;
}

/**
 * `count` task runs in one statement, created 5 ms apart from `from` seconds ago: the names in
 * stages of equal size, each ran 0.2 to 3.2 s; every 97th FAILED after three tries, every 1000th
 * (from the first) CRASHED, the rest COMPLETED — or the first `running` still RUNNING.
 */
async function seedTaskRuns(runId: string, count: number, options: { from?: number; offset?: number; running?: number } = {}) {
  const { from = 900, offset = 0, running = 0 } = options;
  const stage = Math.ceil(count / NAMES.length);
  await dashboard.server.sql`
    INSERT INTO task_runs (id, workspace_id, flow_run_id, flow_run_attempt, name, task_key, dynamic_key, run_count,
                           state_type, state_name, state_timestamp, start_time, end_time, created_at, updated_at)
    SELECT gen_random_uuid(), ${dashboard.server.workspaceId}, ${runId}, 1, n.name, n.name || '-' || (g + ${offset}), (g + ${offset})::text,
           CASE WHEN s.type = 'FAILED' THEN 3 ELSE 1 END, s.type, initcap(s.type), c, c + interval '20 milliseconds',
           CASE WHEN s.type = 'RUNNING' THEN NULL
                ELSE c + interval '20 milliseconds' + (200 + (g * 37) % 3000) * interval '1 millisecond' END,
           c, c
    FROM generate_series(1, ${count}) g
    CROSS JOIN LATERAL (SELECT (${NAMES}::text[])[1 + (g - 1) / ${stage}] AS name) n
    CROSS JOIN LATERAL (SELECT CASE WHEN g <= ${running} THEN 'RUNNING' WHEN g % 97 = 0 THEN 'FAILED'
                                    WHEN g % 1000 = 1 THEN 'CRASHED' ELSE 'COMPLETED' END AS type) s
    CROSS JOIN LATERAL (SELECT now() - ${from} * interval '1 second' + g * interval '5 milliseconds' AS c) t`;
  // A run is created before its task runs (the API stamps them so; its pages look them up so).
  await dashboard.server.sql`
    UPDATE flow_runs SET created_at = least(created_at, now() - ${from} * interval '1 second') WHERE id = ${runId}`;
  await dashboard.server.sql`ANALYZE task_runs`;
}

async function countsByState(runId: string): Promise<Record<string, number>> {
  const rows = await dashboard.server.sql<{ state_type: string; n: number }[]>`
    SELECT state_type, count(*)::int AS n FROM task_runs WHERE flow_run_id = ${runId} GROUP BY 1`;
  return Object.fromEntries(rows.map((r) => [r.state_type, r.n]));
}

const listCount = () => page.getByTestId('task-list-count');
const chip = (state: string) => page.locator(`[data-testid="task-state-chip"][data-state="${state}"]`);

async function rowStates(): Promise<string[]> {
  return page
    .locator('[data-testid="task-list-row"]')
    .evaluateAll((rows) => rows.map((r) => r.getAttribute('data-task-state') ?? ''));
}

async function scrollListToEnd(): Promise<void> {
  await page.getByTestId('task-list').evaluate((el) => {
    el.scrollTop = el.scrollHeight;
  });
}

beforeAll(async () => {
  ({
    deployment: { id: deploymentId },
  } = unwrap(
    await dashboard.owner.call('deploymentsUpsert', {
      body: { flowName: 'fan-out', name: 'e2e', source: `dir:///${randomUUID()}`, entrypoint: 'flow.mjs', workPool: 'default' },
    }),
  ));
  ({ page } = await signedInPage(dashboard.browser, dashboard.server, policy));
}, 120_000);

describe('the task runs of a run on its page', () => {
  let big: string;

  it('shows a run of 100,000 task runs by its summary: the total, counts by state, a row per task name and the activity chart', async () => {
    big = await createRun('COMPLETED', 901);
    await seedTaskRuns(big, BIG);
    const expected = await countsByState(big);

    await page.goto(`${dashboard.server.url}/#/runs/${big}`);
    const summary = page.getByTestId('task-summary');
    await summary.waitFor({ timeout: 30_000 });
    expect(await summary.getAttribute('data-mode')).toBe('summary');
    expect(await page.getByTestId('task-total').textContent()).toBe(BIG.toLocaleString('en-US'));
    const chips = await page
      .getByTestId('task-state-chip')
      .evaluateAll((els) => els.map((el) => [el.getAttribute('data-state'), Number(el.getAttribute('data-count'))]));
    expect(Object.fromEntries(chips)).toEqual(expected);

    const names = page.getByTestId('task-name-row');
    expect(
      await names.evaluateAll((rows) => rows.map((r) => [r.getAttribute('data-task-name'), r.getAttribute('data-total')])),
    ).toEqual(NAMES.map((n) => [n, String(BIG / NAMES.length)]));
    // One bar per slice of the run's time, and the peak is the overlap the seed makes (about 340 at once).
    expect(await page.getByTestId('task-activity-bar').count()).toBe(120);
    expect(Number(await page.getByTestId('task-activity').getAttribute('data-peak'))).toBeGreaterThan(100);
    // No bar per task run is drawn for a run this size.
    expect(await page.getByTestId('task-gantt').count()).toBe(0);
    await page.getByTestId('task-list').scrollIntoViewIfNeeded();
    await screenshot(page, 'run-detail-100k-task-runs');
  });

  it('keeps the task-run list virtual: a window of rows in the document, and further pages read as it scrolls', async () => {
    await page.locator('[data-testid="task-list-count"][data-loaded="200"]').waitFor();
    const first = page.getByTestId('task-list-row').first();
    expect(await first.locator('.truncate').first().textContent()).toBe('load');
    expect(await first.getByTestId('task-list-state').getAttribute('data-state')).toBe('CRASHED');
    expect(await page.getByTestId('task-list-row').count()).toBeLessThan(100);

    await scrollListToEnd();
    await page.locator('[data-testid="task-list-count"][data-loaded="400"]').waitFor({ timeout: 15_000 });
    await scrollListToEnd();
    await page.locator('[data-testid="task-list-count"][data-loaded="600"]').waitFor({ timeout: 15_000 });
    expect(await listCount().getAttribute('data-matching')).toBe(String(BIG));
    const rows = await page.getByTestId('task-list-row').count();
    expect(rows).toBeGreaterThan(0);
    expect(rows).toBeLessThan(100);
    // The rows in view are where the list was scrolled to (the end of the second page), in creation order.
    const keys = await page
      .locator('[data-testid="task-list-row"] .mono.truncate')
      .evaluateAll((els) => els.map((el) => Number((el.textContent ?? '').split('-').at(-1))));
    expect(keys).toEqual([...keys].sort((a, b) => a - b));
    expect(keys.at(-1)).toBeGreaterThan(380);
  });

  it('narrows the list to a state when its chip is pressed from the keyboard, then to a task name as well', async () => {
    const failed = (await countsByState(big)).FAILED ?? 0;
    await chip('FAILED').focus();
    await page.keyboard.press('Enter');
    expect(await chip('FAILED').getAttribute('aria-pressed')).toBe('true');
    await page
      .locator(`[data-testid="task-list-count"][data-matching="${failed}"][data-loaded="200"]`)
      .waitFor({ timeout: 15_000 });
    expect(new Set(await rowStates())).toEqual(new Set(['FAILED']));
    await screenshot(page, 'run-detail-task-runs-failed');

    await page.getByTestId('task-filter-name').selectOption('score');
    const [{ n: scoreFailed } = { n: -1 }] = await dashboard.server.sql<{ n: number }[]>`
      SELECT count(*)::int AS n FROM task_runs WHERE flow_run_id = ${big} AND name = 'score' AND state_type = 'FAILED'`;
    await page
      .locator(`[data-testid="task-list-count"][data-matching="${scoreFailed}"][data-loaded="200"]`)
      .waitFor({ timeout: 15_000 });
    const names = await page
      .locator('[data-testid="task-list-row"] .strong')
      .evaluateAll((els) => [...new Set(els.map((el) => el.textContent))]);
    expect(names).toEqual(['score']);
    expect(new Set(await rowStates())).toEqual(new Set(['FAILED']));

    await page.getByTestId('task-filter-clear').click();
    await page.locator(`[data-testid="task-list-count"][data-matching="${BIG}"][data-loaded="200"]`).waitFor({ timeout: 15_000 });
    expect(await chip('FAILED').getAttribute('aria-pressed')).toBe('false');
  });

  it('draws one Gantt bar per task run for a run of ten', async () => {
    const small = await createRun('COMPLETED', 31);
    await seedTaskRuns(small, 10, { from: 30 });
    await page.goto(`${dashboard.server.url}/#/runs/${small}`);
    await page.locator('[data-testid="task-summary"][data-mode="gantt"]').waitFor({ timeout: 30_000 });
    await page.getByTestId('task-gantt').waitFor();
    expect(await page.getByTestId('task-run').count()).toBe(10);
    expect(await page.getByTestId('task-total').textContent()).toBe('10');
    expect(await page.getByTestId('task-list').count()).toBe(0);
    await screenshot(page, 'run-detail-task-gantt');
  });

  it('keeps a live run current: new task runs raise the counts and the rows in view change state without a reload', async () => {
    const live = await createRun('RUNNING', 61);
    await seedTaskRuns(live, 300, { from: 60, running: 40 });
    await page.goto(`${dashboard.server.url}/#/runs/${live}`);
    await page.evaluate(() => {
      (globalThis as unknown as { __sameDocument: boolean }).__sameDocument = true;
    });
    await page.locator('[data-testid="task-list-count"][data-loaded="200"]').waitFor({ timeout: 30_000 });
    expect(await chip('RUNNING').getAttribute('data-count')).toBe('40');
    expect((await rowStates()).filter((s) => s === 'RUNNING').length).toBeGreaterThan(0);

    await seedTaskRuns(live, 100, { from: 5, offset: 300 });
    await dashboard.server.sql`
      UPDATE task_runs SET state_type = 'COMPLETED', state_name = 'Completed', end_time = now(), updated_at = now()
      WHERE flow_run_id = ${live} AND state_type = 'RUNNING'`;
    await page.getByTestId('task-total').getByText('400', { exact: true }).waitFor({ timeout: 15_000 });
    await page.locator('[data-testid="task-list-count"][data-matching="400"]').waitFor({ timeout: 15_000 });
    await page
      .locator('[data-testid="task-list-row"][data-task-state="RUNNING"]')
      .first()
      .waitFor({ state: 'detached', timeout: 15_000 });
    expect(await chip('RUNNING').count()).toBe(0);
    expect(await page.evaluate(() => (globalThis as unknown as { __sameDocument?: boolean }).__sameDocument)).toBe(true);
    await screenshot(page, 'run-detail-task-runs-live');
  });

  it('stays within the content security policy', () => {
    expect(policy.violations).toEqual([]);
  });
});
