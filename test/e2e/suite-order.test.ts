import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import type { TestSpecification } from 'vitest/node';
import FileTimesSequencer, { fileKey, readFileTimes } from '../../scripts/file-times-sequencer.mjs';
import { repoRoot } from '../support/processes.js';

/*
 * The order every suite starts its files in (scripts/file-times-sequencer.mjs): the README walk's
 * group relies on it to start the walk before the files that go beside it.
 */

interface Spec {
  moduleId: string;
  project: { name: string; config: { sequence: { groupOrder: number } } };
}

const root = join(repoRoot, 'test');
const spec = (file: string, project = 'e2e', groupOrder = 0): Spec => ({
  moduleId: join(root, file),
  project: { name: project, config: { sequence: { groupOrder } } },
});

/** A sequencer over a vitest cache holding `cached` results and `sizes`, as a fresh clone's has none. */
function sequencer(cached: Record<string, { duration: number; failed: boolean }> = {}, sizes: Record<string, number> = {}) {
  const cache = {
    getFileTestResults: (key: string) => cached[key],
    getFileStats: (key: string) => (key in sizes ? { size: sizes[key] } : undefined),
  };
  return new FileTimesSequencer({ cache, config: { root } } as never);
}

async function order(s: FileTimesSequencer, specs: Spec[]): Promise<string[]> {
  const sorted = (await s.sort(specs as unknown as TestSpecification[])) as unknown as Spec[];
  return sorted.map((x) => x.moduleId.slice(root.length + 1));
}

describe('the order test files start in', () => {
  it('starts the README walk before the files that go beside it, by the recorded table', async () => {
    const walk = ['e2e/chaos.short.test.ts', 'e2e/readme.newcomer.test.ts', 'e2e/lifecycle.api-outage.test.ts'];
    const recorded = readFileTimes();
    for (const file of walk) expect(recorded[fileKey(join(root, file))], file).toBeTypeOf('number');
    const sorted = await order(
      sequencer(),
      walk.map((f) => spec(f, 'e2e-walk', 1)),
    );
    expect(sorted[0]).toBe('e2e/readme.newcomer.test.ts');
    // The walk outlasts the first file beside it by minutes, so the second starts while it still runs.
    const seconds = (file: string) => recorded[fileKey(join(root, file))]!;
    expect(seconds(sorted[0]!)).toBeGreaterThan(seconds(sorted[1]!) + 120);
  });

  it("follows the table on every machine, and this machine's last run only for files the table does not know", async () => {
    // A run of one test of the walk leaves it a few seconds in vitest's record: the table still puts it first.
    const s = sequencer({
      'e2e-walk:e2e/readme.newcomer.test.ts': { duration: 6_000, failed: false },
      'e2e-walk:e2e/unrecorded.test.ts': { duration: 1_000_000, failed: false },
    });
    const specs = ['e2e/chaos.short.test.ts', 'e2e/readme.newcomer.test.ts', 'e2e/unrecorded.test.ts'].map((f) =>
      spec(f, 'e2e-walk', 1),
    );
    expect(await order(s, specs)).toEqual(['e2e/unrecorded.test.ts', 'e2e/readme.newcomer.test.ts', 'e2e/chaos.short.test.ts']);
  });

  it('starts files no record knows first, larger ones before smaller, and keeps groups and projects apart', async () => {
    const s = sequencer({}, { 'e2e:e2e/new-a.test.ts': 10, 'e2e:e2e/new-b.test.ts': 20 });
    const specs = [
      spec('e2e/helm.charts.test.ts', 'e2e-alone', 2),
      spec('e2e/new-a.test.ts'),
      spec('e2e/lifecycle.api-outage.test.ts'),
      spec('e2e/new-b.test.ts'),
    ];
    expect(await order(s, specs)).toEqual([
      'e2e/new-b.test.ts',
      'e2e/new-a.test.ts',
      'e2e/lifecycle.api-outage.test.ts',
      'e2e/helm.charts.test.ts',
    ]);
  });
});
