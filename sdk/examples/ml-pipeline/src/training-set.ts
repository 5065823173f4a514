import type { Customer, LabelledCustomer } from './customers.js';
import { type RejectedRow, splitTrainTest } from './dataset.js';
import { canonicalJson } from './signature.js';
import { addDays } from './snapshot.js';
import { sha256 } from './sources.js';

/** One day of validated customers: what the daily features hold. */
export interface DayOfCustomers {
  date: string;
  customers: Customer[];
  rejected: RejectedRow[];
}

/** The days a model needs are not all there; `missing` says which. */
export class TrainingWindowError extends Error {
  override readonly name = 'TrainingWindowError';
  constructor(
    message: string,
    readonly window: { start: string; end: string },
    readonly missing: readonly string[],
  ) {
    super(message);
  }
}

/**
 * The `days` consecutive dates ending at the newest date available: what the next model trains on.
 * Throws a `TrainingWindowError` when there is no day yet, when the window would start before
 * `firstDay`, or when a day inside it is missing.
 */
export function trainingWindow(available: Iterable<string>, options: { days: number; firstDay: string }): string[] {
  const have = new Set(available);
  const newest = [...have].sort().at(-1);
  if (newest === undefined) {
    const end = addDays(options.firstDay, options.days - 1);
    throw new TrainingWindowError('no day of customers is there yet', { start: options.firstDay, end }, []);
  }
  const window = Array.from({ length: options.days }, (_, i) => addDays(newest, i - options.days + 1));
  const start = window[0] as string;
  if (start < options.firstDay) {
    const end = addDays(options.firstDay, options.days - 1);
    throw new TrainingWindowError(
      `the ${options.days} days up to ${newest} start before the first day there is, ${options.firstDay}`,
      { start: options.firstDay, end },
      window.filter((d) => d >= options.firstDay && !have.has(d)),
    );
  }
  const missing = window.filter((d) => !have.has(d));
  if (missing.length > 0) {
    throw new TrainingWindowError(
      `the ${options.days} days ${start}..${newest} lack ${missing.join(', ')}`,
      { start, end: newest },
      missing,
    );
  }
  return window;
}

export interface TrainingSet {
  /** Every valid customer of the window once (a customer in several days: the latest day's row), by id. */
  customers: Customer[];
  rejected: number;
  /** sha256 of the customers: the training data's identity in the model card. */
  digest: string;
  train: LabelledCustomer[];
  test: LabelledCustomer[];
}

/**
 * The window's days as one dataset, split into training and test rows. Deterministic: the same days
 * always give the same rows in the same order, so the model and its evaluation see the same split.
 */
export function buildTrainingSet(days: readonly DayOfCustomers[], split: { testFraction: number; seed: number }): TrainingSet {
  const latest = new Map<string, Customer>();
  let rejected = 0;
  for (const day of [...days].sort((a, b) => (a.date < b.date ? -1 : 1))) {
    for (const customer of day.customers) latest.set(customer.customerId, customer);
    rejected += day.rejected.length;
  }
  const customers = [...latest.values()].sort((a, b) => (a.customerId < b.customerId ? -1 : 1));
  const { train, test } = splitTrainTest(customers, split.testFraction, split.seed);
  return { customers, rejected, digest: sha256(canonicalJson(customers)), train, test };
}
