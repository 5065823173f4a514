// A Vitest sequencer that starts the longest test files first, so that files running side by side
// finish together instead of one long file starting last and running alone at the end.
//
// Vitest orders by the durations in its own cache, which a fresh clone (a CI run) does not have:
// there it falls back to file size, and a small file that starts a whole control plane can start
// last. This sequencer orders by the durations recorded in `scripts/file-times.json` (written by
// `OUTPOST_RECORD_FILE_TIMES=1 npm test`, see docs/testing.md), the same on every machine.
import { readFileSync } from 'node:fs';
import { relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import { BaseSequencer } from 'vitest/node';

export const FILE_TIMES = fileURLToPath(new URL('./file-times.json', import.meta.url));
export const REPO_ROOT = fileURLToPath(new URL('..', import.meta.url));

/** The recorded seconds of each test file, by its path from the repository's root. */
export function readFileTimes() {
  try {
    return JSON.parse(readFileSync(FILE_TIMES, 'utf8')).files ?? {};
  } catch (error) {
    if (error.code === 'ENOENT') return {};
    throw error;
  }
}

/** A test file's key in the table: its path from the repository's root, with forward slashes. */
export function fileKey(moduleId) {
  return relative(REPO_ROOT, moduleId).split('\\').join('/');
}

export default class FileTimesSequencer extends BaseSequencer {
  /** @param {import('vitest/node').TestSpecification[]} files */
  async sort(files) {
    const recorded = readFileTimes();
    const cache = this.ctx.cache;
    const root = this.ctx.config.root;
    /**
     * What a file is expected to take (ms): the table's figure first, so that every machine starts
     * the files in one order, whatever its last run was (a run of one test leaves a short time in
     * vitest's record); then vitest's record for a file the table does not know yet. A file neither
     * knows goes first, larger files before smaller ones, as vitest orders them.
     */
    const expected = (spec) => {
      const seconds = recorded[fileKey(spec.moduleId)];
      if (typeof seconds === 'number') return { ms: seconds * 1000, size: 0 };
      const key = `${spec.project.name}:${relative(root, spec.moduleId)}`;
      const cached = cache.getFileTestResults(key);
      if (cached) return { ms: cached.duration, size: 0 };
      return { ms: Number.POSITIVE_INFINITY, size: cache.getFileStats(key)?.size ?? 0 };
    };
    const weights = new Map(files.map((spec) => [spec, expected(spec)]));
    return [...files].sort((a, b) => {
      // Groups and projects keep vitest's order: groups one after another, projects by name.
      const group = a.project.config.sequence.groupOrder - b.project.config.sequence.groupOrder;
      if (group !== 0) return group;
      if (a.project.name !== b.project.name) return a.project.name < b.project.name ? -1 : 1;
      const wa = weights.get(a);
      const wb = weights.get(b);
      if (wa.ms !== wb.ms) return wb.ms > wa.ms ? 1 : -1;
      if (wa.size !== wb.size) return wb.size - wa.size;
      return a.moduleId < b.moduleId ? -1 : a.moduleId > b.moduleId ? 1 : 0;
    });
  }
}
