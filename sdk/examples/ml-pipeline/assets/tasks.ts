import { log, task, taskContext } from '@outpost/sdk';
import type { Customer } from '../src/customers.js';
import { validateCustomers } from '../src/dataset.js';
import type { Model } from '../src/model.js';
import { type Score, scoreCustomers } from '../src/scoring.js';
import { describeSource, type LoadedDataset, readSource } from '../src/sources.js';

/*
 * Tasks the assets call: each call is a task run of the asset's run, with its own retries, cache
 * and logs, exactly as inside a flow.
 */

/** Reads a CSV (see `readSource`); reads over a network fail for passing reasons, hence the retries. */
export const loadDataset = task(
  { name: 'load-dataset', retries: 3, retryDelaySeconds: 1, backoff: 2, jitter: 0.2, timeoutSeconds: 60 },
  async (source: string): Promise<LoadedDataset> => {
    const loaded = await readSource(source, taskContext().signal);
    log.info(
      `loaded ${describeSource(source)}: ${loaded.text.length.toLocaleString('en-US')} bytes, sha256 ${loaded.digest.slice(0, 12)}…`,
    );
    return loaded;
  },
);

/** Bumped when the validation rules change, so results cached under the old rules are not reused. */
const VALIDATION_RULES = 'v1';

/** Parses and checks every row; cached by the file's digest, so an unchanged file is validated once a week. */
export const validateDataset = task(
  {
    name: 'validate-dataset',
    cacheKey: (data: LoadedDataset) => `${VALIDATION_RULES}/${data.digest}`,
    cacheExpirationSeconds: 7 * 86_400,
  },
  (data: LoadedDataset) => {
    const result = validateCustomers(data.text);
    log.info(`${result.customers.length} valid rows, ${result.rejected.length} rejected`);
    return result;
  },
);

/**
 * One slice of the customers to score: the unit `scoreBatch.map` runs in parallel. Its argument
 * (the model with the slice) stays in the flow process: task runs report states, never arguments.
 */
export const scoreBatch = task(
  { name: 'score-batch', retries: 1 },
  (batch: { model: Model; customers: Customer[]; threshold: number }): Score[] =>
    scoreCustomers(batch.model, batch.customers, batch.threshold),
);
