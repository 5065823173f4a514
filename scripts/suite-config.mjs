import { defineConfig } from 'vitest/config';
import FileTimesReporter from './file-times-reporter.mjs';
import FileTimesSequencer from './file-times-sequencer.mjs';

/**
 * A package's vitest config: what every suite shares, under what the package says of its own. Every
 * suite prints its per-file time table at the end and starts its longest files first, by
 * scripts/file-times.json, in one order on every machine. Its files are `test/**\/*.test.ts`, and
 * since they start real servers and child processes, a test or hook gets a minute on a loaded 2-core
 * machine unless the package says otherwise.
 */
export function defineSuite(test, config = {}) {
  return defineConfig({
    ...config,
    test: {
      reporters: ['default', new FileTimesReporter()],
      sequence: { sequencer: FileTimesSequencer },
      include: ['test/**/*.test.ts'],
      testTimeout: 60_000,
      hookTimeout: 60_000,
      ...test,
    },
  });
}
