import type { FlowRunAttempt } from '@outpost/sdk/contracts';
import type { Db } from '../../db/client.js';
import type { flowRunAttempts, Row } from '../../db/schema.js';
import { iso, isoOrNull } from '../../db/values.js';

type AttemptRow = Pick<
  Row<typeof flowRunAttempts>,
  | 'attempt'
  | 'worker_id'
  | 'worker_name'
  | 'claimed_at'
  | 'started_at'
  | 'ended_at'
  | 'state_type'
  | 'state_name'
  | 'state_message'
  | 'exit_code'
  | 'source_digest'
  | 'assigned_resources'
>;

/** A run's attempts as claimed, first first. A run no worker ever claimed has none. */
export async function listRunAttempts(db: Db, workspaceId: string, runId: string): Promise<FlowRunAttempt[]> {
  const rows = await db<AttemptRow[]>`
    SELECT attempt, worker_id, worker_name, claimed_at, started_at, ended_at, state_type, state_name, state_message,
           exit_code, source_digest, assigned_resources
    FROM flow_run_attempts
    WHERE workspace_id = ${workspaceId} AND flow_run_id = ${runId}
    ORDER BY attempt`;
  return rows.map((r) => ({
    attempt: r.attempt,
    workerId: r.worker_id,
    workerName: r.worker_name,
    claimedAt: iso(r.claimed_at),
    startedAt: isoOrNull(r.started_at),
    endedAt: isoOrNull(r.ended_at),
    state: r.state_type && r.state_name ? { type: r.state_type, name: r.state_name, message: r.state_message } : null,
    exitCode: r.exit_code,
    sourceDigest: r.source_digest,
    assigned: r.assigned_resources,
  }));
}
