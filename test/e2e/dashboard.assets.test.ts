import { createSignInLink } from '@outpost/api';
import { OutpostClient, unwrap } from '@outpost/sdk/client';
import type { AssetDefinitionInput, AssetPartitionsResponse, PartitionStatus } from '@outpost/sdk/contracts';
import type { BrowserContext, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { AssetSeeder } from '../support/assets.js';
import { PolicyWatch, screenshot, useDashboard } from '../support/dashboard.js';
import { runCli } from '../support/processes.js';

/*
 * The asset pages of the dashboard against the real API and Postgres: a graph deployed as the
 * `assets` flow and its history reported the way a worker reports it, then the catalog, one asset's
 * page with its partition grid, the lineage graph and a two-dimensional grid read in Chromium.
 */

const DAILY = { kind: 'time', cadence: 'daily', start: '2026-01-01', end: '2026-03-01', timezone: 'UTC' } as const;
const DAYS = 59; // 2026-01-01 … 2026-02-28
const GRAPH: AssetDefinitionInput[] = [
  {
    key: 'raw/events',
    partitions: DAILY,
    codeVersion: 'v1-raw-events',
    description: 'Click events loaded from the edge logs',
    owners: ['data-eng@example.com'],
    tags: ['raw', 'pii-free'],
    group: 'ingest',
    io: 'fs',
  },
  {
    key: 'features',
    deps: ['raw/events'],
    partitions: DAILY,
    codeVersion: 'v1-features',
    description: 'Per-user features for the churn model',
    owners: ['ml@example.com'],
    group: 'ml',
    io: 's3',
    checks: [{ name: 'no_null_ids', blocking: true, description: 'every row has a user id' }],
  },
  { key: 'raw/users', codeVersion: 'v1-raw-users', owners: ['data-eng@example.com'], group: 'ingest' },
  { key: 'dim/users', deps: ['raw/users'], codeVersion: 'v1-dim-users', owners: ['data-eng@example.com'], group: 'ingest' },
  {
    key: 'model/churn',
    deps: ['features', 'dim/users'],
    codeVersion: 'v1-model',
    description: 'Churn classifier',
    owners: ['ml@example.com'],
    group: 'ml',
  },
  { key: 'evaluation', deps: ['model/churn'], codeVersion: 'v1-evaluation', owners: ['ml@example.com'], group: 'ml' },
  {
    key: 'sales/regional',
    partitions: {
      kind: 'multi',
      dimensions: [
        { name: 'date', partitions: { kind: 'time', cadence: 'daily', start: '2026-01-01', end: '2026-02-01', timezone: 'UTC' } },
        { name: 'region', partitions: { kind: 'static', keys: ['eu', 'us', 'apac'] } },
      ],
    },
    codeVersion: 'v1-sales',
    owners: ['finance@example.com'],
    group: 'sales',
  },
];
const EDGES: [string, string][] = [
  ['raw/events', 'features'],
  ['features', 'model/churn'],
  ['dim/users', 'model/churn'],
  ['model/churn', 'evaluation'],
  ['raw/users', 'dim/users'],
];
const day = (n: number) => `2026-01-${String(n).padStart(2, '0')}`;

const dashboard = useDashboard();
let seeder: AssetSeeder;
let page: Page;
const policy = new PolicyWatch();

async function signedIn(role: 'owner' | 'viewer'): Promise<{ context: BrowserContext; page: Page }> {
  const ctx = await dashboard.browser.newContext({ viewport: { width: 1360, height: 860 } });
  const p = policy.watch(await ctx.newPage());
  const link = await createSignInLink(dashboard.server.sql, { workspaceId: dashboard.server.workspaceId, role });
  await p.goto(`${dashboard.server.url}${link.path}`);
  await p.getByTestId('workspace-name').getByText('Default').waitFor();
  return { context: ctx, page: p };
}

async function apiPartitions(key: string): Promise<AssetPartitionsResponse> {
  return unwrap(await dashboard.owner.call('assetsPartitions', { query: { key } }));
}

/**
 * A point inside partition `index`'s cell in page coordinates, from the grid's own geometry
 * attributes: a quarter in from the top-left corner, clear of the outlines and of a blocked cell's
 * diagonal mark, so its pixel is the cell's fill.
 */
async function cellPoint(p: Page, index: number, at?: { row: number; column: number }): Promise<{ x: number; y: number }> {
  const grid = p.getByTestId('partition-grid');
  const attr = async (name: string) => Number(await grid.getAttribute(name));
  const [columns, pitch, originX, originY] = await Promise.all([
    attr('data-columns'),
    attr('data-pitch'),
    attr('data-origin-x'),
    attr('data-origin-y'),
  ]);
  const row = at ? at.row : Math.floor(index / columns);
  const column = at ? at.column : index % columns;
  // The page scrolls inside its content pane; the grid sits below the asset's other sections.
  const canvas = p.getByTestId('partition-canvas');
  await canvas.scrollIntoViewIfNeeded();
  const box = await canvas.boundingBox();
  if (!box) throw new Error('the partition canvas is not on screen');
  const cell = pitch - 2;
  return { x: box.x + originX + column * pitch + cell / 4, y: box.y + originY + row * pitch + cell / 4 };
}

/** What the page function below touches of the DOM (this package is typed for Node). */
interface PixelDom {
  document: {
    querySelector(selector: string): {
      width: number;
      getBoundingClientRect(): { left: number; top: number; width: number };
      getContext(kind: '2d'): { getImageData(x: number, y: number, w: number, h: number): { data: ArrayLike<number> } } | null;
    };
    createElement(tag: 'span'): { style: { setProperty(name: string, value: string): void }; remove(): void };
    body: { append(node: unknown): void };
  };
  getComputedStyle(node: unknown): { color: string };
}

/** The colour drawn at a page point of the grid's canvas, and the colour the stylesheet gives `status`, as rgb(). */
async function drawnColour(p: Page, point: { x: number; y: number }, status: PartitionStatus): Promise<[string, string]> {
  return p.evaluate(
    ({ point, status }) => {
      const dom = globalThis as unknown as PixelDom;
      const canvas = dom.document.querySelector('[data-testid="partition-canvas"]');
      const box = canvas.getBoundingClientRect();
      const dpr = canvas.width / box.width;
      const [r, g, b] = Array.from(
        canvas.getContext('2d')?.getImageData((point.x - box.left) * dpr, (point.y - box.top) * dpr, 1, 1).data ?? [],
      );
      const probe = dom.document.createElement('span');
      probe.style.setProperty('color', `var(--partition-${status.toLowerCase()})`);
      dom.document.body.append(probe);
      const expected = dom.getComputedStyle(probe).color;
      probe.remove();
      return [`rgb(${r}, ${g}, ${b})`, expected] as [string, string];
    },
    { point, status },
  );
}

async function legendCount(p: Page, status: string): Promise<number> {
  const text = await p.locator(`[data-testid="partition-count"][data-status="${status}"] strong`).textContent();
  return Number((text ?? '').replaceAll(',', ''));
}

beforeAll(async () => {
  seeder = await AssetSeeder.create(dashboard.server, dashboard.owner);
  await seeder.deploy(GRAPH);
  const s = seeder;
  await s.materialize({ assets: ['raw/users'] });
  await s.materialize({ assets: ['dim/users'] });
  for (let d = 1; d <= 10; d++) {
    await s.materialize({ assets: ['raw/events'], partitions: { keys: [day(d)] } }, (assets, p) =>
      assets.map((k) => s.materialization(k, p, { rows: 1000 * d, bytes: 52_428 * d })),
    );
  }
  await s.materialize(
    { assets: ['raw/events'], partitions: { keys: [day(11)] } },
    (assets, p) => assets.map((k) => s.failure(k, p)),
    {
      failed: true,
    },
  );
  for (let d = 1; d <= 5; d++) {
    await s.materialize({ assets: ['features'], partitions: { keys: [day(d)] } }, (_assets, p) => [
      s.materialization('features', p, { rows: 900 * d, bytes: 40_000 * d, columns: 42 }),
      s.check('features', 'no_null_ids', p, true, { nullIds: 0 }),
    ]);
  }
  await s.materialize({ assets: ['model/churn'] }, () => [s.materialization('model/churn', null, { auc: 0.91, rows: 48_213 })]);
  // A failed blocking check on one partition holds back everything downstream of features.
  await s.materialize({ assets: ['features'], partitions: { keys: [day(6)] } }, (_assets, p) => [
    s.materialization('features', p, { rows: 5400, bytes: 240_000, columns: 42 }),
    s.check('features', 'no_null_ids', p, false, { nullIds: 3 }),
  ]);
  // Upstream materialised again after its downstream: features 2026-01-02 and dim/users go stale.
  await s.materialize({ assets: ['raw/events'], partitions: { keys: [day(2)] } });
  await s.materialize({ assets: ['raw/users'] });
  for (const key of ['2026-01-01|eu', '2026-01-01|us', '2026-01-02|apac']) {
    await s.materialize({ assets: ['sales/regional'], partitions: { keys: [key] } });
  }

  ({ page } = await signedIn('owner'));
});

afterAll(async () => {
  await seeder?.close();
});

describe('the asset pages of the dashboard against a real API', () => {
  it('lists every asset with the health, stale reason, partitions and last materialisation the API reports, and filters them', async () => {
    await page.getByTestId('nav-assets').click();
    const rows = page.getByTestId('asset-row');
    await rows.nth(GRAPH.length - 1).waitFor();
    expect(await rows.count()).toBe(GRAPH.length);

    // The page and the API are each read at one moment, and the server's loops may change an asset
    // in between: compare a page read just after the API's answer, reloading until both agree.
    type Listed = Awaited<ReturnType<typeof listAssets>>;
    const listAssets = async () => unwrap(await dashboard.owner.call('assetsList', {})).items;
    let listed: Listed = [];
    await expect
      .poll(
        async () => {
          listed = await listAssets();
          const shown = await rows.evaluateAll((els) =>
            els.map((e) => `${e.getAttribute('data-asset')}=${e.getAttribute('data-health')}`),
          );
          if (
            shown.sort().join() ===
            listed
              .map((a) => `${a.key}=${a.health}`)
              .sort()
              .join()
          )
            return true;
          await page.reload();
          await rows.nth(GRAPH.length - 1).waitFor();
          return false;
        },
        { timeout: 30_000 },
      )
      .toBe(true);
    expect(listed.map((a) => a.key).sort()).toEqual(GRAPH.map((a) => a.key).sort());
    for (const a of listed) {
      const row = page.locator(`[data-testid="asset-row"][data-asset="${a.key}"]`);
      expect(await row.getAttribute('data-health'), a.key).toBe(a.health);
      expect(await row.getByTestId('asset-health').textContent(), a.key).toBe(
        a.health.charAt(0) + a.health.slice(1).toLowerCase(),
      );
      if (a.stale.length > 0) expect(await row.getByTestId('asset-stale').textContent()).toContain(a.stale[0]?.message);
      else expect(await row.getByTestId('asset-stale').count()).toBe(0);
      if (a.latest?.partitionKey)
        expect(await row.getByTestId('asset-last-materialized').textContent()).toContain(a.latest.partitionKey);
      if (!a.latest) expect(await row.getByTestId('asset-last-materialized').textContent()).toBe('never');
      expect(await row.textContent()).toContain('assets/warehouse');
    }
    // Materialised after its upstream changed: stale, and the row says why.
    const dimUsers = page.locator('[data-testid="asset-row"][data-asset="dim/users"]');
    expect(await dimUsers.getAttribute('data-health')).toBe('STALE');
    expect(await dimUsers.getByTestId('asset-stale').textContent()).toContain('raw/users');
    // Downstream of a failed blocking check: blocked.
    expect(await page.locator('[data-testid="asset-row"][data-asset="model/churn"]').getAttribute('data-health')).toBe('BLOCKED');
    // The partitioned asset shows how many of its partitions are materialised.
    expect(
      await page.locator('[data-testid="asset-row"][data-asset="raw/events"]').getByTestId('asset-partitions').textContent(),
    ).toMatch(/^10 \/ 59/);
    await screenshot(page, 'assets-catalog');

    const keysShown = async () =>
      (await page.getByTestId('asset-row').evaluateAll((els) => els.map((e) => e.getAttribute('data-asset')))).sort();
    // search matches keys, descriptions, owners and tags, and lands in the address
    await page.getByTestId('asset-search').fill('churn');
    await expect.poll(keysShown).toEqual(['features', 'model/churn']); // features: "…for the churn model"
    expect(page.url()).toContain('q=churn');
    await page.getByTestId('asset-search').fill('pii-free');
    await expect.poll(keysShown).toEqual(['raw/events']);
    await page.getByTestId('asset-filter-clear').click();
    await expect.poll(async () => (await keysShown()).length).toBe(GRAPH.length);

    await page.getByTestId('asset-filter-owner').selectOption('finance@example.com');
    await expect.poll(keysShown).toEqual(['sales/regional']);
    await page.getByTestId('asset-filter-owner').selectOption('');
    await page.getByTestId('asset-filter-group').selectOption('ml');
    await expect.poll(keysShown).toEqual(['evaluation', 'features', 'model/churn']);
    expect(page.url()).toContain('group=ml');
    expect(policy.violations).toEqual([]);
  });

  it("shows an asset's definition, checks, materialisations with their metadata, and its partition grid", async () => {
    await page.goto(`${dashboard.server.url}/#/assets`);
    await page.locator('[data-testid="asset-row"][data-asset="features"]').getByTestId('asset-link').click();
    await page.locator('[data-testid="asset-detail"][data-asset="features"]').waitFor();
    expect(await page.getByTestId('asset-dep').allTextContents()).toEqual(['raw/events']);
    expect(await page.getByTestId('asset-dependent').allTextContents()).toEqual(['model/churn']);
    expect(await page.getByTestId('asset-partitions-definition').textContent()).toBe('Daily from 2026-01-01 to 2026-03-01 (UTC)');
    expect(await page.getByTestId('asset-owners').textContent()).toBe('ml@example.com');
    const check = page.locator('[data-testid="asset-check"][data-check="no_null_ids"]');
    expect(await check.getAttribute('data-passed')).toBe('false');
    expect(await check.getAttribute('data-blocks')).toBe('true');
    expect(await check.textContent()).toContain('nullIds: 3');

    const materialised = page.getByTestId('asset-materialization');
    await materialised.nth(5).waitFor();
    expect(await materialised.count()).toBe(6);
    expect(await page.getByTestId('metadata-column').allTextContents()).toEqual(['rows', 'bytes', 'columns']);
    // newest first: the one of 2026-01-06, with its declared values
    expect(await materialised.first().getAttribute('data-partition')).toBe(day(6));
    expect(await materialised.first().locator('[data-testid="metadata-value"][data-key="rows"]').textContent()).toBe('5,400');
    expect(await materialised.first().locator('[data-testid="metadata-value"][data-key="bytes"]').textContent()).toBe('234 KiB');

    // The grid: one cell per partition, the legend's counts the API's, each cell in its status's colour.
    const grid = page.getByTestId('partition-grid');
    await page.locator('[data-testid="partition-canvas"][data-painted="true"]').waitFor();
    expect(await grid.getAttribute('data-cells')).toBe(String(DAYS));
    expect(await grid.getAttribute('data-layout')).toBe('linear');
    const api = await apiPartitions('features');
    for (const status of ['MATERIALIZED', 'STALE', 'FAILED', 'MISSING', 'MATERIALIZING'] as const) {
      expect(await legendCount(page, status), status).toBe(api.counts[status]);
    }
    expect(api.counts.MATERIALIZED + api.counts.STALE).toBe(6);
    expect(api.partitions.find((p) => p.key === day(2))?.status).toBe('STALE');
    for (const [i, p] of api.partitions.entries()) {
      if (i > 12 && i % 9 !== 0) continue; // the seeded ones and a sample of the rest
      const [drawn, expected] = await drawnColour(page, await cellPoint(page, i), p.status);
      expect(drawn, `${p.key} (${p.status})`).toBe(expected);
    }

    // Hover says what a cell is.
    const stale = await cellPoint(page, 1);
    await page.mouse.move(stale.x, stale.y);
    const tip = page.getByTestId('partition-tooltip');
    await tip.waitFor();
    expect(await tip.getAttribute('data-key')).toBe(day(2));
    expect(await tip.getAttribute('data-status')).toBe('STALE');
    expect(await tip.textContent()).toContain('raw/events');

    // Dragging across cells selects a range.
    const from = await cellPoint(page, 19);
    const to = await cellPoint(page, 21);
    await page.mouse.move(from.x, from.y);
    await page.mouse.down();
    await page.mouse.move((from.x + to.x) / 2, (from.y + to.y) / 2);
    await page.mouse.move(to.x, to.y);
    await page.mouse.up();
    await page.locator('[data-testid="partition-selection"][data-count="3"]').waitFor();
    expect(await page.getByTestId('partition-selection-range').textContent()).toBe(`${day(20)} → ${day(22)}`);
    await page.mouse.move(to.x, to.y + 200);
    await screenshot(page, 'asset-partition-grid');
    expect(policy.violations).toEqual([]);
  });

  it('materialises the partition picked on the grid: the run it starts turns the cell green', async () => {
    await page.goto(`${dashboard.server.url}/#/assets/features`);
    await page.locator('[data-testid="partition-canvas"][data-painted="true"]').waitFor();
    const before = await legendCount(page, 'MATERIALIZED');
    const cell = await cellPoint(page, 24);
    await page.mouse.click(cell.x, cell.y);
    await page.locator('[data-testid="partition-selection"][data-count="1"]').waitFor();
    await page.getByTestId('partition-materialize').click();
    await page.getByTestId('materialize-dialog').waitFor();
    expect(await page.getByTestId('materialize-partition').inputValue()).toBe(day(25));
    await page.getByTestId('materialize-submit').click();
    await page.waitForURL(/#\/runs\/[0-9a-f-]{36}$/);
    const runId = page.url().split('/').at(-1) ?? '';
    expect(unwrap(await dashboard.owner.call('flowRunsGet', { params: { id: runId } })).partitionKey).toBe(day(25));

    await seeder.play(runId, (assets, partition) => {
      expect(assets).toEqual(['features']);
      expect(partition).toBe(day(25));
      return [seeder.materialization('features', partition, { rows: 700 })];
    });
    await page.goto(`${dashboard.server.url}/#/assets/features`);
    await page.locator('[data-testid="partition-canvas"][data-painted="true"]').waitFor();
    // The page may first show what it read before the run, then what it reads afresh: the legend says when.
    await page
      .locator('[data-testid="partition-count"][data-status="MATERIALIZED"] strong', {
        hasText: new RegExp(`^${(before + 1).toLocaleString('en-US')}$`),
      })
      .waitFor({ timeout: 15_000 });
    expect(await legendCount(page, 'MATERIALIZED')).toBe(before + 1);
    const [drawn, expected] = await drawnColour(page, await cellPoint(page, 24), 'MATERIALIZED');
    expect(drawn).toBe(expected);
    expect(policy.violations).toEqual([]);
  });

  it('shows the failing partition that blocks although the newest check result passed, as `outpost assets get` does', async () => {
    // A newer partition passes the check; the failure of 2026-01-06 still blocks.
    await seeder.materialize({ assets: ['features'], partitions: { keys: [day(7)] } }, (_assets, p) => [
      seeder.materialization('features', p, { rows: 6300, bytes: 280_000, columns: 42 }),
      seeder.check('features', 'no_null_ids', p, true, { nullIds: 0 }),
    ]);
    // The page is already on this address from the test before; a reload reads the asset afresh.
    await page.goto(`${dashboard.server.url}/#/assets/features`);
    await page.reload();
    const check = page.locator('[data-testid="asset-check"][data-check="no_null_ids"]');
    await check.waitFor();
    expect(await page.getByTestId('asset-health').getAttribute('data-health')).toBe('BLOCKED');
    expect(await check.getAttribute('data-status')).toBe('blocking');
    expect(await check.getAttribute('data-passed')).toBe('true');
    expect(await check.getByTestId('asset-check-status').textContent()).toBe('Failed on 1 partition · blocks downstream');
    expect(await check.getByTestId('asset-check-latest').textContent()).toContain(`Passed for ${day(7)}`);
    const failures = page.locator(
      '[data-testid="asset-check-failures"][data-check="no_null_ids"] [data-testid="asset-check-failure"]',
    );
    expect(await failures.count()).toBe(1);
    expect(await failures.first().getAttribute('data-partition')).toBe(day(6));
    expect(await failures.first().getAttribute('data-blocks')).toBe('true');
    expect(await failures.first().textContent()).toContain('nullIds: 3');
    expect(await page.getByTestId('asset-blocked').textContent()).toContain(`no_null_ids failed on partition ${day(6)}`);
    // A check name longer than its column wraps instead of being cut off, and its full name is its title.
    const name = check.locator('.check-name');
    expect(await name.getAttribute('title')).toBe('no_null_ids');
    const clipped = await name.evaluate((el) => {
      const box = el as unknown as { scrollWidth: number; clientWidth: number };
      return box.scrollWidth > box.clientWidth;
    });
    expect(clipped).toBe(false);

    // The CLI says the same: BLOCKED by the failure of 2026-01-06, though the newest result passed.
    const cli = await runCli(['assets', 'get', 'features'], {
      OUTPOST_API_URL: dashboard.server.url,
      OUTPOST_API_KEY: dashboard.server.ownerKey,
    });
    expect(cli.code, cli.output).toBe(0);
    expect(cli.output).toContain(`health        BLOCKED: check no_null_ids failed on ${day(6)}`);
    expect(cli.output).toMatch(
      new RegExp(`no_null_ids +yes +passed \\[${day(7)}\\] .* failed on 1 partition, blocks downstream`),
    );
    expect(cli.output).toMatch(new RegExp(`${day(6)} +failed \\(ERROR\\) .* blocks downstream`));
    await page.locator('[data-testid="asset-check-failures"]').scrollIntoViewIfNeeded();
    await screenshot(page, 'asset-check-failing-partition');
    expect(policy.violations).toEqual([]);
  });

  it('offers the waiver of a failed blocking check to admins only, and a waiver lifts the block downstream', async () => {
    // A viewer sees the failure but no Waive button, and the API refuses the viewer anyway.
    const viewer = await signedIn('viewer');
    try {
      await viewer.page.goto(`${dashboard.server.url}/#/assets/features`);
      await viewer.page.locator('[data-testid="asset-check"][data-check="no_null_ids"][data-blocks="true"]').waitFor();
      expect(await viewer.page.getByTestId('asset-check-waive').count()).toBe(0);
      expect(await viewer.page.getByTestId('asset-materialize').count()).toBe(0);
      await screenshot(viewer.page, 'asset-detail-viewer');
    } finally {
      await viewer.context.close();
    }
    const viewerApi = new OutpostClient({ baseUrl: dashboard.server.url, token: await dashboard.server.createKey('viewer') });
    try {
      const refused = await viewerApi.call('assetsWaive', {
        body: { assetKey: 'features', checkName: 'no_null_ids', reason: 'viewer tries' },
      });
      expect(refused.ok).toBe(false);
      expect(!refused.ok && refused.kind === 'http_error' ? refused.status : 0).toBe(403);
    } finally {
      await viewerApi.close();
    }

    await page.goto(`${dashboard.server.url}/#/assets/features`);
    await page.getByTestId('asset-check-waive').click();
    await page.getByTestId('waive-dialog').waitFor();
    await page.getByTestId('waive-submit').click();
    expect(await page.getByTestId('waive-error').textContent()).toContain('at least 3 characters');
    await page.getByTestId('waive-reason').fill('3 test users without ids, known and harmless');
    await page.getByTestId('waive-submit').click();
    await page.getByTestId('asset-waived').waitFor();
    const check = page.locator('[data-testid="asset-check"][data-check="no_null_ids"]');
    await page.locator('[data-testid="asset-check"][data-check="no_null_ids"][data-blocks="false"]').waitFor();
    expect(await check.getByTestId('asset-check-waiver').textContent()).toContain('3 test users without ids, known and harmless');
    // The waiver is shown on the partition it lifts, with its reason and who gave it.
    const lifted = page.locator(`[data-testid="asset-check-failure"][data-partition="${day(6)}"]`);
    expect(await lifted.getAttribute('data-waived')).toBe('true');
    const waiverText = await lifted.getByTestId('asset-check-failure-waiver').textContent();
    expect(waiverText).toContain(`waived for ${day(6)} by`);
    expect(waiverText).toContain('3 test users without ids, known and harmless');
    expect(await check.getAttribute('data-status')).toBe('waived');
    expect(await page.getByTestId('asset-blocked').count()).toBe(0);
    expect(unwrap(await dashboard.owner.call('assetsGet', { query: { key: 'model/churn' } })).health).not.toBe('BLOCKED');
    await screenshot(page, 'asset-detail-waived');
    expect(policy.violations).toEqual([]);
  });

  it('draws the lineage graph: every asset and dependency, health colours, and the selected asset upstream and downstream', async () => {
    await page.goto(`${dashboard.server.url}/#/assets`);
    await page.getByTestId('assets-view-lineage').click();
    await page.locator('[data-testid="lineage-graph"][data-ready="true"]').waitFor({ timeout: 30_000 });
    const nodes = page.getByTestId('lineage-node');
    await nodes.nth(GRAPH.length - 1).waitFor();
    expect(await nodes.count()).toBe(GRAPH.length);
    await page
      .locator('.react-flow__edge-path')
      .nth(EDGES.length - 1)
      .waitFor();
    expect(await page.locator('.react-flow__edge').count()).toBe(EDGES.length);
    for (const [from, to] of EDGES) {
      expect(await page.locator(`.react-flow__edge[data-testid="rf__edge-${from}->${to}"]`).count(), `${from} → ${to}`).toBe(1);
    }
    const lineage = unwrap(await dashboard.owner.call('assetsLineage', {}));
    for (const n of lineage.nodes) {
      const node = page.locator(`[data-testid="lineage-node"][data-asset="${n.key}"]`);
      expect(await node.getAttribute('data-health'), n.key).toBe(n.health);
      expect(await node.getByTestId('lineage-node-partitioned').count(), n.key).toBe(n.partitioned ? 1 : 0);
    }
    expect(await page.locator('.react-flow__minimap-node').count()).toBe(GRAPH.length);
    // It opens fitted: every node lies inside the graph's frame, and no layout timing is printed (the
    // time stays on the frame for the benchmarks).
    const frame = await page.getByTestId('lineage-graph').boundingBox();
    if (!frame) throw new Error('the lineage frame is not on screen');
    for (const n of lineage.nodes) {
      const b = await page.locator(`.react-flow__node[data-id="${n.key}"]`).boundingBox();
      expect(b, n.key).not.toBeNull();
      if (!b) continue;
      expect(b.x, `${n.key} left edge`).toBeGreaterThanOrEqual(frame.x);
      expect(b.y, `${n.key} top edge`).toBeGreaterThanOrEqual(frame.y);
      expect(b.x + b.width, `${n.key} right edge`).toBeLessThanOrEqual(frame.x + frame.width);
      expect(b.y + b.height, `${n.key} bottom edge`).toBeLessThanOrEqual(frame.y + frame.height);
    }
    expect(await page.getByText(/Laid out in/).count()).toBe(0);
    expect(Number(await page.getByTestId('lineage-graph').getAttribute('data-layout-ms'))).toBeGreaterThanOrEqual(0);
    // Laid out left to right: every upstream box starts left of its downstream one.
    const left = async (key: string) =>
      (await page.locator(`.react-flow__node[data-id="${key}"]`).boundingBox())?.x ?? Number.NaN;
    for (const [from, to] of EDGES) expect(await left(from), `${from} left of ${to}`).toBeLessThan(await left(to));

    // Selecting features lights up what feeds it and what it feeds; the rest fades.
    const features = page.locator('.react-flow__node[data-id="features"]');
    const box = await features.boundingBox();
    if (!box) throw new Error('features is not on screen');
    await page.mouse.click(box.x + box.width * 0.8, box.y + box.height * 0.75);
    await page.locator('[data-testid="lineage-selection"][data-asset="features"]').waitFor();
    const role = async (key: string) =>
      ((await page.locator(`.react-flow__node[data-id="${key}"]`).getAttribute('class')) ?? '')
        .split(/\s+/)
        .find((c) => c.startsWith('lineage-'));
    expect(await role('features')).toBe('lineage-selected');
    expect(await role('raw/events')).toBe('lineage-upstream');
    expect(await role('model/churn')).toBe('lineage-downstream');
    expect(await role('evaluation')).toBe('lineage-downstream');
    expect(await role('dim/users')).toBe('lineage-dimmed');
    expect(await role('sales/regional')).toBe('lineage-dimmed');
    expect(await page.getByTestId('lineage-selection-counts').textContent()).toBe('1 upstream · 2 downstream');
    expect(await page.locator('.react-flow__edge.lineage-upstream').count()).toBe(1);
    expect(await page.locator('.react-flow__edge.lineage-downstream').count()).toBe(2);
    await screenshot(page, 'assets-lineage');

    // A node's key opens the asset.
    await page.locator('[data-testid="lineage-node"][data-asset="model/churn"]').getByTestId('lineage-node-link').click();
    await page.locator('[data-testid="asset-detail"][data-asset="model/churn"]').waitFor();
    expect(policy.violations).toEqual([]);
  });

  it("draws a partitioned asset's partitions as a bar, and collapses groups into one node each and expands them again", async () => {
    await page.goto(`${dashboard.server.url}/#/lineage`);
    const graph = page.getByTestId('lineage-graph');
    await page.locator('[data-testid="lineage-graph"][data-ready="true"][data-collapsed="0"]').waitFor({ timeout: 30_000 });
    await page
      .getByTestId('lineage-node')
      .nth(GRAPH.length - 1)
      .waitFor();
    const lineage = unwrap(await dashboard.owner.call('assetsLineage', {}));
    const node = (key: string) => page.locator(`[data-testid="lineage-node"][data-asset="${key}"]`);

    // raw/events: materialised, failed and missing partitions, each a share of the bar as wide as its share of the partitions.
    const events = lineage.nodes.find((n) => n.key === 'raw/events')?.partitionCounts;
    if (!events) throw new Error('raw/events has no partition counts in the lineage');
    expect(events.MATERIALIZED).toBeGreaterThan(0);
    expect(events.FAILED).toBe(1);
    expect(events.MISSING).toBeGreaterThan(0);
    expect(events.STALE + events.MATERIALIZING).toBe(0);
    const bar = node('raw/events').getByTestId('lineage-node-partition-bar');
    const label = `${events.MATERIALIZED} of ${events.total} partitions materialised, 1 failed, ${events.MISSING} missing`;
    expect(await bar.getAttribute('aria-label')).toBe(label);
    expect(await bar.getAttribute('title')).toBe(label);
    const barBox = await bar.boundingBox();
    if (!barBox) throw new Error('the partition bar is not on screen');
    for (const status of ['MATERIALIZED', 'FAILED', 'MISSING'] as const) {
      const segment = await bar.locator(`[data-status="${status}"]`).boundingBox();
      expect(segment, status).not.toBeNull();
      expect(segment?.width ?? 0, status).toBeCloseTo((barBox.width * events[status]) / events.total, 0);
    }
    for (const n of lineage.nodes) {
      expect(await node(n.key).getByTestId('lineage-node-partition-bar').count(), n.key).toBe(n.partitionCounts ? 1 : 0);
    }

    // Collapsed, the two groups of more than one asset (ingest and ml) are one node each; sales/regional, alone in its group, stays.
    await page.getByTestId('lineage-collapse-all').click();
    await page.locator('[data-testid="lineage-graph"][data-ready="true"][data-collapsed="2"]').waitFor();
    const group = (name: string) => page.locator(`[data-testid="lineage-group"][data-group="${name}"]`);
    await group('ml').waitFor();
    expect(await page.getByTestId('lineage-group').count()).toBe(2);
    expect(await page.getByTestId('lineage-node').count()).toBe(1);
    expect(await node('sales/regional').count()).toBe(1);
    expect(await group('ingest').getByTestId('lineage-group-name').textContent()).toBe('ingest · 3 assets');
    const severity = ['FAILED', 'BLOCKED', 'OVERDUE', 'STALE', 'MISSING', 'FRESH'];
    for (const name of ['ingest', 'ml']) {
      const members = lineage.nodes.filter((n) => n.group === name);
      const worst = severity.find((h) => members.some((n) => n.health === h));
      expect(await group(name).getAttribute('data-health'), name).toBe(worst);
      const counts = severity
        .map((h) => [h, members.filter((n) => n.health === h).length] as const)
        .filter(([, c]) => c > 0)
        .map(([h, c]) => `${c} ${h.toLowerCase()}`)
        .join(' · ');
      expect(await group(name).getByTestId('lineage-group-counts').textContent(), name).toBe(counts);
    }
    // ingest's one partitioned asset is raw/events: the group's bar is its bar.
    expect(await group('ingest').getByTestId('lineage-group-partition-bar').getAttribute('aria-label')).toBe(label);
    // raw/events → features and dim/users → model/churn are one edge between the groups; the rest lie inside them.
    await page.locator('.react-flow__edge').first().waitFor();
    expect(await page.locator('.react-flow__edge').count()).toBe(1);
    expect(await page.locator('.react-flow__edge[data-testid="rf__edge-group:ingest->group:ml"]').count()).toBe(1);
    expect(await graph.getAttribute('data-shown-nodes')).toBe('3');
    await screenshot(page, 'assets-lineage-collapsed');

    // Expanding ml from its node: its assets again, the edges into them from the collapsed ingest.
    await group('ml').getByTestId('lineage-group-expand').click();
    await page.locator('[data-testid="lineage-graph"][data-ready="true"][data-collapsed="1"]').waitFor();
    await node('evaluation').waitFor();
    expect(await page.getByTestId('lineage-node').count()).toBe(4);
    const expected = ['group:ingest->features', 'group:ingest->model/churn', 'features->model/churn', 'model/churn->evaluation'];
    await page
      .locator('.react-flow__edge')
      .nth(expected.length - 1)
      .waitFor();
    expect(await page.locator('.react-flow__edge').count()).toBe(expected.length);
    for (const id of expected) expect(await page.locator(`.react-flow__edge[data-testid="rf__edge-${id}"]`).count(), id).toBe(1);

    // Finding an asset of a collapsed group expands the group and selects the asset.
    await page.getByTestId('lineage-search').fill('dim/users');
    await page.getByTestId('lineage-search').press('Enter');
    await page.locator('[data-testid="lineage-graph"][data-ready="true"][data-collapsed="0"]').waitFor();
    await page.locator('[data-testid="lineage-selection"][data-asset="dim/users"]').waitFor();
    expect(await graph.getAttribute('data-selected')).toBe('dim/users');
    await page
      .getByTestId('lineage-node')
      .nth(GRAPH.length - 1)
      .waitFor();
    expect(await page.getByTestId('lineage-node').count()).toBe(GRAPH.length);

    // The selected asset's panel collapses its group, which is then selected.
    await page.getByTestId('lineage-selection-collapse').click();
    await page.locator('[data-testid="lineage-selection"][data-group="ingest"]').waitFor();
    expect(await graph.getAttribute('data-selected')).toBe('group:ingest');
    await page.getByTestId('lineage-selection-expand').click();
    await page.locator('[data-testid="lineage-graph"][data-ready="true"][data-collapsed="0"]').waitFor();
    expect(await page.getByTestId('lineage-group').count()).toBe(0);
    expect(policy.violations).toEqual([]);
  });

  it('opens a lineage of 400 assets with its groups collapsed, and expanded, too large to read fitted, as boxes with their dependencies drawn, and selects a box clicked', async () => {
    // 400 assets in 20 layers, each depending on one or two of the layer before, in a workspace of its own.
    const ws = await dashboard.server.createWorkspace();
    const client = new OutpostClient({ baseUrl: dashboard.server.url, token: ws.ownerKey });
    const key = (layer: number, i: number) => `big/l${layer}/a${i}`;
    const assets: AssetDefinitionInput[] = [];
    for (let layer = 0; layer < 20; layer++) {
      for (let i = 0; i < 20; i++) {
        const deps = layer === 0 ? [] : [...new Set([key(layer - 1, i), key(layer - 1, (i * 7 + 3) % 20)])];
        assets.push({ key: key(layer, i), deps, codeVersion: 'v1' });
      }
    }
    try {
      unwrap(
        await client.call('deploymentsUpsert', {
          body: {
            flowName: 'assets',
            name: 'big',
            source: 'dir:///big-lineage',
            entrypoint: 'assets.js',
            workPool: 'default',
            assets,
          },
        }),
      );
    } finally {
      await client.close();
    }
    const ctx = await dashboard.browser.newContext({ viewport: { width: 1360, height: 860 } });
    try {
      const p = policy.watch(await ctx.newPage());
      const link = await createSignInLink(dashboard.server.sql, { workspaceId: ws.workspaceId, role: 'owner' });
      await p.goto(`${dashboard.server.url}${link.path}`);
      await p.getByTestId('workspace-name').waitFor();
      await p.goto(`${dashboard.server.url}/#/lineage`);
      // More than 300 assets open with every group collapsed: the 20 layers, by key prefix.
      const collapsed = p.locator('[data-testid="lineage-graph"][data-ready="true"][data-collapsed="20"]');
      await collapsed.waitFor({ timeout: 30_000 });
      expect(await collapsed.getAttribute('data-nodes')).toBe('400');
      await p.locator('[data-testid="lineage-group"]').nth(19).waitFor();
      expect(await p.locator('[data-testid="lineage-group"]').count()).toBe(20);
      expect(await p.locator('[data-testid="lineage-node"]').count()).toBe(0);
      expect(await p.locator('[data-testid="lineage-group"][data-group="big/l3"]').getAttribute('data-size')).toBe('20');
      await p.getByTestId('lineage-expand-all').click();
      const frame = p.locator('[data-testid="lineage-graph"][data-ready="true"][data-collapsed="0"]');
      await frame.waitFor({ timeout: 30_000 });
      expect(await frame.getAttribute('data-nodes')).toBe('400');
      expect(await frame.getAttribute('class')).toContain('lineage-far');
      await p.locator('[data-testid="lineage-node"]').nth(399).waitFor({ state: 'attached' });
      // Every box inside the frame; the dependencies as paths of the far view, not one element each.
      const outside = await p.evaluate(`(() => {
        const f = document.querySelector('[data-testid="lineage-graph"]').getBoundingClientRect();
        return [...document.querySelectorAll('.react-flow__node')].filter((n) => {
          const b = n.getBoundingClientRect();
          return b.left < f.left || b.top < f.top || b.right > f.right || b.bottom > f.bottom;
        }).length;
      })()`);
      expect(outside).toBe(0);
      expect(await p.locator('.react-flow__node').count()).toBe(400);
      expect(await p.locator('.react-flow__edge').count()).toBe(0);
      expect(await p.locator('[data-testid="lineage-far-edges"] path').count()).toBeGreaterThan(0);
      expect(await p.getByText(/Laid out in/).count()).toBe(0);

      const picked = key(10, 5);
      const box = await p.locator(`.react-flow__node[data-id="${picked}"]`).boundingBox();
      if (!box) throw new Error(`${picked} is not on screen`);
      await p.mouse.click(box.x + box.width / 2, box.y + box.height / 2);
      await p.locator(`[data-testid="lineage-selection"][data-asset="${picked}"]`).waitFor();
      expect(await p.locator('[data-testid="lineage-far-edges"] path.lineage-far-edge-upstream').count()).toBe(1);
      expect(await p.locator('[data-testid="lineage-far-edges"] path.lineage-far-edge-downstream').count()).toBe(1);
      await screenshot(p, 'assets-lineage-far');
    } finally {
      await ctx.close();
    }
    expect(policy.violations).toEqual([]);
  });

  it('lays a two-dimensional definition out as rows by columns', async () => {
    await page.goto(`${dashboard.server.url}/#/assets/${encodeURIComponent('sales/regional')}`);
    await page.locator('[data-testid="partition-canvas"][data-painted="true"]').waitFor();
    const grid = page.getByTestId('partition-grid');
    expect(await grid.getAttribute('data-layout')).toBe('matrix');
    expect(await grid.getAttribute('data-rows')).toBe('3');
    expect(await grid.getAttribute('data-columns')).toBe('31');
    expect(await grid.getAttribute('data-cells')).toBe('93');
    expect(await legendCount(page, 'MATERIALIZED')).toBe(3);
    expect(await legendCount(page, 'MISSING')).toBe(90);
    expect(await page.getByTestId('asset-partitions-definition').textContent()).toBe(
      'Two dimensions: date — daily from 2026-01-01 to 2026-02-01 (UTC); region — 3 fixed keys: eu, us, apac',
    );
    // rows are the regions (eu, us, apac), columns the days
    const api = await apiPartitions('sales/regional');
    const index = api.partitions.findIndex((p) => p.key === '2026-01-02|apac');
    const point = await cellPoint(page, index, { row: 2, column: 1 });
    await page.mouse.move(point.x, point.y);
    const tip = page.getByTestId('partition-tooltip');
    await tip.waitFor();
    expect(await tip.getAttribute('data-key')).toBe('2026-01-02|apac');
    expect(await tip.getAttribute('data-status')).toBe('MATERIALIZED');
    expect((await drawnColour(page, point, 'MATERIALIZED'))[0]).toBe((await drawnColour(page, point, 'MATERIALIZED'))[1]);
    const empty = await cellPoint(page, -1, { row: 0, column: 1 });
    const [drawn, expected] = await drawnColour(page, empty, 'MISSING');
    expect(drawn).toBe(expected);
    await page.mouse.move(point.x, point.y + 300);
    await screenshot(page, 'asset-partition-grid-2d');
    expect(policy.violations).toEqual([]);
  });
});
