import { defineConfig } from '@outpost/sdk';

export default defineConfig({
  project: 'ml-pipeline',
  // A local OCI image-layout directory (the one `npm start` uses) unless OUTPOST_REGISTRY names
  // another, e.g. oci://registry.internal:5000/acme/flows. Relative paths start at this directory.
  registry: process.env.OUTPOST_REGISTRY || 'oci-layout:../../../.outpost/registry',
  deployments: [
    {
      flow: 'churn-model',
      name: 'daily',
      entrypoint: 'flows/pipeline.ts',
      pool: 'default',
      description: 'Retrains the churn model, gates it on AUC and accuracy, scores active customers and publishes a model card',
      parameters: { minAuc: 0.75, minAccuracy: 0.7, scoringConcurrency: 4 },
      tags: ['ml', 'churn'],
      // Resolved by the worker from its own environment; the control plane only sees the name.
      jobVariables: { env: { MODEL_SIGNING_KEY: { $secret: 'MODEL_SIGNING_KEY' } } },
      // Every night at 02:30 Berlin time, through daylight-saving changes; redeploying keeps the slug,
      // so it never duplicates a run.
      schedules: [{ slug: 'nightly', cron: '30 2 * * *', timezone: 'Europe/Berlin' }],
      // No run-level retries: training is deterministic, so a run that fails its quality gate would
      // fail again. Reads and uploads retry at the task level instead.
    },
  ],
});
