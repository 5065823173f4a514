import { readFile } from 'node:fs/promises';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { build, stop as stopEsbuild } from 'esbuild';
import { launchChromium } from '../support/dashboard.js';
import { repoRoot } from '../support/processes.js';
import { startBenchApi } from './support/api.js';
import { idleCpuPercent, medianLoad, sessionCookies } from './support/browser.js';
import { insertWeekOfRuns } from './support/bulk-runs.js';
import { dashboardFiles } from './support/dist.js';
import { percentile, type Row, row } from './support/row.js';

/**
 * The dashboard as a person meets it: the first load of the runs page with 100,000 runs in the
 * database, in a fresh Chromium context (empty cache, signed-in cookies), timed from navigation to
 * the first row of the table on screen; the first load of one run's page with 100,000 task runs,
 * timed from navigation to its task-run panel drawn from the summary; and the size of the
 * JavaScript a first load fetches (not chunks loaded on demand), raw and gzipped as the API serves it. Baselines: a static page of the same byte size
 * holding a 100-row table, served by a bare `node:http` server; the runs page's own API call
 * (`GET /flow-runs?limit=100`) alone; the same run page for a run of 10 task runs, and the summary
 * call (`GET /flow-runs/:id/task-runs/summary`) alone; and a bundle of React and ReactDOM alone,
 * minified the same way. And the browser's CPU while the runs page sits open and untouched, against
 * the same page when the system asks for reduced motion (no pulsing dot).
 */
export const timeoutSeconds = 300;

const RUNS = 100_000;
const TASK_RUNS = 100_000;
const SAMPLES = 5;

/** Minified JavaScript of React and ReactDOM rendering nothing: what any React page ships. */
async function reactAlone(): Promise<Buffer> {
  try {
    const result = await build({
      stdin: {
        contents: "import { createRoot } from 'react-dom/client'; createRoot(document.body).render(null);",
        resolveDir: join(repoRoot, 'services/dashboard'),
        loader: 'js',
      },
      bundle: true,
      minify: true,
      format: 'esm',
      target: 'es2022',
      define: { 'process.env.NODE_ENV': '"production"' },
      write: false,
      logLevel: 'silent',
    });
    const [out] = result.outputFiles;
    if (!out) throw new Error('esbuild produced no output');
    return Buffer.from(out.contents);
  } finally {
    await stopEsbuild();
  }
}

/**
 * `count` task runs of one flow run in one statement: four task names in equal stages, created 5 ms
 * apart, each ran 0.2 to 3.2 s; every 97th FAILED, every 1000th CRASHED, the rest COMPLETED.
 */
async function seedTaskRuns(sql: import('postgres').Sql, workspaceId: string, runId: string, count: number): Promise<void> {
  const stage = Math.ceil(count / 4);
  await sql`
    INSERT INTO task_runs (id, workspace_id, flow_run_id, flow_run_attempt, name, task_key, dynamic_key, run_count,
                           state_type, state_name, state_timestamp, start_time, end_time, created_at, updated_at)
    SELECT gen_random_uuid(), ${workspaceId}, ${runId}, 1, n.name, n.name || '-' || g, g::text, 1, s.type, initcap(s.type),
           c, c + interval '20 milliseconds', c + interval '20 milliseconds' + (200 + (g * 37) % 3000) * interval '1 millisecond', c, c
    FROM generate_series(1, ${count}) g
    CROSS JOIN LATERAL (SELECT (ARRAY['load','transform','score','upload'])[1 + (g - 1) / ${stage}] AS name) n
    CROSS JOIN LATERAL (SELECT CASE WHEN g % 97 = 0 THEN 'FAILED' WHEN g % 1000 = 1 THEN 'CRASHED' ELSE 'COMPLETED' END AS type) s
    CROSS JOIN LATERAL (SELECT now() - interval '10 minutes' + g * interval '5 milliseconds' AS c) t`;
  // A run is created before its task runs (the API stamps them so; its pages look them up so).
  await sql`UPDATE flow_runs SET created_at = least(created_at, now() - interval '10 minutes') WHERE id = ${runId}`;
}

/** A bare HTTP server answering one static page: a 100-row table padded to `bytes`. */
async function staticPage(bytes: number): Promise<{ url: string; close(): Promise<void> }> {
  const rows = Array.from(
    { length: 100 },
    (_, i) => `<tr class="row"><td>Completed</td><td>bench-run-${i}</td><td>bench-noop/default</td><td>3s</td></tr>`,
  ).join('');
  const head = `<!doctype html><html><head><meta charset="utf-8"><title>runs</title></head><body><table>${rows}</table>`;
  const tail = '</body></html>';
  const body = Buffer.from(`${head}<!--${'x'.repeat(Math.max(0, bytes - head.length - tail.length - 7))}-->${tail}`);
  const server = createServer((_req, res) => {
    res.writeHead(200, { 'content-type': 'text/html; charset=utf-8', 'content-length': body.length });
    res.end(body);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}/`,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

async function timeApiList(url: string, ownerKey: string, path = '/flow-runs?limit=100'): Promise<{ ms: number; bytes: number }> {
  const started = performance.now();
  const res = await fetch(`${url}/api/v1${path}`, { headers: { authorization: `Bearer ${ownerKey}` } });
  const body = await res.arrayBuffer();
  const ms = performance.now() - started;
  if (res.status !== 200) throw new Error(`${path} failed: ${res.status}`);
  return { ms, bytes: body.byteLength };
}

export async function run(): Promise<Row[]> {
  const files = (await dashboardFiles()).firstLoad;
  const scripts = files.filter((f) => f.path.endsWith('.js'));
  const scriptBytes = await Promise.all(scripts.map((f) => readFile(f.path)));
  const jsRaw = scriptBytes.reduce((sum, b) => sum + b.length, 0);
  const jsGzip = scriptBytes.reduce((sum, b) => sum + gzipSync(b, { level: 9 }).length, 0);
  const react = await reactAlone();

  const api = await startBenchApi();
  let browser: Awaited<ReturnType<typeof launchChromium>> | null = null;
  let page: { url: string; close(): Promise<void> } | null = null;
  try {
    await insertWeekOfRuns(api.server.sql, api.deploymentId, RUNS);
    await api.server.sql`VACUUM ANALYZE flow_runs`;
    const listed = await timeApiList(api.server.url, api.server.ownerKey);
    const apiTimes: number[] = [];
    for (let i = 0; i < SAMPLES; i++) apiTimes.push((await timeApiList(api.server.url, api.server.ownerKey)).ms);

    browser = await launchChromium();
    const cookies = await sessionCookies(api.server.url, api.server.ownerKey);
    const load = await medianLoad(browser, `${api.server.url}/#/runs`, '[data-testid="run-row"]', cookies);

    // The same bytes as the page's files and its list response, as one static document.
    const pageBytes = files.reduce((sum, f) => sum + f.bytes, 0) + listed.bytes;
    page = await staticPage(pageBytes);
    const staticLoad = await medianLoad(browser, page.url, 'tr.row');

    // The runs page left open: its live dot pulses unless the system asks for reduced motion.
    const runsPage = `${api.server.url}/#/runs`;
    const idleMoving = await idleCpuPercent(browser, runsPage, '[data-testid="run-row"]', cookies, 'no-preference');
    const idleStill = await idleCpuPercent(browser, runsPage, '[data-testid="run-row"]', cookies, 'reduce');

    // One run's page with 100,000 task runs, against the same page for a run of 10 task runs.
    const { sql, workspaceId } = api.server;
    const bigRun = await api.createRun();
    const smallRun = await api.createRun();
    await seedTaskRuns(sql, workspaceId, bigRun, TASK_RUNS);
    await seedTaskRuns(sql, workspaceId, smallRun, 10);
    await sql`
      UPDATE flow_runs SET state_type = 'COMPLETED', state_name = 'Completed', start_time = now() - interval '10 minutes',
             end_time = now(), updated_at = now()
      WHERE id IN (${bigRun}, ${smallRun})`;
    await sql`VACUUM ANALYZE task_runs`;
    const panel = '[data-testid="task-summary"]';
    const taskLoad = await medianLoad(browser, `${api.server.url}/#/runs/${bigRun}`, panel, cookies);
    const smallTaskLoad = await medianLoad(browser, `${api.server.url}/#/runs/${smallRun}`, panel, cookies);
    const summaryPath = `/flow-runs/${bigRun}/task-runs/summary`;
    await timeApiList(api.server.url, api.server.ownerKey, summaryPath);
    const summaryTimes: number[] = [];
    for (let i = 0; i < SAMPLES; i++) summaryTimes.push((await timeApiList(api.server.url, api.server.ownerKey, summaryPath)).ms);

    return [
      row(
        'runs page first load, 100,000 runs (p50)',
        load,
        'ms',
        staticLoad,
        `a static ${Math.round(pageBytes / 1024)} KiB page (the dashboard's files plus its list response) with a 100-row table, from a bare node:http server, fresh context`,
      ),
      row(
        'runs page first load vs. its list call alone (p50)',
        load,
        'ms',
        percentile(apiTimes, 50),
        '`GET /api/v1/flow-runs?limit=100` from Node over HTTP on 127.0.0.1, 100,000 runs in the database',
      ),
      row(
        'runs page left open, browser CPU',
        idleMoving,
        '% of a core',
        idleStill,
        'the same page in a context asking for reduced motion, which stills the pulsing live dot; 15 s untouched after 2 s to settle, headless Chromium drawing in software',
      ),
      row(
        'run page, task-run panel drawn, 100,000 task runs (p50)',
        taskLoad,
        'ms',
        smallTaskLoad,
        'the same page for a run of 10 task runs (one Gantt bar each), fresh context, navigation to the panel drawn from its summary',
      ),
      row(
        'run page, task-run panel drawn vs. its summary call alone (p50)',
        taskLoad,
        'ms',
        percentile(summaryTimes, 50),
        '`GET /api/v1/flow-runs/:id/task-runs/summary` from Node over HTTP on 127.0.0.1, 100,000 task runs in the run',
      ),
      row(
        'dashboard JavaScript, gzip',
        jsGzip,
        'bytes',
        gzipSync(react, { level: 9 }).length,
        'React + ReactDOM alone, minified, gzip -9',
      ),
      row('dashboard JavaScript, raw', jsRaw, 'bytes', react.length, 'React + ReactDOM alone, minified'),
    ];
  } finally {
    await browser?.close();
    await page?.close();
    await api.close();
  }
}
