import { createHash } from 'node:crypto';
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { artifact, log, task, taskContext } from '@outpost/sdk';
import { formatCsv } from '../src/csv.js';
import type { Customer, LabelledCustomer } from '../src/customers.js';
import { splitTrainTest, validateCustomers } from '../src/dataset.js';
import { EMBEDDED_DATASETS } from '../src/embedded-data.js';
import { type FeatureSpec, fitFeatures, toFeatureMatrix } from '../src/features.js';
import { evaluate } from '../src/metrics.js';
import { LogisticRegressionTrainer, type Model, predictProbability, type TrainOptions } from '../src/model.js';
import { uploadToModelStore } from '../src/model-store.js';
import { type Score, scoreCustomers } from '../src/scoring.js';
import { canonicalJson } from '../src/signature.js';

export interface LoadedDataset {
  source: string;
  text: string;
  /** sha256 of the text: the dataset's identity in caches and in the model card. */
  digest: string;
}

/**
 * Reads a CSV: `builtin:<name>` is a dataset shipped inside the flow's bundle, `http(s)://…` is
 * fetched, anything else is a file path or `file://` URL on the worker. Reads over a network fail
 * for passing reasons, hence the retries with backoff and jitter.
 */
export const loadDataset = task(
  { name: 'load-dataset', retries: 3, retryDelaySeconds: 1, backoff: 2, jitter: 0.2, timeoutSeconds: 60 },
  async (source: string): Promise<LoadedDataset> => {
    let text: string;
    if (source.startsWith('builtin:')) {
      const shipped = EMBEDDED_DATASETS[source.slice('builtin:'.length)];
      if (shipped === undefined) {
        throw new Error(
          `no shipped dataset ${source} (have ${Object.keys(EMBEDDED_DATASETS)
            .map((n) => `builtin:${n}`)
            .join(', ')})`,
        );
      }
      text = shipped;
    } else if (/^https?:\/\//.test(source)) {
      const response = await fetch(source, { signal: taskContext().signal });
      if (!response.ok) throw new Error(`GET ${source} answered ${response.status}`);
      text = await response.text();
    } else {
      text = await readFile(source.startsWith('file:') ? fileURLToPath(source) : source, 'utf8');
    }
    const digest = createHash('sha256').update(text).digest('hex');
    log.info(`loaded ${source}: ${text.length.toLocaleString('en-US')} bytes, sha256 ${digest.slice(0, 12)}…`);
    return { source, text, digest };
  },
);

/** Bumped when the validation rules change, so results cached under the old rules are not reused. */
const VALIDATION_RULES = 'v1';

/** Parses and checks every row; cached by the file's digest, so an unchanged file is validated once a week. */
export const validateDataset = task(
  {
    name: 'validate-dataset',
    cacheKey: (data: LoadedDataset) => `${VALIDATION_RULES}/${data.digest}`,
    cacheExpirationSeconds: 7 * 86_400,
  },
  (data: LoadedDataset) => {
    const result = validateCustomers(data.text);
    log.info(`${result.customers.length} valid rows, ${result.rejected.length} rejected`);
    for (const r of result.rejected.slice(0, 20)) log.warning(`line ${r.line} (${r.customerId ?? 'no id'}): ${r.reason}`);
    return result;
  },
);

export interface PreparedFeatures {
  spec: FeatureSpec;
  train: { ids: string[]; x: number[][]; y: number[] };
  test: { ids: string[]; x: number[][]; y: number[] };
}

/**
 * Stratified split and feature engineering (scaling fitted on the training rows only). Deterministic
 * in its inputs, so its result is cached for a day under the default key: the task's code and its
 * arguments.
 */
export const prepareFeatures = task(
  { name: 'prepare-features', cache: true, cacheExpirationSeconds: 86_400 },
  (input: { customers: Customer[]; testFraction: number; seed: number }): PreparedFeatures => {
    const { train, test } = splitTrainTest(input.customers, input.testFraction, input.seed);
    const spec = fitFeatures(train);
    const matrix = (rows: LabelledCustomer[]) => ({
      ids: rows.map((c) => c.customerId),
      x: toFeatureMatrix(spec, rows),
      y: rows.map((c) => c.churned),
    });
    log.info(`${spec.names.length} features; ${train.length} training rows, ${test.length} test rows`);
    return { spec, train: matrix(train), test: matrix(test) };
  },
);

const EPOCHS_PER_REPORT = 100;

/** Gradient descent, reporting its progress as an artifact that updates in place. */
export const trainModel = task(
  { name: 'train-model', timeoutSeconds: 600 },
  async (input: { features: PreparedFeatures; options: TrainOptions }) => {
    const { features, options } = input;
    const trainer = new LogisticRegressionTrainer(features.train.x, features.train.y, options);
    const signal = taskContext().signal;
    while (trainer.step(EPOCHS_PER_REPORT)) {
      signal.throwIfAborted();
      await artifact.progress('training', trainer.epoch / options.maxEpochs, { description: 'epochs of gradient descent' });
      log.debug(`epoch ${trainer.epoch}: loss ${trainer.lossHistory[trainer.lossHistory.length - 1]?.toFixed(5)}`);
    }
    await artifact.progress('training', 1, { description: 'epochs of gradient descent' });
    const model = trainer.toModel(features.spec);
    log.info(`trained for ${model.epochs} epochs, final loss ${model.trainingLoss.toFixed(4)}`);
    return { model, lossHistory: trainer.lossHistory };
  },
);

export const evaluateModel = task(
  { name: 'evaluate-model' },
  (input: { model: Model; features: PreparedFeatures; threshold: number }) => {
    const { model, features, threshold } = input;
    const on = (split: PreparedFeatures['train']) =>
      evaluate(
        split.y,
        split.x.map((vector) => predictProbability(model, vector)),
        threshold,
      );
    const result = { train: on(features.train), test: on(features.test) };
    log.info(`test AUC ${result.test.auc.toFixed(3)}, accuracy ${(result.test.accuracy * 100).toFixed(1)}%`);
    return result;
  },
);

/** One slice of the customers to score: the unit `scoreBatch.map` runs in parallel. */
export const scoreBatch = task(
  { name: 'score-batch', retries: 1 },
  (batch: { model: Model; customers: Customer[]; threshold: number }): Score[] =>
    scoreCustomers(batch.model, batch.customers, batch.threshold),
);

export interface Published {
  /** Where the files went: the model store's URL for the model, or a directory on the worker. */
  modelLocation: string;
  files: string[];
}

/**
 * Stores the model, its scores and its card where your other systems pick them up: a model store
 * over HTTP (signed uploads) when one is configured, else a directory on the worker. Either way
 * they stay inside your network; the control plane only sees the link.
 */
export const publishOutputs = task(
  { name: 'publish-outputs', retries: 2, retryDelaySeconds: 1, backoff: 2 },
  async (input: {
    runId: string;
    model: Model;
    scores: Score[];
    modelCard: string;
    signingKey: string | null;
    modelStoreUrl: string | undefined;
    outputDir: string;
  }): Promise<Published> => {
    const files: Record<string, { body: string; type: string }> = {
      'model.json': { body: canonicalJson(input.model), type: 'application/json' },
      'scores.csv': {
        body: formatCsv([
          ['customer_id', 'probability', 'risk'],
          ...input.scores.map((s) => [s.customerId, s.probability.toFixed(6), s.risk]),
        ]),
        type: 'text/csv',
      },
      'model-card.md': { body: input.modelCard, type: 'text/markdown' },
    };
    if (input.modelStoreUrl) {
      if (!input.signingKey) throw new Error('the model store takes signed uploads only: set the MODEL_SIGNING_KEY secret');
      const urls: string[] = [];
      for (const [name, file] of Object.entries(files)) {
        urls.push(
          await uploadToModelStore(input.modelStoreUrl, `churn/${input.runId}/${name}`, file.body, {
            key: input.signingKey,
            contentType: file.type,
            signal: taskContext().signal,
          }),
        );
      }
      log.info(`uploaded ${urls.length} files to the model store`);
      return { modelLocation: urls[0] ?? input.modelStoreUrl, files: urls };
    }
    await mkdir(input.outputDir, { recursive: true });
    const paths: string[] = [];
    for (const [name, file] of Object.entries(files)) {
      const path = join(input.outputDir, name);
      await writeFile(path, file.body);
      paths.push(path);
    }
    log.info(`wrote ${paths.length} files to ${input.outputDir}`);
    return { modelLocation: paths[0] ?? input.outputDir, files: paths };
  },
);
