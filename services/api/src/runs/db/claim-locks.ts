import type { Db, TxSql } from '../../db/client.js';

/** The limits a claim serialises on: one transaction-scoped advisory lock per limited key it may fill. */
export interface ClaimLocks {
  /** The pool or one of its queues has a limit, and the pool's claim lock is held. */
  pool: boolean;
  /** Limited deployments with due runs in the pool, whose locks are held. */
  deploymentIds: string[];
  /** Limited tags carried by due runs of the pool, whose locks are held. */
  tags: string[];
  /**
   * The pool has due runs with a resource request, and this worker's lock is held (plus the pool's
   * GPU quota lock when it has quotas): the claim fits those runs into the worker's free resources.
   * When false the claim takes only runs without a request.
   */
  resources: boolean;
}

/**
 * Takes, in one statement, the advisory locks for every concurrency limit a claim of this pool
 * could fill: the pool's (when the pool or one of its queues is limited), each limited deployment
 * with a due run in the pool, and each limited tag a due run of the pool carries. Runs no lock when
 * nothing is limited, so unlimited pools pay one cheap probe and scale on SKIP LOCKED alone.
 *
 * Locks are taken in ascending order of their 64-bit key, the same total order in every claimer, so
 * two claimers needing overlapping sets wait for each other instead of deadlocking. The ordered
 * subquery is not flattened (it has an ORDER BY), so the outer select evaluates
 * `pg_advisory_xact_lock` row by row in that order. They are transaction-scoped: released at
 * commit or rollback, never leaked by a crashed connection.
 *
 * Deployments and tags are found from the due runs at this statement's snapshot; a run that
 * becomes due or limited afterwards is not covered, so the claim statement only considers runs
 * whose every limited key is in the returned set (see claim.ts).
 */
export async function lockClaimLimits(
  tx: TxSql,
  input: { workspaceId: string; poolId: string; workerId: string },
): Promise<ClaimLocks> {
  const rows = await tx<{ kind: 'pool' | 'deployment' | 'tag' | 'worker' | 'gpu_quota'; ref: string }[]>`
    WITH ${limitKeys(tx, input)}
    SELECT ordered.kind, ordered.ref, pg_advisory_xact_lock(ordered.h) IS NULL AS _
    FROM (SELECT kind, ref, hashtextextended(key, 0) AS h FROM keys ORDER BY h, key) ordered`;
  const locks: ClaimLocks = { pool: false, deploymentIds: [], tags: [], resources: false };
  for (const row of rows) {
    if (row.kind === 'pool') locks.pool = true;
    else if (row.kind === 'worker') locks.resources = true;
    else if (row.kind === 'gpu_quota') continue;
    else if (row.kind === 'deployment') locks.deploymentIds.push(row.ref);
    else locks.tags.push(row.ref);
  }
  return locks;
}

/** True when a claim took no lock: nothing it could fill was limited. */
export function lockedNothing(locks: ClaimLocks): boolean {
  return !locks.pool && !locks.resources && locks.deploymentIds.length === 0 && locks.tags.length === 0;
}

/**
 * Two CTEs (`resources`, `keys`) continuing a WITH list: one row in `keys` (kind, ref, key) per
 * advisory lock a claim of this pool must hold. The lock statement takes them; the unlocked claim
 * (claim.ts) claims nothing when there is any.
 */
export function limitKeys(db: Db, input: { workspaceId: string; poolId: string; workerId: string }) {
  return db`resources AS MATERIALIZED (
      -- A probe of the partial index flow_runs_resources_due_idx: most pools have no such run.
      SELECT EXISTS (SELECT 1 FROM flow_runs r
                     WHERE r.work_pool_id = ${input.poolId} AND r.state_type = 'SCHEDULED' AND r.resources IS NOT NULL
                       AND r.expected_start_time <= now()) AS due
    ), keys AS (
      -- Devices are assigned from the worker's free ones: two claims of one worker must not both see a device free.
      SELECT 'worker' AS kind, ${input.workerId}::text AS ref,
             ${'outpost.worker.'} || ${input.workspaceId}::text || '.' || ${input.workerId}::text AS key
      FROM resources WHERE resources.due
      UNION ALL
      -- GPU quotas count the whole pool's assigned devices: claims of its workers take them one at a time.
      SELECT 'gpu_quota', p.id::text, ${'outpost.gpu_quota.'} || p.id::text
      FROM work_pools p, resources
      WHERE resources.due AND p.id = ${input.poolId} AND p.workspace_id = ${input.workspaceId}
        AND (p.gpu_quota IS NOT NULL OR p.gpu_quota_by_tag <> '{}'::jsonb)
      UNION ALL
      SELECT 'pool', p.id::text, ${'outpost.claim.'} || p.id::text
      FROM work_pools p
      WHERE p.id = ${input.poolId} AND p.workspace_id = ${input.workspaceId}
        AND (p.concurrency_limit IS NOT NULL
             OR EXISTS (SELECT 1 FROM work_queues q WHERE q.work_pool_id = p.id AND q.concurrency_limit IS NOT NULL))
      UNION ALL
      SELECT 'deployment', d.id::text, ${'outpost.deployment.'} || d.id::text
      FROM deployments d
      WHERE d.workspace_id = ${input.workspaceId} AND d.concurrency_limit IS NOT NULL
        AND EXISTS (SELECT 1 FROM flow_runs r
                    WHERE r.work_pool_id = ${input.poolId} AND r.state_type = 'SCHEDULED' AND r.expected_start_time <= now()
                      AND r.deployment_id = d.id)
      UNION ALL
      SELECT 'tag', c.tag, ${'outpost.tag.'} || c.workspace_id::text || '.' || c.tag
      FROM concurrency_limits c
      WHERE c.workspace_id = ${input.workspaceId}
        AND EXISTS (SELECT 1 FROM flow_runs r
                    WHERE r.work_pool_id = ${input.poolId} AND r.state_type = 'SCHEDULED' AND r.expected_start_time <= now()
                      AND r.tags @> ARRAY[c.tag])
    )`;
}

/**
 * For the claim: takes a transaction-scoped advisory lock on every backfill the claim must cap
 * (not cancelled, claim_capped) with a due run in the pool, in ascending key order, and returns
 * their ids. Claimers that could start runs of one such backfill so run one after another, and each
 * counts the backfill's active runs after the previous one committed, so max_concurrent holds under
 * concurrent claimers. Called after the concurrency-limit locks, so every claimer takes all its
 * locks in one global order (limits, then backfills) and none can wait on another in a cycle.
 *
 * Only backfills made before they were lazy (migration 0018) are claim_capped: they created every
 * run up front. A lazy backfill never has more than max_concurrent runs to claim, so the claim takes
 * no lock for it: the lock made every claimer of a pool with a backfill's runs wait for the others,
 * which is what bounded the drain of a 10,000-partition backfill by four claimers (test/bench/backfill.ts).
 */
export async function lockDueBackfills(tx: TxSql, input: { workspaceId: string; poolId: string }): Promise<string[]> {
  const rows = await tx<{ id: string }[]>`
    SELECT ordered.id, pg_advisory_xact_lock(ordered.h) IS NULL AS _
    FROM (
      SELECT b.id, hashtextextended(${'outpost.backfill.'} || b.id::text, 0) AS h
      FROM backfills b
      WHERE ${cappedBackfillDue(tx, input)}
      ORDER BY h, b.id
    ) ordered`;
  return rows.map((r) => r.id);
}

/** Over `backfills b`: a backfill the claim must cap (and so lock) that has a due run in the pool. */
export function cappedBackfillDue(db: Db, input: { workspaceId: string; poolId: string }) {
  return db`b.workspace_id = ${input.workspaceId} AND b.cancelled_at IS NULL AND b.claim_capped
        AND b.id IN (SELECT r.backfill_id FROM flow_runs r
                     WHERE r.work_pool_id = ${input.poolId} AND r.backfill_id IS NOT NULL
                       AND r.state_type = 'SCHEDULED' AND r.expected_start_time <= now())`;
}
