import { type AssignedResources, HELD_STATES, type ResourceRequest } from '@outpost/sdk/contracts';
import { RecentKeys } from '../../bounded-map.js';
import type { Db, Sql } from '../../db/client.js';
import { stateList, textArray } from '../../db/values.js';
import {
  type ClaimLocks,
  cappedBackfillDue,
  limitKeys,
  lockClaimLimits,
  lockDueBackfills,
  lockedNothing,
} from './claim-locks.js';
import {
  assignResources,
  type FreeResources,
  fitsAlone,
  fitsBatch,
  overTagGpuQuota,
  readFreeResources,
  recordAssignments,
  runningTotals,
} from './claim-resources.js';
import type { RunRow } from './flow-runs.js';

export interface ClaimInput {
  workspaceId: string;
  poolId: string;
  workerId: string;
  limit: number;
  /** Only these queues of the pool; all when null. */
  queueNames: string[] | null;
  /** The worker's labels: a run is claimable only when its required labels are a subset. */
  labels: Record<string, string>;
  leaseSeconds: number;
  /** The key the worker claims with, recorded on each attempt it takes. */
  apiKeyId?: string | null;
  /**
   * Also take runs due within this many milliseconds (`ClaimRequest.prefetchMs`). Only the unlocked
   * statement does: it takes no run a limit counts, so no counted slot is held ahead of its time.
   */
  aheadMs?: number;
}

export interface ClaimedRow extends RunRow {
  deployment_id: string;
  deployment_name: string;
  lease_expires_at: Date;
  source: string;
  entrypoint: string;
  job_variables: Record<string, unknown>;
  /** The version's signature (a compact JWS); null when unsigned. */
  signature: string | null;
  resources: ResourceRequest | null;
  /** What the claim handed the run; null when it asked for nothing. */
  assigned: AssignedResources | null;
  /**
   * The highest log seq already stored for the attempt (0: none). A run handed back unstarted keeps
   * its attempt, and what its earlier claimer logged stays: the new claimer numbers its lines after it.
   */
  log_seq?: number;
}

/** The state name of a due run held back by a full deployment or tag limit (ENQUEUE). */
export const AWAITING_CONCURRENCY_SLOT = 'AwaitingConcurrencySlot';

/**
 * Claims up to `limit` due runs of a pool for one worker: one statement selects them in queue
 * priority then scheduled-time order with `FOR UPDATE SKIP LOCKED`, moves them to PENDING with the
 * worker and a lease, and appends the PENDING state to their history. The same statement settles
 * the runs a full deployment or tag limit holds back: CANCELLED for a deployment whose collision
 * strategy is CANCEL_NEW, renamed AwaitingConcurrencySlot otherwise, so users see why they wait.
 *
 * Slots are never stored: every limit (pool, queue, deployment, tag) is counted from the runs that
 * are PENDING, RUNNING or CANCELLING when the claim looks. Every way out of those states — a
 * terminal state, a lease expiry, a cancel, a retry — frees the slot by construction, with no
 * counter to decrement and so nothing to leak (Prefect's stored slots leaked when a run crashed
 * or was cancelled without releasing them: #16186, #17415).
 *
 * A pool where nothing is limited is claimed in one statement with no lock (claimUnlocked): one round
 * trip instead of four. A pool with anything to lock falls back to the locked transaction below, and
 * is remembered (LimitedPools) so its next claims go there directly.
 *
 * Why concurrent claimers cannot exceed a limit:
 * - Without limits, SKIP LOCKED hands each claimer disjoint rows; a row another claimer committed
 *   meanwhile is re-checked against the WHERE clause when locked (READ COMMITTED re-evaluation) and
 *   is no longer SCHEDULED, so no run is claimed twice.
 * - Two claimers counting at once could both see the last free slot. So before counting, a claimer
 *   takes a transaction-scoped advisory lock on every limited key it could fill, in one fixed order
 *   (claim-locks.ts). Claimers that could fill the same limit run one after another, and the claim
 *   statement's snapshot, taken after the locks were granted, includes every earlier holder's
 *   committed claims. Runs only leave the counted states outside the lock, which can only make a
 *   count too high, never too low.
 * - A run is considered only when each of its limited keys is locked: one that became due, or got a
 *   new limit, between the lock statement and this one waits for the next claim.
 * - Each queue's earliest runs are locked in index order, at most the pool's room each; window
 *   functions cannot share a SELECT with FOR UPDATE, so the cross-queue priority cut and the
 *   per-queue, per-deployment, per-tag and per-backfill cuts happen on the locked rows in later CTEs.
 *   Rows they leave out are only unlocked at commit, never changed. A run left out by one cut still
 *   takes its rank in the others, so a batch may come out smaller than it could, never larger.
 * - The history records a claim at `statement_timestamp()`, after the locks were granted, so a run
 *   that ended to free a slot always ends before the claim that fills it, on one database clock.
 *
 * Measured on a 2-core machine with Postgres 15, shared with other test suites (test/bench/claims.ts,
 * one run per claim, 1,200 due runs): without limits ~170 claims/s for one claimer (0.3× a bare
 * `UPDATE … FOR UPDATE SKIP LOCKED` loop on the same database) and ~220/s for 4 or 16; with pool,
 * queue, deployment and tag limits all in play ~70/s however many claimers, since claimers of one
 * limited pool take their locks one after another. Reading each queue in index order
 * (`flow_runs_queue_due_idx`) instead of sorting the pool's backlog doubled the 4-claimer rate.
 * test/concurrency.claims.test.ts: 20 claimers claim, start and complete 5,000 runs under all four
 * kinds of limit in ~30 s, and replaying the state history shows no limit exceeded at any instant.
 */
export async function claimDueRuns(sql: Sql, input: ClaimInput, limitedPools?: LimitedPools): Promise<ClaimedRow[]> {
  if (!limitedPools?.has(input.poolId)) {
    const { rows, limited } = await claimUnlocked(sql, input);
    if (!limited) return rows;
    limitedPools?.note(input.poolId, true);
  }
  // Both lock statements are sent together (each goes out, in call order, as soon as it is awaited),
  // then the claim: BEGIN, locks, claim, COMMIT — four round trips instead of five. The server runs
  // them in this order, so the locks are granted before the claim statement takes its snapshot and
  // the backfill locks come after the limits' (lockDueBackfills). BEGIN and COMMIT stay with
  // postgres.js's sql.begin, which recovers a connection the server ended mid-transaction.
  return sql.begin(async (tx) => {
    const [locks, backfills] = await Promise.all([lockClaimLimits(tx, input), lockDueBackfills(tx, input)]);
    limitedPools?.note(input.poolId, !lockedNothing(locks) || backfills.length > 0);
    // Only with due runs that ask for resources: one more statement before the claim, one after.
    const free = locks.resources ? await readFreeResources(tx, input) : null;
    const rows = (await claimStatement(tx, input, locks, backfills, free)).map(claimedColumns);
    if (!free) return rows.map((row) => ({ ...row, assigned: null }));
    const assigned = assignResources(rows, free);
    await recordAssignments(tx, input.workspaceId, rows, assigned);
    return rows.map((row) => ({ ...row, assigned: assigned.get(row.id) ?? null }));
  });
}

/**
 * The claim of a pool where nothing is limited, in one statement and so one round trip, outside any
 * explicit transaction: the claim statement with no lock held, which by construction takes only
 * runs no limit counts (no pool or queue limit, no limited deployment or tag, no capped backfill,
 * no resource request). The same statement first probes the keys the lock statement would lock
 * (claim-locks.ts); when there is any it claims nothing and says so, and the caller claims with
 * the locks, so a limited run of a higher-priority queue is never passed over by this shortcut.
 */
async function claimUnlocked(sql: Sql, input: ClaimInput): Promise<{ rows: ClaimedRow[]; limited: boolean }> {
  const result = await unlockedClaimStatement(sql, input);
  return {
    rows: result.filter((row) => row.id !== null).map((row) => ({ ...claimedColumns(row), assigned: null })),
    limited: result[0]?.limited === true,
  };
}

/** A row of the claim statement, with the columns it adds for ordering and for the unlocked claim. */
type StatementRow = Omit<ClaimedRow, 'assigned'> & { queue_priority?: number; limited?: boolean };

function claimedColumns({ queue_priority: _priority, limited: _limited, ...row }: StatementRow): Omit<ClaimedRow, 'assigned'> {
  return row;
}

/** Pools (by id) whose last claim on this app found a limit to lock: their next claim locks at once. */
export class LimitedPools extends RecentKeys {
  constructor() {
    super(LIMITED_POOLS_MAX);
  }
}

/** Pools remembered at most by LimitedPools; the oldest go first. */
const LIMITED_POOLS_MAX = 10_000;

/**
 * The claim statement, with the limit locks `locks` and the backfill locks `backfills` held (the
 * claim of a pool with nothing to lock is unlockedClaimStatement).
 */
function claimStatement(tx: Db, input: ClaimInput, locks: ClaimLocks, backfills: string[], free: FreeResources | null) {
  // Eager backfills are capped here (max_concurrent); their locks come after the limits' (lockDueBackfills).
  const backfillIds = tx.array(backfills);
  const deploymentIds = tx.array(locks.deploymentIds);
  const lockedTags = textArray(tx, locks.tags);
  // With no limited deployment or tag in play, the statement has nothing to cancel or rename.
  const settles = locks.deploymentIds.length > 0 || locks.tags.length > 0;
  const result = handedRuns(tx, 'claimed');
  return tx<StatementRow[]>`
      WITH queue_room AS (
        SELECT q.id, q.priority,
               CASE WHEN q.concurrency_limit IS NULL THEN NULL
                    WHEN NOT ${locks.pool}::boolean THEN 0
                    ELSE q.concurrency_limit - (
                      SELECT count(*) FROM flow_runs a
                      WHERE a.work_pool_id = q.work_pool_id AND a.work_queue_id = q.id
                        AND a.state_type IN ${stateList(tx, HELD_STATES)})
               END AS room
        FROM work_queues q
        WHERE q.work_pool_id = ${input.poolId} AND q.workspace_id = ${input.workspaceId} AND NOT q.paused
          ${input.queueNames ? tx`AND q.name = ANY(${textArray(tx, input.queueNames)}::text[])` : tx``}
      ), pool_room AS (
        SELECT greatest(0, CASE WHEN p.concurrency_limit IS NULL THEN ${input.limit}::int
                                WHEN NOT ${locks.pool}::boolean THEN 0
                                ELSE least(${input.limit}::int, p.concurrency_limit - (
                                  SELECT count(*) FROM flow_runs a
                                  WHERE a.work_pool_id = p.id AND a.state_type IN ${stateList(tx, HELD_STATES)})::int)
                           END) AS room
        FROM work_pools p
        WHERE p.id = ${input.poolId} AND p.workspace_id = ${input.workspaceId} AND NOT p.paused
      ), deployment_room AS (
        SELECT d.id, d.collision_strategy, d.concurrency_limit AS "limit",
               d.concurrency_limit - (
                 SELECT count(*) FROM flow_runs a
                 WHERE a.deployment_id = d.id AND a.state_type IN ${stateList(tx, HELD_STATES)})::int AS room
        FROM deployments d
        WHERE d.id = ANY(${deploymentIds}::uuid[]) AND d.workspace_id = ${input.workspaceId} AND d.concurrency_limit IS NOT NULL
      ), tag_room AS (
        SELECT c.tag, c."limit",
               c."limit" - (
                 SELECT count(*) FROM flow_runs a
                 WHERE a.workspace_id = c.workspace_id AND c.tag = ANY(a.tags)
                   AND a.state_type IN ${stateList(tx, HELD_STATES)})::int AS room
        FROM concurrency_limits c
        WHERE c.workspace_id = ${input.workspaceId} AND c.tag = ANY(${lockedTags}::text[])
      ), backfill_room AS (
        SELECT b.id, b.max_concurrent - (
                 SELECT count(*) FROM flow_runs a
                 WHERE a.backfill_id = b.id AND a.state_type IN ${stateList(tx, HELD_STATES)})::int AS room
        FROM backfills b
        WHERE b.id = ANY(${backfillIds}::uuid[])
      ), due AS (
        -- Per queue, the earliest claimable runs in index order (flow_runs_queue_due_idx), at most the
        -- pool's and the queue's room: a claim reads a handful of rows however long the backlog.
        SELECT c.* FROM queue_room qr
        CROSS JOIN LATERAL (
          SELECT r.id, r.work_queue_id, r.deployment_id, r.tags, r.backfill_id, qr.priority, r.expected_start_time, r.resources
          FROM flow_runs r
          JOIN deployments d ON d.id = r.deployment_id
          WHERE r.work_queue_id = qr.id AND ${eligible(tx, input)}
            -- A run asking for resources only when its worker's lock is held and it fits what is free (claim-resources.ts).
            AND ${free ? fitsAlone(tx, free) : tx`r.resources IS NULL`}
            AND (d.concurrency_limit IS NULL OR d.id = ANY(ARRAY(SELECT id FROM deployment_room WHERE room > 0)))
            -- A lazy backfill's run while the backfill is not cancelled (it keeps its own runs within
            -- max_concurrent); an eager one's only while it is locked and below its max_concurrent.
            AND (r.backfill_id IS NULL OR r.backfill_id = ANY(ARRAY(SELECT id FROM backfill_room WHERE room > 0))
                 OR NOT EXISTS (SELECT 1 FROM backfills b
                                WHERE b.id = r.backfill_id AND (b.claim_capped OR b.cancelled_at IS NOT NULL)))
            -- Limited tags that are full, or were not locked, hold their runs back.
            AND NOT (r.tags && ARRAY(
                  SELECT c.tag FROM concurrency_limits c
                  WHERE c.workspace_id = ${input.workspaceId} AND NOT (c.tag = ANY(${lockedTags}::text[]))
                  UNION ALL
                  SELECT tag FROM tag_room WHERE room <= 0))
          ORDER BY r.expected_start_time, r.id
          LIMIT least((SELECT coalesce(max(room), 0) FROM pool_room), coalesce(qr.room, ${input.limit}::int))
          FOR UPDATE OF r SKIP LOCKED
        ) c
        WHERE qr.room IS NULL OR qr.room > 0
      ), ranked AS (
        SELECT due.*,
               row_number() OVER (ORDER BY due.priority, due.expected_start_time, due.id) AS pool_n,
               row_number() OVER (PARTITION BY due.work_queue_id ORDER BY due.priority, due.expected_start_time, due.id) AS queue_n,
               row_number() OVER (PARTITION BY due.deployment_id ORDER BY due.priority, due.expected_start_time, due.id) AS deployment_n,
               row_number() OVER (PARTITION BY due.backfill_id ORDER BY due.priority, due.expected_start_time, due.id) AS backfill_n
               ${free ? runningTotals(tx) : tx``}
        FROM due
      )${free ? overTagGpuQuota(tx, free) : tx``}, over_tag_limit AS (
        SELECT t.id FROM (
          SELECT due.id, tr.room,
                 row_number() OVER (PARTITION BY tr.tag ORDER BY due.priority, due.expected_start_time, due.id) AS n
          FROM due JOIN tag_room tr ON tr.tag = ANY(due.tags)
        ) t
        WHERE t.n > t.room
      ), picked AS (
        SELECT ranked.id, ranked.deployment_id, ranked.tags
        FROM ranked
        JOIN queue_room qr ON qr.id = ranked.work_queue_id
        LEFT JOIN deployment_room dr ON dr.id = ranked.deployment_id
        LEFT JOIN backfill_room br ON br.id = ranked.backfill_id
        WHERE ranked.pool_n <= (SELECT coalesce(max(room), 0) FROM pool_room)
          AND (qr.room IS NULL OR ranked.queue_n <= qr.room)
          AND (dr.id IS NULL OR ranked.deployment_n <= dr.room)
          AND (br.id IS NULL OR ranked.backfill_n <= br.room)
          AND ranked.id NOT IN (SELECT id FROM over_tag_limit)
          ${free ? tx`${fitsBatch(tx, free)} AND ranked.id NOT IN (SELECT id FROM over_tag_gpu_quota)` : tx``}
      ), ${claimPicked(tx, input)}${settles ? settleHeldBack(tx, input) : tx``}${claimRecords(tx, input, settles)}
      SELECT * FROM (${result}) r ORDER BY r.queue_priority, r.expected_start_time, r.id`;
}

/**
 * The CTE `claimed` of a claim statement: the runs of its CTE `picked` still SCHEDULED, moved to
 * PENDING under the claiming worker's lease, returned whole (`RETURNING r.*`).
 */
function claimPicked(tx: Db, input: ClaimInput) {
  return tx`claimed AS (
        UPDATE flow_runs r
        SET state_type = 'PENDING', state_name = 'Pending', state_message = NULL, state_data = NULL,
            state_timestamp = statement_timestamp(), worker_id = ${input.workerId},
            lease_expires_at = statement_timestamp() + make_interval(secs => ${input.leaseSeconds}), updated_at = statement_timestamp()
        FROM picked
        WHERE r.id = picked.id AND r.state_type = 'SCHEDULED'
        RETURNING r.*
      )`;
}

/**
 * The CTEs (continuing a claim's WITH list after `claimed`, and `settled` when `settles`) that
 * record a claim: each claimed attempt's own row, and the history entries of the claimed runs and
 * of the settled ones.
 */
function claimRecords(tx: Db, input: ClaimInput, settles: boolean) {
  return tx`, attempts AS (
        -- The attempt's own record; a run handed back unstarted and claimed again keeps one row, the last claimer's.
        INSERT INTO flow_run_attempts (workspace_id, flow_run_id, attempt, worker_id, worker_name, api_key_id, claimed_at,
                                       source_digest)
        SELECT c.workspace_id, c.id, c.attempt, c.worker_id, w.name, ${input.apiKeyId ?? null}::uuid, c.state_timestamp,
               v.source_digest
        FROM claimed c
        LEFT JOIN workers w ON w.workspace_id = c.workspace_id AND w.id = c.worker_id
        LEFT JOIN deployment_versions v ON v.id = c.deployment_version_id
        ON CONFLICT (workspace_id, flow_run_id, attempt) DO UPDATE
          SET worker_id = excluded.worker_id, worker_name = excluded.worker_name,
              api_key_id = excluded.api_key_id, claimed_at = excluded.claimed_at, source_digest = excluded.source_digest,
              assigned_resources = NULL
      ), history AS (
        INSERT INTO flow_run_states (workspace_id, flow_run_id, attempt, type, name, message, timestamp)
        SELECT workspace_id, id, attempt, 'PENDING', 'Pending', NULL, state_timestamp FROM claimed
        ${settles ? tx`UNION ALL SELECT workspace_id, id, attempt, state_type, state_name, state_message, state_timestamp FROM settled` : tx``}
      )`;
}

/**
 * The statement of claimUnlocked: the claim statement as it is with no lock held, where it can only
 * take runs no limit counts, less what can only be empty or unbounded there. It first computes
 * whether the pool has anything to lock (`guard`, from limitKeys, the lock statement's own keys, and
 * the capped backfills); when it has, it claims nothing (`pool` is empty) and answers one row with
 * `limited` and null columns. When it has not, no queue and not the pool has a limit, no limited
 * deployment or tag has a due run in the pool and no capped backfill has one, all in this
 * statement's snapshot, so the limits' rooms, ranks and settling of the locked statement are left
 * out: each queue's earliest `limit` claimable runs in index order (flow_runs_queue_due_idx), the
 * first `limit` of them by queue priority. The conditions on limits stay as they are in the
 * locked statement, as a guard on the guard: a run of a limited deployment or tag is never taken here.
 * Answers one row with null columns when it claims nothing.
 */
// Measured with the bench's workload (one queue, 1,200 due runs, limit 1) under load average ~11
// on 2 cores, per claim: the claim statement with its limit CTEs took ~8 ms of backend CPU (planner
// ~5 ms, executor ~2 ms), this one ~6 ms (planner ~4 ms, executor ~1.6 ms). Each call is planned
// anew: the plan cache keeps custom plans, its generic plan scanning flow_runs instead of
// flow_runs_queue_due_idx. Of the planning left, the guard (limitKeys) is about half.
function unlockedClaimStatement(tx: Db, input: ClaimInput) {
  return tx<StatementRow[]>`
      WITH ${limitKeys(tx, input)}, guard AS MATERIALIZED (
        SELECT EXISTS (SELECT 1 FROM keys) OR EXISTS (SELECT 1 FROM backfills b WHERE ${cappedBackfillDue(tx, input)}) AS limited
      ), pool AS MATERIALIZED (
        SELECT p.id FROM work_pools p
        WHERE p.id = ${input.poolId} AND p.workspace_id = ${input.workspaceId} AND NOT p.paused
          AND NOT (SELECT limited FROM guard)
      ), due AS (
        SELECT c.* FROM work_queues q
        CROSS JOIN LATERAL (
          SELECT r.id, q.priority, r.expected_start_time
          FROM flow_runs r
          JOIN deployments d ON d.id = r.deployment_id
          WHERE r.work_queue_id = q.id AND ${eligible(tx, input, input.aheadMs ?? 0)}
            AND r.resources IS NULL AND d.concurrency_limit IS NULL
            AND (r.backfill_id IS NULL
                 OR NOT EXISTS (SELECT 1 FROM backfills b
                                WHERE b.id = r.backfill_id AND (b.claim_capped OR b.cancelled_at IS NOT NULL)))
            AND NOT (r.tags && ARRAY(SELECT c.tag FROM concurrency_limits c WHERE c.workspace_id = ${input.workspaceId}))
          ORDER BY r.expected_start_time, r.id
          LIMIT ${input.limit}::int
          FOR UPDATE OF r SKIP LOCKED
        ) c
        WHERE q.work_pool_id = ${input.poolId} AND q.workspace_id = ${input.workspaceId} AND NOT q.paused
          AND q.concurrency_limit IS NULL AND EXISTS (SELECT 1 FROM pool)
          ${input.queueNames ? tx`AND q.name = ANY(${textArray(tx, input.queueNames)}::text[])` : tx``}
      ), picked AS (
        SELECT id FROM due ORDER BY priority, expected_start_time, id LIMIT ${input.limit}::int
      ), ${claimPicked(tx, input)}${claimRecords(tx, input, false)}, result AS (${handedRuns(tx, 'claimed')})
      SELECT g.limited, r.* FROM guard g LEFT JOIN result r ON true
      ORDER BY r.queue_priority, r.expected_start_time, r.id`;
}

/**
 * What a worker is handed for each run a statement's CTE `source` returned (`RETURNING r.*` of
 * flow_runs): the run with its flow, deployment, pinned version, pool and queue, and the highest log
 * seq its attempt holds. Shared by the claim and adoption (adopt.ts).
 */
export function handedRuns(db: Db, source: 'claimed' | 'adopted') {
  return db`
      SELECT c.id, c.workspace_id, c.name, c.flow_id, f.name AS flow_name, c.deployment_id, d.name AS deployment_name,
             c.work_pool_id, p.name AS pool_name, q.name AS queue_name, c.parameters, c.tags,
             c.state_type, c.state_name, c.state_message, c.state_timestamp, c.state_data,
             c.attempt, c.max_retries, c.idempotency_key, c.worker_id, c.lease_expires_at,
             c.expected_start_time, c.start_time, c.end_time, c.created_at, c.updated_at,
             v.source, v.entrypoint, v.job_variables, v.signature, c.deployment_version_id, v.source_digest,
             c.scheduled_time, c.schedule_id, c.partition_key, c.resources, q.priority AS queue_priority,
             coalesce((SELECT max(l.seq) FROM logs l
                       WHERE l.workspace_id = c.workspace_id AND l.flow_run_id = c.id AND l.attempt = c.attempt), 0)::int AS log_seq
      FROM ${db(source)} c
      JOIN flows f ON f.id = c.flow_id
      JOIN deployments d ON d.id = c.deployment_id
      -- The run's own version, not the deployment's current one: a retry runs the code of its first attempt.
      JOIN deployment_versions v ON v.id = c.deployment_version_id
      JOIN work_pools p ON p.id = c.work_pool_id
      JOIN work_queues q ON q.id = c.work_queue_id`;
}

/**
 * The WHERE conditions of a due run this worker could take were it not for concurrency limits, over
 * `flow_runs r` joined to `deployments d` (queue pauses and the queue filter come from queue_room).
 * With `aheadMs`, a run due within that many milliseconds counts as due.
 */
function eligible(tx: Db, input: ClaimInput, aheadMs = 0) {
  const due = aheadMs > 0 ? tx`now() + make_interval(secs => ${aheadMs / 1000}::float8)` : tx`now()`;
  return tx`r.work_pool_id = ${input.poolId} AND r.workspace_id = ${input.workspaceId}
          AND r.state_type = 'SCHEDULED' AND r.expected_start_time <= ${due}
          AND NOT d.paused
          AND r.labels <@ ${tx.json(input.labels)}::jsonb`;
}

/** Runs settled per claim at most; the rest are settled by the next claims. */
const SETTLE_BATCH = 100;

/**
 * CTEs (continuing the claim's WITH list) for the eligible runs a locked deployment or tag limit
 * holds back once this claim's runs are counted. A run of a full CANCEL_NEW deployment is CANCELLED
 * with the reason; any other held-back run is renamed AwaitingConcurrencySlot. A run already so
 * named is left alone — it keeps waiting, even if a CANCEL_NEW deployment it waited behind a tag for
 * fills up meanwhile — so in the steady state the scan reads only runs not yet settled, through the
 * partial index flow_runs_unsettled_idx, not the whole backlog. Held-back runs are locked with SKIP LOCKED like claimed ones, so a run
 * another transaction holds (a claim, a cancel, the late loop) is settled by a later claim instead.
 * Only limited deployments and tags with due runs reach here, so unlimited pools never pay for it.
 */
function settleHeldBack(tx: Db, input: ClaimInput) {
  return tx`, deployment_full AS MATERIALIZED (
        SELECT d.id, d.collision_strategy, d."limit"
        FROM deployment_room d
        WHERE d.room - (SELECT count(*) FROM picked p WHERE p.deployment_id = d.id) <= 0
      ), tag_full AS MATERIALIZED (
        SELECT t.tag FROM tag_room t
        WHERE t.room - (SELECT count(*) FROM picked p WHERE t.tag = ANY(p.tags)) <= 0
      ), held_back AS (
        SELECT r.id,
               coalesce(df.collision_strategy = 'CANCEL_NEW', false) AS cancel,
               concat_ws('; ',
                 'deployment concurrency limit of ' || df."limit" || ' reached',
                 (SELECT 'tag concurrency limit reached for ' || string_agg('"' || tf.tag || '"', ', ' ORDER BY tf.tag)
                  FROM tag_full tf WHERE tf.tag = ANY(r.tags))) AS reason
        FROM flow_runs r
        JOIN queue_room qr ON qr.id = r.work_queue_id
        JOIN deployments d ON d.id = r.deployment_id
        LEFT JOIN deployment_full df ON df.id = r.deployment_id
        WHERE ${eligible(tx, input)}
          AND EXISTS (SELECT 1 FROM pool_room)
          AND r.id NOT IN (SELECT id FROM picked)
          AND (df.id IS NOT NULL OR r.tags && ARRAY(SELECT tag FROM tag_full))
          -- A literal, so the planner can use the partial index flow_runs_unsettled_idx.
          AND r.state_name <> 'AwaitingConcurrencySlot'
        ORDER BY qr.priority, r.expected_start_time, r.id
        LIMIT ${SETTLE_BATCH}
        FOR UPDATE OF r SKIP LOCKED
      ), settled AS (
        UPDATE flow_runs r
        SET state_type = CASE WHEN h.cancel THEN 'CANCELLED' ELSE 'SCHEDULED' END,
            state_name = CASE WHEN h.cancel THEN 'Cancelled' ELSE ${AWAITING_CONCURRENCY_SLOT} END,
            state_message = CASE WHEN h.cancel THEN h.reason || '; cancelled by the CANCEL_NEW collision strategy'
                                 ELSE 'waiting: ' || h.reason END,
            state_data = NULL, state_timestamp = statement_timestamp(), updated_at = statement_timestamp(),
            end_time = CASE WHEN h.cancel THEN statement_timestamp() ELSE r.end_time END
        FROM held_back h
        WHERE r.id = h.id AND r.state_type = 'SCHEDULED'
        RETURNING r.id, r.workspace_id, r.attempt, r.state_type, r.state_name, r.state_message, r.state_timestamp
      )`;
}

/**
 * Whether the pool has a SCHEDULED run due now, and the milliseconds until its next one becomes due
 * (null when none is waiting for its time): two probes of the partial index flow_runs_claim_idx, so
 * an idle pool is looked at without the claim's locks and CTEs. Runs already due but not claimable
 * (limits, labels, pauses) count as due now; they do not count for the next due time, since a
 * waiting claim would otherwise spin on them.
 */
export async function poolDueState(
  db: Db,
  workspaceId: string,
  poolId: string,
): Promise<{ dueNow: boolean; msUntilNext: number | null }> {
  const [row] = await db<{ due_now: boolean; ms: number | null }[]>`
    SELECT EXISTS (
             SELECT 1 FROM flow_runs
             WHERE work_pool_id = ${poolId} AND workspace_id = ${workspaceId} AND state_type = 'SCHEDULED'
               AND expected_start_time <= now()
           ) AS due_now,
           (SELECT (extract(epoch FROM min(expected_start_time) - now()) * 1000)::float8
            FROM flow_runs
            WHERE work_pool_id = ${poolId} AND workspace_id = ${workspaceId} AND state_type = 'SCHEDULED'
              AND expected_start_time > now()) AS ms`;
  return { dueNow: row?.due_now ?? false, msUntilNext: row?.ms ?? null };
}
