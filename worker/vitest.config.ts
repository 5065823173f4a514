import { defineConfig } from 'vitest/config';
import FileTimesReporter from '../scripts/file-times-reporter.mjs';

export default defineConfig({
  test: {
    reporters: ['default', new FileTimesReporter()],
    include: ['test/**/*.test.ts'],
    testTimeout: 60_000,
    hookTimeout: 60_000,
    // Files spawn real process groups and servers; one at a time keeps a small machine responsive.
    fileParallelism: false,
  },
});
