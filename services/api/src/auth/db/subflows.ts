import type { Db } from '../../db/client.js';

/**
 * True when `runId` is a subflow run somewhere under the claimed run `rootId`: the runs a root's
 * run token may act on besides the root itself.
 */
export async function isSubflowOf(db: Db, workspaceId: string, runId: string, rootId: string): Promise<boolean> {
  const [row] = await db<{ found: boolean }[]>`
    SELECT EXISTS (
      SELECT 1 FROM flow_runs WHERE id = ${runId} AND workspace_id = ${workspaceId} AND root_flow_run_id = ${rootId}
    ) AS found`;
  return row?.found ?? false;
}
