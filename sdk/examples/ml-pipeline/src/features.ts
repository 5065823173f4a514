import { z } from '@outpost/sdk';
import { CONTRACTS, type Customer, PLANS, REGIONS } from './customers.js';

/** Numeric inputs, with the transform that tames their skew before standardising. */
const NUMERIC_FEATURES = {
  tenure_months: { read: (c: Customer) => c.tenureMonths, transform: 'identity' },
  monthly_charges: { read: (c: Customer) => c.monthlyCharges, transform: 'identity' },
  support_tickets: { read: (c: Customer) => c.supportTickets, transform: 'log1p' },
  last_login_days: { read: (c: Customer) => c.lastLoginDays, transform: 'log1p' },
  // Price paid per year of loyalty: new customers on expensive plans are the likeliest to leave.
  charges_per_tenure_year: { read: (c: Customer) => c.monthlyCharges / (1 + c.tenureMonths / 12), transform: 'log1p' },
} as const;

type NumericName = keyof typeof NUMERIC_FEATURES;
const NUMERIC_NAMES = Object.keys(NUMERIC_FEATURES) as NumericName[];

/** Categorical inputs; the first level of each is the reference, encoded as all zeros. */
const CATEGORICAL_FEATURES = {
  plan: { read: (c: Customer) => c.plan, levels: PLANS },
  contract: { read: (c: Customer) => c.contract, levels: CONTRACTS },
  region: { read: (c: Customer) => c.region, levels: REGIONS },
} as const;

type CategoricalName = keyof typeof CATEGORICAL_FEATURES;
const CATEGORICAL_NAMES = Object.keys(CATEGORICAL_FEATURES) as CategoricalName[];

/** What feature engineering learned from the training rows; plain JSON, so it travels with the model. */
export const FeatureSpecSchema = z.strictObject({
  names: z.array(z.string()),
  scaling: z.array(z.strictObject({ name: z.string(), mean: z.number(), sd: z.number().positive() })),
});

export type FeatureSpec = z.output<typeof FeatureSpecSchema>;

function rawNumeric(name: NumericName, customer: Customer): number {
  const feature = NUMERIC_FEATURES[name];
  const value = feature.read(customer);
  return feature.transform === 'log1p' ? Math.log1p(value) : value;
}

/**
 * Learns the scaling of every numeric feature from the training rows only (fitting on the test
 * rows too would leak their distribution into the model and flatter its test metrics).
 */
export function fitFeatures(train: readonly Customer[]): FeatureSpec {
  if (train.length < 2) throw new RangeError('fitting features needs at least two rows');
  const scaling = NUMERIC_NAMES.map((name) => {
    const values = train.map((c) => rawNumeric(name, c));
    const mean = values.reduce((sum, v) => sum + v, 0) / values.length;
    const variance = values.reduce((sum, v) => sum + (v - mean) ** 2, 0) / (values.length - 1);
    // A constant column carries no information; sd 1 keeps it at zero instead of dividing by zero.
    return { name, mean, sd: Math.sqrt(variance) || 1 };
  });
  const oneHot = CATEGORICAL_NAMES.flatMap((name) =>
    CATEGORICAL_FEATURES[name].levels.slice(1).map((level) => `${name}=${level}`),
  );
  return { names: [...NUMERIC_NAMES, ...oneHot], scaling };
}

/** One customer as the model's input vector, in `spec.names` order. */
export function toFeatureVector(spec: FeatureSpec, customer: Customer): number[] {
  const vector: number[] = [];
  for (const { name, mean, sd } of spec.scaling) vector.push((rawNumeric(name as NumericName, customer) - mean) / sd);
  for (const name of CATEGORICAL_NAMES) {
    const { read, levels } = CATEGORICAL_FEATURES[name];
    const value = read(customer);
    for (const level of levels.slice(1)) vector.push(value === level ? 1 : 0);
  }
  return vector;
}

export function toFeatureMatrix(spec: FeatureSpec, customers: readonly Customer[]): number[][] {
  return customers.map((customer) => toFeatureVector(spec, customer));
}
