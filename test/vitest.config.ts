import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['e2e/**/*.test.ts'],
    testTimeout: 180_000,
    hookTimeout: 180_000,
    // End-to-end files start servers, registries and workers; running them one at a time keeps a
    // 2-core machine from starving the processes under test.
    fileParallelism: false,
  },
});
