import type { UsageMeasure } from '@outpost/sdk/contracts';
import type { Db } from '../../db/client.js';

/*
 * Usage per workspace and UTC month. The database's triggers append what each statement adds to
 * `usage_deltas` (migration 0048); the retention loop folds those rows into `workspace_usage`; a
 * read adds the rows not yet folded, so it is exact whenever it is made.
 */

type Usage = Record<UsageMeasure, number>;

/**
 * Folds at most `limit` deltas into the months they count, in one statement that deletes what it
 * adds (a fold cut short leaves every delta either folded or still there). Returns how many it folded.
 */
export async function foldUsageDeltas(db: Db, limit: number): Promise<number> {
  const [row] = await db<{ folded: number }[]>`
    WITH gone AS (
      DELETE FROM usage_deltas WHERE id IN (SELECT id FROM usage_deltas ORDER BY id LIMIT ${limit})
      RETURNING *
    ),
    summed AS (
      INSERT INTO workspace_usage AS u
        (workspace_id, month, runs, task_runs, compute_seconds, log_lines, log_bytes, events, metadata_bytes)
      SELECT workspace_id, month, sum(runs), sum(task_runs), sum(compute_seconds), sum(log_lines), sum(log_bytes),
             sum(events), sum(metadata_bytes)
      FROM gone GROUP BY workspace_id, month ORDER BY workspace_id, month
      ON CONFLICT (workspace_id, month) DO UPDATE SET
        runs = u.runs + excluded.runs,
        task_runs = u.task_runs + excluded.task_runs,
        compute_seconds = u.compute_seconds + excluded.compute_seconds,
        log_lines = u.log_lines + excluded.log_lines,
        log_bytes = u.log_bytes + excluded.log_bytes,
        events = u.events + excluded.events,
        metadata_bytes = u.metadata_bytes + excluded.metadata_bytes
    )
    SELECT count(*)::int AS folded FROM gone`;
  return row?.folded ?? 0;
}

export interface MonthUsage extends Usage {
  workspaceId: string;
  /** The month's first day, `YYYY-MM-01`. */
  month: string;
}

/**
 * The usage of each workspace in each month from `from` to `to` (first days, inclusive), folded and
 * not yet folded alike. Only months a workspace used something appear. A deleted run is taken back
 * from its month only if counting had begun when it was made (migration 0048), so no sum goes
 * below zero; the floor holds that whatever a row's history.
 */
export async function readUsage(db: Db, workspaceIds: readonly string[], from: string, to: string): Promise<MonthUsage[]> {
  if (workspaceIds.length === 0) return [];
  const rows = await db<(Omit<MonthUsage, UsageMeasure> & Record<UsageMeasure, string | number>)[]>`
    SELECT workspace_id AS "workspaceId", to_char(month, 'YYYY-MM-DD') AS month,
           greatest(0, sum(runs))::bigint AS runs, greatest(0, sum(task_runs))::bigint AS "taskRuns",
           greatest(0, sum(compute_seconds))::float8 AS "computeSeconds", greatest(0, sum(log_lines))::bigint AS "logLines",
           greatest(0, sum(log_bytes))::bigint AS "logBytes", greatest(0, sum(events))::bigint AS events,
           greatest(0, sum(metadata_bytes))::bigint AS "metadataBytes"
    FROM (
      SELECT workspace_id, month, runs, task_runs, compute_seconds, log_lines, log_bytes, events, metadata_bytes
      FROM workspace_usage
      WHERE workspace_id = ANY(${workspaceIds as string[]}::uuid[]) AND month BETWEEN ${from}::date AND ${to}::date
      UNION ALL
      SELECT workspace_id, month, runs, task_runs, compute_seconds, log_lines, log_bytes, events, metadata_bytes
      FROM usage_deltas
      WHERE workspace_id = ANY(${workspaceIds as string[]}::uuid[]) AND month BETWEEN ${from}::date AND ${to}::date
    ) counted
    GROUP BY workspace_id, month
    ORDER BY month, workspace_id`;
  // int8 arrives as a string; no measure comes near 2^53.
  return rows.map((r) => ({
    workspaceId: r.workspaceId,
    month: r.month,
    runs: Number(r.runs),
    taskRuns: Number(r.taskRuns),
    computeSeconds: Number(r.computeSeconds),
    logLines: Number(r.logLines),
    logBytes: Number(r.logBytes),
    events: Number(r.events),
    metadataBytes: Number(r.metadataBytes),
  }));
}
