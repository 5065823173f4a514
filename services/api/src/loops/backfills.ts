import type { PartitionsDefinition } from '@outpost/sdk/contracts';
import { advanceBackfill, type PassContext } from '../backfills/advance-backfill.js';
import { assetPassContext } from '../backfills/asset-backfill.js';
import { type BackfillRecord, runningBackfillIds } from '../backfills/db/backfills.js';
import { selectionKeys } from '../backfills/units.js';
import type { Sql } from '../db/client.js';
import type { Logger } from '../logger.js';
import type { RunNotifier } from '../runs/run-notifier.js';
import { ElectedRounds } from './elected-loop.js';

export interface BackfillLoopOptions {
  /** Delay after a pass that created runs. @default 250 */
  busyMs?: number;
  /** Delay after a pass with nothing to do; a backfill run that finishes wakes the loop sooner. @default 2000 */
  idleMs?: number;
  /** RUNNING backfills looked at per pass. @default 1000 */
  batchSize?: number;
}

export interface BackfillPass {
  /** RUNNING backfills looked at. */
  backfills: number;
  created: number;
  blocked: number;
  /** Backfills that finished (COMPLETED or FAILED). */
  finished: number;
}

/** Backfills whose unit keys are remembered; a list is recomputed (from the stored selection) when evicted. */
const KEY_CACHE_SIZE = 32;

/**
 * Keeps every RUNNING backfill going: each pass takes each backfill's row with FOR UPDATE SKIP
 * LOCKED and creates runs up to its max_concurrent (backfills/advance-backfill.ts), each backfill
 * in a transaction of its own. One replica leads the loop (advisory lock), and a pass is still
 * safe on two at once: the row lock lets one pass at a time touch a backfill, and a pass counts
 * what is in flight after taking it. A backfill run leaving flight announces it on
 * `outpost_backfills` (trigger of migration 0018), which wakes the loop at once, so throughput
 * follows the runs and not the interval; the interval is the fallback when a NOTIFY is lost.
 */
export class BackfillLoop extends ElectedRounds {
  readonly #batchSize: number;
  /** Unit keys by backfill id, most recently used last. */
  readonly #keys = new Map<string, string[]>();

  constructor(
    private readonly sql: Sql,
    databaseUrl: string,
    private readonly logger: Logger,
    private readonly notifier: RunNotifier | null,
    options: BackfillLoopOptions = {},
  ) {
    super(databaseUrl, logger, { name: 'backfills', busyMs: options.busyMs ?? 250, idleMs: options.idleMs ?? 2_000 });
    this.#batchSize = options.batchSize ?? 1_000;
  }

  protected async round(): Promise<number> {
    const pass = await this.tick();
    if (pass.created + pass.blocked + pass.finished > 0) this.logger.debug(pass, 'backfill pass');
    return pass.created + pass.blocked + pass.finished;
  }

  protected override doorbell(wake: () => void): (() => void) | null | undefined {
    return this.notifier?.onBackfillNudge(wake);
  }

  readonly #context: PassContext = {
    blockedCheck: async (tx, b) => (b.target === 'assets' ? assetPassContext.blockedCheck?.(tx, b) : undefined) ?? (() => null),
    runCreated: async (tx, b, flowRunId, keys) => {
      if (b.target === 'assets') await assetPassContext.runCreated?.(tx, b, flowRunId, keys);
    },
    keys: (b: BackfillRecord) => {
      let keys = this.#keys.get(b.id);
      if (keys) this.#keys.delete(b.id);
      else keys = selectionKeys(b.selection, b.partitions as PartitionsDefinition | null);
      this.#keys.set(b.id, keys);
      if (this.#keys.size > KEY_CACHE_SIZE) this.#keys.delete(this.#keys.keys().next().value as string);
      return keys;
    },
  };

  /** One pass over every RUNNING backfill; a backfill whose pass fails is logged and tried again next pass. */
  async tick(): Promise<BackfillPass> {
    const pass: BackfillPass = { backfills: 0, created: 0, blocked: 0, finished: 0 };
    for (const id of await runningBackfillIds(this.sql, this.#batchSize)) {
      pass.backfills++;
      try {
        const result = await this.sql.begin((tx) => advanceBackfill(tx, id, this.#context));
        pass.created += result.created;
        pass.blocked += result.blocked;
        if (result.finished) {
          pass.finished++;
          this.#keys.delete(id);
        }
      } catch (error) {
        this.logger.error({ err: error, backfillId: id }, 'backfill pass failed');
      }
    }
    return pass;
  }
}
