import { defineConfig } from 'vitest/config';
import FileTimesReporter from '../../scripts/file-times-reporter.mjs';
import FileTimesSequencer from '../../scripts/file-times-sequencer.mjs';

export default defineConfig({
  oxc: { jsx: { runtime: 'automatic', importSource: 'react' } },
  test: {
    reporters: ['default', new FileTimesReporter()],
    // The longest files first, by scripts/file-times.json, in one order on every machine.
    sequence: { sequencer: FileTimesSequencer },
    include: ['test/**/*.test.ts', 'test/**/*.test.tsx'],
    environment: 'node',
    // One worker keeps the modules it has loaded (React, the pages) from one file to the next: the
    // suite took 10 s so against 49 s when each of its 52 files loaded them afresh. The files are
    // pure functions and rendered markup; the one that fakes timers puts the real ones back.
    isolate: false,
  },
});
