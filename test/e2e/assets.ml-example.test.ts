import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { startTestServer, type TestServer } from '@outpost/api/testing';
import { OutpostClient, unwrap } from '@outpost/sdk/client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startCliWorker } from '../support/cli-worker.js';
import { repoRoot, runCli, type Spawned } from '../support/processes.js';

/*
 * The ML example as it ships, every part real: `outpost deploy` registers its asset graph, a worker
 * started by the CLI runs the deployment's default run, and then everything the control plane holds
 * about that run is read back — the run and its parameters, its logs, task runs and artifacts, the
 * materialisations and check results of its assets — to show the model never left the worker's
 * storage.
 */

const EXAMPLE = join(repoRoot, 'sdk/examples/ml-pipeline');
const KEYS = ['customers/raw', 'customers/features', 'churn/model', 'churn/evaluation', 'churn/scores', 'churn/model-card'];

describe('the ML example deployed and run on a worker', () => {
  let server: TestServer;
  let scratch: string;
  let assetDir: string;
  let env: Record<string, string>;
  let client: OutpostClient;
  let worker: Spawned | null = null;
  let runId: string;

  beforeAll(async () => {
    server = await startTestServer();
    scratch = await mkdtemp(join(tmpdir(), 'outpost-e2e-ml-'));
    assetDir = join(scratch, 'assets');
    env = {
      OUTPOST_API_URL: server.url,
      OUTPOST_API_KEY: server.ownerKey,
      OUTPOST_REGISTRY: `oci-layout://${join(scratch, 'registry')}`,
    };
    client = new OutpostClient({ baseUrl: server.url, token: server.ownerKey });
    worker = await startCliWorker(server, scratch, {
      args: [
        '--result-storage',
        pathToFileURL(join(scratch, 'results')).href,
        // Where the example's I/O manager keeps every value: a directory of the worker's.
        '--pass-env',
        'CHURN_ASSET_DIR',
        // The model is trained by the bundle's scripts/train.py, launched with Pipes.
        '--pass-env',
        'CHURN_TRAINER',
      ],
      env: {
        OUTPOST_REGISTRY: env.OUTPOST_REGISTRY as string,
        CHURN_ASSET_DIR: assetDir,
        CHURN_TRAINER: 'python',
        MODEL_SIGNING_KEY: 'e2e-model-signing-key-4c1d9a',
      },
    });
  });

  afterAll(async () => {
    await worker?.stop('SIGTERM');
    await client?.close();
    await server?.close();
    if (scratch) await rm(scratch, { recursive: true, force: true });
  });

  it('deploys as assets/churn, registering its six assets with their partitions and checks', async () => {
    const r = await runCli(['deploy'], env, EXAMPLE);
    expect(r.code, r.output).toBe(0);
    expect(r.output).toContain('registered assets/churn');
    expect(r.output).toContain('registered 6 assets:');
    const lineage = unwrap(await client.call('assetsLineage', {}));
    expect(lineage.nodes.map((n) => n.key).sort()).toEqual([...KEYS].sort());
    const features = unwrap(await client.call('assetsGet', { query: { key: 'customers/features' } }));
    expect(features.partitions).toMatchObject({ kind: 'time', cadence: 'daily', timezone: 'Europe/Berlin' });
    expect(features.checks.map((c) => [c.name, c.blocking])).toEqual([
      ['rejected_rows', true],
      ['churn_rate', false],
    ]);
  });

  it("runs the deployment's default run to COMPLETED: a week of partitions, the model, its gate, scores and card", async () => {
    const r = await runCli(['run', 'assets/churn', '--watch'], env);
    expect(r.code, `${r.output}\n${worker?.output()}`).toBe(0);
    expect(r.output).toMatch(/ended COMPLETED/);
    const [evaluation] = unwrap(await client.call('assetsMaterializations', { query: { key: 'churn/evaluation' } })).items;
    expect(evaluation?.metadata).toMatchObject({ auc: expect.any(Number), accuracy: expect.any(Number), f1: expect.any(Number) });
    expect(evaluation?.metadata.auc).toBeGreaterThan(0.8);
    runId = evaluation?.flowRunId as string;
    const days = unwrap(await client.call('assetsMaterializations', { query: { key: 'customers/features', limit: 50 } })).items;
    expect(days.map((m) => m.partitionKey).sort()).toEqual([
      '2026-11-02',
      '2026-11-03',
      '2026-11-04',
      '2026-11-05',
      '2026-11-06',
      '2026-11-07',
      '2026-11-08',
    ]);
    const gate = unwrap(await client.call('assetsCheckResults', { query: { key: 'churn/evaluation' } })).items;
    expect(gate.map((c) => [c.checkName, c.passed])).toEqual([['quality_gate', true]]);
    // Trained in Python from the deployed bundle: the script and the Pipes client both came with it.
    const [model] = unwrap(await client.call('assetsMaterializations', { query: { key: 'churn/model' } })).items;
    expect(model?.metadata).toMatchObject({ trainer: 'python', train: 590 });
    const logs = unwrap(await client.call('logsRead', { params: { id: runId }, query: { limit: 5000 } })).items;
    expect(logs.map((line) => line.message)).toEqual(
      expect.arrayContaining([expect.stringMatching(/^trained 12 weights on 590 rows for \d+ epochs in Python 3/)]),
    );
  });

  it("keeps the model in the worker's storage: no figure of it is in anything the control plane holds about the run", async () => {
    const { model } = JSON.parse(await readFile(join(assetDir, 'churn', 'model', 'data.json'), 'utf8'));
    const held: unknown[] = [];
    const run = unwrap(await client.call('flowRunsGet', { params: { id: runId } }));
    // Asset keys and a range of days: nothing else is a parameter of the run.
    expect(Object.keys(run.parameters).sort()).toEqual(['assets', 'partitionRange']);
    held.push(run);
    // Every log line: pages until one comes back empty (a log read always hands back a cursor).
    let cursor: string | undefined;
    let lines = 0;
    for (;;) {
      const logs = unwrap(
        await client.call('logsRead', { params: { id: runId }, query: { limit: 5000, ...(cursor ? { cursor } : {}) } }),
      );
      if (logs.items.length === 0) break;
      held.push(logs.items);
      lines += logs.items.length;
      cursor = logs.nextCursor;
    }
    expect(lines).toBeGreaterThan(10);
    held.push(unwrap(await client.call('taskRunsList', { params: { id: runId }, query: { limit: 500 } })));
    const artifacts = unwrap(await client.call('artifactsList', { params: { id: runId } }));
    expect(artifacts.items.map((a) => a.key)).toEqual(expect.arrayContaining(['model-card', 'metrics', 'feature-weights']));
    held.push(artifacts);
    for (const key of KEYS) {
      held.push(unwrap(await client.call('assetsMaterializations', { query: { key, limit: 50 } })));
      held.push(unwrap(await client.call('assetsCheckResults', { query: { key, limit: 50 } })));
    }
    const text = JSON.stringify(held);
    const figures: number[] = [
      ...model.weights,
      model.bias,
      ...model.features.scaling.flatMap((s: { mean: number; sd: number }) => [s.mean, s.sd]),
    ];
    expect(figures.length).toBeGreaterThan(20);
    for (const n of figures) expect(text).not.toContain(String(n));
  });
});
