import { defineConfig } from 'vitest/config';
import FileTimesReporter from '../../scripts/file-times-reporter.mjs';

export default defineConfig({
  oxc: { jsx: { runtime: 'automatic', importSource: 'react' } },
  test: {
    reporters: ['default', new FileTimesReporter()],
    include: ['test/**/*.test.ts', 'test/**/*.test.tsx'],
    environment: 'node',
  },
});
