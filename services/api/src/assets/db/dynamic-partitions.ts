import { countRows, type Db } from '../../db/client.js';

/*
 * Dynamic partition sets: named lists of keys per workspace, in the order they were added (a
 * sequence orders them, so keys added in one request keep the request's order).
 */

export async function listDynamicKeys(db: Db, workspaceId: string, name: string): Promise<string[]> {
  const rows = await db<{ key: string }[]>`
    SELECT key FROM dynamic_partition_keys WHERE workspace_id = ${workspaceId} AND name = ${name} ORDER BY position`;
  return rows.map((r) => r.key);
}

/** The keys of several sets at once (every set named, empty when it has none). */
export async function loadDynamicKeys(db: Db, workspaceId: string, names: readonly string[]): Promise<Map<string, string[]>> {
  const sets = new Map<string, string[]>(names.map((n) => [n, []]));
  if (names.length === 0) return sets;
  const rows = await db<{ name: string; key: string }[]>`
    SELECT name, key FROM dynamic_partition_keys
    WHERE workspace_id = ${workspaceId} AND name = ANY(${db.array([...new Set(names)])}::text[])
    ORDER BY name, position`;
  for (const row of rows) sets.get(row.name)?.push(row.key);
  return sets;
}

export async function countDynamicKeys(db: Db, workspaceId: string, name: string): Promise<number> {
  return countRows(db, db`dynamic_partition_keys WHERE workspace_id = ${workspaceId} AND name = ${name}`);
}

/** Adds the keys not yet in the set, in the given order; returns how many were added. */
export async function addDynamicKeys(db: Db, workspaceId: string, name: string, keys: readonly string[]): Promise<number> {
  const rows = await db<{ key: string }[]>`
    INSERT INTO dynamic_partition_keys (workspace_id, name, key)
    SELECT ${workspaceId}, ${name}, k.key
    FROM unnest(${db.array([...keys])}::text[]) WITH ORDINALITY AS k(key, n)
    ORDER BY k.n
    ON CONFLICT (workspace_id, name, key) DO NOTHING
    RETURNING key`;
  return rows.length;
}

/** Removes one key; false when the set does not have it. */
export async function deleteDynamicKey(db: Db, workspaceId: string, name: string, key: string): Promise<boolean> {
  const rows = await db`
    DELETE FROM dynamic_partition_keys WHERE workspace_id = ${workspaceId} AND name = ${name} AND key = ${key} RETURNING 1`;
  return rows.length > 0;
}
