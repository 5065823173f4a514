import { mkdtemp, readdir, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startTestServer, type TestServer } from '@outpost/api/testing';
import { OutpostClient, unwrap } from '@outpost/sdk/client';
import type { FlowRun } from '@outpost/sdk/contracts';
import postgres from 'postgres';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startCliWorker } from '../support/cli-worker.js';
import { runCli, type Spawned } from '../support/processes.js';
import { writeProject } from '../support/project.js';

/*
 * The asset half end to end, every part real: `outpost deploy` of a partitioned graph (bundle in an
 * OCI layout, definitions read from it), a worker started by the CLI, `outpost assets materialize`,
 * and the lineage, materialisations and staleness read back from the API.
 */

const CONFIG = (assetDir: string) => `import { defineConfig } from '@outpost/sdk';
export default defineConfig({
  project: 'warehouse',
  registry: 'oci-layout:./registry',
  deployments: [
    { name: 'warehouse', entrypoint: 'assets.ts', assets: true, pool: 'default', jobVariables: { env: { ASSET_DIR: '${assetDir}' } } },
  ],
});
`;

/** In every row of data: the dump of the control plane's database must never hold it. */
const CANARY = 'lake-canary-q9z7';

const ASSETS = (featuresBody: string) => `import { asset, check, fsIO, partitions } from '@outpost/sdk';
const io = fsIO({ dir: process.env.ASSET_DIR ?? 'assets-data' });
const daily = partitions.daily({ start: '2026-03-01', end: '2026-04-01', timezone: 'Europe/Berlin' });
export const events = asset({ key: 'raw/events', partitions: daily, io, owners: ['team:data'] }, async (ctx) =>
  Array.from({ length: 4 }, (_, i) => ({ id: i, day: ctx.partition.key, note: '${CANARY}-' + ctx.partition.key })),
);
export const features = asset(
  { key: 'features', deps: [events], partitions: daily, io,
    checks: [check('no_null_ids', { blocking: true }, (rows: { id: number | null }[]) => ({ passed: rows.every((r) => r.id !== null), metadata: { rows: rows.length } }))] },
  async (ctx, rows) => { ctx.addMetadata({ rows: rows.length }); return ${featuresBody}; },
);
export const model = asset({ key: 'model/churn', deps: [features], io }, async (ctx, byDay) => {
  const days = Object.keys(byDay).length;
  ctx.addMetadata({ days, accuracy: 0.9 });
  return { days };
});
`;

describe('assets: deploy a partitioned graph, materialise it on a worker, read lineage and staleness', () => {
  let server: TestServer;
  let scratch: string;
  let project: string;
  let env: Record<string, string>;
  let client: OutpostClient;
  let worker: Spawned | null = null;

  beforeAll(async () => {
    server = await startTestServer();
    scratch = await mkdtemp(join(tmpdir(), 'outpost-e2e-assets-'));
    project = join(scratch, 'warehouse');
    env = { OUTPOST_API_URL: server.url, OUTPOST_API_KEY: server.ownerKey };
    client = new OutpostClient({ baseUrl: server.url, token: server.ownerKey });
    await writeProject(project, {
      'outpost.config.ts': CONFIG(join(scratch, 'data')),
      'assets.ts': ASSETS('rows.map((r) => ({ ...r, score: r.id * 2 }))'),
    });
    worker = await startCliWorker(server, scratch);
  });

  afterAll(async () => {
    await worker?.stop('SIGTERM');
    await client?.close();
    await server?.close();
    if (scratch) await rm(scratch, { recursive: true, force: true });
  });

  async function settled(runId: string): Promise<FlowRun> {
    const deadline = Date.now() + 90_000;
    for (;;) {
      const run = unwrap(await client.call('flowRunsGet', { params: { id: runId } }));
      if (['COMPLETED', 'FAILED', 'CRASHED', 'CANCELLED'].includes(run.state.type)) return run;
      if (Date.now() > deadline) throw new Error(`run ${runId} is still ${run.state.type}:\n${worker?.output()}`);
      await new Promise((resolve) => setTimeout(resolve, 200));
    }
  }

  async function materialize(args: string[]): Promise<FlowRun> {
    const r = await runCli(['assets', 'materialize', ...args], env);
    expect(r.code, r.output).toBe(0);
    const runId = /run ([0-9a-f-]{36})/.exec(r.output)?.[1];
    expect(runId, r.output).toBeDefined();
    return settled(runId as string);
  }

  const assetOf = async (key: string) => unwrap(await client.call('assetsGet', { query: { key } }));

  it('deploys the graph: keys, deps, partitions, checks and code versions registered with the deployment', async () => {
    const r = await runCli(['deploy'], env, project);
    expect(r.code, r.output).toBe(0);
    expect(r.output).toContain('registered assets/warehouse');
    expect(r.output).toContain('registered 3 assets:');
    const lineage = unwrap(await client.call('assetsLineage', {}));
    expect(lineage.nodes.map((n) => n.key).sort()).toEqual(['features', 'model/churn', 'raw/events']);
    expect(lineage.edges).toEqual(
      expect.arrayContaining([
        { from: 'raw/events', to: 'features' },
        { from: 'features', to: 'model/churn' },
      ]),
    );
    const features = await assetOf('features');
    expect(features).toMatchObject({
      deploymentName: 'assets/warehouse',
      deps: ['raw/events'],
      dependents: ['model/churn'],
      io: 'fs',
      partitions: { kind: 'time', cadence: 'daily', timezone: 'Europe/Berlin' },
      health: 'MISSING',
    });
    expect(features.checks.map((c) => [c.name, c.blocking])).toEqual([['no_null_ids', true]]);
  });

  it('materialises a partition with its upstream on the worker, then the unpartitioned model from the stored partitions', async () => {
    const run = await materialize(['features', '--partition', '2026-03-01', '--upstream']);
    expect(run.state.type, worker?.output()).toBe('COMPLETED');
    expect(run.partitionKey).toBe('2026-03-01');
    const history = unwrap(await client.call('assetsMaterializations', { query: { key: 'features' } })).items;
    expect(history).toEqual([
      expect.objectContaining({
        flowRunId: run.id,
        partitionKey: '2026-03-01',
        dataVersion: expect.stringMatching(/^[0-9a-f]{64}$/),
        metadata: expect.objectContaining({ rows: 4 }),
      }),
    ]);
    const checks = unwrap(await client.call('assetsCheckResults', { query: { key: 'features' } })).items;
    expect(checks).toEqual([expect.objectContaining({ checkName: 'no_null_ids', passed: true, metadata: { rows: 4 } })]);

    const modelRun = await materialize(['model/churn']);
    expect(modelRun.state.type).toBe('COMPLETED');
    const [model] = unwrap(await client.call('assetsMaterializations', { query: { key: 'model/churn' } })).items;
    expect(model?.metadata).toMatchObject({ days: 1, accuracy: 0.9 });
    expect((await assetOf('model/churn')).health).toBe('FRESH');
  });

  it('changing one asset’s code and redeploying makes it and its downstream stale, with the reasons, and nothing else', async () => {
    const before = await assetOf('features');
    const eventsBefore = await assetOf('raw/events');
    await writeProject(project, { 'assets.ts': ASSETS('rows.map((r) => ({ ...r, score: r.id * 3 }))') });
    const r = await runCli(['deploy'], env, project);
    expect(r.code, r.output).toBe(0);

    const features = await assetOf('features');
    expect(features.codeVersion).not.toBe(before.codeVersion);
    expect(features.stale).toEqual(expect.arrayContaining([expect.objectContaining({ kind: 'code_version' })]));
    const model = await assetOf('model/churn');
    expect(model.health).toBe('STALE');
    expect(model.stale).toEqual(expect.arrayContaining([expect.objectContaining({ upstream: 'features' })]));
    const events = await assetOf('raw/events');
    expect(events.codeVersion).toBe(eventsBefore.codeVersion);
    expect(events.stale).toEqual([]);
  });

  it('keeps the data on the worker: a dump of the database holds the declared metadata and no value, staged or checked', async () => {
    // The values (which went through staging and the blocking check) are in the worker's storage…
    const stored = await readdir(join(scratch, 'data'), { recursive: true });
    const files = await Promise.all(
      stored.filter((f) => f.endsWith('.json')).map((f) => readFile(join(scratch, 'data', f), 'utf8')),
    );
    expect(
      files.some((text) => text.includes(CANARY)),
      'the probe looks for something the data holds',
    ).toBe(true);
    const sql = postgres(server.databaseUrl, { max: 1, onnotice: () => {} });
    try {
      const tables = await sql<{ name: string }[]>`
        SELECT quote_ident(schemaname) || '.' || quote_ident(tablename) AS name
        FROM pg_tables WHERE schemaname NOT IN ('pg_catalog', 'information_schema')`;
      let dump = '';
      for (const { name } of tables) {
        const rows = await sql.unsafe<{ row: string }[]>(`SELECT t::text AS row FROM ${name} t`);
        for (const { row } of rows) dump += `${row}\n`;
      }
      // …while the control plane holds what was declared about them (row counts, the model's figures)…
      expect(dump).toContain('no_null_ids');
      expect(dump).toMatch(/""rows"": 4/);
      expect(dump).toMatch(/""accuracy"": 0.9/);
      // …and nothing of the data itself.
      expect(dump.includes(CANARY), 'the database holds a data value').toBe(false);
    } finally {
      await sql.end();
    }
  });
});
