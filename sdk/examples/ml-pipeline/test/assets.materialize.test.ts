import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { type MaterializeResult, materialize } from '@outpost/sdk';
import { type AssetEvent, AssetRunParameters } from '@outpost/sdk/contracts';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { MlflowStandIn } from '../../../test/support/mlflow-stand-in.js';
import config from '../outpost.config.js';
import { ModelSchema } from '../src/model.js';
import { type LocalModelStore, startLocalModelStore, storedFile } from '../src/model-store.js';
import { canonicalJson, verifyModelSignature } from '../src/signature.js';
import { type Captured, CHURN_DEFAULTS, runCapturing, setEnv } from './support.js';

/*
 * The graph materialised in-process with materialize(): the same engine a worker runs, with the
 * local reporter, which prints every log line, artifact and asset event (and records nothing else:
 * no parameters, no task arguments). Values go to a directory of this test's.
 */

type Graph = typeof import('../assets/churn.js');

const KEY = 'test-signing-key-5b7c1e0d9a';
const WEEK = { start: '2026-11-02', end: '2026-11-08' };
const DAYS = ['2026-11-02', '2026-11-03', '2026-11-04', '2026-11-05', '2026-11-06', '2026-11-07', '2026-11-08'];

const materialized = (events: AssetEvent[]) =>
  events.filter((e) => e.kind === 'materialization').map((e) => [e.assetKey, e.partitionKey] as const);
const metadataOf = (events: AssetEvent[], key: string) => {
  const event = events.find((e) => e.kind === 'materialization' && e.assetKey === key);
  return event?.kind === 'materialization' ? (event.metadata ?? {}) : undefined;
};

describe('the churn asset graph, materialised in-process', () => {
  let scratch: string;
  let assetDir: string;
  let store: LocalModelStore;
  let restoreEnv: () => void;
  let graph: Graph;
  let first: Captured<MaterializeResult>;

  beforeAll(async () => {
    scratch = await mkdtemp(join(tmpdir(), 'ml-assets-test-'));
    assetDir = join(scratch, 'assets');
    store = await startLocalModelStore(join(scratch, 'store'), KEY);
    restoreEnv = setEnv({
      ...CHURN_DEFAULTS,
      // The I/O manager is chosen when the assets are defined: set before the module is loaded.
      CHURN_ASSET_DIR: assetDir,
      // Task results cached for reuse go here, not to the user's own cache directory.
      OUTPOST_RESULT_STORAGE: pathToFileURL(join(scratch, 'results')).href,
      MODEL_SIGNING_KEY: KEY,
      MODEL_STORE_URL: store.url,
    });
    graph = await import('../assets/churn.js');
    first = await runCapturing(() => materialize(graph.churnAssets, { partitionRange: WEEK }));
  });

  afterAll(async () => {
    restoreEnv?.();
    await store?.close();
    if (scratch) await rm(scratch, { recursive: true, force: true });
  });

  const stored = async (path: string) => readFile(join(assetDir, ...path.split('/')), 'utf8');

  it('materialises a week of daily partitions, then a model that passes its gate, its evaluation, scores and card', async () => {
    const { result } = first;
    expect(result.success).toBe(true);
    expect(materialized(result.events)).toEqual([
      ...DAYS.map((day) => ['customers/raw', day] as const),
      ...DAYS.map((day) => ['customers/features', day] as const),
      ['churn/model', null],
      ['churn/evaluation', null],
      ['churn/scores', null],
      ['churn/model-card', null],
    ]);
    // Every value is a file of the I/O manager's: the day's CSV export, the model, the scores, the card.
    expect((await stored('customers/raw/partition=2026-11-05/data.csv')).split('\n')[0]).toBe(
      'customer_id,tenure_months,monthly_charges,support_tickets,plan,contract,region,last_login_days,churned',
    );
    const trained = JSON.parse(await stored('churn/model/data.json'));
    expect(ModelSchema.parse(trained.model).kind).toBe('logistic-regression');
    expect(trained.window).toEqual(DAYS);
    // Seven days hold every customer of the export once: the rows of the whole file.
    expect(trained.rows).toEqual({ valid: 787, rejected: 13, train: 590, test: 197 });
    const scores = (await stored('churn/scores/data.csv')).trim().split('\n');
    expect(scores[0]).toBe('customer_id,probability,risk');
    expect(scores).toHaveLength(401);
    const card = await stored('churn/model-card/data.md');
    expect(card).toContain('Quality gate **passed**');
    expect(card).toContain('400 active customers scored');
    expect(card).toMatch(/!\[ROC curve\]\(data:image\/svg\+xml;base64,[A-Za-z0-9+/=]+\)/);
  });

  it("records the model's metrics as metadata of the evaluation, and every check's result", () => {
    const { events } = first.result;
    const metrics = metadataOf(events, 'churn/evaluation');
    expect(metrics).toMatchObject({
      auc: expect.any(Number),
      accuracy: expect.any(Number),
      f1: expect.any(Number),
      logLoss: expect.any(Number),
      testRows: 197,
    });
    expect(metrics?.auc).toBeGreaterThan(0.8);
    expect(metrics?.accuracy).toBeGreaterThan(0.75);
    expect(metadataOf(events, 'churn/model')).toMatchObject({
      window: '2026-11-02..2026-11-08',
      train: 590,
      epochs: expect.any(Number),
    });
    expect(metadataOf(events, 'customers/features')).toMatchObject({ rows: expect.any(Number), rejected: expect.any(Number) });

    const checks = events.flatMap((e) =>
      e.kind === 'check' ? [[e.assetKey, e.checkName, e.partitionKey, e.passed, e.blocking]] : [],
    );
    expect(checks).toEqual([
      ...DAYS.flatMap((day) => [
        ['customers/features', 'rejected_rows', day, true, true],
        ['customers/features', 'churn_rate', day, true, false],
      ]),
      ['churn/evaluation', 'quality_gate', null, true, true],
    ]);
    const gate = events.find((e) => e.kind === 'check' && e.checkName === 'quality_gate');
    expect(gate?.kind === 'check' && gate.metadata).toMatchObject({ auc: metrics?.auc, minAuc: 0.75, minAccuracy: 0.7 });
  });

  it('publishes the model, its scores and its card to the model store, signed', async () => {
    const { result, lines } = first;
    const dir = storedFile(join(scratch, 'store'), store.url, `churn/${result.runId}`);
    const model = ModelSchema.parse(JSON.parse(await readFile(join(dir, 'model.json'), 'utf8')));
    const { signature } = metadataOf(result.events, 'churn/model-card') as { signature: string };
    expect(verifyModelSignature(model, KEY, signature)).toBe(true);
    expect(await readFile(join(dir, 'model-card.md'), 'utf8')).toContain(`Model signature (HMAC-SHA256): \`${signature}\``);
    expect(await readFile(join(dir, 'scores.csv'), 'utf8')).toBe(await stored('churn/scores/data.csv'));
    expect(lines.some((l) => l.includes("artifact link 'model'") && l.includes(`churn/${result.runId}/model.json`))).toBe(true);
    expect(lines.some((l) => l.includes("artifact markdown 'model-card'"))).toBe(true);
    expect(lines.some((l) => l.includes("artifact progress 'training': 100%"))).toBe(true);
  });

  it("keeps the model's weights out of everything the run reports: asset events, logs and artifacts", async () => {
    const { model } = JSON.parse(await stored('churn/model/data.json'));
    // The artifacts in full: the card (with the weights rounded), the metrics and weights tables, the link.
    expect(first.artifacts.some((a) => a.includes('# Model card: customer churn'))).toBe(true);
    expect(first.artifacts.some((a) => a.includes('feature-weights'))).toBe(true);
    const reported = [JSON.stringify(first.result.events), ...first.lines, ...first.artifacts].join('\n');
    // Full-precision numbers of the model (the card shows weights rounded to 4 places, never these).
    const numbers: number[] = [
      ...model.weights,
      model.bias,
      ...model.features.scaling.flatMap((s: { mean: number; sd: number }) => [s.mean, s.sd]),
    ];
    expect(numbers.length).toBeGreaterThan(20);
    for (const n of numbers) expect(reported).not.toContain(String(n));
    expect(reported).not.toContain(canonicalJson(model.weights));
    // Metadata is a few declared figures per materialisation, not data.
    for (const event of first.result.events) expect(JSON.stringify(event).length).toBeLessThan(1_000);
  });

  it('scores active customers in a run of its own, reading the model through the I/O manager', async () => {
    const before = await stored('churn/scores/data.csv');
    const { result, lines } = await runCapturing(() => materialize([graph.churnScores]));
    expect(materialized(result.events)).toEqual([['churn/scores', null]]);
    expect(result.valueOf(graph.churnScores)).toHaveLength(400);
    expect(lines.some((l) => l.includes('scored 400 customers in 4 batches'))).toBe(true);
    // The same model read back from its file gives the same scores, to the last digit.
    expect(await stored('churn/scores/data.csv')).toBe(before);
  });

  it('holds back the evaluation, the scores and the card when the model misses its quality gate, leaving the published ones as they were', async () => {
    const evaluation = await stored('churn/evaluation/data.json');
    const card = await stored('churn/model-card/data.md');
    const restore = setEnv({ CHURN_MIN_AUC: '0.99' });
    try {
      const { result } = await runCapturing(() =>
        materialize([graph.modelEvaluation, graph.churnScores, graph.modelCard], { throwOnFailure: false }),
      );
      expect(result.success).toBe(false);
      const gate = result.events.find((e) => e.kind === 'check' && e.checkName === 'quality_gate');
      expect(gate).toMatchObject({ passed: false, blocking: true });
      expect(gate?.kind === 'check' && gate.metadata?.failures).toEqual([
        expect.stringMatching(/^test AUC 0\.\d{3} is below 0\.990$/),
      ]);
      expect(result.failures).toEqual([
        // Write-audit-publish: the evaluation was staged, checked, and not published.
        {
          assetKey: 'churn/evaluation',
          partitionKey: null,
          message: 'staged data not published: blocking check churn/evaluation:quality_gate failed',
        },
        {
          assetKey: 'churn/scores',
          partitionKey: null,
          message: 'skipped: blocking check churn/evaluation:quality_gate failed',
        },
        {
          assetKey: 'churn/model-card',
          partitionKey: null,
          message: 'skipped: blocking check churn/evaluation:quality_gate failed',
        },
      ]);
      expect(await stored('churn/evaluation/data.json')).toBe(evaluation);
      expect(await stored('churn/model-card/data.md')).toBe(card);
    } finally {
      restore();
    }
  });

  it('retries a model-store upload that is refused, and fails the card once the retries are spent', async () => {
    const other = await startLocalModelStore(join(scratch, 'other-store'), 'a-different-key-entirely');
    const restore = setEnv({ MODEL_STORE_URL: other.url });
    try {
      const { result, lines } = await runCapturing(() => materialize([graph.modelCard], { throwOnFailure: false }));
      expect(result.failures).toEqual([
        { assetKey: 'churn/model-card', partitionKey: null, message: expect.stringMatching(/answered 403/) },
      ]);
      expect(lines.filter((l) => l.includes('/churn/model-card-0] warning attempt'))).toHaveLength(2);
    } finally {
      restore();
      await other.close();
    }
  });

  it("runs the deployment's whole graph by default, in its order, naming only keys and days", () => {
    const [deployment] = config.deployments;
    expect(deployment).toMatchObject({ assets: true, name: 'churn', entrypoint: 'assets/churn.ts' });
    const parameters = AssetRunParameters.parse(deployment?.parameters);
    expect(parameters.assets).toEqual(graph.churnAssets.map((a) => a.key));
    expect(parameters.partitionRange).toEqual(graph.FIRST_WEEK);
    expect(deployment?.schedules).toEqual([{ slug: 'nightly', cron: '30 2 * * *', timezone: 'Europe/Berlin' }]);
    // The Python trainer ships with the bundle, next to the built modules.
    expect(deployment?.files).toEqual(['scripts/train.py']);
  });

  it('registers the published model in MLflow as the champion, tagged with the runs that trained and published it', async () => {
    const mlflow = new MlflowStandIn({ token: 'mlflow-e2e-token' });
    await mlflow.start();
    const restore = setEnv({ MLFLOW_TRACKING_URI: mlflow.url, MLFLOW_TRACKING_TOKEN: 'mlflow-e2e-token' });
    try {
      const { result, lines } = await runCapturing(() => materialize([graph.modelCard], { throwOnFailure: false }));
      expect(result.success, lines.join('\n')).toBe(true);
      const [create] = mlflow.requests.filter((r) => r.path === 'model-versions/create');
      const body = create?.body as { name: string; source: string; tags: { key: string; value: string }[] };
      const tags = Object.fromEntries(body.tags.map((t) => [t.key, t.value]));
      expect(body.name).toBe('churn');
      // The model store's copy, the one published by this run.
      expect(body.source.startsWith(store.url), body.source).toBe(true);
      expect(body.source.endsWith(`/churn/${result.runId}/model.json`), body.source).toBe(true);
      expect(tags).toMatchObject({
        'outpost.asset_key': 'churn/model-card',
        'outpost.run_id': result.runId,
        'outpost.trained_by_run': first.result.runId,
      });
      expect(tags.dataset_sha256).toMatch(/^[0-9a-f]{64}$/);
      expect(mlflow.models.get('churn')?.aliases).toEqual({ champion: '1' });
      expect(metadataOf(result.events, 'churn/model-card')).toMatchObject({ mlflowModel: 'churn', mlflowVersion: '1' });
    } finally {
      restore();
      await mlflow.close();
    }
  });

  it('trains the model with scripts/train.py under CHURN_TRAINER=python, to the same evaluation and gate', async () => {
    const restore = setEnv({ CHURN_TRAINER: 'python' });
    try {
      const { result, lines } = await runCapturing(() => materialize([graph.churnModel, graph.modelEvaluation]));
      expect(result.success).toBe(true);
      expect(metadataOf(result.events, 'churn/model')).toMatchObject({ trainer: 'python', train: 590 });
      expect(metadataOf(first.result.events, 'churn/model')).toMatchObject({ trainer: 'typescript' });
      // Rounded to four digits, the two trainers' figures are the same.
      const figures = (events: AssetEvent[]) => {
        const { auc, accuracy, f1, logLoss } = metadataOf(events, 'churn/evaluation') ?? {};
        return { auc, accuracy, f1, logLoss };
      };
      expect(figures(result.events)).toEqual(figures(first.result.events));
      expect(lines.some((line) => /trained 12 weights on 590 rows for \d+ epochs in Python 3/.test(line))).toBe(true);
      expect(lines.some((line) => line.includes("artifact progress 'training': 100%"))).toBe(true);
      const model = ModelSchema.parse((JSON.parse(await stored('churn/model/data.json')) as { model: unknown }).model);
      expect(model.weights).toHaveLength(12);
    } finally {
      restore();
    }
  });
});
