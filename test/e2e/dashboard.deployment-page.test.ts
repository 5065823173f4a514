import { unwrap } from '@outpost/sdk/client';
import type { Backfill, Deployment, Schedule } from '@outpost/sdk/contracts';
import {
  deploymentStatement,
  generateDeployKeyPair,
  keyId,
  parseSigningKey,
  signDeploymentStatement,
} from '@outpost/sdk/signing';
import type { Locator, Page } from 'playwright-core';
import { beforeAll, describe, expect, it } from 'vitest';
import { PolicyWatch, screenshot, signedInPage, useDashboardStack } from '../support/dashboard.js';

const stack = useDashboardStack();
let page: Page;
let deployment: Deployment;
/** greet's deployment whose code is pinned in an OCI layout on the worker's disk: a long, absolute source. */
let pinned: Deployment;
const PINNED_SOURCE = `oci-layout:///srv/outpost/registry/analytics-team/nightly-greeting-flows@sha256:${'0123456789abcdef'.repeat(4)}`;
const policy = new PolicyWatch();

beforeAll(async () => {
  const greetId = stack.deployments.get('greet') as string;
  const greet = unwrap(await stack.owner.call('deploymentsGet', { params: { id: greetId } }));
  // greet's code under a second deployment with a weekday schedule in Berlin.
  ({ deployment } = unwrap(
    await stack.owner.call('deploymentsUpsert', {
      body: {
        flowName: 'greet',
        name: 'daily',
        source: greet.source,
        entrypoint: greet.entrypoint,
        workPool: 'default',
        tags: ['nightly'],
        parameterSchema: greet.parameterSchema ?? undefined,
        parameters: { name: 'Scheduled', times: 1 },
        schedules: [{ slug: 'weekdays', cron: '0 6 * * 1-5', timezone: 'Europe/Berlin' }],
      },
    }),
  ));
  ({ deployment: pinned } = unwrap(
    await stack.owner.call('deploymentsUpsert', {
      body: { flowName: 'greet', name: 'pinned', source: PINNED_SOURCE, entrypoint: greet.entrypoint, workPool: 'default' },
    }),
  ));
  ({ page } = await signedInPage(stack.browser, stack));
  policy.watch(page);
});

/** The wall-clock reading of `iso` in `timeZone`: weekday, hour and minute. */
function wallClock(iso: string, timeZone: string): { weekday: string; time: string } {
  const parts = new Intl.DateTimeFormat('en-GB', {
    timeZone,
    weekday: 'short',
    hour: '2-digit',
    minute: '2-digit',
    hour12: false,
  })
    .formatToParts(new Date(iso))
    .reduce<Record<string, string>>((acc, p) => Object.assign(acc, { [p.type]: p.value }), {});
  return { weekday: parts.weekday ?? '', time: `${parts.hour}:${parts.minute}` };
}

/** What the function below touches of the DOM (this package is typed for Node). */
interface LineDom {
  document: {
    createTreeWalker(root: unknown, whatToShow: number): { nextNode(): { textContent: string | null } | null };
    createRange(): {
      setStart(node: unknown, offset: number): void;
      setEnd(node: unknown, offset: number): void;
      getBoundingClientRect(): { top: number };
    };
  };
}

/** The text of `element` as the browser laid it out, one string per rendered line. */
async function renderedLines(element: Locator): Promise<string[]> {
  return element.evaluate((el) => {
    const dom = globalThis as unknown as LineDom;
    const SHOW_TEXT = 4;
    const walker = dom.document.createTreeWalker(el, SHOW_TEXT);
    const lines: string[] = [];
    let line = '';
    let top: number | null = null;
    for (let node = walker.nextNode(); node; node = walker.nextNode()) {
      const text = node.textContent ?? '';
      for (let i = 0; i < text.length; i++) {
        const range = dom.document.createRange();
        range.setStart(node, i);
        range.setEnd(node, i + 1);
        const at = range.getBoundingClientRect().top;
        if (top !== null && at > top + 2) {
          lines.push(line);
          line = '';
        }
        top = at;
        line += text[i];
      }
    }
    lines.push(line);
    return lines;
  });
}

async function nextTimes(schedule: Locator): Promise<string[]> {
  const times = schedule.locator('[data-testid="schedule-time"] time');
  return times.evaluateAll((nodes) => nodes.map((n) => n.getAttribute('datetime') ?? ''));
}

async function apiSchedule(): Promise<Schedule> {
  const { items } = unwrap(await stack.owner.call('schedulesList', { params: { id: deployment.id } }));
  return items[0] as Schedule;
}

async function apiBackfill(id: string): Promise<Backfill> {
  return unwrap(await stack.owner.call('backfillsGet', { params: { id } }));
}

describe('the deployment page', () => {
  it('opens from the deployments list and shows what the deployment runs, and where', async () => {
    await page.getByTestId('nav-deployments').click();
    const row = page.locator('[data-testid="deployment-row"][data-deployment="greet/daily"]');
    await row.getByTestId('deployment-link').click();
    await page.waitForURL(new RegExp(`#/deployments/${deployment.id}$`));
    await page.getByTestId('deployment-page').waitFor();
    expect(await page.getByTestId('deployment-name').textContent()).toBe('greet/daily');
    // The breadcrumb ends at the deployment, not at a trailing slash.
    expect(await page.getByTestId('breadcrumbs').innerText()).toBe('Deployments / greet/daily');
    expect(await page.getByTestId('deployment-status').textContent()).toBe('Active');
    expect(await page.getByTestId('deployment-concurrency').textContent()).toContain('No limit');
    expect(await page.getByTestId('deployment-signature').textContent()).toBe('unsigned');
    // The parameters form keeps the schema's field order.
    const fields = await page
      .locator('[data-testid="deployment-run"] [data-testid^="param-"]')
      .evaluateAll((nodes) => nodes.map((n) => n.getAttribute('data-testid')));
    expect(fields).toEqual(['param-name', 'param-times']);
  });

  it('says the schedule in words and lists its next five times, DST-correct in its zone', async () => {
    const schedule = page.locator('[data-testid="schedule"][data-slug="weekdays"]');
    await schedule.waitFor();
    expect(await schedule.getByTestId('schedule-sentence').textContent()).toBe('At 06:00, Monday through Friday, Europe/Berlin');
    const times = await nextTimes(schedule);
    expect(times).toHaveLength(5);
    const now = Date.now();
    for (const [i, t] of times.entries()) {
      expect(Date.parse(t)).toBeGreaterThan(now - 60_000);
      if (i > 0) expect(Date.parse(t)).toBeGreaterThan(Date.parse(times[i - 1] as string));
      const clock = wallClock(t, 'Europe/Berlin');
      expect(clock.time).toBe('06:00');
      expect(['Mon', 'Tue', 'Wed', 'Thu', 'Fri']).toContain(clock.weekday);
    }
    await screenshot(page, 'deployment-page');
  });

  it('pauses and resumes the schedule', async () => {
    const schedule = page.locator('[data-testid="schedule"][data-slug="weekdays"]');
    await schedule.getByTestId('schedule-toggle').click();
    await schedule.getByTestId('schedule-status').getByText('Paused').waitFor();
    expect((await apiSchedule()).active).toBe(false);
    await schedule.getByTestId('schedule-toggle').click();
    await schedule.getByTestId('schedule-status').getByText('Active').waitFor();
    expect((await apiSchedule()).active).toBe(true);
  });

  it('refuses a bad cron naming the field, then saves a new cron and zone and says the new schedule', async () => {
    const schedule = page.locator('[data-testid="schedule"][data-slug="weekdays"]');
    await schedule.getByTestId('schedule-edit').click();
    const dialog = page.getByTestId('schedule-dialog');
    await dialog.waitFor();
    await dialog.getByTestId('schedule-cron').fill('61 6 * * *');
    await dialog.getByTestId('schedule-save').click();
    await dialog.getByTestId('schedule-error').waitFor();
    expect(await dialog.getByTestId('schedule-error').textContent()).toContain('body.cron');

    await dialog.getByTestId('schedule-cron').fill('30 7 * * 6');
    await dialog.getByTestId('schedule-timezone').fill('America/New_York');
    expect(await dialog.getByTestId('schedule-preview').textContent()).toBe('At 07:30, only on Saturday, America/New_York');
    await screenshot(page, 'deployment-schedule-edit');
    await dialog.getByTestId('schedule-save').click();
    await dialog.waitFor({ state: 'detached' });

    await schedule.getByTestId('schedule-sentence').getByText('At 07:30, only on Saturday, America/New_York').waitFor();
    const times = await nextTimes(schedule);
    expect(times).toHaveLength(5);
    for (const t of times) expect(wallClock(t, 'America/New_York')).toEqual({ weekday: 'Sat', time: '07:30' });
    expect(await apiSchedule()).toMatchObject({ cron: '30 7 * * 6', timezone: 'America/New_York', active: true });
    // The weekday runs the old definition made leave the runs table, and the scheduler's Saturday ones arrive.
    const scheduledClocks = async () => {
      const names = await page.locator('[data-testid="deployment-runs"] [data-testid="run-link"]').allTextContents();
      return names
        .map((n) => /^daily-(\d{4})(\d{2})(\d{2})T(\d{2})(\d{2})(\d{2})Z$/.exec(n))
        .flatMap((m) => (m ? [wallClock(`${m[1]}-${m[2]}-${m[3]}T${m[4]}:${m[5]}:${m[6]}Z`, 'America/New_York')] : []));
    };
    await expect
      .poll(
        async () => {
          const clocks = await scheduledClocks();
          return clocks.length > 0 && clocks.every((c) => c.weekday === 'Sat' && c.time === '07:30');
        },
        { timeout: 30_000 },
      )
      .toBe(true);
  });

  it('starts a run from the parameters form and draws it in the duration chart in its final state', async () => {
    const form = page.getByTestId('deployment-run');
    await form.getByTestId('param-name').fill('Grace');
    await form.getByTestId('param-times').fill('1');
    await form.getByTestId('run-submit').click();
    await page.getByTestId('run-started').waitFor();
    const runs = unwrap(await stack.owner.call('flowRunsList', { query: { deploymentId: deployment.id, limit: 10 } }));
    const run = runs.items.find((r) => r.parameters.name === 'Grace');
    expect(run).toBeDefined();
    const bar = page.locator(`[data-testid="duration-bar"][data-run-id="${run?.id}"]`);
    await bar.and(page.locator('[data-state="COMPLETED"]')).waitFor({ timeout: 60_000 });
    await page.locator(`[data-testid="run-row"][data-run-id="${run?.id}"]`).waitFor();
    expect(await page.getByTestId('duration-chart').locator('.legend').textContent()).toContain('Completed');
    await screenshot(page, 'deployment-page-run');
    // The same runs over time: a dot at the run's start, linking to it, then back to the bars.
    await page.getByTestId('deployment-chart-dots').click();
    const dot = page.locator(`[data-testid="scatter-dot"][data-run-id="${run?.id}"]`);
    await dot.waitFor();
    expect(await dot.getAttribute('data-state')).toBe('COMPLETED');
    expect(await dot.getAttribute('href')).toBe(`#/runs/${run?.id}`);
    expect(await dot.getAttribute('aria-label')).toMatch(new RegExp(`^${run?.name} · Completed · [^·]+ · started `));
    expect(await page.getByTestId('duration-chart').count()).toBe(0);
    await screenshot(page, 'deployment-page-run-dots');
    await page.getByTestId('deployment-chart-bars').click();
    await bar.waitFor();
  });

  it('creates a backfill over a time range with a concurrency, shows its progress, and cancels it', async () => {
    await page.getByTestId('backfill-new').click();
    const dialog = page.getByTestId('backfill-dialog');
    await dialog.getByTestId('backfill-start').fill('2026-09-01T00:00');
    await dialog.getByTestId('backfill-end').fill('2026-11-01T00:00');
    await dialog.getByTestId('backfill-max-concurrent').fill('2');
    await dialog.getByTestId('backfill-submit').click();
    await dialog.waitFor({ state: 'detached' });

    const row = page.getByTestId('backfill-row').first();
    await row.waitFor();
    const id = (await row.getAttribute('data-backfill-id')) as string;
    const created = await apiBackfill(id);
    expect(created).toMatchObject({ maxConcurrent: 2, scheduleSlug: 'weekdays', partitions: { total: 9 } });
    expect(await row.getByTestId('backfill-progress').textContent()).toMatch(/^\d+ \/ 9 · /);
    await screenshot(page, 'deployment-backfill');

    await row.getByTestId('backfill-cancel').click();
    await page.locator(`[data-testid="backfill-row"][data-backfill-id="${id}"][data-status="CANCELLED"]`).waitFor();
    expect((await apiBackfill(id)).status).toBe('CANCELLED');
  });

  it('pauses and resumes the deployment and sets its concurrency limit', async () => {
    await page.getByTestId('deployment-toggle').click();
    await page.getByTestId('deployment-status').getByText('Paused').waitFor();
    expect(unwrap(await stack.owner.call('deploymentsGet', { params: { id: deployment.id } })).paused).toBe(true);
    await page.getByTestId('deployment-toggle').click();
    await page.getByTestId('deployment-status').getByText('Active').waitFor();

    await page.getByTestId('concurrency-edit').click();
    await page.getByTestId('concurrency-limit').fill('3');
    await page.getByTestId('concurrency-save').click();
    await page.getByTestId('deployment-concurrency').getByText('At most 3 at once; more wait').waitFor();
    expect(unwrap(await stack.owner.call('deploymentsGet', { params: { id: deployment.id } })).concurrencyLimit).toBe(3);
    expect(policy.violations, policy.violations.join('\n')).toEqual([]);
  });

  it('shows an oci-layout source whole with its leading slash, breaking its lines only after a slash', async () => {
    // Narrow enough that the Source column cannot hold the reference on one line.
    await page.setViewportSize({ width: 900, height: 860 });
    try {
      await page.getByTestId('nav-deployments').click();
      const row = page.locator('[data-testid="deployment-row"][data-deployment="greet/pinned"]');
      const source = row.getByTestId('deployment-row-source');
      await source.waitFor();
      const shown = '/srv/outpost/registry/analytics-team/nightly-greeting-flows@sha256:0123456789ab';
      expect(await source.textContent()).toBe(shown);
      expect(await source.getAttribute('title')).toBe(PINNED_SOURCE);
      const lines = await renderedLines(source);
      expect(lines.join('')).toBe(shown);
      expect(lines.length, lines.join(' | ')).toBeGreaterThan(1);
      // Every line but the last ends at a slash: no name or digest is split.
      for (const line of lines.slice(0, -1)) expect(line, lines.join(' | ')).toMatch(/\/$/);
      await screenshot(page, 'deployments-source-column');
    } finally {
      await page.setViewportSize({ width: 1360, height: 860 });
    }
  });

  it('lists upcoming runs soonest first by their expected start, not in the order they were created', async () => {
    const hour = 3_600_000;
    const created: string[] = [];
    for (const [name, inHours] of [
      ['in-2h', 2],
      ['in-1h', 1],
      ['in-3h', 3],
    ] as const) {
      const { flowRun } = unwrap(
        await stack.owner.call('deploymentsCreateRun', {
          params: { id: pinned.id },
          body: { name, scheduledTime: new Date(Date.now() + inHours * hour).toISOString() },
        }),
      );
      expect(flowRun.state.type).toBe('SCHEDULED');
      created.push(flowRun.id);
    }
    const { items } = unwrap(await stack.owner.call('flowRunsList', { query: { deploymentId: pinned.id, limit: 10 } }));
    const soonestFirst = [...items].sort((a, b) => Date.parse(a.expectedStartTime) - Date.parse(b.expectedStartTime));
    expect(soonestFirst.map((r) => r.name)).toEqual(['in-1h', 'in-2h', 'in-3h']);
    // The API lists newest first, which is not the order they run in.
    expect(items.map((r) => r.name)).not.toEqual(['in-1h', 'in-2h', 'in-3h']);

    await page.goto(`${stack.server.url}/#/deployments/${pinned.id}`);
    const rows = page.locator('[data-testid="deployment-runs"] [data-testid="run-row"]');
    await expect.poll(() => rows.count(), { timeout: 15_000 }).toBe(3);
    const shown = await rows.evaluateAll((nodes) => nodes.map((n) => n.getAttribute('data-run-id')));
    expect(shown).toEqual(soonestFirst.map((r) => r.id));
    expect(await rows.getByTestId('run-link').allTextContents()).toEqual(['in-1h', 'in-2h', 'in-3h']);
    await screenshot(page, 'deployment-upcoming-runs');
  });
  it('lists upcoming runs soonest first on the runs page too, above the runs that have started', async () => {
    const { items } = unwrap(await stack.owner.call('flowRunsList', { query: { deploymentId: pinned.id, limit: 10 } }));
    const upcoming = items.filter((r) => r.state.type === 'SCHEDULED' && r.startTime === null);
    const soonestFirst = [...upcoming].sort((a, b) => Date.parse(a.expectedStartTime) - Date.parse(b.expectedStartTime));
    expect(soonestFirst.map((r) => r.name)).toEqual(['in-1h', 'in-2h', 'in-3h']);
    // Created 2h, 1h, 3h: the API's newest-first order is not the order they run in.
    expect(upcoming.map((r) => r.name)).not.toEqual(['in-1h', 'in-2h', 'in-3h']);

    await page.goto(`${stack.server.url}/#/runs?deployment=${pinned.id}`);
    // The deployment page shown before has a runs table of its own: count rows only once the runs
    // page, and its filter bar, has taken its place.
    await page.getByTestId('runs-filters').waitFor();
    const rows = page.locator('[data-testid="runs-table"] [data-testid="run-row"]');
    const shownIds = () => rows.evaluateAll((nodes) => nodes.map((n) => n.getAttribute('data-run-id')));
    await expect.poll(async () => (await shownIds()).length, { timeout: 15_000 }).toBe(items.length);
    expect((await shownIds()).slice(0, 3)).toEqual(soonestFirst.map((r) => r.id));
    await screenshot(page, 'runs-upcoming-soonest-first');
  });
  it('shows the soonest upcoming run first even when more than the 50 newest runs were created after it', async () => {
    const greet = unwrap(await stack.owner.call('deploymentsGet', { params: { id: stack.deployments.get('greet') as string } }));
    const { deployment: busy } = unwrap(
      await stack.owner.call('deploymentsUpsert', {
        body: { flowName: 'greet', name: 'busy', source: greet.source, entrypoint: greet.entrypoint, workPool: 'default' },
      }),
    );
    const hour = 3_600_000;
    const create = async (name: string, inHours: number) =>
      unwrap(
        await stack.owner.call('deploymentsCreateRun', {
          params: { id: busy.id },
          body: { name, scheduledTime: new Date(Date.now() + inHours * hour).toISOString() },
        }),
      ).flowRun;
    // Created first, due first: a schedule's batch can leave the soonest run older than the newest 50.
    const soonest = await create('soonest', 1);
    for (let i = 0; i < 55; i++) await create(`later-${i}`, 24 + i);
    const newest = unwrap(await stack.owner.call('flowRunsList', { query: { deploymentId: busy.id, limit: 50 } }));
    expect(newest.items.map((r) => r.id)).not.toContain(soonest.id);

    await page.goto(`${stack.server.url}/#/deployments/${busy.id}`);
    const rows = page.locator('[data-testid="deployment-runs"] [data-testid="run-row"]');
    await expect.poll(() => rows.first().getAttribute('data-run-id'), { timeout: 15_000 }).toBe(soonest.id);
    expect(await rows.first().getByTestId('run-link').textContent()).toBe('soonest');
    // After it, the rest of the upcoming runs the page read, still soonest first.
    const names = await rows.getByTestId('run-link').allTextContents();
    expect(names.slice(0, 4)).toEqual(['soonest', 'later-0', 'later-1', 'later-2']);
    await screenshot(page, 'deployment-soonest-upcoming');
  });

  it('says which deploy key signed a signed deployment', async () => {
    const pair = generateDeployKeyPair();
    const key = parseSigningKey(pair.privateKeyPem);
    const body = {
      flowName: 'greet',
      name: 'signed',
      source: pinned.source,
      entrypoint: pinned.entrypoint,
      workPool: 'default',
    };
    const signature = await signDeploymentStatement(deploymentStatement({ ...body, deployment: body.name }), key);
    const { deployment: signed } = unwrap(await stack.owner.call('deploymentsUpsert', { body: { ...body, signature } }));
    await page.goto(`${stack.server.url}/#/deployments/${signed.id}`);
    const fact = page.getByTestId('deployment-signature');
    await expect.poll(() => fact.textContent(), { timeout: 15_000 }).toBe(`signed · key ${keyId(key).slice(0, 12)}`);
  });
});
