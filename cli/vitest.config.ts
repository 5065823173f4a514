import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    // Tests start real servers and child processes; a loaded 2-core CI machine needs the headroom.
    testTimeout: 60_000,
    hookTimeout: 120_000,
  },
});
