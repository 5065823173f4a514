import type { ApiKey, Role } from '@outpost/sdk/contracts';
import type { Db } from './client.js';
import { iso, isoOrNull, textArray } from './values.js';

interface ApiKeyRow {
  id: string;
  workspace_id: string;
  name: string;
  role: Role;
  prefix: string;
  pools: string[];
  created_at: Date;
  last_used_at: Date | null;
  expires_at: Date | null;
  revoked_at: Date | null;
}

function toApiKey(row: ApiKeyRow): ApiKey {
  return {
    id: row.id,
    name: row.name,
    role: row.role,
    prefix: row.prefix,
    pools: row.pools,
    createdAt: iso(row.created_at),
    lastUsedAt: isoOrNull(row.last_used_at),
    expiresAt: isoOrNull(row.expires_at),
    revokedAt: isoOrNull(row.revoked_at),
  };
}

export async function insertApiKey(
  db: Db,
  key: { workspaceId: string; name: string; role: Role; pools: string[]; expiresAt: Date | null; hash: string; prefix: string },
): Promise<ApiKey> {
  const [row] = await db<ApiKeyRow[]>`
    INSERT INTO api_keys (workspace_id, name, role, prefix, key_hash, pools, expires_at)
    VALUES (${key.workspaceId}, ${key.name}, ${key.role}, ${key.prefix}, ${key.hash}, ${textArray(db, key.pools)}::text[], ${key.expiresAt})
    RETURNING *`;
  if (!row) throw new Error('insert returned no row');
  return toApiKey(row);
}

export interface KeyPrincipalRow {
  id: string;
  workspaceId: string;
  role: Role;
  pools: string[];
  /** Whether the key is usable now (not revoked, not expired) by the database clock. */
  active: boolean;
  /** Whether last_used_at is older than the touch interval (or never set). */
  stale: boolean;
}

/** The key with this sha256, if any; one indexed lookup per request. */
export async function findApiKeyByHash(db: Db, hash: string, touchSeconds: number): Promise<KeyPrincipalRow | null> {
  const [row] = await db<{ id: string; workspace_id: string; role: Role; pools: string[]; active: boolean; stale: boolean }[]>`
    SELECT id, workspace_id, role, pools,
           revoked_at IS NULL AND (expires_at IS NULL OR expires_at > now()) AS active,
           last_used_at IS NULL OR last_used_at < now() - make_interval(secs => ${touchSeconds}) AS stale
    FROM api_keys WHERE key_hash = ${hash}`;
  return row
    ? { id: row.id, workspaceId: row.workspace_id, role: row.role, pools: row.pools, active: row.active, stale: row.stale }
    : null;
}

/** Records use at most once per interval: a write per request would turn every read into a write. */
export async function touchApiKey(db: Db, id: string, touchSeconds: number): Promise<void> {
  await db`
    UPDATE api_keys SET last_used_at = now()
    WHERE id = ${id} AND (last_used_at IS NULL OR last_used_at < now() - make_interval(secs => ${touchSeconds}))`;
}

export async function listApiKeys(db: Db, workspaceId: string): Promise<ApiKey[]> {
  const rows = await db<ApiKeyRow[]>`SELECT * FROM api_keys WHERE workspace_id = ${workspaceId} ORDER BY created_at, id`;
  return rows.map(toApiKey);
}

export async function getApiKey(db: Db, workspaceId: string, id: string): Promise<ApiKey | null> {
  const [row] = await db<ApiKeyRow[]>`SELECT * FROM api_keys WHERE workspace_id = ${workspaceId} AND id = ${id}`;
  return row ? toApiKey(row) : null;
}

/** Revokes the key (idempotent: an already revoked key keeps its first revocation time). */
export async function revokeApiKey(db: Db, workspaceId: string, id: string): Promise<ApiKey | null> {
  const [row] = await db<ApiKeyRow[]>`
    UPDATE api_keys SET revoked_at = coalesce(revoked_at, now())
    WHERE workspace_id = ${workspaceId} AND id = ${id}
    RETURNING *`;
  return row ? toApiKey(row) : null;
}

export async function hasActiveOwnerKey(db: Db, workspaceId: string): Promise<boolean> {
  const [row] = await db<{ exists: boolean }[]>`
    SELECT EXISTS (
      SELECT 1 FROM api_keys
      WHERE workspace_id = ${workspaceId} AND role = 'owner' AND revoked_at IS NULL AND (expires_at IS NULL OR expires_at > now())
    ) AS exists`;
  return row?.exists ?? false;
}
