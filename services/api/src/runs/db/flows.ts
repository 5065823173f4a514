import type { Flow } from '@outpost/sdk/contracts';
import type { Db } from '../../db/client.js';
import { iso } from '../../db/values.js';

function toFlow(row: { id: string; name: string; created_at: Date }): Flow {
  return { id: row.id, name: row.name, createdAt: iso(row.created_at) };
}

/** The flow's id, creating the flow on first use. */
export async function ensureFlow(db: Db, workspaceId: string, name: string): Promise<string> {
  const [inserted] = await db<{ id: string }[]>`
    INSERT INTO flows (workspace_id, name) VALUES (${workspaceId}, ${name})
    ON CONFLICT (workspace_id, name) DO NOTHING RETURNING id`;
  if (inserted) return inserted.id;
  const [row] = await db<{ id: string }[]>`SELECT id FROM flows WHERE workspace_id = ${workspaceId} AND name = ${name}`;
  if (!row) throw new Error(`flow ${name} vanished after it was created`);
  return row.id;
}

/** Flows by name, after the cursor's name. */
export async function listFlows(db: Db, workspaceId: string, afterName: string | null, limit: number): Promise<Flow[]> {
  const rows = await db<{ id: string; name: string; created_at: Date }[]>`
    SELECT id, name, created_at FROM flows
    WHERE workspace_id = ${workspaceId} ${afterName === null ? db`` : db`AND name > ${afterName}`}
    ORDER BY name LIMIT ${limit}`;
  return rows.map(toFlow);
}

export async function getFlow(db: Db, workspaceId: string, id: string): Promise<Flow | null> {
  const [row] = await db<{ id: string; name: string; created_at: Date }[]>`
    SELECT id, name, created_at FROM flows WHERE workspace_id = ${workspaceId} AND id = ${id}`;
  return row ? toFlow(row) : null;
}
