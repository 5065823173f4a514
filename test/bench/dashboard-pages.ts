import { OutpostClient, unwrap } from '@outpost/sdk/client';
import type { Browser, Page } from 'playwright-core';
import type { Sql } from 'postgres';
import { launchChromium } from '../support/dashboard.js';
import { startBenchApi } from './support/api.js';
import { assetGraph, seedAssetHealth } from './support/asset-graph.js';
import { automation, deployment } from './support/automations.js';
import { type Cookie, firstLoad, sessionCookies } from './support/browser.js';
import { insertWeekOfRuns } from './support/bulk-runs.js';
import { percentile, type Row, row } from './support/row.js';

/**
 * Every main page of the dashboard as a new user meets it, in one workspace of the bench's sizes:
 * 20,000 runs (one of them with 2,000 task runs), 10,000 events, 40 deployments, 40 automations and
 * 1,000 assets with lineage. Each page is opened in a fresh Chromium context (empty cache, signed-in
 * cookies) and timed from navigation to its main rows on screen; its baseline is the page's own main
 * API call(s), timed with plain fetch from Node in the same run (several calls a page starts at once
 * count as the slowest of them). Samples of page and call alternate, so the machine's load touches both alike.
 */
export const timeoutSeconds = 420;

const SAMPLES = 5;
const RUNS = 20_000;
const TASK_RUNS = 2_000;
const EVENTS = 10_000;
const DEPLOYMENTS = 40;
const AUTOMATIONS = 40;
const ASSETS = 1_000;

interface PageSpec {
  name: string;
  hash: string;
  ready: string;
  /** The page's main API calls, started together by the page. */
  calls: string[];
}

async function seedTaskRuns(sql: Sql, workspaceId: string, runId: string): Promise<void> {
  await sql`
    INSERT INTO task_runs (id, workspace_id, flow_run_id, flow_run_attempt, name, task_key, dynamic_key, run_count,
                           state_type, state_name, state_timestamp, start_time, end_time, created_at, updated_at)
    SELECT gen_random_uuid(), ${workspaceId}, ${runId}, 1, 'step', 'step-' || g, g::text, 1, 'COMPLETED', 'Completed',
           c, c, c + interval '1 second', c, c
    FROM generate_series(1, ${TASK_RUNS}) g
    CROSS JOIN LATERAL (SELECT now() - interval '10 minutes' + g * interval '5 milliseconds' AS c) t`;
  // A run is created before its task runs (the API stamps them so; its pages look them up so).
  await sql`
    UPDATE flow_runs SET state_type = 'COMPLETED', state_name = 'Completed', start_time = now() - interval '10 minutes',
           created_at = least(created_at, now() - interval '10 minutes'),
           end_time = now(), updated_at = now()
    WHERE id = ${runId}`;
}

/** Run-state events about the seeded runs and custom metrics, one in ten of them internal bookkeeping. */
async function seedEvents(sql: Sql, workspaceId: string): Promise<void> {
  await sql`
    INSERT INTO events (workspace_id, kind, resource_kind, resource_id, resource_name, payload, source, occurred_at, received_at)
    SELECT ${workspaceId},
           CASE WHEN g % 10 = 0 THEN 'audit.sensorticksclaim' WHEN g % 3 = 0 THEN 'model.metrics' ELSE 'flow-run.completed' END,
           CASE WHEN g % 3 = 0 THEN 'api-key' ELSE 'flow-run' END,
           coalesce(r.id::text, 'bench'), r.name,
           jsonb_build_object('step', g, 'loss', 1.0 / g, 'model', 'churn-v7'),
           CASE WHEN g % 3 = 0 THEN 'api' ELSE 'system' END,
           now() - make_interval(secs => ${EVENTS} - g), now() - make_interval(secs => ${EVENTS} - g)
    FROM generate_series(1, ${EVENTS}) g
    LEFT JOIN LATERAL (SELECT id, name FROM flow_runs WHERE workspace_id = ${workspaceId} AND name = 'bench-run-' || g) r ON true`;
}

async function apiTime(url: string, key: string, paths: string[]): Promise<number> {
  const started = performance.now();
  await Promise.all(
    paths.map(async (path) => {
      const res = await fetch(`${url}/api/v1${path}`, { headers: { authorization: `Bearer ${key}` } });
      await res.arrayBuffer();
      if (res.status !== 200) throw new Error(`${path} failed: ${res.status}`);
    }),
  );
  return performance.now() - started;
}

async function measure(
  browser: Browser,
  url: string,
  key: string,
  cookies: Cookie[],
  spec: PageSpec,
): Promise<{ page: number; paint: number; call: number }> {
  const load = () => firstLoad(browser, `${url}/#${spec.hash}`, spec.ready, cookies, firstContentfulPaint);
  await load();
  await apiTime(url, key, spec.calls);
  const pages: number[] = [];
  const paints: number[] = [];
  const calls: number[] = [];
  for (let i = 0; i < SAMPLES; i++) {
    const loaded = await load();
    pages.push(loaded.ms);
    paints.push(loaded.extra ?? Number.NaN);
    calls.push(await apiTime(url, key, spec.calls));
  }
  return { page: percentile(pages, 50), paint: percentile(paints, 50), call: percentile(calls, 50) };
}

/** The browser's first contentful paint of the page, in ms from navigation (Paint Timing). */
async function firstContentfulPaint(page: Page): Promise<number> {
  // A script as text: functions passed to evaluate are compiled by tsx, which adds helpers the page lacks.
  const at = await page.evaluate<number | null>(
    `(performance.getEntriesByName('first-contentful-paint')[0] || { startTime: null }).startTime`,
  );
  if (at === null) throw new Error(`no first contentful paint recorded for ${page.url()}`);
  return at;
}

/**
 * The floor of a first contentful paint on this machine: a fresh context painting the API's plain
 * health answer, with no script, style or data to wait for.
 */
async function paintFloor(browser: Browser, url: string): Promise<number> {
  await firstLoad(browser, `${url}/healthz`, 'body', [], firstContentfulPaint);
  const paints: number[] = [];
  for (let i = 0; i < SAMPLES; i++) {
    paints.push((await firstLoad(browser, `${url}/healthz`, 'body', [], firstContentfulPaint)).extra ?? Number.NaN);
  }
  return percentile(paints, 50);
}

export async function run(): Promise<Row[]> {
  const api = await startBenchApi();
  let browser: Browser | null = null;
  const { server } = api;
  const owner = new OutpostClient({ baseUrl: server.url, token: server.ownerKey });
  try {
    const { sql, workspaceId } = server;
    await insertWeekOfRuns(sql, api.deploymentId, RUNS);
    const bigRun = await api.createRun();
    await seedTaskRuns(sql, workspaceId, bigRun);
    await seedEvents(sql, workspaceId);
    for (let i = 0; i < DEPLOYMENTS; i++) await deployment(server, `d${String(i).padStart(2, '0')}`);
    for (let i = 0; i < AUTOMATIONS; i++) {
      await automation(server, `on-metrics-${i}`, 'model.metrics', `d${String(i % DEPLOYMENTS).padStart(2, '0')}`);
    }
    const assets = assetGraph(ASSETS, 'g');
    unwrap(
      await owner.call('deploymentsUpsert', {
        body: {
          flowName: 'assets',
          name: 'large',
          source: 'dir:///bench-assets',
          entrypoint: 'assets.js',
          workPool: 'default',
          assets,
        },
      }),
    );
    await seedAssetHealth(sql, workspaceId, 'g');
    await sql`VACUUM ANALYZE flow_runs, task_runs, events, asset_definitions, asset_partitions, automations, deployments`;
    const assetKey = assets[Math.floor(ASSETS / 2)]?.key ?? 'g/l5/a500';
    const encoded = encodeURIComponent(assetKey);

    const pages: PageSpec[] = [
      { name: 'runs page', hash: '/runs', ready: '[data-testid="run-row"]', calls: ['/flow-runs?limit=100'] },
      {
        name: `run page (${TASK_RUNS.toLocaleString('en-US')} task runs)`,
        hash: `/runs/${bigRun}`,
        ready: '[data-testid="run-name"]',
        calls: [
          `/flow-runs/${bigRun}`,
          `/flow-runs/${bigRun}/states`,
          `/flow-runs/${bigRun}/artifacts`,
          `/flow-runs/${bigRun}/child-runs`,
        ],
      },
      { name: 'assets list', hash: '/assets', ready: '[data-testid="asset-row"]', calls: ['/assets?limit=200'] },
      {
        name: 'asset page',
        hash: `/assets/${encoded}`,
        ready: '[data-testid="asset-key"]',
        calls: [`/assets/detail?key=${encoded}`],
      },
      {
        name: `lineage page (${ASSETS.toLocaleString('en-US')} assets)`,
        hash: '/lineage',
        ready: '[data-testid="lineage-graph"][data-ready="true"] [data-testid="lineage-node"]',
        calls: ['/assets/lineage'],
      },
      { name: 'events page', hash: '/events', ready: '[data-testid="event-row"]', calls: ['/events?limit=100'] },
      {
        name: 'automations page',
        hash: '/automations',
        ready: '[data-testid="automation-row"]',
        calls: ['/automations?limit=200'],
      },
      {
        name: 'deployments page',
        hash: '/deployments',
        ready: '[data-testid="deployment-row"]',
        calls: ['/deployments?limit=100'],
      },
      {
        name: 'work pools page',
        hash: '/work-pools',
        ready: '[data-testid="queue-row"]',
        calls: ['/work-pools', '/work-pools/default/queues', '/work-pools/default/workers', '/work-pools/default/metrics'],
      },
    ];

    browser = await launchChromium();
    const cookies = await sessionCookies(server.url, server.ownerKey);
    const rows: Row[] = [];
    const floor = await paintFloor(browser, server.url);
    const paints: Row[] = [];
    for (const spec of pages) {
      const { page, paint, call } = await measure(browser, server.url, server.ownerKey, cookies, spec);
      paints.push(
        row(
          `${spec.name}, first contentful paint (p50; goal ≤ 1,000 ms)`,
          paint,
          'ms',
          floor,
          'Paint Timing `first-contentful-paint` of the page, fresh context; baseline: the same for `GET /healthz` (no script or style)',
        ),
      );
      rows.push(
        row(
          `${spec.name}, first paint vs. its API call${spec.calls.length > 1 ? 's' : ''} (p50)`,
          page,
          'ms',
          call,
          `${spec.calls.map((c) => `\`GET /api/v1${c.split('?')[0]}\``).join(' + ')} from Node over HTTP on 127.0.0.1; the page from navigation to \`${spec.ready}\` visible, fresh context`,
        ),
      );
    }
    return [...rows, ...paints];
  } finally {
    await browser?.close();
    await owner.close();
    await api.close();
  }
}
