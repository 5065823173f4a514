import type { Sql } from '../db/client.js';
import type { Logger } from '../logger.js';
import { definitionOf } from '../runs/db/schedules.js';
import { applyFills, databaseNow, findDueSchedules, type ScheduleFill } from '../scheduling/db/schedule-fills.js';
import { DEFAULT_FILL_BOUNDS, type FillBounds, planFill } from '../scheduling/fill-plan.js';
import { latestPartitionAt } from '../scheduling/partition-windows.js';
import { TimelineCache } from '../scheduling/timeline.js';
import { ElectedRounds } from './elected-loop.js';

export interface SchedulerOptions {
  /** Delay after a pass that created runs. @default 1000 */
  busyMs?: number;
  /** Delay after a pass with nothing to create. @default 5000 */
  idleMs?: number;
  /** Schedules read and written per statement. @default 500 */
  batchSize?: number;
  /** How far ahead schedules are kept filled. @default 3 runs and 1 hour, at most 100 runs and 100 days */
  bounds?: Partial<FillBounds>;
}

export interface SchedulerPass {
  /** Due schedules examined. */
  schedules: number;
  /** Runs inserted. */
  created: number;
}

/** `2025-06-01T11:00:00.000Z` → `20250601T110000Z`: readable, sortable and unique per schedule. */
function compactTime(at: Date): string {
  return `${at.toISOString().slice(0, 19).replace(/[-:]/g, '')}Z`;
}

/**
 * Materialises the runs of every active schedule of an unpaused deployment ahead of time, so a
 * worker polling the pool finds a due run without the control plane racing the clock. Each run
 * has the idempotency key `scheduled:<slug>:<time>`, so redeploys, edits and concurrent passes
 * never duplicate or lose a run (Prefect #17703, #18894). Only the database clock decides what is
 * due and missed. A pass reads due schedules in batches and writes each batch with one statement;
 * the per-pass timeline cache walks a cron shared by many schedules once. One replica at a time
 * runs the loop (advisory-lock leader), and tick() is still safe to run concurrently.
 */
export class SchedulerLoop extends ElectedRounds {
  readonly #batchSize: number;
  readonly #bounds: FillBounds;

  constructor(
    private readonly sql: Sql,
    databaseUrl: string,
    private readonly logger: Logger,
    options: SchedulerOptions = {},
  ) {
    super(databaseUrl, logger, { name: 'scheduler', busyMs: options.busyMs ?? 1_000, idleMs: options.idleMs ?? 5_000 });
    this.#batchSize = options.batchSize ?? 500;
    this.#bounds = { ...DEFAULT_FILL_BOUNDS, ...options.bounds };
  }

  protected async round(): Promise<number> {
    const pass = await this.tick();
    if (pass.created > 0) this.logger.debug(pass, 'scheduler pass created runs');
    return pass.created;
  }

  /** One pass over every due schedule. */
  async tick(): Promise<SchedulerPass> {
    const now = await databaseNow(this.sql);
    const timelines = new TimelineCache();
    const pass: SchedulerPass = { schedules: 0, created: 0 };
    let after: string | null = null;
    for (;;) {
      const due = await findDueSchedules(this.sql, now, after, this.#batchSize);
      const last = due.at(-1);
      if (!last) break;
      const fills: ScheduleFill[] = [];
      for (const s of due) {
        try {
          const plan = planFill(
            timelines.get(definitionOf(s)),
            { filledUntil: s.filled_until, catchup: s.catchup },
            now,
            this.#bounds,
          );
          if (plan.skipped) {
            this.logger.warn(
              { scheduleId: s.id, slug: s.slug, catchup: s.catchup, from: plan.skipped.from, through: plan.skipped.through },
              'skipped scheduled times missed while no scheduler ran',
            );
          }
          fills.push({
            id: s.id,
            version: s.version,
            filledUntil: plan.filledUntil,
            nextFillAt: plan.nextFillAt,
            runs: plan.times.map((at) => ({
              key: `scheduled:${s.slug}:${at.toISOString()}`,
              name: `${s.deployment_name}-${compactTime(at)}`,
              at,
              partitionKey: latestPartitionAt(s.partitions, at),
            })),
          });
        } catch (error) {
          this.logger.error({ err: error, scheduleId: s.id, slug: s.slug }, 'cannot compute the times of a schedule');
        }
      }
      const result = await applyFills(this.sql, fills);
      pass.schedules += due.length;
      pass.created += result.created;
      if (due.length < this.#batchSize) break;
      after = last.id;
    }
    return pass;
  }
}
