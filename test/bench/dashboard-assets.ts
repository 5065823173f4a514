import { readFile } from 'node:fs/promises';
import { gzipSync } from 'node:zlib';
import { type OutpostClient as Client, OutpostClient, unwrap } from '@outpost/sdk/client';
import type { AssetDefinitionInput } from '@outpost/sdk/contracts';
import type { Browser } from 'playwright-core';
import type { Sql } from 'postgres';
import { launchChromium } from '../support/dashboard.js';
import { startBenchApi } from './support/api.js';
import { assetGraph, seedAssetHealth } from './support/asset-graph.js';
import { type Cookie, firstLoad, frameIntervals, medianLoad, sessionCookies } from './support/browser.js';
import { dashboardFiles } from './support/dist.js';
import { percentile, type Row, row } from './support/row.js';

/**
 * The asset pages in headless Chromium: the lineage graph of 1,000 assets with its groups expanded
 * (the layout's time on the page, navigation to the first node drawn, and frame intervals while the
 * fitted graph is panned) against the same page for a workspace of 100 assets, measured in
 * alternation in the same run; the lineage graph of 10,000 assets in 100 groups as it opens, every
 * group collapsed, to its first group node drawn, against its lineage call alone; and an asset page with a partition grid of 10,000 partitions, to its canvas painted, against
 * the same page for an asset of 100 partitions and against the grid's own API call. The graphs are
 * registered through the API (a deployment of the `assets` flow); partition status and the health
 * of a share of the assets are written straight into `asset_partitions`, as 10,000 runs would leave it.
 */
export const timeoutSeconds = 480;

const SAMPLES = 5;
const GRID_BIG = 10_000;
const GRID_SMALL = 100;
const READY = '[data-testid="lineage-graph"][data-ready="true"] [data-testid="lineage-node"]';
const READY_COLLAPSED = '[data-testid="lineage-graph"][data-ready="true"] [data-testid="lineage-group"]';
const HUGE = 10_000;
/** A deployment registers at most 5,000 assets: the 10,000 are two deployments, the second depending on the first. */
const PER_DEPLOYMENT = 5_000;
const PAINTED = '[data-testid="partition-canvas"][data-painted="true"]';

/** Daily partitions from 1999-01-01, `count` of them. */
function dailyDefinition(count: number) {
  const end = new Date(Date.UTC(1999, 0, 1) + count * 86_400_000).toISOString().slice(0, 10);
  return { kind: 'time' as const, cadence: 'daily' as const, start: '1999-01-01', end, timezone: 'UTC' };
}

/** Partition status of one asset: 80 % materialised, 5 % failed, the rest missing (no row). */
async function seedPartitions(sql: Sql, workspaceId: string, key: string, count: number): Promise<void> {
  await sql`
    INSERT INTO asset_partitions (workspace_id, asset_key, partition_key, status, code_version, data_version, materialized_at)
    SELECT ${workspaceId}, ${key}, to_char(date '1999-01-01' + g, 'YYYY-MM-DD'),
           CASE WHEN g % 20 = 7 THEN 'FAILED' ELSE 'MATERIALIZED' END, 'v1', md5(g::text),
           CASE WHEN g % 20 = 7 THEN NULL ELSE now() - g * interval '1 minute' END
    FROM generate_series(0, ${count - 1}) g
    WHERE g % 20 NOT IN (3, 11, 17)`;
  await sql`VACUUM ANALYZE asset_partitions`;
}

async function apiTime(url: string, key: string, path: string): Promise<number> {
  const started = performance.now();
  const res = await fetch(`${url}/api/v1${path}`, { headers: { authorization: `Bearer ${key}` } });
  await res.arrayBuffer();
  if (res.status !== 200) throw new Error(`${path} failed: ${res.status}`);
  return performance.now() - started;
}

interface GraphSample {
  paint: number;
  layout: number;
  frameP95: number;
}

/**
 * One fresh load of the lineage page with every group expanded (as it opened before groups
 * collapsed, so the rows stay comparable): time to the first node, the layout's time, and frames
 * while panning the fitted graph.
 */
async function lineageSample(browser: Browser, url: string, cookies: Cookie[]): Promise<GraphSample> {
  const { ms, extra } = await firstLoad(browser, `${url}/#/lineage?groups=expanded`, READY, cookies, async (page) => {
    const layout = Number(await page.getByTestId('lineage-graph').getAttribute('data-layout-ms'));
    const pane = await page.locator('.react-flow__pane').boundingBox();
    if (!pane) throw new Error('no lineage pane');
    const frames = await frameIntervals(page, async () => {
      await page.mouse.move(pane.x + pane.width / 2, pane.y + pane.height / 2);
      await page.mouse.down();
      for (let i = 1; i <= 40; i++) await page.mouse.move(pane.x + pane.width / 2 + i * 6, pane.y + pane.height / 2 + i * 3);
      await page.mouse.up();
    });
    return { layout, frameP95: percentile(frames, 95) };
  });
  if (!extra) throw new Error('no lineage sample');
  return { paint: ms, ...extra };
}

/** Gzipped bytes of the JavaScript among `files`, as the API serves it. */
async function gzippedScripts(files: { path: string }[]): Promise<number> {
  let total = 0;
  for (const f of files.filter((x) => x.path.endsWith('.js'))) total += gzipSync(await readFile(f.path), { level: 9 }).length;
  return total;
}

export async function run(): Promise<Row[]> {
  const dist = await dashboardFiles();
  const firstLoadJs = await gzippedScripts(dist.firstLoad);
  const lineageJs = await gzippedScripts(dist.onDemand);
  const api = await startBenchApi();
  let browser: Browser | null = null;
  try {
    const { server, owner } = api;
    // Two workspaces: 1,000 assets in the API's own, 100 in another; the same page is loaded in each.
    const small = await server.createWorkspace();
    const huge = await server.createWorkspace();
    const smallOwner = new OutpostClient({ baseUrl: server.url, token: small.ownerKey });
    const hugeOwner = new OutpostClient({ baseUrl: server.url, token: huge.ownerKey });
    const deploy = async (client: Client, name: string, assets: AssetDefinitionInput[]) =>
      unwrap(
        await client.call('deploymentsUpsert', {
          body: {
            flowName: 'assets',
            name,
            source: `dir:///bench-${name}`,
            entrypoint: 'assets.js',
            workPool: 'default',
            assets,
          },
        }),
      );
    try {
      await deploy(smallOwner, 'small', assetGraph(100, 'g'));
      // 10,000 assets in 100 groups of 100 (each within one layer), in two deployments.
      const hugeGraph = assetGraph(HUGE, 'h').map((a, i) => ({ ...a, group: `h_${Math.floor(i / 100)}` }));
      for (let from = 0; from < HUGE; from += PER_DEPLOYMENT) {
        await deploy(hugeOwner, `huge-${from / PER_DEPLOYMENT}`, hugeGraph.slice(from, from + PER_DEPLOYMENT));
      }
    } finally {
      await smallOwner.close();
      await hugeOwner.close();
    }
    await deploy(owner, 'large', [
      ...assetGraph(1000, 'g'),
      { key: 'grid/big', codeVersion: 'v1', partitions: dailyDefinition(GRID_BIG) },
      { key: 'grid/small', codeVersion: 'v1', partitions: dailyDefinition(GRID_SMALL) },
    ]);
    await seedAssetHealth(server.sql, small.workspaceId, 'g');
    await seedAssetHealth(server.sql, server.workspaceId, 'g');
    await seedAssetHealth(server.sql, huge.workspaceId, 'h');
    await seedPartitions(server.sql, server.workspaceId, 'grid/big', GRID_BIG);
    await seedPartitions(server.sql, server.workspaceId, 'grid/small', GRID_SMALL);

    browser = await launchChromium();
    const largeCookies = await sessionCookies(server.url, server.ownerKey);
    const smallCookies = await sessionCookies(server.url, small.ownerKey);
    const hugeCookies = await sessionCookies(server.url, huge.ownerKey);

    // Lineage: one unmeasured load of each, then samples in alternation so drift touches both alike.
    await lineageSample(browser, server.url, largeCookies);
    await lineageSample(browser, server.url, smallCookies);
    const large: GraphSample[] = [];
    const tiny: GraphSample[] = [];
    for (let i = 0; i < SAMPLES; i++) {
      large.push(await lineageSample(browser, server.url, largeCookies));
      tiny.push(await lineageSample(browser, server.url, smallCookies));
    }
    const p50 = (xs: GraphSample[], f: (s: GraphSample) => number) => percentile(xs.map(f), 50);
    const lineageCall: number[] = [];
    for (let i = 0; i < SAMPLES + 1; i++) lineageCall.push(await apiTime(server.url, server.ownerKey, '/assets/lineage'));

    // 10,000 assets as the page opens them, every group collapsed: to the first group node drawn.
    const hugeLoad = await medianLoad(browser, `${server.url}/#/lineage`, READY_COLLAPSED, hugeCookies, SAMPLES);
    const hugeCall: number[] = [];
    for (let i = 0; i < SAMPLES + 1; i++) hugeCall.push(await apiTime(server.url, huge.ownerKey, '/assets/lineage'));

    // Partition grid: the asset page to its canvas painted.
    const gridUrl = (key: string) => `${server.url}/#/assets/${encodeURIComponent(key)}`;
    const bigGrid = await medianLoad(browser, gridUrl('grid/big'), PAINTED, largeCookies, SAMPLES);
    const smallGrid = await medianLoad(browser, gridUrl('grid/small'), PAINTED, largeCookies, SAMPLES);
    const partitionsCall: number[] = [];
    for (let i = 0; i < SAMPLES + 1; i++) {
      partitionsCall.push(await apiTime(server.url, server.ownerKey, `/assets/partitions?key=${encodeURIComponent('grid/big')}`));
    }

    return [
      row(
        'lineage graph, layered layout on the page, 1,000 assets (p50)',
        p50(large, (s) => s.layout),
        'ms',
        p50(tiny, (s) => s.layout),
        'the same layout for a workspace of 100 assets (same shape: ten layers, one to three deps each), same run, loads alternated',
      ),
      row(
        'lineage graph first paint, 1,000 assets (p50)',
        p50(large, (s) => s.paint),
        'ms',
        p50(tiny, (s) => s.paint),
        'navigation to the first node drawn, fresh context; the same page for a workspace of 100 assets',
      ),
      row(
        'lineage graph first paint vs. its lineage call alone, 1,000 assets (p50)',
        p50(large, (s) => s.paint),
        'ms',
        percentile(lineageCall.slice(1), 50),
        '`GET /api/v1/assets/lineage` from Node over HTTP on 127.0.0.1, 1,000 assets',
      ),
      row(
        'lineage graph pan at fit view, 1,000 assets, frame interval p95',
        p50(large, (s) => s.frameP95),
        'ms',
        p50(tiny, (s) => s.frameP95),
        'p95 of the intervals between animation frames while the whole fitted graph is dragged 40 steps (median over loads); the same for 100 assets. 16.7 ms is one frame at 60 Hz',
      ),
      row(
        'lineage graph first paint, 10,000 assets in 100 groups, opened collapsed (p50)',
        hugeLoad,
        'ms',
        percentile(hugeCall.slice(1), 50),
        'navigation to the first group node drawn, fresh context, against `GET /api/v1/assets/lineage` for those 10,000 assets alone (kept between calls, so after the first read it is the stamp and the kept JSON)',
      ),
      row(
        'partition grid first paint, 10,000 partitions (p50)',
        bigGrid,
        'ms',
        smallGrid,
        'navigation to the canvas painted on the asset page, fresh context; the same page for an asset of 100 partitions',
      ),
      row(
        'partition grid first paint vs. its partitions call alone, 10,000 partitions (p50)',
        bigGrid,
        'ms',
        percentile(partitionsCall.slice(1), 50),
        '`GET /api/v1/assets/partitions?key=…` (all 10,000 in one page) from Node over HTTP on 127.0.0.1',
      ),
      row(
        "JavaScript loaded on demand (every page's chunk, React Flow among them), gzip",
        lineageJs,
        'bytes',
        firstLoadJs,
        'the JavaScript every first load of the dashboard fetches, gzip -9',
      ),
    ];
  } finally {
    await browser?.close();
    await api.close();
  }
}
