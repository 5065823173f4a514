import { describe, expect, it } from 'vitest';
import { splitTrainTest, validateCustomers } from '../src/dataset.js';
import { EMBEDDED_DATASETS } from '../src/embedded-data.js';
import { fitFeatures, toFeatureMatrix } from '../src/features.js';
import { evaluate } from '../src/metrics.js';
import { type Model, predictProbability, trainLogisticRegression } from '../src/model.js';
import { trainInPython } from '../src/python-trainer.js';
import { runCapturing } from './support.js';

const OPTIONS = { learningRate: 0.5, maxEpochs: 2000, l2: 0.001, tolerance: 1e-6 };
const { customers } = validateCustomers(EMBEDDED_DATASETS.customers ?? '');
const { train, test } = splitTrainTest(customers, 0.25, 7);
const spec = fitFeatures(train);
const x = toFeatureMatrix(spec, train);
const y = train.map((c) => c.churned);

describe('scripts/train.py, launched with Pipes', () => {
  it('trains the same model as the TypeScript trainer, reporting its progress and a log line', async () => {
    const here = trainLogisticRegression(x, y, spec, OPTIONS);
    const { result: python, lines } = await runCapturing(() =>
      trainInPython(x, y, spec, OPTIONS, { python: 'python3', epochsPerReport: 100 }),
    );

    // The same arithmetic on IEEE doubles: exp and log may differ in the last bit between the two
    // runtimes, so the weights are compared to 1e-9, and the stopping epoch to one either way.
    expect(python.model.features).toEqual(spec);
    expect(python.model.weights).toHaveLength(here.model.weights.length);
    for (const [j, w] of python.model.weights.entries()) expect(w).toBeCloseTo(here.model.weights[j] as number, 9);
    expect(python.model.bias).toBeCloseTo(here.model.bias, 9);
    expect(Math.abs(python.model.epochs - here.model.epochs)).toBeLessThanOrEqual(1);
    expect(python.model.epochs).toBeLessThan(OPTIONS.maxEpochs);
    expect(python.lossHistory).toHaveLength(python.model.epochs + 1);
    expect(python.model.trainingLoss).toBe(python.lossHistory.at(-1));
    const labels = test.map((c) => c.churned);
    const auc = (model: Model) =>
      evaluate(
        labels,
        toFeatureMatrix(spec, test).map((vector) => predictProbability(model, vector)),
        0.5,
      ).auc;
    expect(auc(python.model)).toBeCloseTo(auc(here.model), 9);

    // One report after each full 100 epochs while training goes on, and 100% at the end.
    const progress = lines.filter((line) => line.includes("artifact progress 'training'"));
    expect(progress).toHaveLength(Math.ceil(python.model.epochs / 100));
    expect(progress.at(-1)).toMatch(/: 100%$/);
    expect(lines.some((line) => /trained \d+ weights on \d+ rows for \d+ epochs in Python 3\.\d+/.test(line))).toBe(true);
  });

  it('fails with the error the script raised', async () => {
    const error = await trainInPython([], [], spec, OPTIONS, { python: 'python3', epochsPerReport: 100 }).catch(
      (e: unknown) => e,
    );
    expect(String(error)).toMatch(/exited with status 1: ValueError: training needs as many labels as rows, and at least one/);
  });

  it('says which interpreter it could not start', async () => {
    const error = await trainInPython(x, y, spec, OPTIONS, { python: 'python3-not-installed', epochsPerReport: 100 }).catch(
      (e: unknown) => e,
    );
    expect(String(error)).toContain('python3-not-installed');
  });
});
