import { defineConfig } from 'vitest/config';
import FileTimesReporter from '../../scripts/file-times-reporter.mjs';
import FileTimesSequencer from '../../scripts/file-times-sequencer.mjs';

export default defineConfig({
  test: {
    reporters: ['default', new FileTimesReporter()],
    // The longest files first, by scripts/file-times.json, in one order on every machine.
    sequence: { sequencer: FileTimesSequencer },
    include: ['test/**/*.test.ts'],
    testTimeout: 60_000,
    hookTimeout: 120_000,
    // Each test file gets a database of its own (cloned from a migrated template), so files run in
    // parallel: three at once, as files wait on Postgres a good part of the time (vitest's default is
    // one fewer than the cores, a single file on a 2-core machine).
    fileParallelism: true,
    maxWorkers: 3,
    // A worker keeps the modules it has loaded from one file to the next. Every file imports most of
    // the API, and loading it afresh for each file was a fifth of the suite's time. What a file
    // changes outside its own database and servers (an environment variable, the global tracer) it
    // puts back in its afterAll.
    isolate: false,
  },
});
