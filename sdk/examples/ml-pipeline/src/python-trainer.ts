import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { type AssetContext, pipes, z } from '@outpost/sdk';
import type { FeatureSpec } from './features.js';
import type { Model, TrainOptions } from './model.js';

/**
 * `scripts/train.py`. Resolved from this module's URL, which is `src/python-trainer.ts` in the
 * project and `assets/churn.mjs` in the deployed bundle: both one directory below the root, where
 * the deployment's `files` ships the script.
 */
export const TRAIN_SCRIPT = fileURLToPath(new URL('../scripts/train.py', import.meta.url));

/** What train.py writes: the weights and how training went. */
const PythonModelSchema = z.strictObject({
  weights: z.array(z.number()),
  bias: z.number(),
  epochs: z.number().int().min(0),
  lossHistory: z.array(z.number()).min(1),
});

export interface PythonTrainingOptions {
  /** The interpreter: `python3`, or a path to a virtualenv's. */
  python: string;
  /** Progress is reported every this many epochs. */
  epochsPerReport: number;
  /** The asset being materialised, so what the script reports is the asset's. */
  asset?: AssetContext;
}

/**
 * Trains the same logistic regression as `LogisticRegressionTrainer`, in Python: the matrix goes to
 * a private file on this machine, `scripts/train.py` runs under Pipes (its progress and log lines
 * become the run's), and the weights come back through a file it writes. Neither the data nor the
 * weights pass through Outpost.
 */
export async function trainInPython(
  x: readonly (readonly number[])[],
  y: readonly number[],
  features: FeatureSpec,
  options: TrainOptions,
  how: PythonTrainingOptions,
): Promise<{ model: Model; lossHistory: number[] }> {
  const dir = await mkdtemp(join(tmpdir(), 'churn-train-'));
  try {
    const trainingSet = join(dir, 'training-set.json');
    const modelPath = join(dir, 'model.json');
    await writeFile(trainingSet, JSON.stringify({ x, y, options }), { mode: 0o600 });
    await pipes.run([how.python, TRAIN_SCRIPT], {
      extras: { trainingSet, modelPath, epochsPerReport: how.epochsPerReport },
      ...(how.asset ? { asset: how.asset } : {}),
    });
    const trained = PythonModelSchema.parse(JSON.parse(await readFile(modelPath, 'utf8')));
    const model: Model = {
      kind: 'logistic-regression',
      features,
      weights: trained.weights,
      bias: trained.bias,
      epochs: trained.epochs,
      trainingLoss: trained.lossHistory.at(-1) as number,
    };
    return { model, lossHistory: trained.lossHistory };
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}
