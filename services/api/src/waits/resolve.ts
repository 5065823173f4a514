import type { WaitStatus } from '@outpost/sdk/contracts';
import type { Db, TxSql } from '../db/client.js';
import { judge } from '../orchestration/rules.js';
import { applyStateChanges, type LockedRun, lockRuns, type RunStateChange } from '../runs/db/run-states.js';
import { endWaits, type WaitOutcome } from './db/waits.js';

/** What a suspended run's PAUSED state carries: the wait it is parked on. */
export interface SuspendedData {
  waitId: string;
}

export function suspendedOn(run: Pick<LockedRun, 'stateType' | 'stateData'>): string | null {
  if (run.stateType !== 'PAUSED') return null;
  const data = run.stateData as Partial<SuspendedData> | null;
  return typeof data?.waitId === 'string' ? data.waitId : null;
}

const VERB: Record<Exclude<WaitStatus, 'WAITING'>, string> = {
  RESOLVED: 'resolved',
  TIMED_OUT: 'timed out',
  CANCELLED: 'was cancelled',
};

/**
 * Ends waits and, in the same transaction, puts each run that was suspended on one of them back in
 * the queue (PAUSED → SCHEDULED "Resuming", due now, on a new attempt that spends no retry), so the
 * resolution and the resume commit together or not at all. Runs are locked before their waits, the
 * order every path takes (a suspension locks its run, then its wait), so resolvers and suspensions
 * never deadlock; a wait that stopped WAITING meanwhile is left alone. Returns the ids it ended.
 */
export async function resolveWaits(tx: TxSql, outcomes: readonly { id: string; outcome: WaitOutcome }[]): Promise<string[]> {
  if (outcomes.length === 0) return [];
  const ids = tx.array(outcomes.map((o) => o.id));
  const owners = await tx<{ workspace_id: string; flow_run_id: string }[]>`
    SELECT r.workspace_id, r.id AS flow_run_id
    FROM flow_runs r
    WHERE r.id IN (SELECT flow_run_id FROM waits WHERE id = ANY(${ids}::uuid[]))
    ORDER BY r.id
    FOR UPDATE OF r`;
  const byWorkspace = new Map<string, string[]>();
  for (const o of owners) byWorkspace.set(o.workspace_id, [...(byWorkspace.get(o.workspace_id) ?? []), o.flow_run_id]);
  const runs: LockedRun[] = [];
  for (const [workspaceId, runIds] of byWorkspace) {
    // Already locked above, in one id order; this reads each run as the rules need it.
    runs.push(
      ...(await lockRuns(
        tx,
        workspaceId,
        runIds.map((runId) => ({ runId, transitionId: crypto.randomUUID() })),
      )),
    );
  }
  const ended = await endWaits(tx, outcomes);
  const outcomeOf = new Map(outcomes.map((o) => [o.id, o.outcome] as const));
  const changes: RunStateChange[] = [];
  for (const wait of ended) {
    const run = runs.find((r) => r.id === wait.flow_run_id);
    if (!run || suspendedOn(run) !== wait.id) continue;
    const outcome = outcomeOf.get(wait.id) as WaitOutcome;
    const decision = judge(
      { ...run, claimable: run.workPoolId !== null },
      {
        state: { type: 'SCHEDULED', name: 'Resuming', message: `the wait it suspended on ${VERB[outcome.status]}` },
        attempt: null,
        actor: 'system',
        now: run.now,
      },
    );
    if (decision.status !== 'ACCEPT') continue;
    changes.push({
      run,
      states: decision.states,
      attempt: decision.attempt,
      expectedStartTime: decision.expectedStartTime,
      clearLease: decision.clearLease,
      transitionId: null,
      response: null,
    });
  }
  await applyStateChanges(tx, changes);
  return ended.map((w) => w.id);
}

/** The waits whose time or timeout has come: until waits resolve, the others time out. */
export async function dueWaitOutcomes(db: Db, limit: number): Promise<{ id: string; outcome: WaitOutcome }[]> {
  const rows = await db<{ id: string; kind: string; until_passed: boolean }[]>`
    SELECT w.id, w.kind,
           (w.kind = 'until' AND (w.spec->>'until')::timestamptz <= now()) AS until_passed
    FROM waits w
    WHERE w.status = 'WAITING' AND w.due_at <= now()
    ORDER BY w.due_at
    LIMIT ${limit}`;
  return rows.map((row) => ({
    id: row.id,
    outcome: row.until_passed ? { status: 'RESOLVED', value: null } : { status: 'TIMED_OUT', value: null },
  }));
}
