import { randomUUID } from 'node:crypto';
import { OutpostClient, unwrap } from '@outpost/sdk/client';
import type { SensorResultInput } from '@outpost/sdk/contracts';
import type { Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { PolicyWatch, screenshot, signedInPage, useDashboard } from '../support/dashboard.js';

/*
 * The Sensors pages and the asset page's Automation section against the real API and Postgres: a
 * deployment with a sensor whose ticks a "worker" completes over HTTP (no worker process runs), and
 * an asset automated when missing whose freshness bound has passed, then each page read in Chromium.
 */

const dashboard = useDashboard({ assetAutomation: { idleMs: 200 } });
let worker: OutpostClient;
let page: Page;
let sensorId: string;
let sensedRunIds: string[];
const policy = new PolicyWatch();
const POOL = 'sensing';

/** Claims the sensor's due tick as a worker and completes it with `result`. */
async function tick(result: SensorResultInput) {
  const workerId = randomUUID();
  const { ticks } = unwrap(await worker.call('sensorTicksClaim', { params: { pool: POOL }, body: { workerId, limit: 5 } }));
  const claimed = ticks.find((t) => t.sensor.id === sensorId);
  if (!claimed) throw new Error('the sensor had no due tick');
  return unwrap(
    await worker.call('sensorTicksComplete', {
      params: { pool: POOL, id: claimed.tickId },
      body: { workerId, outcome: { status: 'ok', result } },
    }),
  );
}

/** Polls `read` until `done` holds of it, or fails after `ms`. */
async function until<T>(read: () => Promise<T>, done: (value: T) => boolean, ms = 20_000): Promise<T> {
  const deadline = Date.now() + ms;
  for (;;) {
    const value = await read();
    if (done(value)) return value;
    if (Date.now() > deadline) throw new Error(`condition not met in ${ms} ms: ${JSON.stringify(value)}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

beforeAll(async () => {
  // The asset automation loop runs (quickly), so the asset's evaluation is the loop's own.
  worker = new OutpostClient({ baseUrl: dashboard.server.url, token: await dashboard.server.createKey('worker') });
  unwrap(await dashboard.owner.call('poolsCreate', { body: { name: POOL } }));
  const { deployment } = unwrap(
    await dashboard.owner.call('deploymentsUpsert', {
      body: {
        flowName: 'ingest',
        name: 'files',
        source: `dir:///${randomUUID()}`,
        entrypoint: 'flow.mjs',
        workPool: POOL,
        sensors: [{ name: 'new-files', intervalSeconds: 300, description: 'Watches the landing bucket' }],
      },
    }),
  );
  unwrap(
    await dashboard.owner.call('deploymentsUpsert', {
      body: {
        flowName: 'assets',
        name: 'warehouse',
        source: `dir:///${randomUUID()}`,
        entrypoint: 'assets.mjs',
        workPool: POOL,
        assets: [
          {
            key: 'scores',
            codeVersion: 'v1',
            automation: { onMissing: true },
            freshness: { maxLagMinutes: 30 },
          },
          { key: 'other', codeVersion: 'v1' },
        ],
      },
    }),
  );
  const { items } = unwrap(await dashboard.owner.call('sensorsList', { query: { deployment: deployment.id } }));
  sensorId = items.find((s) => s.name === 'new-files')?.id ?? '';
  const first = await tick({
    runRequests: [{ runKey: 'a.csv', parameters: { file: 'a.csv' } }, { runKey: 'b.csv' }],
    cursor: 'b.csv',
  });
  sensedRunIds = first.runs.map((r) => r.flowRunId ?? '');
  unwrap(await dashboard.owner.call('sensorsTickNow', { params: { id: sensorId } }));
  await tick({ skipReason: 'no new files since b.csv' });
  // The asset was defined two hours ago and never written: thirty minutes is long past.
  await dashboard.server.sql`UPDATE asset_definitions SET created_at = created_at - interval '2 hours' WHERE key = 'scores'`;
  await until(
    async () => unwrap(await dashboard.owner.call('assetsEvaluations', { query: { key: 'scores' } })).items,
    (items) => items.some((e) => e.outcome === 'REQUESTED'),
  );

  ({ page } = await signedInPage(dashboard.browser, dashboard.server, policy));
}, 120_000);
afterAll(async () => {
  await worker?.close();
});

describe('sensors in the dashboard', () => {
  it('lists the sensor with its deployment, interval and last tick, and pausing and resuming it from the list changes it in the API', async () => {
    await page.goto(`${dashboard.server.url}/#/sensors`);
    await page.getByTestId('nav-sensors').waitFor();
    const row = page.getByTestId('sensor-row').filter({ hasText: 'new-files' });
    await row.waitFor();
    const text = await row.textContent();
    expect(text).toContain('ingest/files');
    expect(text).toContain('5m 00s');
    expect(await row.getByTestId('sensor-last-tick').textContent()).toContain('Skipped');
    expect(await row.getByTestId('sensor-status').textContent()).toBe('Active');
    expect(await page.getByTestId('sensors-count').textContent()).toBe('1 sensor');
    await screenshot(page, 'sensors-list');

    await row.getByTestId('sensor-toggle-pause').click();
    await row.getByTestId('sensor-status').getByText('Paused').waitFor();
    expect(unwrap(await dashboard.owner.call('sensorsGet', { params: { id: sensorId } })).paused).toBe(true);
    expect(await row.getByTestId('sensor-tick-now').isDisabled()).toBe(true);
    await row.getByTestId('sensor-toggle-pause').click();
    await row.getByTestId('sensor-status').getByText('Active').waitFor();
    expect(unwrap(await dashboard.owner.call('sensorsGet', { params: { id: sensorId } })).paused).toBe(false);
    expect(policy.violations).toEqual([]);
  });

  it('shows a sensor’s cursor and its ticks with the runs they requested, the skip reason and the cursors', async () => {
    await page.goto(`${dashboard.server.url}/#/sensors`);
    await page.getByTestId('sensor-row').filter({ hasText: 'new-files' }).getByTestId('sensor-link').click();
    await page.getByTestId('sensor-detail').waitFor();
    expect(await page.getByTestId('sensor-name').textContent()).toBe('new-files');
    expect(await page.getByTestId('sensor-cursor').textContent()).toBe('b.csv');
    const ticks = page.getByTestId('sensor-tick');
    await ticks.nth(1).waitFor();
    expect(await ticks.count()).toBe(2);
    // Newest first: the skipped tick, then the one that asked for two runs.
    const skipped = ticks.nth(0);
    expect(await skipped.getAttribute('data-status')).toBe('SKIPPED');
    expect(await skipped.getByTestId('sensor-tick-reason').textContent()).toBe('no new files since b.csv');
    expect(await skipped.getByTestId('sensor-tick-cursor').textContent()).toBe('b.csv → b.csv');
    const requested = ticks.nth(1);
    expect(await requested.getAttribute('data-status')).toBe('REQUESTED');
    expect(await requested.getByTestId('sensor-tick-cursor').textContent()).toBe('∅ → b.csv');
    const links = requested.getByTestId('sensor-tick-run-link');
    expect(await links.count()).toBe(2);
    expect(await links.evaluateAll((as) => as.map((a) => a.getAttribute('href')))).toEqual(
      sensedRunIds.map((id) => `#/runs/${id}`),
    );
    await screenshot(page, 'sensor-detail');

    // Resuming made a tick due; once a worker has done it the next is five minutes out, and Tick now brings it back to now.
    await tick({ skipReason: 'still nothing' });
    const later = Date.parse(unwrap(await dashboard.owner.call('sensorsGet', { params: { id: sensorId } })).nextTickAt);
    expect(later - Date.now()).toBeGreaterThan(60_000);
    await page.getByTestId('sensor-tick-now').click();
    await until(
      async () => Date.parse(unwrap(await dashboard.owner.call('sensorsGet', { params: { id: sensorId } })).nextTickAt),
      (at) => at <= Date.now() + 1000,
    );
    await ticks.nth(2).waitFor();
    expect(await ticks.nth(0).getByTestId('sensor-tick-reason').textContent()).toBe('still nothing');

    // The rows moved down by one: the run link is found by its tick's status.
    await page
      .locator('[data-testid="sensor-tick"][data-status="REQUESTED"]')
      .getByTestId('sensor-tick-run-link')
      .first()
      .click();
    await page.getByTestId('run-state').waitFor();
    expect(page.url()).toContain(`#/runs/${sensedRunIds[0]}`);
    expect(policy.violations).toEqual([]);
  });
});

describe('asset automation in the dashboard', () => {
  it('shows the policy in words, the freshness bound as overdue and the loop’s evaluation with its run', async () => {
    await page.goto(`${dashboard.server.url}/#/assets/scores`);
    const section = page.getByTestId('asset-automation');
    await section.waitFor();
    expect(await page.getByTestId('asset-health').getAttribute('data-health')).toBe('OVERDUE');
    expect(await section.getByTestId('asset-automation-policy').textContent()).toBe(
      'Materialised automatically when it was never materialised.',
    );
    expect(await section.getByTestId('asset-freshness-policy').textContent()).toContain('At most 30 minutes old.');
    const state = section.getByTestId('asset-freshness-state');
    expect(await state.getAttribute('data-status')).toBe('VIOLATED');
    expect(await state.getAttribute('class')).toContain('health-overdue');
    expect(await state.textContent()).toMatch(/^Overdue by (8[89]|9\d) minutes$/);
    const evaluation = section.getByTestId('asset-evaluation').filter({ hasText: 'Requested' }).first();
    await evaluation.waitFor();
    expect(await evaluation.textContent()).toContain('missing:');
    const { items } = unwrap(await dashboard.owner.call('assetsEvaluations', { query: { key: 'scores' } }));
    const requested = items.find((e) => e.outcome === 'REQUESTED');
    expect(await evaluation.getByTestId('asset-evaluation-run').getAttribute('href')).toBe(`#/runs/${requested?.flowRunId}`);
    await screenshot(page, 'asset-automation-overdue');

    // The catalog's health filter offers OVERDUE and finds the asset by it.
    await page.goto(`${dashboard.server.url}/#/assets`);
    const rows = page.getByTestId('asset-row');
    await rows.nth(1).waitFor();
    await page.getByTestId('asset-filter-health').selectOption('OVERDUE');
    await until(
      () => rows.count(),
      (n) => n === 1,
    );
    expect(await rows.evaluateAll((rs) => rs.map((r) => r.getAttribute('data-asset')))).toEqual(['scores']);
    expect(policy.violations).toEqual([]);
  });
});
