import { existsSync } from 'node:fs';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { materialize } from '@outpost/sdk';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { formatCsv, parseCsv } from '../src/csv.js';
import { EMBEDDED_DATASETS } from '../src/embedded-data.js';
import { dateSlot, renewalSlot } from '../src/snapshot.js';
import { CHURN_DEFAULTS, runCapturing, setEnv } from './support.js';

/*
 * What stops bad data: the training window must be complete, and a day whose rows fail the
 * blocking check stops the model and everything after it. Values go to a directory of this test's
 * own, with no model in it yet.
 */

type Graph = typeof import('../assets/churn.js');

const BAD_DAY = '2026-11-18';
const WEEK = { start: '2026-11-16', end: '2026-11-22' };

/** The shipped export with every row of one day's customers missing its monthly charges. */
function exportBrokenOn(day: string): string {
  const [header, ...rows] = parseCsv(EMBEDDED_DATASETS.customers ?? '');
  const broken = rows.map(({ cells }) => (renewalSlot(cells[0] ?? '') === dateSlot(day) ? cells.with(2, '') : cells));
  return formatCsv([header?.cells ?? [], ...broken]);
}

describe('the churn asset graph with bad or missing data', () => {
  let scratch: string;
  let assetDir: string;
  let restoreEnv: () => void;
  let graph: Graph;
  const present = (path: string) => existsSync(join(assetDir, ...path.split('/')));

  beforeAll(async () => {
    scratch = await mkdtemp(join(tmpdir(), 'ml-checks-test-'));
    assetDir = join(scratch, 'assets');
    restoreEnv = setEnv({
      ...CHURN_DEFAULTS,
      CHURN_ASSET_DIR: assetDir,
      OUTPOST_RESULT_STORAGE: pathToFileURL(join(scratch, 'results')).href,
    });
    graph = await import('../assets/churn.js');
  });

  afterAll(async () => {
    restoreEnv?.();
    if (scratch) await rm(scratch, { recursive: true, force: true });
  });

  it('refuses to train on fewer days than a full week, naming the days that are missing', async () => {
    const days = await runCapturing(() =>
      materialize([graph.rawCustomers, graph.customerFeatures], { partitionRange: { start: '2026-11-09', end: '2026-11-11' } }),
    );
    expect(days.result.success).toBe(true);
    const { result } = await runCapturing(() => materialize([graph.churnModel], { throwOnFailure: false }));
    expect(result.failures).toEqual([
      {
        assetKey: 'churn/model',
        partitionKey: null,
        message:
          'the 7 days 2026-11-05..2026-11-11 lack 2026-11-05, 2026-11-06, 2026-11-07, 2026-11-08: materialise customers/features for 2026-11-05..2026-11-11 first',
      },
    ]);
    expect(present('churn/model/data.json')).toBe(false);
  });

  it("stops the model and everything after it when one day fails the blocking check, and never publishes that day's rows", async () => {
    const broken = join(scratch, 'customers-broken.csv');
    await writeFile(broken, exportBrokenOn(BAD_DAY));
    const restore = setEnv({ CHURN_TRAINING_DATA: broken });
    try {
      const { result } = await runCapturing(() =>
        materialize(graph.churnAssets, { partitionRange: WEEK, throwOnFailure: false }),
      );
      expect(result.success).toBe(false);
      const rejected = result.events.filter((e) => e.kind === 'check' && e.checkName === 'rejected_rows');
      expect(rejected.map((e) => e.kind === 'check' && [e.partitionKey, e.passed])).toEqual([
        ['2026-11-16', true],
        ['2026-11-17', true],
        [BAD_DAY, false],
        ['2026-11-19', true],
        ['2026-11-20', true],
        ['2026-11-21', true],
        ['2026-11-22', true],
      ]);
      const failed = rejected.find((e) => e.partitionKey === BAD_DAY);
      expect(failed?.kind === 'check' && failed.metadata).toMatchObject({ share: 1, maxShare: 0.05 });

      const why = `blocking check customers/features:rejected_rows failed for partition ${BAD_DAY}`;
      expect(result.failures).toEqual([
        { assetKey: 'customers/features', partitionKey: BAD_DAY, message: `staged data not published: ${why}` },
        ...['churn/model', 'churn/evaluation', 'churn/scores', 'churn/model-card'].map((assetKey) => ({
          assetKey,
          partitionKey: null,
          message: `skipped: ${why}`,
        })),
      ]);
      // The day's raw export is kept for a person to look at; its rows never reach where the model reads.
      expect(present(`customers/raw/partition=${BAD_DAY}/data.csv`)).toBe(true);
      expect(present(`customers/features/partition=${BAD_DAY}/data.json`)).toBe(false);
      expect(present('customers/features/partition=2026-11-19/data.json')).toBe(true);
      expect(present('churn/model/data.json')).toBe(false);
    } finally {
      restore();
    }
  });

  it('trains once the day is fixed, on the latest whole week', async () => {
    const { result } = await runCapturing(() =>
      materialize([graph.rawCustomers, graph.customerFeatures, graph.churnModel], { partition: BAD_DAY }),
    );
    expect(result.success).toBe(true);
    expect(result.valueOf(graph.churnModel)?.window).toEqual([
      '2026-11-16',
      '2026-11-17',
      BAD_DAY,
      '2026-11-19',
      '2026-11-20',
      '2026-11-21',
      '2026-11-22',
    ]);
    expect(present('churn/model/data.json')).toBe(true);
  });
});
