import { signedBars, sparkline } from './charts.js';
import type { Evaluation } from './metrics.js';
import type { Model, TrainOptions } from './model.js';
import type { RiskBand } from './scoring.js';

export interface QualityGate {
  minAuc: number;
  minAccuracy: number;
}

export interface ModelCardInput {
  runId: string;
  trainedAt: Date;
  /** sha256 of the training CSV. */
  datasetDigest: string;
  rows: { valid: number; rejected: number; train: number; test: number };
  training: TrainOptions & { lossHistory: readonly number[] };
  model: Model;
  train: Evaluation;
  test: Evaluation;
  gate: QualityGate;
  scoring: { customers: number; bands: Record<RiskBand, number> } | null;
  /** HMAC of the model, or null when no signing key was configured. */
  signature: string | null;
  rocChartUrl: string;
}

const pct = (x: number) => `${(x * 100).toFixed(1)}%`;
const num = (x: number) => x.toFixed(3);

/** The model is not good enough to publish: the run fails, with the card saying why. */
export class QualityGateError extends Error {
  override readonly name = 'QualityGateError';
}

/** Each threshold the test metrics miss, in words; empty when the model passes. */
export function gateFailures(test: Evaluation, gate: QualityGate): string[] {
  const failures: string[] = [];
  if (!(test.auc >= gate.minAuc)) failures.push(`test AUC ${num(test.auc)} is below ${num(gate.minAuc)}`);
  if (!(test.accuracy >= gate.minAccuracy))
    failures.push(`test accuracy ${pct(test.accuracy)} is below ${pct(gate.minAccuracy)}`);
  return failures;
}

export function passesGate(test: Evaluation, gate: QualityGate): boolean {
  return gateFailures(test, gate).length === 0;
}

/** Features by the size of their effect, with the odds ratio a person can reason about. */
export function weightTable(model: Model): { feature: string; weight: number; oddsRatio: number }[] {
  return model.features.names
    .map((feature, i) => ({ feature, weight: model.weights[i] ?? 0, oddsRatio: Math.exp(model.weights[i] ?? 0) }))
    .sort((a, b) => Math.abs(b.weight) - Math.abs(a.weight));
}

/** The model card: what was trained on what, how well it does, and what drives its predictions. */
export function renderModelCard(card: ModelCardInput): string {
  const { test, train, gate } = card;
  const verdict = passesGate(test, gate) ? 'passed' : 'FAILED';
  const c = test.confusion;
  const weights = weightTable(card.model);
  const lines = [
    '# Model card: customer churn',
    '',
    `Logistic regression trained by run \`${card.runId}\` on ${card.trainedAt.toISOString()}.`,
    `Quality gate **${verdict}**: test AUC ${num(test.auc)} (minimum ${num(gate.minAuc)}), ` +
      `accuracy ${pct(test.accuracy)} (minimum ${pct(gate.minAccuracy)}).`,
    '',
    '## Data',
    '',
    '| | rows |',
    '|---|---:|',
    `| valid | ${card.rows.valid} |`,
    `| rejected by validation | ${card.rows.rejected} |`,
    `| training | ${card.rows.train} |`,
    `| test (held out, stratified) | ${card.rows.test} |`,
    '',
    `Dataset sha256 \`${card.datasetDigest}\`; churn rate ${pct(test.positiveRate)} in the test set.`,
    '',
    '## Metrics',
    '',
    '| metric | train | test |',
    '|---|---:|---:|',
    `| AUC | ${num(train.auc)} | ${num(test.auc)} |`,
    `| accuracy | ${pct(train.accuracy)} | ${pct(test.accuracy)} |`,
    `| precision | ${pct(train.precision)} | ${pct(test.precision)} |`,
    `| recall | ${pct(train.recall)} | ${pct(test.recall)} |`,
    `| F1 | ${num(train.f1)} | ${num(test.f1)} |`,
    `| log loss | ${num(train.logLoss)} | ${num(test.logLoss)} |`,
    '',
    `Confusion matrix on the test set at threshold ${test.threshold}:`,
    '',
    '| | predicted churn | predicted stay |',
    '|---|---:|---:|',
    `| churned | ${c.truePositives} | ${c.falseNegatives} |`,
    `| stayed | ${c.falsePositives} | ${c.trueNegatives} |`,
    '',
    `![ROC curve](${card.rocChartUrl})`,
    '',
    '## What drives the prediction',
    '',
    'Weights on standardised features (positive raises the churn risk):',
    '',
    '```text',
    ...signedBars(weights.map((w) => ({ label: w.feature, value: w.weight }))),
    '```',
    '',
    '| feature | weight | odds ratio |',
    '|---|---:|---:|',
    ...weights.map((w) => `| ${w.feature} | ${w.weight.toFixed(4)} | ${w.oddsRatio.toFixed(3)} |`),
    '',
    '## Training',
    '',
    `Gradient descent, learning rate ${card.training.learningRate}, L2 ${card.training.l2}, ` +
      `${card.model.epochs} of at most ${card.training.maxEpochs} epochs (tolerance ${card.training.tolerance}).`,
    '',
    `Loss ${num(card.training.lossHistory[0] ?? Number.NaN)} → ${num(card.model.trainingLoss)}: \`${sparkline(card.training.lossHistory)}\``,
    '',
  ];
  if (card.scoring) {
    const { customers, bands } = card.scoring;
    lines.push(
      '## Batch scoring',
      '',
      `${customers} active customers scored: ${bands.high} high risk, ${bands.medium} medium, ${bands.low} low.`,
      '',
    );
  }
  lines.push(
    '## Provenance',
    '',
    card.signature
      ? `Model signature (HMAC-SHA256): \`${card.signature}\``
      : 'Unsigned: no signing key was configured for this run.',
    '',
  );
  return lines.join('\n');
}
