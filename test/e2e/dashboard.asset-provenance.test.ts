import { randomUUID } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { OutpostClient, unwrap } from '@outpost/sdk/client';
import type {
  AssetCheckWaiver,
  AssetDefinitionInput,
  AssetEvent,
  AssetMaterializationLineageResponse,
} from '@outpost/sdk/contracts';
import type { BrowserContext, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { AssetSeeder } from '../support/assets.js';
import { axeViolations, ownerSignInUrl, PolicyWatch, screenshot, signedInPage, useDashboard } from '../support/dashboard.js';

/*
 * The "What produced this" panel of an asset's page against the real API and Postgres: a model fed
 * by a daily-partitioned upstream and an unpartitioned one, materialised twice (registered in MLflow
 * as version 2, then as version 3 with a failed non-blocking check that a named admin key waived),
 * read in Chromium — the upstream table, the check and its waiver, the registration, an older
 * materialisation picked in the selector — and the exported JSON compared with the API's document.
 */

const MODEL = 'churn/model';
const DAILY = { kind: 'time', cadence: 'daily', start: '2026-01-01', end: '2026-02-01', timezone: 'UTC' } as const;
const graph = (modelCode: string): AssetDefinitionInput[] => [
  { key: 'churn/features', partitions: DAILY, codeVersion: 'v1-features', group: 'ml' },
  { key: 'ref/customers', codeVersion: 'v1-customers', group: 'ingest' },
  {
    key: MODEL,
    deps: ['churn/features', 'ref/customers'],
    codeVersion: modelCode,
    group: 'ml',
    checks: [{ name: 'auc_floor', blocking: false, severity: 'WARN', description: 'AUC at least 0.75' }],
  },
];
const WAIVER_REASON = 'AUC dip explained by the holiday week; approved for release';
const WAIVER_KEY = 'ana-lima';
const BUNDLE_DIGEST = `sha256:${'a'.repeat(64)}`;

const dashboard = useDashboard({ loops: false });
let seeder: AssetSeeder;
let page: Page;
const policy = new PolicyWatch();
/** The model's two materialisations and the runs that wrote them. */
let older: { id: string; runId: string; runName: string };
let latest: { id: string; runId: string; runName: string };
/** The numeric metadata of the two days of features, as written: a raw row count and a typed size. */
const FEATURE_METADATA = {
  '2026-01-01': { row_count: 1200, bytes: { type: 'int', value: 40_960 }, path: 's3://lake/features/2026-01-01.parquet' },
  '2026-01-02': { row_count: 1350, bytes: { type: 'int', value: 45_056 }, path: 's3://lake/features/2026-01-02.parquet' },
} as const;
let waiver: AssetCheckWaiver;

/** The API's provenance document of one materialisation of the model (the latest without `at`), as the owner reads it. */
async function apiDocument(at?: string): Promise<AssetMaterializationLineageResponse> {
  return unwrap(await dashboard.owner.call('assetsMaterializationLineage', { query: { key: MODEL, ...(at ? { at } : {}) } }));
}

/** A document without the moment it was generated, the one field two reads of the same materialisation differ in. */
function timeless(doc: AssetMaterializationLineageResponse): Omit<AssetMaterializationLineageResponse, 'generatedAt'> {
  const { generatedAt: _generatedAt, ...rest } = doc;
  return rest;
}

/** The upstream rows of the panel as [asset key, partition key or ''], in the order shown. */
async function upstreamRows(p: Page): Promise<[string, string][]> {
  const rows = p.getByTestId('asset-provenance').getByTestId('provenance-node');
  const out: [string, string][] = [];
  for (let i = 0; i < (await rows.count()); i++) {
    out.push([(await rows.nth(i).getAttribute('data-asset')) ?? '', (await rows.nth(i).getAttribute('data-partition')) ?? '']);
  }
  return out;
}

/** Clicks "Export JSON" and returns the file the browser saved, parsed, and the name it was offered under. */
async function exportJson(p: Page): Promise<{ name: string; doc: AssetMaterializationLineageResponse }> {
  const [download] = await Promise.all([p.waitForEvent('download'), p.getByTestId('provenance-export').click()]);
  expect(await download.failure()).toBeNull();
  const path = await download.path();
  const text = await readFile(path, 'utf8');
  return { name: download.suggestedFilename(), doc: JSON.parse(text) as AssetMaterializationLineageResponse };
}

/** The name of a run, as the API gives it. */
async function runName(id: string): Promise<string> {
  return unwrap(await dashboard.owner.call('flowRunsGet', { params: { id } })).name;
}

/** The points of the metadata chart on the page as [value, run id], left to right. */
async function chartPoints(p: Page): Promise<[number, string][]> {
  return p
    .getByTestId('metadata-chart-point')
    .evaluateAll((els) =>
      els.map((el) => [Number(el.getAttribute('data-value')), el.getAttribute('data-run-id') ?? ''] as [number, string]),
    );
}

async function openModel(p: Page): Promise<void> {
  await p.goto(`${dashboard.server.url}/#/assets/${encodeURIComponent(MODEL)}`);
  await p.locator('[data-testid="asset-detail"]').getByTestId('provenance-root').waitFor();
}

/** A new page of `context`, signed in as the owner, on the model with its upstreams drawn. */
async function modelPageIn(context: BrowserContext): Promise<Page> {
  const p = await context.newPage();
  await p.goto(await ownerSignInUrl(dashboard.server));
  await p.getByTestId('workspace-name').getByText('Default').waitFor();
  await openModel(p);
  await p.getByTestId('provenance-node').nth(2).waitFor();
  return p;
}

beforeAll(async () => {
  seeder = await AssetSeeder.create(dashboard.server, dashboard.owner);
  const s = seeder;
  await s.deploy(graph('model-v2'));
  await s.materialize({ assets: ['churn/features'], partitions: { keys: ['2026-01-01'] } }, (_assets, day) => [
    s.materialization('churn/features', day, FEATURE_METADATA['2026-01-01']),
  ]);
  await s.materialize({ assets: ['ref/customers'] });
  // Version 2 of the model, trained on the first day of features only.
  const first = s.materialization(MODEL, null, {
    auc: 0.81,
    'registered.mlflow': { name: 'churn', version: '2', uri: 'models:/churn/2' },
  });
  const firstRun = await s.materialize({ assets: [MODEL] }, () => [first]);
  // New model code and a second day of features, then version 3, whose AUC check fails and is waived.
  await s.deploy(graph('model-v3'));
  await s.materialize({ assets: ['churn/features'], partitions: { keys: ['2026-01-02'] } }, (_assets, day) => [
    s.materialization('churn/features', day, FEATURE_METADATA['2026-01-02']),
  ]);
  const second = s.materialization(MODEL, null, {
    auc: 0.71,
    'registered.mlflow': { name: 'churn', version: '3', uri: 'models:/churn/3' },
  });
  const check: AssetEvent = {
    kind: 'check',
    id: randomUUID(),
    assetKey: MODEL,
    checkName: 'auc_floor',
    partitionKey: null,
    materializationId: second.id,
    passed: false,
    severity: 'WARN',
    blocking: false,
    metadata: { auc: 0.71, floor: 0.75 },
  };
  const secondRun = await s.materialize({ assets: [MODEL] }, () => [second, check]);
  older = { id: first.id, runId: firstRun.flowRunId ?? '', runName: await runName(firstRun.flowRunId ?? '') };
  latest = { id: second.id, runId: secondRun.flowRunId ?? '', runName: await runName(secondRun.flowRunId ?? '') };
  const { key } = unwrap(await dashboard.owner.call('apiKeysCreate', { body: { name: WAIVER_KEY, role: 'admin' } }));
  const lead = new OutpostClient({ baseUrl: dashboard.server.url, token: key });
  try {
    waiver = unwrap(await lead.call('assetsWaive', { body: { assetKey: MODEL, checkName: 'auc_floor', reason: WAIVER_REASON } }));
  } finally {
    await lead.close();
  }
  ({ page } = await signedInPage(dashboard.browser, dashboard.server, policy));
});

afterAll(async () => {
  await seeder?.close();
});

describe('the "What produced this" panel of an asset', () => {
  it('shows the latest materialisation of a model: its run, code and bundle, both upstreams with their partitions, the waived check and the MLflow registration', async () => {
    const doc = await apiDocument();
    expect(doc.materializationId).toBe(latest.id);
    expect(doc.materializations[0]?.run.sourceDigest).toBe(BUNDLE_DIGEST);

    await openModel(page);
    const panel = page.getByTestId('asset-provenance');
    expect(await panel.getByTestId('provenance-at').inputValue()).toBe('');

    // The run that wrote it by its name (linked), the code version and the bundle's digest.
    expect(doc.materializations[0]?.run.name).toBe(latest.runName);
    expect(latest.runName).not.toBe(latest.runId.slice(0, 8));
    const root = panel.getByTestId('provenance-root');
    const rootText = (await root.textContent()) ?? '';
    expect(rootText).toContain(`Run ${latest.runName} (attempt 1), code model-v3, bundle ${BUNDLE_DIGEST}`);
    expect(await root.locator(`a[href$="/runs/${latest.runId}"]`).textContent()).toBe(latest.runName);

    // Every upstream materialisation it consumed: both days of the partitioned features, the customers table.
    const rows = panel.getByTestId('provenance-node');
    await rows.nth(2).waitFor();
    expect(await rows.count()).toBe(3);
    const shown = await upstreamRows(page);
    expect([...shown].sort()).toEqual([
      ['churn/features', '2026-01-01'],
      ['churn/features', '2026-01-02'],
      ['ref/customers', ''],
    ]);
    // In the API's order, each with its level and code version.
    expect(shown).toEqual(doc.materializations.slice(1).map((m) => [m.assetKey, m.partitionKey ?? '']));
    const customers = panel.locator('[data-testid="provenance-node"][data-asset="ref/customers"]');
    expect(await customers.locator('td').nth(0).textContent()).toBe('1');
    expect(await customers.locator('td').nth(2).textContent()).toBe('—');
    expect(await customers.locator('td').nth(3).textContent()).toBe('v1-customers');
    const day2 = panel.locator('[data-testid="provenance-node"][data-partition="2026-01-02"]');
    expect(await day2.locator('td').nth(1).textContent()).toBe('churn/features');
    expect(await day2.locator('td').nth(2).textContent()).toBe('2026-01-02');
    expect(await panel.getByTestId('provenance-truncated').count()).toBe(0);
    // Each upstream row names the run that wrote it, linked to that run's page.
    for (const m of doc.materializations.slice(1)) {
      const row = panel.locator(
        `[data-testid="provenance-node"][data-asset="${m.assetKey}"][data-partition="${m.partitionKey ?? ''}"]`,
      );
      const link = row.getByTestId('provenance-run');
      expect(m.run.name).toBe(await runName(m.run.id));
      expect(await link.textContent()).toBe(m.run.name);
      expect(await link.getAttribute('href')).toMatch(new RegExp(`/runs/${m.run.id}$`));
    }

    // The failed check, not blocking, waived by the named key with its reason.
    const checks = panel.getByTestId('provenance-check');
    expect(await checks.count()).toBe(1);
    expect(await checks.first().textContent()).toContain('Check auc_floor failed (WARN, not blocking)');
    const waivers = checks.first().getByTestId('provenance-waiver');
    expect(await waivers.count()).toBe(1);
    const waiverText = (await waivers.first().textContent()) ?? '';
    expect(waiver.waivedBy).toBe(WAIVER_KEY);
    expect(waiverText).toContain(`waived by ${WAIVER_KEY} on `);
    expect(waiverText).toContain(`: “${WAIVER_REASON}”`);

    // The registration from the registered.mlflow metadata.
    const registrations = panel.getByTestId('provenance-registration');
    expect(await registrations.count()).toBe(1);
    expect(await registrations.first().textContent()).toBe('Registered in mlflow: name=churn uri=models:/churn/3 version=3');

    // Each fact is readable: none runs out of its line into another (the bundle digest is 71 characters).
    const facts = await root.locator(':scope > li').evaluateAll((items) =>
      items.map((item) => {
        const el = item as unknown as {
          scrollWidth: number;
          clientWidth: number;
          getBoundingClientRect(): { top: number; bottom: number };
        };
        const box = el.getBoundingClientRect();
        return { overflows: el.scrollWidth > el.clientWidth, top: box.top, bottom: box.bottom };
      }),
    );
    expect(facts).toHaveLength(3);
    expect(facts.filter((f) => f.overflows)).toEqual([]);
    for (let i = 1; i < facts.length; i++) {
      expect(facts[i]?.top, `fact ${i + 1} starts below fact ${i}`).toBeGreaterThanOrEqual(facts[i - 1]?.bottom ?? Number.NaN);
    }

    await panel.scrollIntoViewIfNeeded();
    await screenshot(page, 'asset-provenance-latest');
    expect(policy.violations).toEqual([]);
  });

  it('shows an older materialisation picked in the selector: its own run, code and registration, the one day of features it consumed and no check', async () => {
    await openModel(page);
    const panel = page.getByTestId('asset-provenance');
    const select = panel.getByTestId('provenance-at');
    // Latest, then the model's materialisations newest first.
    expect(await select.locator('option').evaluateAll((os) => os.map((o) => (o as unknown as { value: string }).value))).toEqual([
      '',
      latest.id,
      older.id,
    ]);
    await select.selectOption(older.id);

    const registration = panel.getByTestId('provenance-registration');
    await registration.filter({ hasText: 'version=2' }).waitFor();
    expect(await registration.count()).toBe(1);
    expect(await registration.first().textContent()).toBe('Registered in mlflow: name=churn uri=models:/churn/2 version=2');
    const rootText = (await panel.getByTestId('provenance-root').textContent()) ?? '';
    expect(rootText).toContain(`Run ${older.runName} (attempt 1), code model-v2, bundle ${BUNDLE_DIGEST}`);
    expect(await panel.getByTestId('provenance-root').getByTestId('provenance-run').getAttribute('data-run-id')).toBe(
      older.runId,
    );
    expect(await upstreamRows(page)).toEqual([
      ['churn/features', '2026-01-01'],
      ['ref/customers', ''],
    ]);
    expect(await panel.getByTestId('provenance-check').count()).toBe(0);
    expect(await panel.getByTestId('provenance-waiver').count()).toBe(0);

    // Back to the latest.
    await select.selectOption('');
    await registration.filter({ hasText: 'version=3' }).waitFor();
    expect(await panel.getByTestId('provenance-node').count()).toBe(3);
    expect(await panel.getByTestId('provenance-check').count()).toBe(1);
    expect(policy.violations).toEqual([]);
  });

  it('exports the document of the materialisation shown as a JSON file equal to what the API answers for it', async () => {
    await openModel(page);
    const panel = page.getByTestId('asset-provenance');

    // The latest, as the panel opens.
    await panel.getByTestId('provenance-node').nth(2).waitFor();
    const newest = await exportJson(page);
    expect(newest.name).toBe(`churn_model-${latest.id}-lineage.json`);
    expect(newest.doc.materializationId).toBe(latest.id);
    expect(timeless(newest.doc)).toEqual(timeless(await apiDocument(latest.id)));
    expect(newest.doc.materializations.map((m) => m.assetKey).sort()).toEqual([
      'churn/features',
      'churn/features',
      MODEL,
      'ref/customers',
    ]);
    expect(newest.doc.materializations[0]?.checks[0]?.waivers[0]).toMatchObject({ waivedBy: WAIVER_KEY, reason: WAIVER_REASON });

    // The older one, once picked.
    await panel.getByTestId('provenance-at').selectOption(older.id);
    await panel.getByTestId('provenance-registration').filter({ hasText: 'version=2' }).waitFor();
    const previous = await exportJson(page);
    expect(previous.name).toBe(`churn_model-${older.id}-lineage.json`);
    expect(previous.doc.materializationId).toBe(older.id);
    expect(timeless(previous.doc)).toEqual(timeless(await apiDocument(older.id)));
    expect(timeless(previous.doc)).not.toEqual(timeless(newest.doc));
    expect(policy.violations).toEqual([]);
  });

  it('keeps the upstream table whole at phone width: it scrolls sideways in its own box, and the page does not', async () => {
    const context = await dashboard.browser.newContext({ viewport: { width: 390, height: 844 } });
    try {
      const p = await modelPageIn(context);
      const box = p.getByTestId('provenance-upstream-scroll');
      const widths = await box.evaluate((el) => {
        const table = el.querySelector('table') as unknown as { scrollWidth: number };
        const panel = el.closest('.panel') as unknown as { clientWidth: number };
        const doc = (el.ownerDocument as unknown as { documentElement: { scrollWidth: number; clientWidth: number } })
          .documentElement;
        return {
          box: (el as unknown as { clientWidth: number }).clientWidth,
          boxScroll: (el as unknown as { scrollWidth: number }).scrollWidth,
          table: table.scrollWidth,
          panel: panel.clientWidth,
          page: doc.scrollWidth,
          window: doc.clientWidth,
        };
      });
      // The table is wider than the panel, so its box scrolls to the whole of it, the Run column included.
      expect(widths.table).toBeGreaterThan(widths.panel);
      expect(widths.boxScroll).toBeGreaterThanOrEqual(widths.table);
      expect(widths.box).toBeLessThanOrEqual(widths.panel);
      expect(widths.page).toBeLessThanOrEqual(widths.window);
      // The facts above it wrap, the 71-character bundle digest included, instead of running out of the panel.
      const overflowing = await p
        .getByTestId('provenance-root')
        .locator(':scope > li')
        .evaluateAll(
          (items) =>
            items.filter(
              (item) =>
                (item as unknown as { scrollWidth: number; clientWidth: number }).scrollWidth >
                (item as unknown as { clientWidth: number }).clientWidth,
            ).length,
        );
      expect(overflowing).toBe(0);
      // The metadata chart is drawn as wide as its panel, so its text keeps its size.
      const chart = await p
        .getByTestId('metadata-chart')
        .locator('svg')
        .evaluate((svg) => ({
          drawn: (svg as unknown as { viewBox: { baseVal: { width: number } } }).viewBox.baseVal.width,
          shown: (svg as unknown as { getBoundingClientRect(): { width: number } }).getBoundingClientRect().width,
        }));
      expect(Math.abs(chart.drawn - chart.shown)).toBeLessThanOrEqual(1);
      const lastRun = p.getByTestId('provenance-node').nth(2).getByTestId('provenance-run');
      await lastRun.scrollIntoViewIfNeeded();
      expect(await lastRun.isVisible()).toBe(true);
      await screenshot(p, 'asset-provenance-phone');
    } finally {
      await context.close();
    }
  });

  it('charts the numeric metadata of an asset over its materialisations, one point per materialisation linked to its run', async () => {
    // The model: auc is its one numeric key (its registration is a structure), so there is no chooser.
    await openModel(page);
    const chart = page.getByTestId('metadata-chart');
    await chart.waitFor();
    expect(await chart.getAttribute('data-key')).toBe('auc');
    expect(await page.getByTestId('metadata-chart-key').count()).toBe(0);
    expect(await chartPoints(page)).toEqual([
      [0.81, older.runId],
      [0.71, latest.runId],
    ]);
    const points = page.getByTestId('metadata-chart-point');
    expect(await points.nth(0).getAttribute('href')).toMatch(new RegExp(`/runs/${older.runId}$`));
    expect(await points.nth(1).locator('title').textContent()).toMatch(/^auc 0\.71 · \S/);
    const ticks = await page.getByTestId('metadata-chart-tick').allTextContents();
    expect(ticks.length).toBeGreaterThanOrEqual(2);
    for (const t of ticks) expect(t).toMatch(/^\d\.\d{2}$/);

    // The features: a raw row count and a typed size per day; the chooser offers both, not the path.
    await page.goto(`${dashboard.server.url}/#/assets/${encodeURIComponent('churn/features')}`);
    const key = page.getByTestId('metadata-chart-key');
    await key.waitFor();
    // In the metadata table's column order (Postgres keeps an object's keys shortest first).
    expect(await key.locator('option').allTextContents()).toEqual(['bytes', 'row_count']);
    await page.locator('[data-testid="metadata-chart"][data-key="bytes"]').waitFor();
    const runs = unwrap(await dashboard.owner.call('assetsMaterializations', { query: { key: 'churn/features' } })).items;
    const runOf = (day: string) => runs.find((m) => m.partitionKey === day)?.flowRunId ?? '';
    expect(await chartPoints(page)).toEqual([
      [40_960, runOf('2026-01-01')],
      [45_056, runOf('2026-01-02')],
    ]);
    expect(await points.nth(1).locator('title').textContent()).toMatch(/^bytes 44 KiB · .+ · partition 2026-01-02$/);
    await key.selectOption('row_count');
    await page.locator('[data-testid="metadata-chart"][data-key="row_count"]').waitFor();
    expect(await chartPoints(page)).toEqual([
      [1200, runOf('2026-01-01')],
      [1350, runOf('2026-01-02')],
    ]);

    // The customers: one materialisation is no line, so a sentence says so.
    await page.goto(`${dashboard.server.url}/#/assets/${encodeURIComponent('ref/customers')}`);
    const note = page.getByTestId('metadata-chart-note');
    await note.waitFor();
    expect(await note.textContent()).toBe('Only 1 materialisation has a numeric rows: a chart needs two.');
    expect(await page.getByTestId('metadata-chart').count()).toBe(0);
    expect(policy.violations).toEqual([]);
  });

  it('has no WCAG 2 A or AA violations on the asset page with the panel shown, in the light and the dark theme', async () => {
    const found: Record<string, string[]> = {};
    for (const theme of ['light', 'dark'] as const) {
      // axe-core is injected as an inline script, which the dashboard's policy refuses; this context bypasses it.
      const context = await dashboard.browser.newContext({
        viewport: { width: 1360, height: 860 },
        colorScheme: theme,
        bypassCSP: true,
      });
      try {
        const p = await modelPageIn(context);
        await p.getByTestId('provenance-waiver').waitFor();
        const violations = await axeViolations(p);
        if (violations.length > 0) found[theme] = violations;
        await p.getByTestId('asset-provenance').scrollIntoViewIfNeeded();
        await screenshot(p, `a11y-asset-provenance-${theme}`);
      } finally {
        await context.close();
      }
    }
    expect(found).toEqual({});
  });
});
