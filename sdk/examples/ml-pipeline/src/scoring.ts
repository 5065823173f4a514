import type { Customer } from './customers.js';
import { toFeatureVector } from './features.js';
import { type Model, predictProbability } from './model.js';

export type RiskBand = 'high' | 'medium' | 'low';

export interface Score {
  customerId: string;
  probability: number;
  risk: RiskBand;
}

/** High at or above the decision threshold, medium from half of it: who gets a call, who gets an email. */
export function riskBand(probability: number, threshold: number): RiskBand {
  if (probability >= threshold) return 'high';
  return probability >= threshold / 2 ? 'medium' : 'low';
}

export function scoreCustomers(model: Model, customers: readonly Customer[], threshold: number): Score[] {
  return customers.map((customer) => {
    const probability = predictProbability(model, toFeatureVector(model.features, customer));
    return { customerId: customer.customerId, probability, risk: riskBand(probability, threshold) };
  });
}

/** Consecutive slices of at most `size` items: the units a mapped scoring task works on. */
export function chunk<T>(items: readonly T[], size: number): T[][] {
  if (!Number.isInteger(size) || size < 1) throw new RangeError(`chunk size must be a positive integer, got ${size}`);
  const chunks: T[][] = [];
  for (let i = 0; i < items.length; i += size) chunks.push(items.slice(i, i + size));
  return chunks;
}
