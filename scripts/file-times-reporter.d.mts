import type { Reporter } from 'vitest/node';

/** Prints each test file's time, slowest first, at the end of a run (scripts/file-times-reporter.mjs). */
export default class FileTimesReporter implements Reporter {}
