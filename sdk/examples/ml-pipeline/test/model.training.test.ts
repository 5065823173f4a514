import { describe, expect, it } from 'vitest';
import { splitTrainTest, validateCustomers } from '../src/dataset.js';
import { EMBEDDED_DATASETS } from '../src/embedded-data.js';
import { fitFeatures, toFeatureMatrix, toFeatureVector } from '../src/features.js';
import { evaluate } from '../src/metrics.js';
import { LogisticRegressionTrainer, ModelSchema, predictProbability, trainLogisticRegression } from '../src/model.js';
import { chunk, riskBand, scoreCustomers } from '../src/scoring.js';
import { signModel, verifyModelSignature } from '../src/signature.js';

const OPTIONS = { learningRate: 0.5, maxEpochs: 2000, l2: 0.001, tolerance: 1e-6 };
const { customers } = validateCustomers(EMBEDDED_DATASETS.customers ?? '');
const { train, test } = splitTrainTest(customers, 0.25, 7);
const spec = fitFeatures(train);

describe('feature engineering', () => {
  it('standardises numeric features on the training rows to mean 0 and sd 1', () => {
    const matrix = toFeatureMatrix(spec, train);
    for (let j = 0; j < spec.scaling.length; j++) {
      const column = matrix.map((row) => row[j] as number);
      const mean = column.reduce((s, v) => s + v, 0) / column.length;
      const sd = Math.sqrt(column.reduce((s, v) => s + (v - mean) ** 2, 0) / (column.length - 1));
      expect(mean).toBeCloseTo(0, 10);
      expect(sd).toBeCloseTo(1, 10);
    }
  });

  it('one-hot encodes categories against a reference level, one vector entry per name', () => {
    expect(spec.names).toContain('contract=two-year');
    expect(spec.names).not.toContain('contract=monthly');
    const customer = { ...train[0]!, contract: 'two-year' as const };
    const vector = toFeatureVector(spec, customer);
    expect(vector).toHaveLength(spec.names.length);
    expect(vector[spec.names.indexOf('contract=two-year')]).toBe(1);
    expect(vector[spec.names.indexOf('contract=annual')]).toBe(0);
  });

  it('refuses to fit on fewer than two rows', () => {
    expect(() => fitFeatures(train.slice(0, 1))).toThrow(RangeError);
  });
});

describe('logistic regression by gradient descent', () => {
  it('separates two clearly separated classes almost perfectly', () => {
    const x = Array.from({ length: 40 }, (_, i) => [i < 20 ? -1 - i / 20 : 1 + (i - 20) / 20]);
    const y = x.map(([v]) => ((v as number) > 0 ? 1 : 0));
    const { model } = trainLogisticRegression(x, y, { names: ['v'], scaling: [] }, { ...OPTIONS, l2: 0 });
    expect(predictProbability(model, [2])).toBeGreaterThan(0.95);
    expect(predictProbability(model, [-2])).toBeLessThan(0.05);
  });

  it('lowers the loss at every epoch and stops early once the improvement is below the tolerance', () => {
    const trainer = new LogisticRegressionTrainer(
      toFeatureMatrix(spec, train),
      train.map((c) => c.churned),
      OPTIONS,
    );
    while (trainer.step(50));
    const history = trainer.lossHistory;
    for (let i = 1; i < history.length; i++) expect(history[i]).toBeLessThanOrEqual(history[i - 1] as number);
    expect(trainer.epoch).toBeLessThan(OPTIONS.maxEpochs);
    expect((history[history.length - 2] as number) - (history[history.length - 1] as number)).toBeLessThan(OPTIONS.tolerance);
  });

  it('learns the churn drivers of the synthetic business and beats chance on held-out customers', () => {
    const { model } = trainLogisticRegression(
      toFeatureMatrix(spec, train),
      train.map((c) => c.churned),
      spec,
      OPTIONS,
    );
    expect(ModelSchema.parse(model)).toEqual(model);
    const weight = (name: string) => model.weights[spec.names.indexOf(name)] as number;
    expect(weight('support_tickets')).toBeGreaterThan(0);
    expect(weight('contract=two-year')).toBeLessThan(weight('contract=annual'));
    expect(weight('contract=annual')).toBeLessThan(0);
    const scores = test.map((c) => predictProbability(model, toFeatureVector(spec, c)));
    const result = evaluate(
      test.map((c) => c.churned),
      scores,
      0.5,
    );
    expect(result.auc).toBeGreaterThan(0.78);
    expect(result.accuracy).toBeGreaterThan(0.72);
  });

  it('refuses a feature vector of the wrong length', () => {
    const { model } = trainLogisticRegression([[0], [1]], [0, 1], { names: ['v'], scaling: [] }, OPTIONS);
    expect(() => predictProbability(model, [1, 2])).toThrow(/expects 1 features/);
  });
});

describe('scoring and signing', () => {
  const { model } = trainLogisticRegression(
    toFeatureMatrix(spec, train),
    train.map((c) => c.churned),
    spec,
    OPTIONS,
  );

  it('bands customers by the decision threshold', () => {
    expect(riskBand(0.6, 0.5)).toBe('high');
    expect(riskBand(0.3, 0.5)).toBe('medium');
    expect(riskBand(0.2, 0.5)).toBe('low');
    const scores = scoreCustomers(model, test.slice(0, 10), 0.5);
    expect(scores.map((s) => s.customerId)).toEqual(test.slice(0, 10).map((c) => c.customerId));
    for (const s of scores) expect(s.risk).toBe(riskBand(s.probability, 0.5));
  });

  it('cuts items into consecutive chunks of at most the given size', () => {
    expect(chunk([1, 2, 3, 4, 5], 2)).toEqual([[1, 2], [3, 4], [5]]);
    expect(() => chunk([1], 0)).toThrow(RangeError);
  });

  it('signs a model so that any change to it, or another key, fails verification', () => {
    const key = 'k'.repeat(32);
    const signature = signModel(model, key);
    expect(verifyModelSignature(model, key, signature)).toBe(true);
    expect(verifyModelSignature({ ...model, bias: model.bias + 1e-9 }, key, signature)).toBe(false);
    expect(verifyModelSignature(model, 'x'.repeat(32), signature)).toBe(false);
    expect(() => signModel(model, 'short')).toThrow(/16 characters/);
  });
});
