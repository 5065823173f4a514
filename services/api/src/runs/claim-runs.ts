import type { ClaimedRun, WorkPool } from '@outpost/sdk/contracts';
import type { AppDeps } from '../context.js';
import { type ClaimedRow, claimDueRuns, msUntilNextDue } from '../db/claim.js';
import { toFlowRun } from '../db/flow-runs.js';
import { iso } from '../db/values.js';
import { upsertWorker } from '../db/workers.js';

export interface ClaimRequestInput {
  workspaceId: string;
  pool: WorkPool;
  workerId: string;
  apiKeyId: string | null;
  limit: number;
  queues: string[] | null;
  labels: Record<string, string> | null;
  waitMs: number;
  /** The request's signal: a client that went away claims nothing more. */
  signal: AbortSignal;
}

/** Past the due time by the database clock before claiming again, so the run is due when we look. */
const DUE_SLACK_MS = 5;

/**
 * Claims due runs, long-polling up to `waitMs` when none is due: it wakes on a NOTIFY for the
 * pool, at the pool's next due time, at the deadline, or when the server shuts down.
 */
export async function claimRuns(deps: AppDeps, input: ClaimRequestInput): Promise<ClaimedRun[]> {
  const worker = await upsertWorker(deps.sql, {
    workspaceId: input.workspaceId,
    workerId: input.workerId,
    poolId: input.pool.id,
    name: null,
    labels: input.labels,
    capacity: null,
    apiKeyId: input.apiKeyId,
  });
  const claimOnce = () =>
    claimDueRuns(deps.sql, {
      workspaceId: input.workspaceId,
      poolId: input.pool.id,
      workerId: input.workerId,
      limit: input.limit,
      queueNames: input.queues,
      labels: input.labels ?? worker.labels,
      leaseSeconds: deps.leaseSeconds,
    });

  const signal = AbortSignal.any([input.signal, deps.shutdown]);
  // Subscribe before the first look, so a run created between the look and the wait still wakes us.
  const sub = input.waitMs > 0 ? deps.notifier.subscribe(input.pool.id) : null;
  const deadline = Date.now() + input.waitMs;
  try {
    for (;;) {
      if (input.signal.aborted) return [];
      const rows = await claimOnce();
      if (rows.length > 0 || !sub || signal.aborted) return Promise.all(rows.map((row) => toClaimedRun(deps, row)));
      const remaining = deadline - Date.now();
      if (remaining <= 0) return [];
      const nextDue = await msUntilNextDue(deps.sql, input.workspaceId, input.pool.id);
      await sub.wait(nextDue === null ? remaining : Math.min(remaining, nextDue + DUE_SLACK_MS), signal);
    }
  } finally {
    sub?.close();
  }
}

async function toClaimedRun(deps: AppDeps, row: ClaimedRow): Promise<ClaimedRun> {
  const flowRun = toFlowRun(row);
  return {
    flowRun,
    deployment: {
      id: row.deployment_id,
      name: row.deployment_name,
      flowName: row.flow_name,
      source: row.source,
      entrypoint: row.entrypoint,
      jobVariables: row.job_variables as ClaimedRun['deployment']['jobVariables'],
    },
    token: await deps.tokens.sign({ runId: row.id, attempt: row.attempt, workspaceId: row.workspace_id }),
    leaseExpiresAt: iso(row.lease_expires_at),
  };
}
