import { randomUUID } from 'node:crypto';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { createTestDatabase, createTestWorkspace, type TestDatabase, type TestWorkspace } from '@outpost/api/testing';
import { OutpostClient, unwrap } from '@outpost/sdk/client';
import postgres from 'postgres';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseAllDocuments } from 'yaml';
import { type ApiProcess, startApiProcess } from '../support/api-process.js';
import { repoRoot } from '../support/processes.js';
import { evaluate, parseScrape, type Sample } from '../support/promql.js';

/*
 * The KEDA example's query, read from the example file, evaluated over what a Prometheus holds after
 * scraping two real API replicas of one database: each replica reports the same database-derived
 * gauges, so the query must count each run once, and only the runs of its own workspace and pool.
 */
const METRICS_TOKEN = 'metrics-token-for-the-keda-query-0123456789';
const EXAMPLE = path.join(repoRoot, 'infra/helm/outpost-worker/examples/keda-scaledobject.yaml');

function exampleQuery(): string {
  const [scaled] = parseAllDocuments(readFileSync(EXAMPLE, 'utf8')).map((d) => d.toJS());
  const query = scaled?.spec?.triggers?.[0]?.metadata?.query;
  if (typeof query !== 'string') throw new Error(`${EXAMPLE} has no prometheus query`);
  return query;
}

describe('the KEDA example query over two API replicas', () => {
  let db: TestDatabase;
  let sql: postgres.Sql;
  let a: ApiProcess;
  let b: ApiProcess;
  let other: TestWorkspace & { slug: string };
  const clients: OutpostClient[] = [];

  function client(api: ApiProcess, token: string): OutpostClient {
    const made = new OutpostClient({ baseUrl: api.url, token });
    clients.push(made);
    return made;
  }

  beforeAll(async () => {
    db = await createTestDatabase();
    sql = postgres(db.url, { max: 2, onnotice: () => {} });
    // A lease far longer than the test, so no held run is crashed while it is counted.
    const env = { OUTPOST_METRICS_TOKEN: METRICS_TOKEN, OUTPOST_LEASE_SECONDS: '3600' };
    a = await startApiProcess(db.url, env, { expectOwnerKey: true });
    b = await startApiProcess(db.url, env);
    const workspace = await createTestWorkspace(sql);
    const [row] = await sql<{ slug: string }[]>`SELECT slug FROM workspaces WHERE id = ${workspace.workspaceId}`;
    other = { ...workspace, slug: row?.slug ?? '' };
  });

  afterAll(async () => {
    for (const c of clients) await c.close();
    await b?.stop();
    await a?.stop();
    await sql?.end({ timeout: 5 });
    await db?.drop();
  });

  /** A pool (created unless it is `default`) with a deployment on it. */
  async function deploymentOn(owner: OutpostClient, pool: string): Promise<string> {
    if (pool !== 'default') unwrap(await owner.call('poolsCreate', { body: { name: pool } }));
    const { deployment } = unwrap(
      await owner.call('deploymentsUpsert', {
        body: { flowName: `scaled-${pool}`, name: 'd', source: 'dir:///never-fetched', entrypoint: 'flow.mjs', workPool: pool },
      }),
    );
    return deployment.id;
  }

  async function createRuns(owner: OutpostClient, deploymentId: string, count: number, scheduledTime?: string) {
    for (let i = 0; i < count; i++) {
      unwrap(
        await owner.call('deploymentsCreateRun', {
          params: { id: deploymentId },
          body: scheduledTime ? { scheduledTime } : {},
        }),
      );
    }
  }

  /** Claims `count` due runs of the pool as one worker; the runs with their run tokens. */
  async function claim(worker: OutpostClient, pool: string, count: number) {
    const { runs } = unwrap(await worker.call('claim', { params: { pool }, body: { workerId: randomUUID(), limit: count } }));
    expect(runs).toHaveLength(count);
    return runs.map((run) => ({ id: run.flowRun.id, as: worker.withToken(run.token) }));
  }

  async function propose(run: { id: string; as: OutpostClient }, type: 'RUNNING' | 'COMPLETED') {
    unwrap(
      await run.as.call('flowRunsSetState', { params: { id: run.id }, body: { transitionId: randomUUID(), state: { type } } }),
    );
  }

  /** What the database holds: runs of the pool that are due and waiting, or held by a worker. */
  async function waitingOrHeld(workspace: string, pool: string): Promise<number> {
    const [row] = await sql<{ n: number }[]>`
      SELECT count(*)::int AS n FROM flow_runs r
      JOIN work_pools p ON p.id = r.work_pool_id JOIN workspaces w ON w.id = p.workspace_id
      WHERE w.slug = ${workspace} AND p.name = ${pool}
        AND ((r.state_type = 'SCHEDULED' AND r.expected_start_time <= now())
             OR r.state_type IN ('PENDING', 'RUNNING', 'CANCELLING'))`;
    return row?.n ?? 0;
  }

  /** Both replicas' /metrics, labelled as a Prometheus scrape job labels its targets. */
  async function scrapeBoth(): Promise<Sample[]> {
    const samples: Sample[] = [];
    for (const api of [a, b]) {
      const res = await fetch(`${api.url}/metrics`, { headers: { authorization: `Bearer ${METRICS_TOKEN}` } });
      const text = await res.text();
      expect(res.status, text).toBe(200);
      samples.push(...parseScrape(text, { job: 'outpost-api', instance: new URL(api.url).host }));
    }
    return samples;
  }

  it('answers one sample: the waiting and held runs of its workspace and pool, counted once over both replicas', async () => {
    const owner = client(a, a.ownerKey ?? '');
    const worker = client(a, unwrap(await owner.call('apiKeysCreate', { body: { name: 'w', role: 'worker' } })).key);
    const gpu = await deploymentOn(owner, 'gpu');
    await createRuns(owner, gpu, 10);
    await createRuns(owner, gpu, 1, new Date(Date.now() + 3_600_000).toISOString());
    // Of 5 claimed: 1 stays PENDING, 1 RUNNING, 1 RUNNING then cancelled (CANCELLING), 1 COMPLETED.
    const [, running, cancelling, completed, alsoRunning] = await claim(worker, 'gpu', 5);
    for (const run of [running, cancelling, completed, alsoRunning]) await propose(run!, 'RUNNING');
    await propose(completed!, 'COMPLETED');
    unwrap(await owner.call('flowRunsCancel', { params: { id: cancelling!.id }, body: {} }));
    // The same workspace's other pool, and a pool of the same name in another workspace, through the other replica.
    await createRuns(owner, await deploymentOn(owner, 'default'), 3);
    const otherOwner = client(b, other.ownerKey);
    const otherWorker = client(b, await other.createKey('worker'));
    await createRuns(otherOwner, await deploymentOn(otherOwner, 'gpu'), 4);
    for (const run of await claim(otherWorker, 'gpu', 2)) await propose(run, 'RUNNING');

    const samples = await scrapeBoth();
    // Both replicas report the pool: the scrape really holds two copies of each gauge.
    const depths = samples.filter((s) => s.labels.__name__ === 'outpost_pool_queue_depth' && s.labels.pool === 'gpu');
    expect(depths.filter((s) => s.labels.workspace === 'default').map((s) => s.labels.instance)).toEqual(
      [a, b].map((api) => new URL(api.url).host),
    );

    const query = exampleQuery();
    // 5 due and waiting + PENDING, 2 RUNNING and CANCELLING; not the future run, the completed one,
    // the other pool's or the other workspace's.
    expect(await waitingOrHeld('default', 'gpu')).toBe(9);
    expect(evaluate(query, samples)).toEqual([{ labels: { workspace: 'default', pool: 'gpu' }, value: 9 }]);

    // The same query scoped to the other workspace counts its runs only: 2 waiting, 2 running.
    const otherQuery = query.replaceAll('workspace="default"', `workspace="${other.slug}"`);
    expect(otherQuery).not.toBe(query);
    expect(await waitingOrHeld(other.slug, 'gpu')).toBe(4);
    expect(evaluate(otherQuery, samples)).toEqual([{ labels: { workspace: other.slug, pool: 'gpu' }, value: 4 }]);

    // The query the example used before: each waiting run once per replica, both workspaces, no held runs.
    expect(evaluate('sum(outpost_pool_queue_depth{pool="gpu"})', samples)).toEqual([{ labels: {}, value: 2 * (5 + 2) }]);
  });
});
