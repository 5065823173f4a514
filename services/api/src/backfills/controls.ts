import { randomUUID } from 'node:crypto';
import type { Sql, TxSql } from '../db/client.js';
import { DomainError, notFound } from '../domain-error.js';
import type { Logger } from '../logger.js';
import type { ApiMetrics } from '../metrics/api-metrics.js';
import { proposeState } from '../runs/db/propose-state.js';
import { clearRequeued, requeueFailed } from './db/backfill-partitions.js';
import { type BackfillRecord, lockBackfill, nudgeBackfillLoop, setBackfillStatus, waitingBackfillRuns } from './db/backfills.js';

/*
 * Pause, resume, cancel and retry-failed. Each takes the backfill's row lock first (waiting for a
 * loop pass under way), so a pass never sees half a control, and a pass after it sees all of it.
 */

async function control<T>(
  sql: Sql,
  workspaceId: string,
  id: string,
  change: (tx: TxSql, b: BackfillRecord) => Promise<T>,
): Promise<T> {
  const result = await sql.begin(async (tx) => {
    const b = await lockBackfill(tx, workspaceId, id);
    if (!b) throw notFound('backfill');
    return change(tx, b);
  });
  return result as T;
}

function refuse(b: BackfillRecord, what: string): DomainError {
  return new DomainError('conflict', `cannot ${what} a backfill that is ${b.status}`);
}

/** No new runs; runs in flight go on. Pausing a paused backfill changes nothing. */
export async function pauseBackfill(sql: Sql, workspaceId: string, id: string): Promise<void> {
  await control(sql, workspaceId, id, async (tx, b) => {
    if (b.status === 'PAUSED') return;
    if (b.status !== 'RUNNING') throw refuse(b, 'pause');
    await setBackfillStatus(tx, b.id, { status: 'PAUSED' });
  });
}

/** Creates runs again from where it stopped. Resuming a running backfill changes nothing. */
export async function resumeBackfill(sql: Sql, workspaceId: string, id: string): Promise<void> {
  await control(sql, workspaceId, id, async (tx, b) => {
    if (b.status === 'RUNNING') return;
    if (b.status !== 'PAUSED') throw refuse(b, 'resume');
    await setBackfillStatus(tx, b.id, { status: 'RUNNING' });
    await nudgeBackfillLoop(tx, b.id);
  });
}

/**
 * Gives the FAILED and BLOCKED partitions a new run each, within max_concurrent like the rest. A
 * finished backfill runs again until they are done; a paused one re-queues them for when it resumes.
 * Returns how many partitions were re-queued.
 */
export async function retryFailedPartitions(sql: Sql, workspaceId: string, id: string): Promise<number> {
  return control(sql, workspaceId, id, async (tx, b) => {
    if (b.status === 'CANCELLED') throw refuse(b, 'retry');
    const requeued = await requeueFailed(tx, b.id);
    if (requeued > 0 && (b.status === 'COMPLETED' || b.status === 'FAILED')) {
      await setBackfillStatus(tx, b.id, { status: 'RUNNING', message: null });
    }
    if (requeued > 0) await nudgeBackfillLoop(tx, b.id);
    return requeued;
  });
}

/**
 * Cancels a backfill: it creates no run any more (nor re-queued ones), the claim takes none of its
 * runs from the moment this commits, and its runs not yet started are then cancelled one by one
 * through the state rules like a user's cancel. Runs already running finish. Cancelling a cancelled
 * backfill cancels what is still waiting; a finished one cannot be cancelled.
 */
export async function cancelBackfill(
  deps: { sql: Sql; metrics: ApiMetrics; logger: Logger },
  workspaceId: string,
  id: string,
): Promise<void> {
  await control(deps.sql, workspaceId, id, async (tx, b) => {
    if (b.status === 'COMPLETED' || b.status === 'FAILED') throw refuse(b, 'cancel');
    await setBackfillStatus(tx, b.id, { status: 'CANCELLED' });
    await clearRequeued(tx, b.id);
  });
  for (const runId of await waitingBackfillRuns(deps.sql, id)) {
    try {
      await proposeState(deps.sql, deps.metrics, {
        workspaceId,
        runId,
        transitionId: randomUUID(),
        state: { type: 'CANCELLED', message: 'backfill cancelled' },
        attempt: null,
        actor: 'user',
      });
    } catch (error) {
      deps.logger.warn({ err: error, runId, backfillId: id }, 'cannot cancel a run of a cancelled backfill');
    }
  }
}
