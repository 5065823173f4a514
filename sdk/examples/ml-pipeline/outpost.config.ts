import { defineConfig } from '@outpost/sdk';

export default defineConfig({
  project: 'ml-pipeline',
  // A local OCI image-layout directory (the one `npm start` uses) unless OUTPOST_REGISTRY names
  // another, e.g. oci://registry.internal:5000/acme/flows. Relative paths start at this directory.
  registry: process.env.OUTPOST_REGISTRY || 'oci-layout:../../../.outpost/registry',
  deployments: [
    {
      // `assets/churn`: `outpost deploy` registers the graph assets/churn.ts defines (keys, deps,
      // partitions, checks, code versions); its runs materialise it on a worker.
      assets: true,
      name: 'churn',
      entrypoint: 'assets/churn.ts',
      pool: 'default',
      description:
        'The churn model as assets: daily customer exports, validated days (blocking check), a model trained on the last 7 days, its evaluation (quality gate), scores and model card',
      // What a run materialises unless it says otherwise (`outpost run assets/churn`, the schedule):
      // the whole graph, in dependency order, over the feed's first week. `outpost assets
      // materialize` picks other assets and days. Keys and days only: no data is ever a parameter.
      parameters: {
        assets: ['customers/raw', 'customers/features', 'churn/model', 'churn/evaluation', 'churn/scores', 'churn/model-card'],
        partitionRange: { start: '2026-11-02', end: '2026-11-08' },
      },
      tags: ['ml', 'churn'],
      // Shipped beside the built modules: churn/model runs it when CHURN_TRAINER=python.
      files: ['scripts/train.py'],
      // Resolved by the worker from its own environment; the control plane only sees the name.
      jobVariables: { env: { MODEL_SIGNING_KEY: { $secret: 'MODEL_SIGNING_KEY' } } },
      // Every night at 02:30 Berlin time, through daylight-saving changes; redeploying keeps the slug,
      // so it never duplicates a run. Materialising the same days again gives the same data
      // versions, so nothing downstream turns stale.
      schedules: [{ slug: 'nightly', cron: '30 2 * * *', timezone: 'Europe/Berlin' }],
      // No run-level retries: training is deterministic, so a model that fails its quality gate would
      // fail again. Reads and uploads retry at the asset and task level instead.
    },
  ],
});
