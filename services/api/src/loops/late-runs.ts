import { randomUUID } from 'node:crypto';
import type { Sql } from '../db/client.js';
import { isDomainError } from '../domain-error.js';
import type { Logger } from '../logger.js';
import type { ApiMetrics } from '../metrics/api-metrics.js';
import { LATE } from '../orchestration/decisions.js';
import { proposeState } from '../runs/db/propose-state.js';
import { explainUnfitRuns } from '../runs/db/unfit-runs.js';
import { ElectedRounds } from './elected-loop.js';

/** A due run not claimed this many seconds after its scheduled time is Late, unless configured otherwise. */
export const DEFAULT_LATE_AFTER_SECONDS = 15;

export interface LateRunsOptions {
  /** A due run not claimed this many seconds after its scheduled time is Late. @default DEFAULT_LATE_AFTER_SECONDS */
  lateAfterSeconds?: number;
  /** Delay after a tick that found work. @default 200 */
  busyMs?: number;
  /** Delay after an idle tick. @default 2000 */
  idleMs?: number;
  /** Runs handled per tick. @default 100 */
  batchSize?: number;
}

interface LateCandidate {
  id: string;
  workspace_id: string;
  attempt: number;
}

/**
 * Renames due runs that no worker claimed within `lateAfterSeconds` of their scheduled time to
 * SCHEDULED/Late, so users see a pool with no capacity (or no worker) instead of a run that only
 * looks scheduled. Only runs still named Scheduled or AwaitingRetry are marked: AwaitingConcurrencySlot
 * already says why the run waits, and a Late run stays Late.
 *
 * Marking goes through the proposal path (actor `system`), so it is judged like any transition and
 * cannot race a claim (Prefect #12116): the proposal locks the run row, which a claim holds until it
 * commits, and the rule only renames a run that is still SCHEDULED once the lock is granted. The
 * proposal names the attempt the scan saw, so a run that was claimed, failed and rescheduled in
 * between (attempt + 1) is fenced out rather than marked late for a time it no longer has. A run
 * already Late is accepted unchanged with no new history, so ticks are idempotent and two replicas
 * running one at once still record one Late per run. Only the database clock decides lateness.
 */
export class LateRunsLoop extends ElectedRounds {
  readonly #lateAfterSeconds: number;
  readonly #batchSize: number;
  readonly #metrics: ApiMetrics | null;

  constructor(
    private readonly sql: Sql,
    databaseUrl: string,
    private readonly logger: Logger,
    /** `metrics`: the server's, which count the transitions the loop proposes. */
    options: LateRunsOptions & { metrics?: ApiMetrics | null } = {},
  ) {
    super(databaseUrl, logger, { name: 'late-runs', busyMs: options.busyMs ?? 200, idleMs: options.idleMs ?? 2_000 });
    this.#metrics = options.metrics ?? null;
    this.#lateAfterSeconds = options.lateAfterSeconds ?? DEFAULT_LATE_AFTER_SECONDS;
    this.#batchSize = options.batchSize ?? 100;
  }

  protected round(): Promise<number> {
    return this.tick();
  }

  /** Marks one batch of late runs; returns how many it renamed. */
  async tick(): Promise<number> {
    // Reads the partial index flow_runs_late_idx, oldest first.
    const candidates = await this.sql<LateCandidate[]>`
      SELECT id, workspace_id, attempt FROM flow_runs
      WHERE state_type = 'SCHEDULED' AND state_name IN ('Scheduled', 'AwaitingRetry')
        AND expected_start_time < now() - make_interval(secs => ${this.#lateAfterSeconds})
      ORDER BY expected_start_time
      LIMIT ${this.#batchSize}`;
    let marked = 0;
    for (const run of candidates) {
      const log = this.logger.child({ runId: run.id, workspaceId: run.workspace_id });
      try {
        const response = await proposeState(this.sql, this.#metrics, {
          workspaceId: run.workspace_id,
          runId: run.id,
          transitionId: randomUUID(),
          state: {
            type: 'SCHEDULED',
            name: LATE,
            message: `not claimed within ${this.#lateAfterSeconds} s of its scheduled time`,
          },
          attempt: run.attempt,
          actor: 'system',
        });
        if (response?.status === 'ACCEPT' && response.state.name === LATE) {
          marked++;
          log.info('run is late');
        }
      } catch (error) {
        // The run moved to another attempt between the scan and the lock: it is no longer this late run.
        if (isDomainError(error, 'stale_attempt')) continue;
        log.error({ err: error }, 'late marking failed for a run');
      }
    }
    // After the marking, which may have replaced a run's message with its own: runs with a resource
    // request that fit nowhere say why (their message only, no state change), and lose it once they fit.
    try {
      await explainUnfitRuns(this.sql);
    } catch (error) {
      this.logger.error({ err: error }, 'could not explain why runs with resource requests wait');
    }
    return marked;
  }
}
