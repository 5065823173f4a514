// A Vitest reporter that prints, once the run ends, how long each test file took, slowest first, so
// the files that make `npm test` long are visible in every CI log (every file when `CI` is set, as
// `.ci/run` does). Every package's vitest config uses it beside the default reporter (scripts/suite-config.mjs).
// With OUTPOST_RECORD_FILE_TIMES=1 it also writes the times into scripts/file-times.json, the table
// the sequencer (scripts/file-times-sequencer.mjs) starts the longest files first by.
import { existsSync, renameSync, writeFileSync } from 'node:fs';
import { join, relative } from 'node:path';
import { FILE_TIMES, fileKey, REPO_ROOT, readFileTimes } from './file-times-sequencer.mjs';

/** How many of the slowest files the table lists: every file in CI (its log is where a slow one is found), 15 elsewhere. */
const SHOWN = process.env.CI ? Number.POSITIVE_INFINITY : 15;

export default class FileTimesReporter {
  /** When each project's first file started and its last one ended (ms), for its wall time. */
  spans = new Map();

  /** @param {import('vitest/node').Vitest} vitest */
  onInit(vitest) {
    this.root = vitest.config.root;
  }

  /** @param {import('vitest/node').TestModule} module */
  onTestModuleStart(module) {
    // A project's first file to start is its earliest: later starts leave its span as it is.
    const name = module.project.name;
    if (!this.spans.has(name)) this.spans.set(name, { start: Date.now(), end: Date.now() });
  }

  /** @param {import('vitest/node').TestModule} module */
  onTestModuleEnd(module) {
    const span = this.spans.get(module.project.name);
    if (span) span.end = Math.max(span.end, Date.now());
  }

  /** @param {ReadonlyArray<import('vitest/node').TestModule>} testModules */
  onTestRunEnd(testModules) {
    if (process.env.OUTPOST_RECORD_FILE_TIMES === '1') recordFileTimes(testModules);
    const rows = testModules
      .map((module) => ({
        file: relative(this.root ?? process.cwd(), module.moduleId),
        seconds: module.diagnostic().duration / 1000,
      }))
      .sort((a, b) => b.seconds - a.seconds);
    // A run of one or two files (a developer's) needs no table.
    if (rows.length < 3) return;
    const total = rows.reduce((sum, row) => sum + row.seconds, 0);
    const width = Math.max(...rows.slice(0, SHOWN).map((row) => row.file.length));
    const lines = rows.slice(0, SHOWN).map((row) => `  ${row.file.padEnd(width)}  ${row.seconds.toFixed(1).padStart(7)} s`);
    const rest = rows.length > SHOWN ? [`  … and ${rows.length - SHOWN} more files`] : [];
    // A suite of several projects (the end-to-end groups) says how long each took, from its first
    // file's start to its last one's end.
    const groups =
      this.spans.size > 1
        ? `\nWall time by project: ${[...this.spans].map(([name, span]) => `${name} ${((span.end - span.start) / 1000).toFixed(0)} s`).join(', ')}\n`
        : '';
    process.stdout.write(
      `\nSlowest test files (${rows.length} files, ${total.toFixed(0)} s of file time in all):\n${[...lines, ...rest].join('\n')}\n${groups}`,
    );
  }
}

/**
 * Merges this run's file times into scripts/file-times.json: the files that ran get their new time,
 * the others keep theirs, and files no longer in the repository leave the table.
 * @param {ReadonlyArray<import('vitest/node').TestModule>} testModules
 */
function recordFileTimes(testModules) {
  const files = Object.fromEntries(Object.entries(readFileTimes()).filter(([file]) => existsSync(join(REPO_ROOT, file))));
  for (const module of testModules) {
    if (module.state() === 'skipped') continue;
    files[fileKey(module.moduleId)] = Math.round(module.diagnostic().duration / 100) / 10;
  }
  const sorted = Object.fromEntries(Object.entries(files).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)));
  const document = {
    about:
      'Seconds each test file took, written by OUTPOST_RECORD_FILE_TIMES=1 npm test; read by scripts/file-times-sequencer.mjs to start the longest files first.',
    files: sorted,
  };
  writeFileSync(`${FILE_TIMES}.tmp`, `${JSON.stringify(document, null, 2)}\n`);
  renameSync(`${FILE_TIMES}.tmp`, FILE_TIMES);
}
