import type { Db } from './client.js';

/** What one pruning pass deleted. */
export interface Pruned {
  sessions: number;
  signInTokens: number;
  passwordSetupTokens: number;
  emailTokens: number;
  oidcLogins: number;
}

/**
 * Deletes sign-in artefacts that can no longer be used: sessions expired or revoked, one-time
 * sign-in links, password setup tokens and emailed links expired (used or not), and single sign-on logins that
 * were never finished. Each is kept `graceSeconds` past its end, so a person who comes back with a
 * stale cookie or link a moment later still gets the answer for an expired one (which is the same
 * as for an unknown one). At most `limit` rows per kind per call.
 */
export async function pruneSignInArtefacts(db: Db, options: { graceSeconds: number; limit: number }): Promise<Pruned> {
  const before = db`now() - make_interval(secs => ${options.graceSeconds})`;
  const [row] = await db<
    { sessions: number; sign_in_tokens: number; setup_tokens: number; email_tokens: number; oidc_logins: number }[]
  >`
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
      email_gone AS (
        DELETE FROM email_tokens WHERE token_hash IN (
          SELECT token_hash FROM email_tokens WHERE expires_at < ${before} LIMIT ${options.limit})
        RETURNING 1),
      logins_gone AS (
        DELETE FROM oidc_logins WHERE state_hash IN (
          SELECT state_hash FROM oidc_logins WHERE expires_at < ${before} LIMIT ${options.limit})
        RETURNING 1)
    SELECT (SELECT count(*) FROM sessions_gone)::int AS sessions,
           (SELECT count(*) FROM links_gone)::int AS sign_in_tokens,
           (SELECT count(*) FROM setup_gone)::int AS setup_tokens,
           (SELECT count(*) FROM email_gone)::int AS email_tokens,
           (SELECT count(*) FROM logins_gone)::int AS oidc_logins`;
  return {
    sessions: row?.sessions ?? 0,
    signInTokens: row?.sign_in_tokens ?? 0,
    passwordSetupTokens: row?.setup_tokens ?? 0,
    emailTokens: row?.email_tokens ?? 0,
    oidcLogins: row?.oidc_logins ?? 0,
  };
}

/** How far a workspace's log pruning has come: every run that ended at or before it is done. */
export interface LogMark {
  endTime: Date;
  runId: string;
}

/** One batch of a workspace's log pruning. */
export interface LogBatch {
  /** Finished runs the batch looked at (runs without lines count too). */
  runs: number;
  lines: number;
  /** True when the batch stopped at its line limit: those runs have more lines, and the mark stayed. */
  full: boolean;
}

export async function readLogMark(db: Db, workspaceId: string): Promise<LogMark | null> {
  const [row] = await db<{ end_time: Date; run_id: string }[]>`
    SELECT logs_through_end_time AS end_time, logs_through_run_id AS run_id
    FROM retention_marks WHERE workspace_id = ${workspaceId}`;
  return row ? { endTime: row.end_time, runId: row.run_id } : null;
}

/**
 * Deletes up to `maxLines` log lines of the next `runs` runs of one workspace that ended before the
 * retention window (`days`), in the order they ended, and moves the workspace's mark past those
 * runs once none of their lines is left — all in one statement.
 *
 * Only finished runs are touched: a run still going keeps every line. The runs are walked on
 * flow_runs_ended_idx from the mark (`after`, read by the caller), so a pass costs what it
 * deletes, not the table; the lines go by their primary key's run prefix. The mark never passes
 * `now() - days`: a run that ended before that committed long ago, so none can appear behind it
 * later — and a run that is retried clears its end time, so it comes back ahead of the mark when
 * it ends again. Two replicas running a batch at once delete each line once, and the mark only
 * moves forward.
 */
export async function pruneLogBatch(
  db: Db,
  input: { workspaceId: string; days: number; runs: number; maxLines: number; after: LogMark | null },
): Promise<LogBatch> {
  const { after } = input;
  // A row comparison on the index's trailing columns is an index range, not a filter.
  const past = after ? db`AND (r.end_time, r.id) > (${after.endTime}, ${after.runId}::uuid)` : db``;
  const [row] = await db<{ runs: number; lines: number; doomed: number }[]>`
    WITH
      batch AS (
        SELECT r.id, r.end_time FROM flow_runs r
        WHERE r.workspace_id = ${input.workspaceId} AND r.end_time IS NOT NULL
          AND r.end_time < now() - make_interval(days => ${input.days})
          ${past}
        ORDER BY r.end_time, r.id
        LIMIT ${input.runs}),
      doomed AS (
        SELECT l.flow_run_id, l.attempt, l.seq FROM logs l
        WHERE l.flow_run_id IN (SELECT id FROM batch) AND l.workspace_id = ${input.workspaceId}
        LIMIT ${input.maxLines}),
      gone AS (
        DELETE FROM logs l USING doomed d
        WHERE l.flow_run_id = d.flow_run_id AND l.attempt = d.attempt AND l.seq = d.seq
        RETURNING 1),
      last AS (SELECT end_time, id FROM batch ORDER BY end_time DESC, id DESC LIMIT 1),
      moved AS (
        INSERT INTO retention_marks (workspace_id, logs_through_end_time, logs_through_run_id)
        SELECT ${input.workspaceId}, end_time, id FROM last
        WHERE (SELECT count(*) FROM doomed) < ${input.maxLines}
        ON CONFLICT (workspace_id) DO UPDATE
          SET logs_through_end_time = EXCLUDED.logs_through_end_time,
              logs_through_run_id = EXCLUDED.logs_through_run_id,
              updated_at = now()
          WHERE (retention_marks.logs_through_end_time, retention_marks.logs_through_run_id)
              < (EXCLUDED.logs_through_end_time, EXCLUDED.logs_through_run_id)
        RETURNING 1)
    SELECT (SELECT count(*) FROM batch)::int AS runs,
           (SELECT count(*) FROM gone)::int AS lines,
           (SELECT count(*) FROM doomed)::int AS doomed,
           (SELECT count(*) FROM moved)::int AS moved`;
  const doomed = row?.doomed ?? 0;
  return { runs: row?.runs ?? 0, lines: row?.lines ?? 0, full: doomed >= input.maxLines };
}

/** Every workspace's id, for a pass over all of them. */
export async function workspaceIds(db: Db): Promise<string[]> {
  const rows = await db<{ id: string }[]>`SELECT id FROM workspaces ORDER BY id`;
  return rows.map((r) => r.id);
}
