import type { ClaimedRun, ClaimResponse, HeldRun, WorkPool } from '@outpost/sdk/contracts';
import { RecentKeys } from '../bounded-map.js';
import type { AppDeps } from '../context.js';
import { iso } from '../db/values.js';
import { tracedClaim } from '../telemetry/tracing.js';
import { type ClaimedRow, claimDueRuns, poolDueState } from './db/claim.js';
import { toFlowRun } from './db/flow-runs.js';
import { cancellingAttempts } from './db/leases.js';

export interface ClaimRequestInput {
  workspaceId: string;
  pool: WorkPool;
  workerId: string;
  apiKeyId: string | null;
  limit: number;
  queues: string[] | null;
  labels: Record<string, string> | null;
  waitMs: number;
  /** Attempts the worker runs: a cancel of one of them ends the wait (see ClaimRequest.held). */
  held: HeldRun[];
  /** The request's signal: a client that went away claims nothing more. */
  signal: AbortSignal;
  /** Also claim runs due this soon (ClaimRequest.prefetchMs; 0: only runs due now). */
  prefetchMs?: number;
}

/** Past the due time by the database clock before claiming again, so the run is due when we look. */
const DUE_SLACK_MS = 5;

/**
 * How long a claim that took nothing waits for the pool's next due run, `nextDue` ms away (plus the
 * slack): until it is `prefetchMs` from due, when the worker asked to claim ahead; until it is due
 * otherwise, and also when it is already that close, since the claim just passed it over (a run a
 * limit counts, taken only when due), so waking earlier would only claim nothing again.
 */
function wakeBefore(nextDue: number, prefetchMs: number): number {
  return (nextDue > prefetchMs ? nextDue - prefetchMs : nextDue) + DUE_SLACK_MS;
}

/** Workers remembered at most by IdleWorkers; the oldest go first. */
const IDLE_WORKERS_MAX = 10_000;

/**
 * Workers (`<workspace>/<worker>`) whose last claim on this app came back empty. Their next
 * long-poll looks at the pool's due runs (poolDueState) before it claims, so an idle worker's poll
 * costs one index probe instead of the claim transaction; a busy worker claims at once. Another
 * app (another replica) without the entry just claims at once, as before. Each app has its own
 * (AppDeps.idleWorkers).
 */
export class IdleWorkers extends RecentKeys {
  constructor() {
    super(IDLE_WORKERS_MAX);
  }
}

/**
 * Claims due runs, long-polling up to `waitMs` when none is due: it wakes on a NOTIFY for the
 * pool, at the pool's next due time, at the deadline, or when the server shuts down. Woken by a
 * nudge or a due time it claims at once; at the deadline it looks at the pool's due runs once more
 * and claims only if one is due.
 *
 * Measured with 200 idle long-polling workers (test/bench/idle.ts, 2-core machine): an empty
 * long-poll used to run the claim twice (on arrival and at its deadline) plus a next-due query,
 * ~6 ms of API CPU each; an idle worker's poll now runs two due-state queries and no claim.
 */
export async function claimRuns(deps: AppDeps, input: ClaimRequestInput): Promise<ClaimResponse> {
  // Skipped when this app wrote the same worker row from a claim seconds ago (db/workers.ts).
  const worker = await deps.workerRows.refreshClaiming(deps.sql, {
    workspaceId: input.workspaceId,
    workerId: input.workerId,
    poolId: input.pool.id,
    labels: input.labels,
    apiKeyId: input.apiKeyId,
  });
  const prefetchMs = input.prefetchMs ?? 0;
  /** When the last claim statement returned (performance.now()): a prefetched run's wait counts from its answer. */
  let claimedAt = 0;
  const claimOnce = async () => {
    const started = performance.now();
    const rows = await tracedClaim(input.pool.name, () =>
      claimDueRuns(
        deps.sql,
        {
          workspaceId: input.workspaceId,
          poolId: input.pool.id,
          workerId: input.workerId,
          limit: input.limit,
          queueNames: input.queues,
          labels: input.labels ?? worker.labels,
          leaseSeconds: deps.leaseSeconds,
          apiKeyId: input.apiKeyId,
          aheadMs: prefetchMs,
        },
        deps.limitedPools,
      ),
    );
    claimedAt = performance.now();
    deps.metrics.claimTransaction((claimedAt - started) / 1000);
    // The claim's state timestamp is the database's statement time, the clock expected start times are on.
    deps.metrics.runsClaimed(rows.map((row) => ({ expectedStartTime: row.expected_start_time, claimedAt: row.state_timestamp })));
    return rows;
  };
  const dueState = () => poolDueState(deps.sql, input.workspaceId, input.pool.id);
  const key = `${input.workspaceId}/${input.workerId}`;

  const signal = AbortSignal.any([input.signal, deps.shutdown]);
  // Subscribe before the first look, so a run created between the look and the wait still wakes us.
  const sub = input.waitMs > 0 ? deps.notifier.subscribe(input.pool.id) : null;
  // The held attempts: looked at once now, then again only when one of them changes.
  const held = new Map(input.held.map((run) => [run.id, run.attempt]));
  let heldChanged = held.size > 0;
  const unwatch =
    sub && held.size > 0
      ? deps.notifier.watchRuns([...held.keys()], () => {
          heldChanged = true;
          sub.nudge();
        })
      : null;
  const answer = async (rows: ClaimedRow[], cancel: HeldRun[]): Promise<ClaimResponse> => {
    const runs = await Promise.all(rows.map((row) => toClaimedRun(deps, row)));
    // A run taken ahead of its due time says how long until it is: the database's two times, less
    // what passed since the statement, so the worker counts from this answer and starts no earlier.
    const sinceClaim = performance.now() - claimedAt;
    rows.forEach((row, i) => {
      const dueInMs = Math.round(row.expected_start_time.getTime() - row.state_timestamp.getTime() - sinceClaim);
      if (dueInMs > 0 && runs[i]) runs[i].dueInMs = dueInMs;
    });
    return { runs, ...(held.size > 0 ? { cancel } : {}) };
  };
  const deadline = Date.now() + input.waitMs;
  let lookFirst = sub !== null && deps.idleWorkers.has(key);
  let final = false;
  try {
    for (;;) {
      if (input.signal.aborted) return { runs: [] };
      if (heldChanged) {
        heldChanged = false;
        const cancel = await cancellingAttempts(deps.sql, input.workspaceId, held);
        if (cancel.length > 0) return answer([], cancel);
      }
      let rows: ClaimedRow[] = [];
      let nextDue: number | null = null;
      if (input.limit === 0) {
        // A full worker only watches its held runs: nothing to claim, nothing due to wait for.
      } else if (lookFirst) {
        const due = await dueState();
        nextDue = due.msUntilNext;
        if (due.dueNow || (nextDue !== null && nextDue <= prefetchMs)) rows = await claimOnce();
      } else {
        rows = await claimOnce();
        nextDue = rows.length === 0 && sub && !signal.aborted ? (await dueState()).msUntilNext : null;
      }
      if (rows.length > 0 || !sub || signal.aborted || final) {
        if (input.limit > 0) deps.idleWorkers.note(key, rows.length === 0);
        return answer(rows, []);
      }
      const remaining = deadline - Date.now();
      const waitMs = nextDue === null ? remaining : Math.min(remaining, wakeBefore(nextDue, prefetchMs));
      const nudged = remaining > 0 ? await sub.wait(waitMs, signal) : false;
      // Woken by a nudge or a due time: claim at once. At the deadline: one last look, so polling stays
      // correct without any NOTIFY, but a cheap one — the claim runs only if something is due. A wait
      // that ran out at the deadline is the deadline even when its timer fired a millisecond early.
      final = Date.now() >= deadline || (!nudged && waitMs === remaining);
      lookFirst = final;
    }
  } finally {
    unwatch?.();
    sub?.close();
  }
}

export async function toClaimedRun(deps: AppDeps, row: ClaimedRow): Promise<ClaimedRun> {
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
      signature: row.signature,
    },
    token: await deps.tokens.sign({
      runId: row.id,
      attempt: row.attempt,
      workspaceId: row.workspace_id,
      ...(row.worker_id ? { workerId: row.worker_id } : {}),
    }),
    leaseExpiresAt: iso(row.lease_expires_at),
    resources: row.resources ?? null,
    assigned: row.assigned,
    logSeqAfter: row.log_seq ?? 0,
  };
}
