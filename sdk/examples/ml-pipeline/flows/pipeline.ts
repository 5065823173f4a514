import { randomBytes } from 'node:crypto';
import { mkdtemp } from 'node:fs/promises';
import { tmpdir, userInfo } from 'node:os';
import { join } from 'node:path';
import { artifact, flow, isMainModule, log, z } from '@outpost/sdk';
import { rocCurveSvg, svgDataUrl } from '../src/charts.js';
import { DatasetError } from '../src/dataset.js';
import { gateFailures, type ModelCardInput, QualityGateError, renderModelCard, weightTable } from '../src/model-card.js';
import { startLocalModelStore, storedFile } from '../src/model-store.js';
import { signModel } from '../src/signature.js';
import { scoreCustomers } from './score-customers.js';
import { evaluateModel, loadDataset, prepareFeatures, publishOutputs, trainModel, validateDataset } from './tasks.js';

export const PipelineParams = z.object({
  trainingData: z
    .string()
    .default('builtin:customers')
    .describe(
      'Customers with a known outcome: builtin:customers (shipped with the flow), a file path or an http(s) URL of a CSV',
    ),
  scoringData: z
    .string()
    .default('builtin:active-customers')
    .describe('Active customers to score once the model passes its quality gate'),
  testFraction: z.number().gt(0).lt(1).default(0.25).describe('Share of the rows held out for the test metrics'),
  seed: z.number().int().default(7).describe('Seed of the train/test split'),
  learningRate: z.number().positive().max(10).default(0.5).describe('Step size of gradient descent'),
  maxEpochs: z.number().int().min(1).max(100_000).default(2000).describe('Most passes over the training rows'),
  l2: z.number().min(0).max(10).default(0.001).describe('L2 penalty on the weights'),
  tolerance: z.number().positive().default(1e-6).describe('Stop once an epoch improves the loss by less than this'),
  decisionThreshold: z
    .number()
    .gt(0)
    .lt(1)
    .default(0.5)
    .describe('Probability at or above which a customer is predicted to churn'),
  minAuc: z.number().min(0).max(1).default(0.75).describe('Quality gate: the run fails below this test AUC'),
  minAccuracy: z.number().min(0).max(1).default(0.7).describe('Quality gate: the run fails below this test accuracy'),
  maxRejectedFraction: z
    .number()
    .min(0)
    .max(1)
    .default(0.05)
    .describe('The run fails when validation rejects more than this share of the training rows'),
  scoringBatchSize: z.number().int().min(1).max(10_000).default(100).describe('Customers per scoring task'),
  scoringConcurrency: z.number().int().min(1).max(64).default(4).describe('Scoring tasks run at once'),
  modelStoreUrl: z
    .url({ protocol: /^https?$/ })
    .optional()
    .describe('HTTP model store in your network that takes signed PUT uploads; without one, files go to outputDir'),
  outputDir: z
    .string()
    .min(1)
    .optional()
    .describe(
      'Directory on the worker for the files when there is no model store (default: <tmpdir>/outpost-ml-pipeline-<uid>/<run id>)',
    ),
});

/**
 * Trains a churn model and puts it to work: load → validate → features → train → evaluate against a
 * quality gate → batch-score (a subflow) → publish the model, its scores and a model card.
 * `MODEL_SIGNING_KEY` (a secret the worker resolves in your network) signs the model.
 */
export const churnPipeline = flow(
  { name: 'churn-model', description: 'Trains, gates, scores and publishes a customer churn model', params: PipelineParams },
  async (p, ctx) => {
    const signingKey = process.env.MODEL_SIGNING_KEY?.trim() || null;
    if (!signingKey) log.warning('MODEL_SIGNING_KEY is not set: the model will be published unsigned');

    const training = await loadDataset(p.trainingData);
    const { customers, rejected } = await validateDataset(training);
    const total = customers.length + rejected.length;
    if (total === 0 || rejected.length / total > p.maxRejectedFraction) {
      throw new DatasetError(
        `${rejected.length} of ${total} rows were rejected, more than the allowed ${(p.maxRejectedFraction * 100).toFixed(1)}%`,
      );
    }
    const features = await prepareFeatures({ customers, testFraction: p.testFraction, seed: p.seed });
    const options = { learningRate: p.learningRate, maxEpochs: p.maxEpochs, l2: p.l2, tolerance: p.tolerance };
    const { model, lossHistory } = await trainModel({ features, options });
    const evaluation = await evaluateModel({ model, features, threshold: p.decisionThreshold });
    const gate = { minAuc: p.minAuc, minAccuracy: p.minAccuracy };
    const failures = gateFailures(evaluation.test, gate);

    await artifact.table(
      'metrics',
      (['auc', 'accuracy', 'precision', 'recall', 'f1', 'logLoss'] as const).map((metric) => ({
        metric,
        train: Number(evaluation.train[metric].toFixed(4)),
        test: Number(evaluation.test[metric].toFixed(4)),
      })),
      { description: 'Model quality on the training rows and the held-out test rows' },
    );
    const scored =
      failures.length === 0
        ? await scoreCustomers({
            model,
            source: p.scoringData,
            threshold: p.decisionThreshold,
            batchSize: p.scoringBatchSize,
            concurrency: p.scoringConcurrency,
          })
        : null;

    const signature = signingKey ? signModel(model, signingKey) : null;
    const card: ModelCardInput = {
      runId: ctx.runId,
      trainedAt: new Date(),
      datasetDigest: training.digest,
      rows: { valid: customers.length, rejected: rejected.length, train: features.train.y.length, test: features.test.y.length },
      training: { ...options, lossHistory },
      model,
      train: evaluation.train,
      test: evaluation.test,
      gate,
      scoring: scored ? { customers: scored.scores.length, bands: scored.bands } : null,
      signature,
      rocChartUrl: svgDataUrl(rocCurveSvg(evaluation.test.roc, evaluation.test.auc)),
    };
    const modelCard = renderModelCard(card);
    await artifact.markdown('model-card', modelCard, { description: 'What was trained, how well it does, what drives it' });
    await artifact.table(
      'feature-weights',
      weightTable(model).map((w) => ({
        feature: w.feature,
        weight: Number(w.weight.toFixed(4)),
        oddsRatio: Number(w.oddsRatio.toFixed(3)),
      })),
    );
    if (failures.length > 0 || !scored) throw new QualityGateError(`quality gate failed: ${failures.join('; ')}`);

    const published = await publishOutputs({
      runId: ctx.runId,
      model,
      scores: scored.scores,
      modelCard,
      signingKey,
      modelStoreUrl: p.modelStoreUrl,
      // One directory per user: workers of several users on one machine must not share it.
      outputDir: p.outputDir ?? join(tmpdir(), `outpost-ml-pipeline-${userInfo().uid}`, ctx.runId),
    });
    if (p.modelStoreUrl) await artifact.link('model', published.modelLocation, `churn model of run ${ctx.runName}`);
    return {
      runId: ctx.runId,
      passed: true,
      metrics: {
        auc: evaluation.test.auc,
        accuracy: evaluation.test.accuracy,
        f1: evaluation.test.f1,
        logLoss: evaluation.test.logLoss,
      },
      rows: card.rows,
      scoring: { customers: scored.scores.length, bands: scored.bands },
      signature,
      published,
    };
  },
);

// `node --import tsx flows/pipeline.ts` runs the whole pipeline here, with no server or worker, and
// a local model store (files under a temporary directory) standing in for yours.
if (isMainModule(import.meta.url)) {
  const dir = await mkdtemp(join(tmpdir(), 'outpost-model-store-'));
  process.env.MODEL_SIGNING_KEY ??= randomBytes(24).toString('base64url');
  const store = await startLocalModelStore(dir, process.env.MODEL_SIGNING_KEY);
  try {
    const result = await churnPipeline({ modelStoreUrl: store.url });
    console.log(JSON.stringify({ metrics: result.metrics, scoring: result.scoring }, null, 2));
    console.log(`model, scores and model card: ${storedFile(dir, store.url, `churn/${result.runId}`)}`);
  } finally {
    await store.close();
  }
}
