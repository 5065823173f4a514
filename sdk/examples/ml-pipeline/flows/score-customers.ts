import { artifact, flow, log, z } from '@outpost/sdk';
import { ModelSchema } from '../src/model.js';
import { chunk, type RiskBand } from '../src/scoring.js';
import { loadDataset, scoreBatch, validateDataset } from './tasks.js';

/**
 * Batch scoring as a flow of its own, called by the pipeline as a subflow: under the worker it is a
 * child run with its own task runs, logs and artifacts, linked to the pipeline's run. The customers
 * are scored in slices by a mapped task, a few slices at a time.
 */
export const scoreCustomers = flow(
  {
    name: 'score-customers',
    description: 'Scores active customers with a trained churn model',
    params: z.object({
      model: ModelSchema,
      source: z.string().default('builtin:active-customers'),
      threshold: z.number().gt(0).lt(1).default(0.5),
      batchSize: z.number().int().min(1).max(10_000).default(100),
      concurrency: z.number().int().min(1).max(64).default(4),
    }),
  },
  async ({ model, source, threshold, batchSize, concurrency }) => {
    const { customers, rejected } = await validateDataset(await loadDataset(source));
    if (rejected.length > 0) log.warning(`${rejected.length} rows of ${source} were not scored (invalid)`);
    const batches = chunk(customers, batchSize).map((slice) => ({ model, customers: slice, threshold }));
    const scores = (await scoreBatch.map(batches, { concurrency })).flat();
    const bands: Record<RiskBand, number> = { high: 0, medium: 0, low: 0 };
    for (const score of scores) bands[score.risk]++;
    log.info(
      `scored ${scores.length} customers in ${batches.length} batches: ${bands.high} high, ${bands.medium} medium, ${bands.low} low risk`,
    );
    const riskiest = [...scores].sort((a, b) => b.probability - a.probability).slice(0, 20);
    await artifact.table(
      'highest-churn-risk',
      riskiest.map((s) => ({ customer: s.customerId, probability: Number(s.probability.toFixed(4)), risk: s.risk })),
      { description: 'The 20 active customers most likely to leave' },
    );
    return { scores, bands, rejected: rejected.length };
  },
);
