import { createHash } from 'node:crypto';
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import type { TestServer } from '@outpost/api/testing';
import { OutpostClient, unwrap } from '@outpost/sdk/client';
import type { AssetDefinitionInput, FlowRun } from '@outpost/sdk/contracts';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import type { RunOutcome } from '../src/executors/final-state.js';
import type { WorkerHandle } from '../src/worker.js';
import { startTestServer } from './support/api-testing.js';
import { buildDemoBundle } from './support/bundle.js';
import { tearDown } from './support/leaks.js';
import { startTestWorker } from './support/test-worker.js';
import { waitFor } from './support/wait.js';

const FIXTURE = fileURLToPath(new URL('./fixtures/flows/assets.ts', import.meta.url));
const SECRET = 'warehouse-s3cret-77';

describe('the assets flow on a worker, against the real API', () => {
  let server: TestServer;
  let owner: OutpostClient;
  let worker: WorkerHandle;
  let bundle: { dir: string; source: string; entrypoint: string };
  let scratch: string;
  let definitions: AssetDefinitionInput[];
  let deploymentId: string;
  const outcomes: RunOutcome[] = [];

  const deploy = async (retries: number) => {
    const { deployment } = unwrap(
      await owner.call('deploymentsUpsert', {
        body: {
          flowName: 'assets',
          name: 'warehouse',
          source: bundle.source,
          entrypoint: bundle.entrypoint,
          workPool: 'default',
          retries,
          jobVariables: { env: { DB_PASSWORD: { $secret: 'DB_PASSWORD' }, ASSET_DIR: join(scratch, 'assets') } },
          assets: definitions,
        },
      }),
    );
    return deployment.id;
  };

  beforeAll(async () => {
    server = await startTestServer();
    owner = new OutpostClient({ baseUrl: server.url, token: server.ownerKey });
    bundle = await buildDemoBundle(FIXTURE, 'assets');
    scratch = mkdtempSync(join(tmpdir(), 'outpost-worker-assets-'));
    // What `outpost deploy` registers: the definitions the bundle itself makes (same code versions as on the worker).
    await import(pathToFileURL(join(bundle.dir, 'flows', 'assets.mjs')).href);
    const registry = (globalThis as Record<symbol, unknown>)[Symbol.for('outpost.assets')] as Map<
      string,
      { definition(): AssetDefinitionInput }
    >;
    definitions = [...registry.values()].map((a) => a.definition());
    deploymentId = await deploy(0);
    const workerKey = await server.createKey('worker', ['default']);
    worker = await startTestWorker({
      apiUrl: server.url,
      apiKey: workerKey,
      scratch,
      args: ['--heartbeat-interval', '300ms', '--poll-wait', '1s', '--prestart', '0'],
      env: { DB_PASSWORD: SECRET },
      hooks: { onRunFinished: (o) => outcomes.push(o) },
    });
  });

  afterAll(() => tearDown(worker, owner, server, bundle?.dir, scratch));

  afterEach(async () => {
    await waitFor(() => worker.runs.length === 0, 30_000, 'the worker to let go of its runs');
  });

  async function finished(runId: string, attempt = 1): Promise<FlowRun> {
    await waitFor(
      () => outcomes.find((o) => o.runId === runId && o.attempt === attempt),
      60_000,
      `attempt ${attempt} of run ${runId} to finish on the worker`,
    );
    return unwrap(await owner.call('flowRunsGet', { params: { id: runId } }));
  }

  async function materialize(assets: string[], partition: string): Promise<string> {
    const created = unwrap(await owner.call('assetsMaterialize', { body: { assets, partitions: { keys: [partition] } } }));
    expect(created.assets).toEqual(assets);
    return created.flowRunId as string;
  }

  const materializations = async (key: string, partition: string) =>
    unwrap(await owner.call('assetsMaterializations', { query: { key, partition } })).items;
  const logText = async (runId: string) =>
    unwrap(await owner.call('logsRead', { params: { id: runId }, query: { limit: 5000 } }))
      .items.map((l) => l.message)
      .join('\n');

  it('materialises a partition on the worker: events, checks and data versions reach the API, metadata redacted', async () => {
    const runId = await materialize(['w/raw', 'w/clean'], '2026-03-01');
    const run = await finished(runId);
    expect(run.state.type).toBe('COMPLETED');
    expect(run.partitionKey).toBe('2026-03-01');

    const [raw] = await materializations('w/raw', '2026-03-01');
    const [clean] = await materializations('w/clean', '2026-03-01');
    const file = readFileSync(join(scratch, 'assets', 'w', 'clean', 'partition=2026-03-01', 'data.json'));
    expect(JSON.parse(file.toString())).toEqual([1, 2, 3]);
    expect(clean).toMatchObject({
      flowRunId: runId,
      attempt: 1,
      partitionKey: '2026-03-01',
      codeVersion: definitions.find((d) => d.key === 'w/clean')?.codeVersion,
      dataVersion: createHash('sha256').update(file).digest('hex'),
      metadata: { rows: 3, bytes: file.byteLength, note: 'connected with ***' },
    });
    expect(JSON.stringify(clean)).not.toContain(SECRET);
    expect(raw?.flowRunId).toBe(runId);
    const checks = unwrap(await owner.call('assetsCheckResults', { query: { key: 'w/raw' } })).items;
    expect(checks).toEqual([
      expect.objectContaining({ checkName: 'not_empty', passed: true, blocking: true, materializationId: raw?.id }),
    ]);
    // The run's partition reached the asset's context, and its lines belong to the run.
    expect(await logText(runId)).toContain('loading 2026-03-01 for run partition 2026-03-01');
  });

  it('an asset adds keys to a dynamic partition set through the worker; a key holding a secret is refused', async () => {
    const created = unwrap(await owner.call('assetsMaterialize', { body: { assets: ['w/customers'] } }));
    const run = await finished(created.flowRunId as string);
    expect(run.state.type).toBe('COMPLETED');
    const set = unwrap(await owner.call('dynamicPartitionsList', { params: { name: 'w-customers' } }));
    expect(set.keys).toEqual(['acme', 'globex']);
    const [made] = unwrap(await owner.call('assetsMaterializations', { query: { key: 'w/customers' } })).items;
    expect(made?.metadata).toMatchObject({ added: 2 });
    expect(String(made?.metadata.refused)).toContain('a partition key holds a secret value');
    expect(JSON.stringify(set)).not.toContain(SECRET);
    // The set's keys are partitions now: one of them materialises.
    const partitioned = await materialize(['w/per-customer'], 'globex');
    expect((await finished(partitioned)).state.type).toBe('COMPLETED');
  });

  it('a failed blocking check skips downstream in the run, and the gate keeps a later run from materialising it', async () => {
    const runId = await materialize(['w/raw', 'w/clean'], '2026-03-02');
    expect((await finished(runId)).state.type).toBe('FAILED');
    expect(await materializations('w/clean', '2026-03-02')).toEqual([]);
    const checks = unwrap(await owner.call('assetsCheckResults', { query: { key: 'w/raw', partition: '2026-03-02' } })).items;
    expect(checks).toEqual([expect.objectContaining({ passed: false, blocking: true, materializationId: null })]);
    const partitionsOf = async (key: string) =>
      unwrap(await owner.call('assetsPartitions', { query: { key } })).partitions.find((p) => p.key === '2026-03-02');
    expect(await partitionsOf('w/clean')).toMatchObject({ status: 'FAILED' });

    // A run made by hand (not through materialise, which refuses it) is stopped by the gate on the worker.
    const { flowRun } = unwrap(
      await owner.call('deploymentsCreateRun', {
        params: { id: deploymentId },
        body: { parameters: { assets: ['w/clean'], partition: '2026-03-02' }, partitionKey: '2026-03-02' },
      }),
    );
    expect((await finished(flowRun.id)).state.type).toBe('FAILED');
    expect(await materializations('w/clean', '2026-03-02')).toEqual([]);
    expect(await logText(flowRun.id)).toContain(
      'blocked: blocking check w/raw:not_empty failed for partition 2026-03-02 and is not waived',
    );
  });

  it('a retried run skips the assets its earlier attempt materialised', async () => {
    await deploy(1);
    const runId = await materialize(['w/raw', 'w/clean'], '2026-03-03');
    expect((await finished(runId, 1)).state.type).not.toBe('COMPLETED');
    const run = await finished(runId, 2);
    expect(run.state.type).toBe('COMPLETED');
    expect((await materializations('w/raw', '2026-03-03')).map((m) => m.attempt)).toEqual([1]);
    expect((await materializations('w/clean', '2026-03-03')).map((m) => m.attempt)).toEqual([2]);
    expect(await logText(runId)).toContain(
      'w/raw for partition 2026-03-03: already materialised by an earlier attempt of this run; skipped',
    );
  });
});
