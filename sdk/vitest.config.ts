import { defineConfig } from 'vitest/config';
import FileTimesReporter from '../scripts/file-times-reporter.mjs';
import FileTimesSequencer from '../scripts/file-times-sequencer.mjs';

export default defineConfig({
  test: {
    reporters: ['default', new FileTimesReporter()],
    // The longest files first, by scripts/file-times.json, in one order on every machine.
    sequence: { sequencer: FileTimesSequencer },
    include: ['test/**/*.test.ts', 'examples/*/test/**/*.test.ts'],
    // Tests start real registries, token servers and child processes; a loaded 2-core CI machine needs the headroom.
    testTimeout: 60_000,
    hookTimeout: 60_000,
    // Three files at once, each mostly waiting on the servers and processes it starts (37 s against
    // 45 s two at a time and 117 s one at a time, on 2 cores). Each file loads its modules afresh: the
    // SDK keeps a run's context and its integrations' clients in module state.
    maxWorkers: 3,
  },
});
