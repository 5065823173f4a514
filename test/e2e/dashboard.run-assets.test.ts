import type { AssetDefinitionInput } from '@outpost/sdk/contracts';
import type { Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { AssetSeeder } from '../support/assets.js';
import { PolicyWatch, screenshot, signedInPage, useDashboard } from '../support/dashboard.js';

/*
 * The run page of an asset run, against the real API and Postgres: the run materialises an upstream
 * asset, fails on the asset downstream of it, and never reaches the third it was asked for.
 * The page draws the run's assets upstream on the left with the state each one's task runs add up
 * to, and each links to its asset.
 */

const GRAPH: AssetDefinitionInput[] = [
  { key: 'raw/orders', codeVersion: 'v1' },
  { key: 'marts/revenue', deps: ['raw/orders'], codeVersion: 'v1' },
  { key: 'reports/weekly', deps: ['marts/revenue'], codeVersion: 'v1' },
  { key: 'unrelated/thing', codeVersion: 'v1' },
];

const dashboard = useDashboard();
let seeder: AssetSeeder;
let runId: string;

beforeAll(async () => {
  seeder = await AssetSeeder.create(dashboard.server, dashboard.owner);
  await seeder.deploy(GRAPH);
  const answer = await seeder.materialize(
    { assets: ['raw/orders', 'marts/revenue', 'reports/weekly'] },
    () => [seeder.materialization('raw/orders', null), seeder.failure('marts/revenue', null)],
    { failed: true, taskRuns: true },
  );
  runId = answer.flowRunId as string;
}, 120_000);

afterAll(async () => {
  await seeder?.close();
});

const policy = new PolicyWatch();
const consoleErrors: string[] = [];

async function openRun(): Promise<Page> {
  const { page } = await signedInPage(dashboard.browser, dashboard.server, policy);
  page.on('console', (m) => {
    if (m.type() === 'error') consoleErrors.push(m.text());
  });
  await page.goto(`${dashboard.server.url}/#/runs/${runId}`);
  await page.getByTestId('run-assets').waitFor();
  return page;
}

describe('the run page of an asset run', () => {
  it("draws the run's assets upstream first, each in the state its task runs add up to, linked to its page", async () => {
    const page = await openRun();
    const nodes = page.getByTestId('run-asset-node');
    await expect.poll(() => nodes.count()).toBe(3);
    const state = async (key: string) =>
      page.locator(`[data-testid="run-asset-node"][data-key="${key}"]`).getAttribute('data-state');
    // The requested assets are drawn at once; their states follow when the task runs' summary arrives.
    await expect.poll(() => state('raw/orders')).toBe('COMPLETED');
    await expect.poll(() => state('marts/revenue')).toBe('FAILED');
    expect(await state('reports/weekly')).toBe('SCHEDULED');
    expect(await page.locator('[data-testid="run-asset-node"][data-key="unrelated/thing"]').count()).toBe(0);
    const label = (key: string) => page.locator(`[data-testid="run-asset-node"][data-key="${key}"]`).getAttribute('aria-label');
    expect(await label('raw/orders')).toBe('raw/orders: Completed, materialised');
    expect(await label('marts/revenue')).toBe('marts/revenue: Failed, failed');
    expect(await label('reports/weekly')).toBe('reports/weekly: Scheduled, not run');

    // Upstream on the left: each edge runs from a node to one further right.
    const edges = page.getByTestId('run-asset-edge');
    await expect.poll(() => edges.count()).toBe(2);
    const x = async (key: string) =>
      (await page.locator(`[data-testid="run-asset-node"][data-key="${key}"] rect`).first().boundingBox())?.x ?? Number.NaN;
    expect(await x('raw/orders')).toBeLessThan(await x('marts/revenue'));
    expect(await x('marts/revenue')).toBeLessThan(await x('reports/weekly'));

    // The section button is there, and a node opens its asset.
    expect(await page.getByRole('button', { name: 'Assets' }).count()).toBe(1);
    await screenshot(page, 'run-detail-assets');
    await page.locator('[data-testid="run-asset-node"][data-key="marts/revenue"]').click();
    await page.getByTestId('asset-key').getByText('marts/revenue').waitFor();
    expect(consoleErrors).toEqual([]);
    expect(policy.violations).toEqual([]);
    await page.context().close();
  });
});
