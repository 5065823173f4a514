import { describe, expect, it } from 'vitest';
import { evaluate } from '../src/metrics.js';
import type { Model } from '../src/model.js';
import { gateFailures, type ModelCardInput, passesGate, renderModelCard, weightTable } from '../src/model-card.js';

const model: Model = {
  kind: 'logistic-regression',
  features: {
    names: ['tenure_months', 'contract=annual'],
    scaling: [{ name: 'tenure_months', mean: 30, sd: 20 }],
  },
  weights: [-0.5, -1.5],
  bias: 0.1,
  epochs: 120,
  trainingLoss: 0.45,
};
const test = evaluate([1, 1, 0, 0, 1, 0], [0.9, 0.4, 0.6, 0.1, 0.7, 0.2], 0.5);

function card(overrides: Partial<ModelCardInput> = {}): string {
  return renderModelCard({
    runId: 'run-1',
    trainedAt: new Date('2026-01-02T03:04:05Z'),
    datasetDigest: 'ab'.repeat(32),
    rows: { valid: 6, rejected: 1, train: 4, test: 6 },
    training: { learningRate: 0.5, maxEpochs: 200, l2: 0.001, tolerance: 1e-6, lossHistory: [0.69, 0.5, 0.45] },
    model,
    train: test,
    test,
    gate: { minAuc: 0.5, minAccuracy: 0.5 },
    scoring: { customers: 10, bands: { high: 2, medium: 3, low: 5 } },
    signature: 'f'.repeat(64),
    rocChartUrl: 'data:image/svg+xml;base64,PHN2Zy8+',
    ...overrides,
  });
}

describe('the model card', () => {
  it('names every threshold the test metrics miss', () => {
    expect(gateFailures(test, { minAuc: 0.5, minAccuracy: 0.5 })).toEqual([]);
    expect(passesGate(test, { minAuc: 0.99, minAccuracy: 0.99 })).toBe(false);
    expect(gateFailures(test, { minAuc: 0.99, minAccuracy: 0.99 })).toEqual([
      `test AUC ${test.auc.toFixed(3)} is below 0.990`,
      `test accuracy ${(test.accuracy * 100).toFixed(1)}% is below 99.0%`,
    ]);
  });

  it('orders features by the size of their effect, with odds ratios', () => {
    expect(weightTable(model).map((w) => w.feature)).toEqual(['contract=annual', 'tenure_months']);
    expect(weightTable(model)[0]?.oddsRatio).toBeCloseTo(Math.exp(-1.5));
  });

  it('reports the verdict, the metrics, the confusion matrix, the chart, the weights and the signature', () => {
    const text = card();
    expect(text).toContain('Quality gate **passed**');
    expect(text).toContain(`| AUC | ${test.auc.toFixed(3)} | ${test.auc.toFixed(3)} |`);
    expect(text).toContain(`| churned | ${test.confusion.truePositives} | ${test.confusion.falseNegatives} |`);
    expect(text).toContain('![ROC curve](data:image/svg+xml;base64,PHN2Zy8+)');
    expect(text).toContain('| contract=annual | -1.5000 | 0.223 |');
    expect(text).toContain('10 active customers scored: 2 high risk, 3 medium, 5 low.');
    expect(text).toContain(`Model signature (HMAC-SHA256): \`${'f'.repeat(64)}\``);
  });

  it('says FAILED, leaves out scoring and says unsigned when that is what happened', () => {
    const text = card({ gate: { minAuc: 0.99, minAccuracy: 0.5 }, scoring: null, signature: null });
    expect(text).toContain('Quality gate **FAILED**');
    expect(text).not.toContain('## Batch scoring');
    expect(text).toContain('Unsigned: no signing key was configured for this run.');
  });
});
