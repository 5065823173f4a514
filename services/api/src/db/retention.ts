import type { Db } from './client.js';

/** What one pruning pass deleted. */
export interface Pruned {
  sessions: number;
  signInTokens: number;
  passwordSetupTokens: number;
  oidcLogins: number;
}

/**
 * Deletes sign-in artefacts that can no longer be used: sessions expired or revoked, one-time
 * sign-in links and password setup tokens expired (used or not), and single sign-on logins that
 * were never finished. Each is kept `graceSeconds` past its end, so a person who comes back with a
 * stale cookie or link a moment later still gets the answer for an expired one (which is the same
 * as for an unknown one). At most `limit` rows per kind per call.
 */
export async function pruneSignInArtefacts(db: Db, options: { graceSeconds: number; limit: number }): Promise<Pruned> {
  const before = db`now() - make_interval(secs => ${options.graceSeconds})`;
  const [row] = await db<{ sessions: number; sign_in_tokens: number; setup_tokens: number; oidc_logins: number }[]>`
    WITH
      sessions_gone AS (
        DELETE FROM sessions WHERE id IN (
          SELECT id FROM sessions WHERE expires_at < ${before} OR revoked_at < ${before} LIMIT ${options.limit})
        RETURNING 1),
      links_gone AS (
        DELETE FROM sign_in_tokens WHERE id IN (
          SELECT id FROM sign_in_tokens WHERE expires_at < ${before} LIMIT ${options.limit})
        RETURNING 1),
      setup_gone AS (
        DELETE FROM password_setup_tokens WHERE token_hash IN (
          SELECT token_hash FROM password_setup_tokens WHERE expires_at < ${before} LIMIT ${options.limit})
        RETURNING 1),
      logins_gone AS (
        DELETE FROM oidc_logins WHERE state_hash IN (
          SELECT state_hash FROM oidc_logins WHERE expires_at < ${before} LIMIT ${options.limit})
        RETURNING 1)
    SELECT (SELECT count(*) FROM sessions_gone)::int AS sessions,
           (SELECT count(*) FROM links_gone)::int AS sign_in_tokens,
           (SELECT count(*) FROM setup_gone)::int AS setup_tokens,
           (SELECT count(*) FROM logins_gone)::int AS oidc_logins`;
  return {
    sessions: row?.sessions ?? 0,
    signInTokens: row?.sign_in_tokens ?? 0,
    passwordSetupTokens: row?.setup_tokens ?? 0,
    oidcLogins: row?.oidc_logins ?? 0,
  };
}

/** One batch of a workspace's log pruning. */
export interface LogBatch {
  /** Runs whose lines the batch deleted (runs without lines count too: they were passed). */
  runs: number;
  lines: number;
}

/**
 * Deletes the log lines of the next `runs` runs of one workspace created before the retention
 * window (`days`), oldest first, and moves the workspace's mark past them in the same statement.
 *
 * The runs are walked on flow_runs_list_idx (workspace, created_at, id) from the mark, so a pass
 * costs the runs it prunes, not the table. Lines go by their primary key's run prefix. The mark
 * never passes `now() - days`: a run created before it committed long ago, so no run can appear
 * behind the mark later. Two replicas running a batch at once delete each line once; the mark
 * takes the greater of their positions.
 */
export async function pruneLogBatch(db: Db, input: { workspaceId: string; days: number; runs: number }): Promise<LogBatch> {
  const [mark] = await db<{ at: Date; id: string }[]>`
    SELECT logs_through_created_at AS at, logs_through_run_id AS id
    FROM retention_marks WHERE workspace_id = ${input.workspaceId}`;
  // A row comparison on the index's trailing columns is an index range, not a filter.
  const after = mark ? db`AND (r.created_at, r.id) > (${mark.at}, ${mark.id}::uuid)` : db``;
  const [row] = await db<{ runs: number; lines: number }[]>`
    WITH
      batch AS (
        SELECT r.id, r.created_at FROM flow_runs r
        WHERE r.workspace_id = ${input.workspaceId}
          AND r.created_at < now() - make_interval(days => ${input.days})
          ${after}
        ORDER BY r.created_at, r.id
        LIMIT ${input.runs}),
      last AS (SELECT created_at, id FROM batch ORDER BY created_at DESC, id DESC LIMIT 1),
      gone AS (
        DELETE FROM logs
        WHERE workspace_id = ${input.workspaceId} AND flow_run_id IN (SELECT id FROM batch)
        RETURNING 1),
      moved AS (
        INSERT INTO retention_marks (workspace_id, logs_through_created_at, logs_through_run_id)
        SELECT ${input.workspaceId}, created_at, id FROM last
        ON CONFLICT (workspace_id) DO UPDATE
          SET logs_through_created_at = EXCLUDED.logs_through_created_at,
              logs_through_run_id = EXCLUDED.logs_through_run_id,
              updated_at = now()
          WHERE (retention_marks.logs_through_created_at, retention_marks.logs_through_run_id)
              < (EXCLUDED.logs_through_created_at, EXCLUDED.logs_through_run_id)
        RETURNING 1)
    SELECT (SELECT count(*) FROM batch)::int AS runs,
           (SELECT count(*) FROM gone)::int AS lines,
           (SELECT count(*) FROM moved)::int AS moved`;
  return { runs: row?.runs ?? 0, lines: row?.lines ?? 0 };
}

/** Every workspace's id, for a pass over all of them. */
export async function workspaceIds(db: Db): Promise<string[]> {
  const rows = await db<{ id: string }[]>`SELECT id FROM workspaces ORDER BY id`;
  return rows.map((r) => r.id);
}
