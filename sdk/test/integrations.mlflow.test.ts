import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from 'vitest';
import { asset, flow, fsIO, materialize, partitions, task } from '../src/index.js';
import { IntegrationError, mlflowRegistry } from '../src/integrations/index.js';
import { testFlow } from '../src/testing/index.js';
import { MlflowStandIn } from './support/mlflow-stand-in.js';

const TOKEN = 'mlflow-token-3b9e1c7d';
let dir: string;
let mlflow: MlflowStandIn;

beforeAll(async () => {
  dir = mkdtempSync(path.join(tmpdir(), 'outpost-mlflow-'));
  mlflow = new MlflowStandIn({ token: TOKEN });
  await mlflow.start();
});

afterAll(async () => {
  await mlflow?.close();
  rmSync(dir, { recursive: true, force: true });
});

afterEach(() => {
  vi.restoreAllMocks();
});

const registry = (extra: Record<string, string> = {}) =>
  mlflowRegistry({ env: { MLFLOW_TRACKING_URI: mlflow.url, MLFLOW_TRACKING_TOKEN: TOKEN, ...extra }, retryDelayMs: 1 });
const fast = { pollIntervalMs: 5 };

describe('mlflowRegistry().registerModelVersion', () => {
  it('registers a model asset as a new version, tagged with the run, asset, code version and partition that made it', async () => {
    const days = partitions.daily({ start: '2026-11-01', timezone: 'UTC' });
    const model = asset({ key: 'churn/model', partitions: days, io: fsIO({ dir }) }, async (ctx) => {
      const version = await registry().registerModelVersion({
        name: 'churn',
        source: 's3://ml-bucket/churn/model.pkl',
        runId: 'mlflow-run-1',
        asset: ctx,
        alias: 'champion',
        tags: { team: 'ml' },
        ...fast,
      });
      return { version: version.version };
    });
    const logged = vi.spyOn(console, 'log').mockImplementation(() => undefined);
    vi.spyOn(console, 'error').mockImplementation(() => undefined);
    const result = await materialize([model], { partition: '2026-11-07' });
    const printed = logged.mock.calls.map((args) => args.join(' '));

    expect(result.success).toBe(true);
    const created = mlflow.requests.filter((r) => r.path === 'model-versions/create');
    expect(created).toHaveLength(1);
    const body = created[0]?.body as { name: string; source: string; run_id: string; tags: { key: string; value: string }[] };
    expect(body).toMatchObject({ name: 'churn', source: 's3://ml-bucket/churn/model.pkl', run_id: 'mlflow-run-1' });
    const tags = Object.fromEntries(body.tags.map((t) => [t.key, t.value]));
    expect(tags).toMatchObject({
      team: 'ml',
      'outpost.run_id': result.runId,
      'outpost.asset_key': 'churn/model',
      'outpost.partition': '2026-11-07',
      'outpost.attempt': '1',
    });
    expect(tags['outpost.code_version']).toMatch(/^[0-9a-f]{16,}$/);
    expect(mlflow.requests.every((r) => r.authorization === `Bearer ${TOKEN}`)).toBe(true);
    // It waited for READY, then pointed the alias at the version.
    expect(mlflow.requests.filter((r) => r.path === 'model-versions/get').length).toBeGreaterThanOrEqual(2);
    expect(mlflow.models.get('churn')?.aliases).toEqual({ champion: '1' });
    const event = result.events.find((e) => e.kind === 'materialization');
    expect(event?.kind === 'materialization' && event.metadata).toMatchObject({
      mlflowModel: 'churn',
      mlflowVersion: '1',
      mlflowAlias: 'champion',
      'registered.mlflow': {
        name: 'churn',
        version: '1',
        uri: 'models:/churn/1',
        url: `${mlflow.url}/#/models/churn/versions/1`,
      },
    });
    expect(printed.some((line) => line.includes(`${mlflow.url}/#/models/churn/versions/1`))).toBe(true);
  });

  it('makes the next version of a model that exists, from a task, with the task in its tags', async () => {
    const register = task('register', () =>
      registry().registerModelVersion({ name: 'churn', source: 's3://ml-bucket/churn/v2.pkl', ...fast }),
    );
    const run = await testFlow(
      flow({ name: 'register-model' }, () => register()),
      undefined,
      { fakeClock: false },
    );
    const outcome = run.expectCompleted() as { version: string; status: string; tags: Record<string, string> };
    expect(outcome).toMatchObject({ version: '2', status: 'READY' });
    expect(outcome.tags).toMatchObject({ 'outpost.flow': 'register-model', 'outpost.task': 'register-0' });
    expect(outcome.tags['outpost.asset_key']).toBeUndefined();
    expect(run.artifacts.map((a) => [a.type, a.key])).toEqual([['link', 'mlflow-churn']]);
  });

  it("fails with MLflow's message when registration fails, and when a version stays pending past its limit", async () => {
    const failed = await registry()
      .registerModelVersion({ name: 'churn', source: 'broken://churn', lineage: false, ...fast })
      .catch((e: unknown) => e);
    expect(failed).toBeInstanceOf(IntegrationError);
    expect(String(failed)).toMatch(/churn version 3 is FAILED_REGISTRATION: Failed to copy model files from broken:\/\/churn/);

    const stuck = await registry()
      .registerModelVersion({ name: 'churn', source: 'stuck://churn', lineage: false, readyTimeoutMs: 50, ...fast })
      .catch((e: unknown) => e);
    expect(String(stuck)).toMatch(/churn version 4 is still PENDING_REGISTRATION after 50 ms/);
  });

  it('says which setting to check when the server refuses the credentials, without repeating them', async () => {
    const error = (await registry({ MLFLOW_TRACKING_TOKEN: 'wrong-token-9d' })
      .registerModelVersion({ name: 'churn', source: 's3://x', ...fast })
      .catch((e: unknown) => e)) as IntegrationError;
    expect(error.status).toBe(401);
    expect(error.errorCode).toBe('UNAUTHENTICATED');
    expect(error.message).toMatch(/answered 401 UNAUTHENTICATED: .* check MLFLOW_TRACKING_TOKEN/);
    expect(error.message).not.toContain('wrong-token-9d');
  });

  it('waits out refusals as Retry-After says, and never sends a version create twice after it failed on the way', async () => {
    mlflow.refuseNext = 2;
    const retried = await registry().registerModelVersion({ name: 'retried', source: 's3://r', lineage: false, ...fast });
    expect(retried.version).toBe('1');
    expect(mlflow.requests.filter((r) => r.body?.name === 'retried' && r.path === 'registered-models/create')).toHaveLength(3);

    mlflow.dropNextCreate = 1;
    const before = mlflow.requests.length;
    const dropped = await registry()
      .registerModelVersion({ name: 'retried', source: 's3://r2', lineage: false, ...fast })
      .catch((e: unknown) => e);
    expect(String(dropped)).toMatch(/MLflow POST \/model-versions\/create failed/);
    const creates = mlflow.requests.slice(before).filter((r) => r.path === 'model-versions/create');
    expect(creates).toHaveLength(1);
  });

  it('refuses a missing tracking URI, one with credentials in it, and one that is not http(s)', () => {
    expect(() => mlflowRegistry({ env: {} })).toThrow(/set MLFLOW_TRACKING_URI on the worker/);
    expect(() => mlflowRegistry({ env: { MLFLOW_TRACKING_URI: 'https://me:pw@mlflow.internal' } })).toThrow(
      /holds credentials: set MLFLOW_TRACKING_TOKEN/,
    );
    expect(() => mlflowRegistry({ env: { MLFLOW_TRACKING_URI: 'file:///tmp/mlruns' } })).toThrow(
      /must be an http\(s\) URL, not file:/,
    );
  });
});
