import type { FlowRun } from '@outpost/sdk/contracts';
import type { Db } from '../../db/client.js';
import { type RunRow, runSelect, toFlowRun } from './flow-runs.js';

const PAYLOAD = /^([0-9a-f-]{36}):([0-9a-f-]{36})$/;

export function parseRunEventPayload(payload: string): { workspaceId: string; runId: string } | null {
  const match = PAYLOAD.exec(payload);
  return match?.[1] && match[2] ? { workspaceId: match[1], runId: match[2] } : null;
}

/** The runs with these ids in this workspace, as the API returns them; ids of other workspaces are simply absent. */
export async function getFlowRunsByIds(db: Db, workspaceId: string, ids: readonly string[]): Promise<FlowRun[]> {
  if (ids.length === 0) return [];
  const rows = await db<RunRow[]>`
    ${runSelect(db)}
    WHERE r.workspace_id = ${workspaceId} AND r.id = ANY(${db.array([...ids])}::uuid[])
    ORDER BY r.updated_at, r.id`;
  return rows.map(toFlowRun);
}
