import type { Db } from '../../db/client.js';

/*
 * The log of lineage changes (0043_lineage_changes.sql): a statement trigger on each table a
 * workspace's lineage is derived from (asset definitions, partition statuses, check results,
 * waivers, dynamic partition keys) appends a row to `lineage_changes` for each workspace the
 * statement wrote, in the writer's transaction. The retention loop folds rows into
 * `lineage_change_counts` (foldLineageChanges), so the log holds only what changed since its last pass.
 */

/**
 * A stamp of every fact the workspace's lineage is derived from: how many changes of them have
 * committed, folded or not. One statement, in the caller's snapshot, reading one row of the counts
 * and the workspace's rows of the log (those since the last fold), however many facts there are.
 *
 * Equal stamps mean the same facts: rows of the log are only ever added, a fold deletes rows and
 * adds their number in the same statement (every snapshot sees both or neither), and a later
 * snapshot sees every transaction an earlier one saw. So the sum grows with each committed change,
 * including one whose transaction began before changes committed ahead of it, and never moves
 * otherwise. A transaction still open is not counted until it commits.
 */
export async function lineageFactsStamp(db: Db, workspaceId: string): Promise<string> {
  const [row] = await db<{ stamp: string }[]>`
    SELECT (coalesce((SELECT c.folded FROM lineage_change_counts c WHERE c.workspace_id = ${workspaceId}), 0)
            + (SELECT count(*) FROM lineage_changes l WHERE l.workspace_id = ${workspaceId}))::text AS stamp`;
  return row?.stamp ?? '0';
}

/**
 * Folds at most `limit` rows of the log, of any workspaces: deletes them and adds their number to
 * each workspace's count, in one statement. Rows of transactions still open are not visible to it
 * and stay for a later pass; of two folds at once each counts only the rows it deleted itself.
 * Returns how many rows it folded (fewer than `limit`: the log is empty up to what this snapshot saw).
 */
export async function foldLineageChanges(db: Db, limit: number): Promise<number> {
  const [row] = await db<{ folded: number }[]>`
    WITH gone AS (
      DELETE FROM lineage_changes
      WHERE (workspace_id, seq) IN (SELECT workspace_id, seq FROM lineage_changes LIMIT ${limit})
      RETURNING workspace_id
    ),
    counted AS (
      INSERT INTO lineage_change_counts AS c (workspace_id, folded)
      SELECT workspace_id, count(*) FROM gone GROUP BY workspace_id
      ON CONFLICT (workspace_id) DO UPDATE SET folded = c.folded + excluded.folded
    )
    SELECT count(*)::int AS folded FROM gone`;
  return row?.folded ?? 0;
}
