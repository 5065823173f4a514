import type { Db } from '../../db/client.js';

/*
 * What a worker key or a run token may act on: the runs a key's workers hold or ran, a root run's
 * subflows, and the attempt a token writes as (its fence). access.ts asks before a request is
 * handled; a run's state writes (runs/db/) check the fence again inside their own statements.
 */

/**
 * True when `runId` is a subflow run somewhere under the claimed run `rootId`: the runs a root's
 * run token may act on besides the root itself.
 */
export async function isSubflowOf(db: Db, workspaceId: string, runId: string, rootId: string): Promise<boolean> {
  const [row] = await db<{ found: boolean }[]>`
    SELECT EXISTS (
      SELECT 1 FROM flow_runs WHERE id = ${runId} AND workspace_id = ${workspaceId} AND root_flow_run_id = ${rootId}
    ) AS found`;
  return row?.found ?? false;
}

/** True when the run is held by a worker that last called with this API key (a worker key acts only on its own runs). */
export async function keyHoldsRun(db: Db, workspaceId: string, apiKeyId: string, runId: string): Promise<boolean> {
  const [row] = await db<{ held: boolean }[]>`
    SELECT EXISTS (
      SELECT 1 FROM flow_runs r
      JOIN workers w ON w.workspace_id = r.workspace_id AND w.id = r.worker_id
      WHERE r.id = ${runId} AND r.workspace_id = ${workspaceId} AND w.api_key_id = ${apiKeyId}
    ) AS held`;
  return row?.held ?? false;
}

/**
 * Whether another worker than `workerId` claimed this attempt of the run last: a run its worker
 * claimed but never started goes back to the queue on the same attempt, and the next claimer's
 * attempt is then its own (one indexed row, read on each write of a run token).
 */
export async function attemptClaimedByOther(
  db: Db,
  workspaceId: string,
  runId: string,
  attempt: number,
  workerId: string,
): Promise<boolean> {
  const [row] = await db<{ other: boolean }[]>`
    SELECT ${claimedByOther(db, { attempt, workerId })} AS other
    FROM (SELECT ${runId}::uuid AS id, ${workspaceId}::uuid AS workspace_id) r`;
  return row?.other ?? false;
}

/** The attempt a run token writes as, by its worker. */
export interface AttemptFence {
  attempt: number;
  workerId: string;
}

/**
 * Whether another worker than the fence's claimed its attempt of run `r` last, as a condition over
 * `r.id` and `r.workspace_id` (a query's first statement checks it without a round trip of its own).
 */
export function claimedByOther(db: Db, fence: AttemptFence) {
  return db`EXISTS (SELECT 1 FROM flow_run_attempts a
                    WHERE a.workspace_id = r.workspace_id AND a.flow_run_id = r.id AND a.attempt = ${fence.attempt}
                      AND a.worker_id <> ${fence.workerId})`;
}

/**
 * Whether a worker of this key holds the run now or ran any attempt of it (or of the run it is a
 * subflow of): log lines spooled while the API was away arrive after the run moved on, and a
 * restarted worker delivers the spools of the process it replaced.
 */
export async function keyRanRun(db: Db, workspaceId: string, apiKeyId: string, runId: string): Promise<boolean> {
  if (await keyHoldsRun(db, workspaceId, apiKeyId, runId)) return true;
  const [row] = await db<{ ran: boolean }[]>`
    SELECT EXISTS (
      SELECT 1 FROM flow_runs r
      JOIN flow_run_attempts a ON a.workspace_id = r.workspace_id AND a.flow_run_id = coalesce(r.root_flow_run_id, r.id)
      WHERE r.id = ${runId} AND r.workspace_id = ${workspaceId} AND a.api_key_id = ${apiKeyId}
    ) AS ran`;
  return row?.ran ?? false;
}
