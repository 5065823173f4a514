import type { ApiKey, Role } from '@outpost/sdk/contracts';
import { makeRoom } from '../../bounded-map.js';
import type { Db } from '../../db/client.js';
import type { apiKeys, Row } from '../../db/schema.js';
import { iso, isoOrNull, textArray } from '../../db/values.js';

type ApiKeyRow = Pick<
  Row<typeof apiKeys>,
  | 'id'
  | 'workspace_id'
  | 'name'
  | 'role'
  | 'prefix'
  | 'pools'
  | 'created_at'
  | 'last_used_at'
  | 'expires_at'
  | 'revoked_at'
  | 'created_by'
>;

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
    createdBy: row.created_by,
  };
}

export async function insertApiKey(
  db: Db,
  key: {
    workspaceId: string;
    name: string;
    role: Role;
    pools: string[];
    expiresAt: Date | null;
    hash: string;
    prefix: string;
    madeBy: { userId: string } | { apiKeyId: string } | null;
  },
): Promise<ApiKey> {
  const userId = key.madeBy && 'userId' in key.madeBy ? key.madeBy.userId : null;
  const parentKeyId = key.madeBy && 'apiKeyId' in key.madeBy ? key.madeBy.apiKeyId : null;
  // A key made with a key answers to whoever made that one, so deprovisioning them reaches both.
  const [row] = await db<ApiKeyRow[]>`
    INSERT INTO api_keys (workspace_id, name, role, prefix, key_hash, pools, expires_at, created_by)
    VALUES (${key.workspaceId}, ${key.name}, ${key.role}, ${key.prefix}, ${key.hash}, ${textArray(db, key.pools)}::text[],
            ${key.expiresAt},
            coalesce(${userId}::uuid, (SELECT created_by FROM api_keys WHERE id = ${parentKeyId}::uuid AND workspace_id = ${key.workspaceId})))
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
  /** Milliseconds until the key expires by the database clock; null when it never does. */
  expiresInMs: number | null;
  /** The key's workspace is archived. */
  archived: boolean;
}

/** The key with this sha256, if any; one indexed lookup (see ApiKeyCache for the cache in front of it). */
export async function findApiKeyByHash(db: Db, hash: string, touchSeconds: number): Promise<KeyPrincipalRow | null> {
  const [row] = await db<
    {
      id: string;
      workspace_id: string;
      role: Role;
      pools: string[];
      active: boolean;
      stale: boolean;
      expires_in_ms: number | null;
      archived: boolean;
    }[]
  >`
    SELECT k.id, k.workspace_id, k.role, k.pools,
           k.revoked_at IS NULL AND (k.expires_at IS NULL OR k.expires_at > now()) AS active,
           k.last_used_at IS NULL OR k.last_used_at < now() - make_interval(secs => ${touchSeconds}) AS stale,
           (extract(epoch FROM k.expires_at - now()) * 1000)::float8 AS expires_in_ms,
           w.archived_at IS NOT NULL AS archived
    FROM api_keys k JOIN workspaces w ON w.id = k.workspace_id
    WHERE k.key_hash = ${hash}`;
  return row
    ? {
        id: row.id,
        workspaceId: row.workspace_id,
        role: row.role,
        pools: row.pools,
        active: row.active,
        stale: row.stale,
        expiresInMs: row.expires_in_ms,
        archived: row.archived,
      }
    : null;
}

// ---- verified keys, remembered for a few seconds ----------------------------------------------------
//
// Every request with an API key used to look the key up (one round trip before anything else; two
// of a claim's eight statements were the key lookup and the pool lookup). Workers call with one key
// several times a second, so an active key found by its hash is believed for API_KEY_CACHE_MS
// without asking again. What a key grants never changes once it exists (role and pools are fixed
// at creation); what can change is revocation and expiry:
// - Revocation through this app takes effect at once: revokeApiKey forgets the key after its
//   UPDATE, and a lookup that was in flight meanwhile is not remembered (the generation check below).
// - Revocation through another app (another replica, or another app in the same process) takes
//   effect here within API_KEY_CACHE_MS.
// - Expiry: an entry is never kept past the key's expiry (measured by the database clock at lookup).
// Only active keys are remembered; an unknown, revoked or expired key goes to the database every
// time. Measured with test/bench/lifecycle.ts (1 worker): one statement fewer per claim.

/** How long an active key found by its hash is believed without the database, by one app. */
export const API_KEY_CACHE_MS = 5_000;
/** Entries kept at most; expired ones are dropped first, then the oldest. */
const API_KEY_CACHE_MAX = 10_000;

interface CachedKey {
  row: KeyPrincipalRow;
  until: number;
}

/**
 * The active keys one app has verified in the last API_KEY_CACHE_MS, by hash. Each app has its own
 * (AppDeps.apiKeys), holding keys of the one database it serves.
 */
export class ApiKeyCache {
  readonly #entries = new Map<string, CachedKey>();
  /** Bumped by every revocation, so a lookup that started before one is not remembered after it. */
  #generation = 0;

  /** The generation to pass to `remember`, read before the lookup. */
  get generation(): number {
    return this.#generation;
  }

  /** An active key with this hash, looked up less than API_KEY_CACHE_MS ago. */
  get(hash: string): KeyPrincipalRow | null {
    const entry = this.#entries.get(hash);
    if (!entry) return null;
    if (entry.until <= Date.now()) {
      this.#entries.delete(hash);
      return null;
    }
    return entry.row;
  }

  /** Remembers an active key just read from the database, unless a key was revoked since `generation`. */
  remember(hash: string, row: KeyPrincipalRow, generation: number): void {
    if (!row.active || generation !== this.#generation) return;
    const now = Date.now();
    const until = now + Math.min(API_KEY_CACHE_MS, row.expiresInMs ?? Number.POSITIVE_INFINITY);
    if (until <= now) return;
    makeRoom(this.#entries, API_KEY_CACHE_MAX, (e) => e.until <= now);
    // Last use was just recorded (or is recent): a hit needs no touch.
    this.#entries.set(hash, { row: { ...row, stale: false }, until });
  }

  /** Forgets every key: a workspace was archived or restored, which changes what its keys may do. */
  forgetAll(): void {
    this.#generation++;
    this.#entries.clear();
  }

  /** Forgets the key with this id. Call after the change is committed. */
  forget(id: string): void {
    this.#generation++;
    for (const [hash, entry] of this.#entries) if (entry.row.id === id) this.#entries.delete(hash);
  }
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

/**
 * Revokes the key (idempotent: an already revoked key keeps its first revocation time), and makes
 * `cache` forget it at once (see API_KEY_CACHE_MS). Called on the pool, so the change is committed
 * when it returns; in a transaction, call `cache.forget` again once it has committed.
 */
export async function revokeApiKey(db: Db, cache: ApiKeyCache, workspaceId: string, id: string): Promise<ApiKey | null> {
  cache.forget(id);
  try {
    const [row] = await db<ApiKeyRow[]>`
      UPDATE api_keys SET revoked_at = coalesce(revoked_at, now())
      WHERE workspace_id = ${workspaceId} AND id = ${id}
      RETURNING *`;
    return row ? toApiKey(row) : null;
  } finally {
    cache.forget(id);
  }
}

export async function hasActiveOwnerKey(db: Db, workspaceId: string): Promise<boolean> {
  const [row] = await db<{ exists: boolean }[]>`
    SELECT EXISTS (
      SELECT 1 FROM api_keys
      WHERE workspace_id = ${workspaceId} AND role = 'owner' AND revoked_at IS NULL AND (expires_at IS NULL OR expires_at > now())
    ) AS exists`;
  return row?.exists ?? false;
}
