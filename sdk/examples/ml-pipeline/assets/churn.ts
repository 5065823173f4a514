import { randomBytes } from 'node:crypto';
import { mkdtemp } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { artifact, asset, check, isMainModule, materialize, partitions } from '@outpost/sdk';
import { mlflowRegistry } from '@outpost/sdk/integrations';
import { rocCurveSvg, svgDataUrl } from '../src/charts.js';
import { validateCustomers } from '../src/dataset.js';
import { type FeatureSpec, fitFeatures, toFeatureMatrix, toFeatureVector } from '../src/features.js';
import { type Evaluation, evaluate } from '../src/metrics.js';
import { LogisticRegressionTrainer, type Model, predictProbability, type TrainOptions } from '../src/model.js';
import { gateFailures, type QualityGate, renderModelCard, weightTable } from '../src/model-card.js';
import { type LocalModelStore, startLocalModelStore, storedFile, uploadToModelStore } from '../src/model-store.js';
import { trainInPython } from '../src/python-trainer.js';
import { chunk, type RiskBand, type Score } from '../src/scoring.js';
import { canonicalJson, signModel } from '../src/signature.js';
import { CYCLE_DAYS, dailySnapshot } from '../src/snapshot.js';
import { describeSource, readSource } from '../src/sources.js';
import { buildTrainingSet, type DayOfCustomers, TrainingWindowError, trainingWindow } from '../src/training-set.js';
import { readSettings } from './settings.js';
import { churnStorage, scoresCsvFormat } from './storage.js';
import { loadDataset, scoreBatch, validateDataset } from './tasks.js';

/*
 * The churn model as an asset graph. Every value (the daily exports, the validated days, the model's
 * weights, its evaluation, the scores, the card) is written and read by an I/O manager in your
 * storage; runs carry only asset keys and partition keys, events only declared metadata.
 *
 *   customers/raw ──▶ customers/features ──▶ churn/model ──▶ churn/evaluation ──▶ churn/scores ──▶ churn/model-card
 *    (daily)            (daily, checked)      (7 days)        (quality gate)
 */

/** The first day of the customers feed. */
export const FIRST_DAY = '2026-11-02';

/** The feed's first week: what `npm start` and the deployment's default run materialise. */
export const FIRST_WEEK = { start: FIRST_DAY, end: '2026-11-08' } as const;

/** One partition per day, in Berlin time. */
export const daily = partitions.daily({ start: FIRST_DAY, timezone: 'Europe/Berlin' });

/** Where the values go: files on the machine that runs the assets, or a bucket (see storage.ts). */
export const storage = churnStorage();

const team = { group: 'churn', owners: ['team:ml'] };
const round = (x: number, digits = 4) => Number(x.toFixed(digits));

export const rawCustomers = asset(
  {
    key: 'customers/raw',
    partitions: daily,
    io: storage.text('csv'),
    description: "The day's export: customers whose renewal was decided that day, as CSV, unvalidated",
    tags: ['source'],
    // Reads over a network fail for passing reasons.
    retries: 3,
    retryDelaySeconds: 1,
    backoff: 2,
    jitter: 0.2,
    timeoutSeconds: 60,
    ...team,
  },
  async (ctx) => {
    const { trainingData } = readSettings();
    const { text, digest } = await readSource(trainingData, ctx.signal);
    const snapshot = dailySnapshot(text, ctx.partition.key);
    ctx.log.info(`${snapshot.rows} customers renew on ${ctx.partition.key} in ${describeSource(trainingData)}`);
    ctx.addMetadata({ rows: snapshot.rows, source: describeSource(trainingData), sourceSha256: digest });
    return snapshot.csv;
  },
);

/** Blocking: a day with too many broken rows never reaches a model. */
const rejectedRows = check(
  'rejected_rows',
  {
    blocking: true,
    description: "Validation rejects at most CHURN_MAX_REJECTED_FRACTION (5%) of the day's rows",
  },
  (day: DayOfCustomers) => {
    const { maxRejectedFraction } = readSettings();
    const rows = day.customers.length + day.rejected.length;
    const share = rows === 0 ? 1 : day.rejected.length / rows;
    return {
      passed: rows > 0 && share <= maxRejectedFraction,
      metadata: { rows, rejected: day.rejected.length, share: round(share), maxShare: maxRejectedFraction },
    };
  },
);

/** A warning only: a churn rate far off the usual one says the export or the business changed. */
const churnRate = check(
  'churn_rate',
  { severity: 'WARN', description: "The day's churn rate is between 5% and 60%" },
  (day: DayOfCustomers) => {
    const labelled = day.customers.filter((c) => c.churned !== null);
    const rate = labelled.length === 0 ? 0 : labelled.filter((c) => c.churned === 1).length / labelled.length;
    return {
      passed: labelled.length > 0 && rate >= 0.05 && rate <= 0.6,
      metadata: { labelled: labelled.length, rate: round(rate) },
    };
  },
);

export const customerFeatures = asset(
  {
    key: 'customers/features',
    deps: [rawCustomers],
    partitions: daily,
    io: storage.json,
    checks: [rejectedRows, churnRate],
    description: "The day's customers, validated and typed: what the model is fitted on; broken rows set aside with the reason",
    ...team,
  },
  (ctx, csv): DayOfCustomers => {
    const { customers, rejected } = validateCustomers(csv);
    for (const r of rejected.slice(0, 20)) ctx.log.warning(`line ${r.line} (${r.customerId ?? 'no id'}): ${r.reason}`);
    ctx.addMetadata({ rows: customers.length + rejected.length, valid: customers.length, rejected: rejected.length });
    return { date: ctx.partition.key, customers, rejected };
  },
);

/** What `churn/model` holds: the model, and how it was made. */
export interface TrainedModel {
  model: Model;
  trainedAt: string;
  /** The run that trained it. */
  runId: string;
  /** The days of customers/features it was trained on, oldest first. */
  window: string[];
  /** sha256 of the window's customers. */
  datasetDigest: string;
  rows: { valid: number; rejected: number; train: number; test: number };
  training: TrainOptions & { testFraction: number; seed: number };
  lossHistory: number[];
}

/** The days to train on: the last full cycle of days, each materialised. */
function trainingDays(byDay: Record<string, DayOfCustomers>): string[] {
  try {
    return trainingWindow(Object.keys(byDay), { days: CYCLE_DAYS, firstDay: FIRST_DAY });
  } catch (error) {
    if (!(error instanceof TrainingWindowError)) throw error;
    const { start, end } = error.window;
    throw new Error(`${error.message}: materialise customers/features for ${start}..${end} first`);
  }
}

const EPOCHS_PER_REPORT = 100;

/** Trains in this process, reporting progress between slices of epochs. */
async function trainHere(
  x: number[][],
  y: number[],
  spec: FeatureSpec,
  training: TrainOptions,
  signal: AbortSignal,
): Promise<{ model: Model; lossHistory: number[] }> {
  const trainer = new LogisticRegressionTrainer(x, y, training);
  while (trainer.step(EPOCHS_PER_REPORT)) {
    signal.throwIfAborted();
    await artifact.progress('training', trainer.epoch / training.maxEpochs, { description: 'epochs of gradient descent' });
  }
  await artifact.progress('training', 1, { description: 'epochs of gradient descent' });
  return { model: trainer.toModel(spec), lossHistory: trainer.lossHistory };
}

export const churnModel = asset(
  {
    key: 'churn/model',
    deps: [customerFeatures],
    io: storage.json,
    description: `Logistic regression trained on the last ${CYCLE_DAYS} days of customers/features, every customer once`,
    timeoutSeconds: 600,
    ...team,
  },
  async (ctx, byDay): Promise<TrainedModel> => {
    // Hyperparameters are code: changing one changes this asset's code version, so the model and
    // everything downstream of it show as stale until materialised again.
    const training = { learningRate: 0.5, maxEpochs: 2000, l2: 0.001, tolerance: 1e-6, testFraction: 0.25, seed: 7 };
    const window = trainingDays(byDay);
    const set = buildTrainingSet(
      window.map((day) => byDay[day] as DayOfCustomers),
      training,
    );
    const spec = fitFeatures(set.train);
    const x = toFeatureMatrix(spec, set.train);
    const y = set.train.map((c) => c.churned);
    const settings = readSettings();
    const { model, lossHistory } =
      settings.trainer === 'python'
        ? await trainInPython(x, y, spec, training, { python: settings.python, epochsPerReport: EPOCHS_PER_REPORT, asset: ctx })
        : await trainHere(x, y, spec, training, ctx.signal);
    ctx.log.info(
      `trained on ${window[0]}..${window.at(-1)} (${set.train.length} rows) for ${model.epochs} epochs in ${settings.trainer}, final loss ${model.trainingLoss.toFixed(4)}`,
    );
    const rows = { valid: set.customers.length, rejected: set.rejected, train: set.train.length, test: set.test.length };
    ctx.addMetadata({
      window: `${window[0]}..${window.at(-1)}`,
      ...rows,
      features: spec.names.length,
      epochs: model.epochs,
      trainingLoss: round(model.trainingLoss, 6),
      trainer: settings.trainer,
    });
    return {
      model,
      trainedAt: new Date().toISOString(),
      runId: ctx.runId,
      window,
      datasetDigest: set.digest,
      rows,
      training,
      lossHistory,
    };
  },
);

/** What `churn/evaluation` holds: the model's quality on its training and held-out rows. */
export interface ModelEvaluation {
  window: string[];
  threshold: number;
  /** The thresholds in force when it was evaluated. */
  gate: QualityGate;
  train: Evaluation;
  test: Evaluation;
}

/** Blocking: a model below the bar is never used to score customers, nor published. */
const qualityGate = check(
  'quality_gate',
  { blocking: true, description: 'Test AUC and accuracy at or above CHURN_MIN_AUC (0.75) and CHURN_MIN_ACCURACY (0.7)' },
  (evaluation: ModelEvaluation) => {
    const { gate } = readSettings();
    const failures = gateFailures(evaluation.test, gate);
    return {
      passed: failures.length === 0,
      metadata: {
        auc: round(evaluation.test.auc),
        minAuc: gate.minAuc,
        accuracy: round(evaluation.test.accuracy),
        minAccuracy: gate.minAccuracy,
        ...(failures.length > 0 ? { failures } : {}),
      },
    };
  },
);

export const modelEvaluation = asset(
  {
    key: 'churn/evaluation',
    deps: [customerFeatures, churnModel],
    io: storage.json,
    checks: [qualityGate],
    description: 'AUC, accuracy, F1, log loss and the ROC curve on the rows the model was trained on and on the held-out ones',
    ...team,
  },
  async (ctx, byDay, trained): Promise<ModelEvaluation> => {
    const { decisionThreshold, gate } = readSettings();
    const gone = trained.window.filter((day) => byDay[day] === undefined);
    if (gone.length > 0) throw new Error(`customers/features of ${gone.join(', ')} are gone: materialise churn/model again`);
    const set = buildTrainingSet(
      trained.window.map((day) => byDay[day] as DayOfCustomers),
      trained.training,
    );
    if (set.digest !== trained.datasetDigest) {
      throw new Error('customers/features changed since churn/model was trained on them: materialise churn/model again');
    }
    const { model } = trained;
    const on = (rows: typeof set.train) =>
      evaluate(
        rows.map((c) => c.churned),
        rows.map((c) => predictProbability(model, toFeatureVector(model.features, c))),
        decisionThreshold,
      );
    const result = { window: trained.window, threshold: decisionThreshold, gate, train: on(set.train), test: on(set.test) };
    const { test } = result;
    ctx.log.info(`test AUC ${test.auc.toFixed(3)}, accuracy ${(test.accuracy * 100).toFixed(1)}%`);
    ctx.addMetadata({
      auc: round(test.auc),
      accuracy: round(test.accuracy),
      f1: round(test.f1),
      logLoss: round(test.logLoss),
      precision: round(test.precision),
      recall: round(test.recall),
      trainAuc: round(result.train.auc),
      testRows: test.rows,
      threshold: decisionThreshold,
    });
    await artifact.table(
      'metrics',
      (['auc', 'accuracy', 'precision', 'recall', 'f1', 'logLoss'] as const).map((metric) => ({
        metric,
        train: round(result.train[metric]),
        test: round(test[metric]),
      })),
      { description: 'Model quality on the training rows and the held-out test rows' },
    );
    return result;
  },
);

function riskBands(scores: readonly Score[]): Record<RiskBand, number> {
  const bands: Record<RiskBand, number> = { high: 0, medium: 0, low: 0 };
  for (const score of scores) bands[score.risk]++;
  return bands;
}

export const churnScores = asset(
  {
    key: 'churn/scores',
    deps: [churnModel, modelEvaluation],
    io: storage.scores,
    description: 'Churn probability and risk band of every active customer, as CSV',
    ...team,
  },
  async (ctx, trained, evaluation): Promise<Score[]> => {
    const { scoringData, scoringBatchSize, scoringConcurrency } = readSettings();
    const { customers, rejected } = await validateDataset(await loadDataset(scoringData));
    if (rejected.length > 0)
      ctx.log.warning(`${rejected.length} rows of ${describeSource(scoringData)} were not scored (invalid)`);
    // The model reaches the scoring tasks inside this process; their task runs report states only.
    const batches = chunk(customers, scoringBatchSize).map((slice) => ({
      model: trained.model,
      customers: slice,
      threshold: evaluation.threshold,
    }));
    const scores = (await scoreBatch.map(batches, { concurrency: scoringConcurrency })).flat();
    const bands = riskBands(scores);
    ctx.log.info(
      `scored ${scores.length} customers in ${batches.length} batches: ${bands.high} high, ${bands.medium} medium, ${bands.low} low risk`,
    );
    await artifact.table(
      'risk-bands',
      (['high', 'medium', 'low'] as const).map((band) => ({ band, customers: bands[band] })),
      { description: 'Active customers by churn risk (the scores themselves stay in your storage)' },
    );
    ctx.addMetadata({ customers: scores.length, batches: batches.length, notScored: rejected.length, ...bands });
    return scores;
  },
);

/** Uploads the model, its scores and its card to the model store, signed; returns the model's URL. */
async function publish(
  storeUrl: string,
  folder: string,
  files: { model: Model; scores: Score[]; card: string },
  key: string,
  signal: AbortSignal,
): Promise<string> {
  const uploads = [
    { name: 'model.json', body: canonicalJson(files.model), type: 'application/json' },
    { name: 'scores.csv', body: String(scoresCsvFormat.encode(files.scores)), type: 'text/csv' },
    { name: 'model-card.md', body: files.card, type: 'text/markdown' },
  ];
  const urls: string[] = [];
  for (const file of uploads) {
    urls.push(await uploadToModelStore(storeUrl, `${folder}/${file.name}`, file.body, { key, contentType: file.type, signal }));
  }
  return urls[0] as string;
}

export const modelCard = asset(
  {
    key: 'churn/model-card',
    deps: [churnModel, modelEvaluation, churnScores],
    io: storage.text('md'),
    description:
      'What was trained on what, how well it does, what drives it; published with the model when MODEL_STORE_URL is set',
    // Uploads to the model store retry.
    retries: 2,
    retryDelaySeconds: 1,
    backoff: 2,
    ...team,
  },
  async (ctx, trained, evaluation, scores): Promise<string> => {
    const { signingKey, modelStoreUrl, mlflow } = readSettings();
    if (!signingKey) ctx.log.warning('MODEL_SIGNING_KEY is not set: the model is published unsigned');
    const signature = signingKey ? signModel(trained.model, signingKey) : null;
    const card = renderModelCard({
      runId: trained.runId,
      trainedAt: new Date(trained.trainedAt),
      datasetDigest: trained.datasetDigest,
      rows: trained.rows,
      training: { ...trained.training, lossHistory: trained.lossHistory },
      model: trained.model,
      train: evaluation.train,
      test: evaluation.test,
      gate: evaluation.gate,
      scoring: { customers: scores.length, bands: riskBands(scores) },
      signature,
      rocChartUrl: svgDataUrl(rocCurveSvg(evaluation.test.roc, evaluation.test.auc)),
    });
    await artifact.markdown('model-card', card, { description: 'What was trained, how well it does, what drives it' });
    await artifact.table(
      'feature-weights',
      weightTable(trained.model).map((w) => ({ feature: w.feature, weight: round(w.weight), oddsRatio: round(w.oddsRatio, 3) })),
    );
    let published: string | null = null;
    if (modelStoreUrl) {
      if (!signingKey) throw new Error('the model store takes signed uploads only: set the MODEL_SIGNING_KEY secret');
      published = await publish(
        modelStoreUrl,
        `churn/${ctx.runId}`,
        { model: trained.model, scores, card },
        signingKey,
        ctx.signal,
      );
      ctx.log.info(`published the model, its scores and this card to ${modelStoreUrl}`);
      await artifact.link('model', published, `churn model of run ${ctx.runName}`);
    }
    if (mlflow) {
      // Registered from where the model is kept: the model store, or the I/O manager's file. The
      // version's tags name this run and asset; the token comes from the worker's environment.
      await mlflowRegistry({ trackingUri: mlflow.trackingUri }).registerModelVersion({
        name: mlflow.model,
        source: published ?? `${storage.location}/churn/model/data.json`,
        description: `churn model trained on ${trained.window[0]}..${trained.window.at(-1)}, test AUC ${round(evaluation.test.auc)}`,
        tags: { 'outpost.trained_by_run': trained.runId, dataset_sha256: trained.datasetDigest },
        asset: ctx,
        alias: 'champion',
      });
    }
    ctx.addMetadata({ signed: signature !== null, ...(signature ? { signature } : {}), ...(published ? { published } : {}) });
    return card;
  },
);

/** The whole graph, in dependency order. */
export const churnAssets = [rawCustomers, customerFeatures, churnModel, modelEvaluation, churnScores, modelCard] as const;

/** `2026-11-09` or `2026-11-09..2026-11-15` (from `npm start -- …`): the days to materialise. */
function daysFromArgument(arg: string | undefined): { start: string; end: string } {
  if (!arg) return FIRST_WEEK;
  const [start, end, ...rest] = arg.split('..');
  if (!start || end === '' || rest.length > 0) throw new TypeError(`expected a day or a range first..last, got "${arg}"`);
  return { start, end: end ?? start };
}

// `node --import tsx assets/churn.ts [day | first..last]` (npm start) materialises the whole graph
// here, in-process, with no server or worker: the feed's first week by default. A local model store
// (files under a temporary directory) stands in for yours unless MODEL_STORE_URL names one.
if (isMainModule(import.meta.url)) {
  let store: { dir: string; server: LocalModelStore } | null = null;
  if (!process.env.MODEL_STORE_URL) {
    const dir = await mkdtemp(join(tmpdir(), 'outpost-model-store-'));
    process.env.MODEL_SIGNING_KEY ??= randomBytes(24).toString('base64url');
    store = { dir, server: await startLocalModelStore(dir, process.env.MODEL_SIGNING_KEY) };
    process.env.MODEL_STORE_URL = store.server.url;
  }
  try {
    const days = daysFromArgument(process.argv[2]);
    // Failures are reported here, one line each: a thrown AssetRunError would print every value it holds.
    const result = await materialize(churnAssets, { partitionRange: days, throwOnFailure: false });
    const evaluation = result.events.find((e) => e.kind === 'materialization' && e.assetKey === 'churn/evaluation');
    if (evaluation?.kind === 'materialization') {
      const { auc, accuracy, f1, logLoss } = evaluation.metadata ?? {};
      console.log(JSON.stringify({ auc, accuracy, f1, logLoss }));
    }
    console.log(`asset values: ${storage.location}`);
    if (store && result.success) {
      console.log(`published model, scores and card: ${storedFile(store.dir, store.server.url, `churn/${result.runId}`)}`);
    }
    for (const f of result.failures)
      console.error(`not materialised: ${f.assetKey}${f.partitionKey ? ` [${f.partitionKey}]` : ''}: ${f.message}`);
    if (!result.success) process.exitCode = 1;
  } catch (error) {
    console.error(error instanceof Error ? error.message : String(error));
    process.exitCode = 1;
  } finally {
    await store?.server.close();
  }
}
