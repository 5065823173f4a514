import { DEFAULT_EVENT_RETENTION_DAYS } from '@outpost/sdk/contracts';
import { foldLineageChanges } from '../assets/db/lineage-changes.js';
import type { Sql } from '../db/client.js';
import { detachExpiredPartitions, dropDetachedPartitions, ensurePartitions } from '../db/partitions.js';
import { deleteExpiredEventIds } from '../events/db/events.js';
import { pruneSignInArtefacts } from '../identity/db/sign-in-retention.js';
import type { Logger } from '../logger.js';
import { pruneMailUsage } from '../mail/mail-quota.js';
import { foldUsageDeltas } from '../quotas/db/usage.js';
import { pruneEventCounts } from '../quotas/events-per-day.js';
import { ElectedRounds } from './elected-loop.js';

export interface RetentionOptions {
  /**
   * Days a log line is kept after its timestamp; null keeps lines forever. Lines go a month at a time,
   * when the whole month is past the window, so a line is kept between this many days and a month
   * more. @default null
   */
  logRetentionDays?: number | null;
  /** Seconds sessions, sign-in links, setup tokens and single sign-on logins are kept past their end. @default 86400 */
  signInGraceSeconds?: number;
  /** Least time between two prunings of sign-in artefacts (their tables have no expiry index). @default 60000 */
  signInEveryMs?: number;
  /** Deleting statements (and partition drops) of each kind in one pass, so a pass stays short. @default 10 */
  batchesPerPass?: number;
  /**
   * Days an event of the ledger is kept after it was received; null keeps events forever. Events go a
   * month at a time, when the whole month is past the window, so an event is kept between this many
   * days and a month more. @default 30
   */
  eventRetentionDays?: number | null;
  /**
   * Days a task run is kept after it was created; null keeps task runs forever. Task runs go a month
   * at a time, when the whole month is past the window; their runs, with their states, stay.
   * @default null
   */
  taskRunRetentionDays?: number | null;
  /** Most ids of dropped events one statement deletes from `event_ids`. @default 5000 */
  eventsPerBatch?: number;
  /** Most rows of the lineage change log one statement folds into the workspaces' counts. @default 5000 */
  lineageChangesPerBatch?: number;
  /** Most usage deltas one statement folds into the workspaces' months. @default 5000 */
  usageDeltasPerBatch?: number;
  /** Delay after a pass that deleted something. @default 1000 */
  busyMs?: number;
  /** Delay after a pass that found nothing to delete. @default 600000 */
  idleMs?: number;
}

/**
 * Keeps the control plane's tables from growing without end. A pass makes the log, event and task-run
 * partitions of the months ahead, deletes sign-in artefacts nobody can use any more (at most once a
 * minute), drops the months of log lines, events and task runs wholly past their retention (detached,
 * then dropped: no dead rows, no vacuum; see db/partitions.ts) and deletes the ids of the dropped
 * events from `event_ids`, so an id is free again once its event is gone. Runs, their states and
 * artifacts stay: they are small, and history and audit read them. Each statement deletes a
 * bounded number of rows, so its locks and WAL stay short; a pass that deleted something is followed
 * by another soon after, until there is nothing left, and a stop is honoured between statements.
 * Every pass also folds the lineage change log into its counts (`foldLineageChanges`), so the
 * lineage stamp reads only the changes since the last pass, and folds the usage deltas the database's
 * triggers append into the workspaces' months (`foldUsageDeltas`), so a usage read adds few. Folding
 * does not by itself bring the next pass sooner (writers add to both all the time), unless a
 * statement folded all it may.
 */
export class RetentionLoop extends ElectedRounds {
  readonly #days: number | null;
  readonly #graceSeconds: number;
  readonly #batchesPerPass: number;
  readonly #signInEveryMs: number;
  readonly #eventDays: number | null;
  readonly #taskRunDays: number | null;
  readonly #eventsPerBatch: number;
  readonly #lineageChangesPerBatch: number;
  readonly #usageDeltasPerBatch: number;
  #signInPrunedAt = Number.NEGATIVE_INFINITY;
  #stopping = false;

  constructor(
    private readonly sql: Sql,
    databaseUrl: string,
    private readonly logger: Logger,
    options: RetentionOptions = {},
  ) {
    super(databaseUrl, logger, { name: 'retention', busyMs: options.busyMs ?? 1_000, idleMs: options.idleMs ?? 600_000 });
    this.#days = options.logRetentionDays ?? null;
    this.#graceSeconds = options.signInGraceSeconds ?? 86_400;
    this.#signInEveryMs = options.signInEveryMs ?? 60_000;
    this.#batchesPerPass = options.batchesPerPass ?? 10;
    this.#eventDays = options.eventRetentionDays === undefined ? DEFAULT_EVENT_RETENTION_DAYS : options.eventRetentionDays;
    this.#taskRunDays = options.taskRunRetentionDays ?? null;
    this.#eventsPerBatch = options.eventsPerBatch ?? 5_000;
    this.#lineageChangesPerBatch = options.lineageChangesPerBatch ?? 5_000;
    this.#usageDeltasPerBatch = options.usageDeltasPerBatch ?? 5_000;
  }

  protected round(): Promise<number> {
    return this.tick();
  }

  override start(): void {
    this.#stopping = false;
    super.start();
  }

  /** Ends the pass under way after its current statement, then gives up leadership. */
  override stop(): Promise<void> {
    this.#stopping = true;
    return super.stop();
  }

  /**
   * One pass; returns how many rows and partitions it deleted (0: nothing left to do for now).
   * Lineage changes and usage deltas it folded count only when it stopped at its statement limit
   * with more left.
   */
  async tick(): Promise<number> {
    let signIn = 0;
    let artefacts = {};
    if (performance.now() - this.#signInPrunedAt >= this.#signInEveryMs) {
      const pruned = await pruneSignInArtefacts(this.sql, { graceSeconds: this.#graceSeconds, limit: 1_000 });
      await pruneMailUsage(this.sql);
      await pruneEventCounts(this.sql);
      this.#signInPrunedAt = performance.now();
      artefacts = pruned;
      signIn = pruned.sessions + pruned.signInTokens + pruned.passwordSetupTokens + pruned.emailTokens + pruned.oidcLogins;
    }
    await ensurePartitions(this.sql);
    const limits = { limit: this.#batchesPerPass, stopping: () => this.#stopping };
    if (this.#days !== null) {
      await detachExpiredPartitions(this.sql, 'logs', new Date(Date.now() - this.#days * 86_400_000), limits);
    }
    if (this.#eventDays !== null) {
      await detachExpiredPartitions(this.sql, 'events', new Date(Date.now() - this.#eventDays * 86_400_000), limits);
    }
    if (this.#taskRunDays !== null) {
      await detachExpiredPartitions(this.sql, 'task_runs', new Date(Date.now() - this.#taskRunDays * 86_400_000), limits);
    }
    // Dropped after every table's detaches, so a partition a stopped pass detached is dropped too.
    const dropped = await dropDetachedPartitions(this.sql);
    const logMonths = dropped.filter((name) => name.startsWith('logs_'));
    const eventMonths = dropped.filter((name) => name.startsWith('events_'));
    const taskRunMonths = dropped.filter((name) => name.startsWith('task_runs_'));
    // The ids of the events dropped, in bounded statements: those received before the oldest month
    // still attached. Checked whether or not this pass dropped a month, so a pass that stopped
    // between the drop and the ids is made good by the next.
    const { total: eventIds } = await this.#inBatches(this.#eventsPerBatch, (limit) => deleteExpiredEventIds(this.sql, limit));
    // Folded every pass, however few: the stamp counts the rows left. Only a full last statement
    // (more left behind) counts as work that brings the next pass sooner.
    const { total: lineageChanges, full: lineageFull } = await this.#inBatches(this.#lineageChangesPerBatch, (limit) =>
      foldLineageChanges(this.sql, limit),
    );
    const { total: usageDeltas, full: usageFull } = await this.#inBatches(this.#usageDeltasPerBatch, (limit) =>
      foldUsageDeltas(this.sql, limit),
    );
    if (signIn > 0 || dropped.length > 0 || eventIds > 0) {
      this.logger.info(
        {
          ...artefacts,
          logPartitions: logMonths,
          eventPartitions: eventMonths,
          taskRunPartitions: taskRunMonths,
          eventIds,
          lineageChangesFolded: lineageChanges,
          usageDeltasFolded: usageDeltas,
        },
        'retention deleted expired data',
      );
    }
    return signIn + dropped.length + eventIds + (lineageFull ? lineageChanges : 0) + (usageFull ? usageDeltas : 0);
  }

  /**
   * Runs `statement`, which handles at most `limit` rows, until one handles fewer: at most
   * batchesPerPass times, and no more once the loop is stopping. `full`: the last one handled a
   * whole batch, so more may be left.
   */
  async #inBatches(limit: number, statement: (limit: number) => Promise<number>): Promise<{ total: number; full: boolean }> {
    let total = 0;
    let full = false;
    for (let i = 0; i < this.#batchesPerPass && !this.#stopping; i++) {
      const handled = await statement(limit);
      total += handled;
      full = handled === limit;
      if (!full) break;
    }
    return { total, full };
  }
}
