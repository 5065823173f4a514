import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    testTimeout: 60_000,
    hookTimeout: 120_000,
    // Each test file gets a database of its own (cloned from a migrated template), so files run in parallel.
    fileParallelism: true,
  },
});
