import {
  type ClaimedExternalPoll,
  type ExternalPollCompleteRequest,
  type ExternalWaitSpec as ExternalWaitSpecSchema,
  MAX_FAILED_EXTERNAL_POLLS,
  type WaitStatus,
} from '@outpost/sdk/contracts';
import type { z } from 'zod';

type ExternalWaitSpec = z.infer<typeof ExternalWaitSpecSchema>;

import type { Db, Sql } from '../db/client.js';
import { iso } from '../db/values.js';
import { DomainError, notFound } from '../domain-error.js';
import { resolveWaits } from './resolve.js';

/*
 * The worker side of external waits (deferred jobs). A wait's next poll is due at `poll_at`; a
 * worker of the run's pool claims it under a lease kept on the wait (one statement, SKIP LOCKED, so
 * workers take different waits), polls the job from the run's pinned code with its own credentials,
 * and reports what it saw. Only the lease's holder may report: a worker that stopped answering loses
 * the poll when its lease runs out, and the next claim hands it to another worker of the pool.
 * When the wait ends without the job ending (its run cancelled, its timeout passed) one more claim
 * is due, the cancellation, which a worker sends to the job's system once.
 */

/** The longest a failing poll is put off: polls keep going, at most this far apart, until MAX_FAILED_EXTERNAL_POLLS. */
const MAX_BACKOFF_SECONDS = 3600;

export interface ClaimPollsInput {
  workspaceId: string;
  poolId: string;
  workerId: string;
  labels: Record<string, string>;
  limit: number;
  /** How long the worker may take; the lease lasts twice that, so a slow report still lands. */
  timeoutSeconds: number;
}

export async function claimExternalPolls(db: Db, input: ClaimPollsInput): Promise<ClaimedExternalPoll[]> {
  const rows = await db<
    {
      id: string;
      poll_lease_id: string;
      status: WaitStatus;
      flow_run_id: string;
      spec: ExternalWaitSpec;
      polls: number;
      failed_polls: number;
      poll_lease_expires_at: Date;
      deployment_id: string;
      flow_name: string;
      deployment_name: string;
      source: string;
      entrypoint: string;
      job_variables: Record<string, unknown>;
      signature: string | null;
    }[]
  >`
    WITH due AS (
      SELECT w.id, w.poll_at
      FROM waits w
      JOIN flow_runs r ON r.id = w.flow_run_id
      JOIN deployments d ON d.id = r.deployment_id
      WHERE w.workspace_id = ${input.workspaceId}
        AND w.poll_at <= now()
        AND r.work_pool_id = ${input.poolId}
        AND (w.poll_lease_expires_at IS NULL OR w.poll_lease_expires_at < now())
        AND d.labels <@ ${db.json(input.labels)}::jsonb
      ORDER BY w.poll_at
      LIMIT ${input.limit}
      FOR UPDATE OF w SKIP LOCKED
    ),
    leased AS (
      UPDATE waits w SET
        poll_lease_id = gen_random_uuid(),
        poll_worker_id = ${input.workerId},
        poll_lease_expires_at = now() + make_interval(secs => ${input.timeoutSeconds * 2})
      FROM due WHERE w.id = due.id
      RETURNING w.*, due.poll_at AS due_at_poll
    )
    SELECT l.id, l.poll_lease_id, l.status, l.flow_run_id, l.spec, l.polls, l.failed_polls, l.poll_lease_expires_at,
      r.deployment_id, f.name AS flow_name, d.name AS deployment_name, v.source, v.entrypoint, v.job_variables, v.signature
    FROM leased l
    JOIN flow_runs r ON r.id = l.flow_run_id
    JOIN flows f ON f.id = r.flow_id
    JOIN deployments d ON d.id = r.deployment_id
    JOIN deployment_versions v ON v.id = r.deployment_version_id
    ORDER BY l.due_at_poll`;
  return rows.map((r) => ({
    waitId: r.id,
    leaseId: r.poll_lease_id,
    action: r.status === 'WAITING' ? 'poll' : 'cancel',
    flowRunId: r.flow_run_id,
    spec: r.spec,
    polls: r.polls,
    failedPolls: r.failed_polls,
    deployment: {
      id: r.deployment_id,
      flowName: r.flow_name,
      name: r.deployment_name,
      source: r.source,
      entrypoint: r.entrypoint,
      jobVariables: r.job_variables as ClaimedExternalPoll['deployment']['jobVariables'],
      signature: r.signature,
    },
    leaseExpiresAt: iso(r.poll_lease_expires_at),
    timeoutSeconds: input.timeoutSeconds,
  }));
}

type CompleteRequest = z.output<typeof ExternalPollCompleteRequest>;

/** How long after `failed` polls in a row the next one is due: the interval, doubling, at most an hour. */
export function backoffSeconds(pollSeconds: number, failed: number): number {
  return Math.min(MAX_BACKOFF_SECONDS, pollSeconds * 2 ** Math.max(0, failed - 1));
}

/**
 * A worker's report of one poll, in one transaction: `running` puts the next poll an interval
 * away; an ending resolves the wait with it, which resumes a run suspended on it; a poll that failed
 * is tried again later (doubling the interval) and, after MAX_FAILED_EXTERNAL_POLLS in a row, ends
 * the job as failed. A cancellation's report ends the cancellation, whatever it says (a failed one
 * is tried again the same way first). The run is locked before its wait, the order every path takes.
 */
export async function completeExternalPoll(
  sql: Sql,
  input: { workspaceId: string; poolId: string; waitId: string; request: CompleteRequest },
): Promise<{ status: WaitStatus; nextPollAt: string | null; nextPollInSeconds: number | null }> {
  const { request } = input;
  const { outcome } = request;
  return sql.begin(async (tx) => {
    const [run] = await tx<{ id: string; work_pool_id: string | null }[]>`
      SELECT r.id, r.work_pool_id FROM flow_runs r
      WHERE r.id = (SELECT flow_run_id FROM waits WHERE id = ${input.waitId} AND workspace_id = ${input.workspaceId})
      FOR UPDATE`;
    const [wait] = run
      ? await tx<
          {
            status: WaitStatus;
            kind: string;
            spec: ExternalWaitSpec;
            poll_lease_id: string | null;
            cancel_pending: boolean;
            failed_polls: number;
          }[]
        >`
          SELECT status, kind, spec, poll_lease_id, cancel_pending, failed_polls FROM waits
          WHERE id = ${input.waitId} AND workspace_id = ${input.workspaceId} FOR UPDATE`
      : [];
    if (!run || !wait || wait.kind !== 'external' || run.work_pool_id !== input.poolId) throw notFound('external poll');
    if (wait.poll_lease_id !== request.leaseId) {
      throw new DomainError(
        'conflict',
        "this poll's lease is no longer held: it ran out and another worker took the poll over, or the wait ended",
      );
    }
    const message = outcome.state === 'error' ? outcome.error : (outcome.message ?? null);
    const failed = outcome.state === 'error' ? wait.failed_polls + 1 : 0;
    const gaveUp = failed >= MAX_FAILED_EXTERNAL_POLLS;
    const cancelling = wait.status !== 'WAITING';
    // When the next poll (or the cancellation, tried again) is due; null when nothing more is due.
    let nextIn: number | null = null;
    if (outcome.state === 'error' && !gaveUp) nextIn = backoffSeconds(wait.spec.pollSeconds, failed);
    else if (outcome.state === 'running' && !cancelling) nextIn = wait.spec.pollSeconds;
    const [updated] = await tx<{ poll_at: Date | null }[]>`
      UPDATE waits SET
        polls = polls + 1, failed_polls = ${failed}, poll_message = ${message}, poll_logs = ${tx.array(request.logs)}::text[],
        poll_lease_id = NULL, poll_lease_expires_at = NULL,
        poll_at = ${nextIn === null ? null : tx`statement_timestamp() + make_interval(secs => ${nextIn})`},
        cancel_pending = ${cancelling && nextIn !== null}
      WHERE id = ${input.waitId}
      RETURNING poll_at`;
    let status = wait.status;
    if (!cancelling && (outcome.state === 'succeeded' || outcome.state === 'failed' || outcome.state === 'cancelled' || gaveUp)) {
      const value =
        outcome.state === 'error'
          ? {
              state: 'failed',
              message: `the job could not be polled ${MAX_FAILED_EXTERNAL_POLLS} times in a row; the last poll: ${outcome.error.slice(0, 1800)}`,
            }
          : outcome;
      await resolveWaits(tx, [{ id: input.waitId, outcome: { status: 'RESOLVED', value } }]);
      status = 'RESOLVED';
    }
    const dueAt = status === 'WAITING' ? (updated?.poll_at ?? null) : null;
    return { status, nextPollAt: dueAt ? iso(dueAt) : null, nextPollInSeconds: dueAt ? nextIn : null };
  });
}
