import { z } from '@outpost/sdk';
import { type FeatureSpec, FeatureSpecSchema } from './features.js';

export interface TrainOptions {
  /** Step size of gradient descent on standardised features. */
  learningRate: number;
  /** Upper bound on full passes over the training rows. */
  maxEpochs: number;
  /** L2 penalty on the weights (not the bias); keeps one-hot weights finite and small. */
  l2: number;
  /** Stop early once an epoch improves the loss by less than this. */
  tolerance: number;
}

/** A trained model, self-contained: scoring needs nothing but this JSON. */
export const ModelSchema = z.strictObject({
  kind: z.literal('logistic-regression'),
  features: FeatureSpecSchema,
  weights: z.array(z.number()),
  bias: z.number(),
  epochs: z.number().int().min(0),
  trainingLoss: z.number(),
});

export type Model = z.output<typeof ModelSchema>;

const sigmoid = (z: number) => (z >= 0 ? 1 / (1 + Math.exp(-z)) : Math.exp(z) / (1 + Math.exp(z)));
const EPSILON = 1e-12;

/**
 * Batch gradient descent on the L2-regularised log loss. Training advances in `step()` slices so
 * the caller can report progress between them; `train()` runs it to the end in one call.
 */
export class LogisticRegressionTrainer {
  readonly lossHistory: number[] = [];
  private readonly weights: number[];
  private bias = 0;
  private epochs = 0;
  private converged = false;

  constructor(
    private readonly x: readonly (readonly number[])[],
    private readonly y: readonly number[],
    private readonly options: TrainOptions,
  ) {
    if (x.length === 0 || x.length !== y.length) throw new RangeError('training needs as many labels as rows, and at least one');
    this.weights = new Array<number>(x[0]?.length ?? 0).fill(0);
    this.lossHistory.push(this.loss());
  }

  get epoch(): number {
    return this.epochs;
  }

  get done(): boolean {
    return this.converged || this.epochs >= this.options.maxEpochs;
  }

  /** Runs up to `epochs` more epochs; returns false once training is finished. */
  step(epochs: number): boolean {
    for (let i = 0; i < epochs && !this.done; i++) {
      this.descend();
      this.epochs++;
      const loss = this.loss();
      const previous = this.lossHistory[this.lossHistory.length - 1] ?? Number.POSITIVE_INFINITY;
      this.lossHistory.push(loss);
      if (previous - loss >= 0 && previous - loss < this.options.tolerance) this.converged = true;
    }
    return !this.done;
  }

  toModel(features: FeatureSpec): Model {
    return {
      kind: 'logistic-regression',
      features,
      weights: [...this.weights],
      bias: this.bias,
      epochs: this.epochs,
      trainingLoss: this.lossHistory[this.lossHistory.length - 1] ?? Number.NaN,
    };
  }

  private descend(): void {
    const n = this.x.length;
    const gradient = new Array<number>(this.weights.length).fill(0);
    let gradientBias = 0;
    for (let i = 0; i < n; i++) {
      const row = this.x[i] as readonly number[];
      const error = sigmoid(this.linear(row)) - (this.y[i] as number);
      for (let j = 0; j < row.length; j++) gradient[j] = (gradient[j] as number) + error * (row[j] as number);
      gradientBias += error;
    }
    const rate = this.options.learningRate;
    for (let j = 0; j < this.weights.length; j++) {
      const w = this.weights[j] as number;
      this.weights[j] = w - rate * ((gradient[j] as number) / n + this.options.l2 * w);
    }
    this.bias -= (rate * gradientBias) / n;
  }

  private linear(row: readonly number[]): number {
    let z = this.bias;
    for (let j = 0; j < row.length; j++) z += (this.weights[j] as number) * (row[j] as number);
    return z;
  }

  /** Mean log loss plus the L2 penalty: the quantity gradient descent minimises. */
  private loss(): number {
    let total = 0;
    for (let i = 0; i < this.x.length; i++) {
      const p = sigmoid(this.linear(this.x[i] as readonly number[]));
      total -= this.y[i] === 1 ? Math.log(p + EPSILON) : Math.log(1 - p + EPSILON);
    }
    const penalty = (this.options.l2 / 2) * this.weights.reduce((sum, w) => sum + w * w, 0);
    return total / this.x.length + penalty;
  }
}

export function trainLogisticRegression(
  x: readonly (readonly number[])[],
  y: readonly number[],
  features: FeatureSpec,
  options: TrainOptions,
): { model: Model; lossHistory: number[] } {
  const trainer = new LogisticRegressionTrainer(x, y, options);
  while (trainer.step(100));
  return { model: trainer.toModel(features), lossHistory: trainer.lossHistory };
}

/** P(churn) for one feature vector. */
export function predictProbability(model: Model, vector: readonly number[]): number {
  if (vector.length !== model.weights.length) {
    throw new RangeError(`the model expects ${model.weights.length} features, got ${vector.length}`);
  }
  let z = model.bias;
  for (let j = 0; j < vector.length; j++) z += (model.weights[j] as number) * (vector[j] as number);
  return sigmoid(z);
}
