import { defineConfig } from 'vitest/config';
import FileTimesReporter from '../scripts/file-times-reporter.mjs';

export default defineConfig({
  test: {
    reporters: ['default', new FileTimesReporter()],
    include: ['test/**/*.test.ts', 'examples/*/test/**/*.test.ts'],
    // Tests start real registries, token servers and child processes; a loaded 2-core CI machine needs the headroom.
    testTimeout: 60_000,
    hookTimeout: 60_000,
  },
});
