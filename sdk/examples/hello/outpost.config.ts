import { defineConfig } from '@outpost/sdk';

export default defineConfig({
  project: 'hello',
  // A local OCI image-layout directory (the one `npm start` uses) unless OUTPOST_REGISTRY names
  // another, e.g. oci://registry.internal:5000/acme/flows. Relative paths start at this directory.
  registry: process.env.OUTPOST_REGISTRY || 'oci-layout:../../../.outpost/registry',
  deployments: [
    {
      flow: 'hello',
      name: 'default',
      entrypoint: 'flows/hello.ts',
      pool: 'default',
      description: 'Squares 1..n and sums them',
      // Resolved by the worker from its own environment; the control plane only sees the name.
      jobVariables: { env: { GREETING_SECRET: { $secret: 'GREETING_SECRET' } } },
      retries: 1,
      // Weekday mornings; `outpost schedules update hello/default weekday-morning …` changes it.
      schedules: [{ slug: 'weekday-morning', cron: '0 7 * * 1-5', timezone: 'UTC' }],
    },
  ],
});
