import type { OrganisationToken, OrganisationTokenScope } from '@outpost/sdk/contracts';
import type { Db } from './client.js';
import { iso, isoOrNull } from './values.js';

interface TokenRow {
  id: string;
  name: string;
  scopes: OrganisationTokenScope[];
  prefix: string;
  created_at: Date;
  created_by: string | null;
  expires_at: Date | null;
  last_used_at: Date | null;
  revoked_at: Date | null;
}

function toToken(row: TokenRow): OrganisationToken {
  return {
    id: row.id,
    name: row.name,
    scopes: row.scopes,
    prefix: row.prefix,
    createdAt: iso(row.created_at),
    createdBy: row.created_by,
    expiresAt: isoOrNull(row.expires_at),
    lastUsedAt: isoOrNull(row.last_used_at),
    revokedAt: isoOrNull(row.revoked_at),
  };
}

const COLUMNS = 'id, name, scopes, prefix, created_at, created_by, expires_at, last_used_at, revoked_at';

export async function listOrganisationTokens(db: Db, organisationId: string): Promise<OrganisationToken[]> {
  const rows = await db<TokenRow[]>`
    SELECT ${db.unsafe(COLUMNS)} FROM organisation_tokens WHERE organisation_id = ${organisationId}
    ORDER BY created_at DESC, id`;
  return rows.map(toToken);
}

/** Tokens of the organisation that still work: what TOKENS_PER_ORGANISATION counts. */
export async function countLiveOrganisationTokens(db: Db, organisationId: string): Promise<number> {
  const [row] = await db<{ n: number }[]>`
    SELECT count(*)::int AS n FROM organisation_tokens
    WHERE organisation_id = ${organisationId} AND revoked_at IS NULL AND (expires_at IS NULL OR expires_at > now())`;
  return row?.n ?? 0;
}

export async function insertOrganisationToken(
  db: Db,
  input: {
    organisationId: string;
    name: string;
    scopes: OrganisationTokenScope[];
    prefix: string;
    hash: string;
    createdBy: string | null;
    expiresAt: Date | null;
  },
): Promise<OrganisationToken> {
  const [row] = await db<TokenRow[]>`
    INSERT INTO organisation_tokens (organisation_id, name, scopes, prefix, token_hash, created_by, expires_at)
    VALUES (${input.organisationId}, ${input.name}, ${db.array(input.scopes)}::text[], ${input.prefix}, ${input.hash},
            ${input.createdBy}, ${input.expiresAt})
    RETURNING ${db.unsafe(COLUMNS)}`;
  if (!row) throw new Error('an organisation token was not written');
  return toToken(row);
}

/** Revokes a token of the organisation; false when it has no such token. Revoking twice keeps the first time. */
export async function revokeOrganisationToken(db: Db, organisationId: string, id: string): Promise<boolean> {
  const rows = await db`
    UPDATE organisation_tokens SET revoked_at = coalesce(revoked_at, now())
    WHERE organisation_id = ${organisationId} AND id = ${id}
    RETURNING id`;
  return rows.length > 0;
}

/** What a presented token is, found by its hash. */
export interface OrganisationTokenRow {
  id: string;
  organisationId: string;
  organisationSlug: string;
  scopes: OrganisationTokenScope[];
  active: boolean;
  /** last_used_at is older than the touch interval. */
  stale: boolean;
}

export async function findOrganisationTokenByHash(
  db: Db,
  hash: string,
  touchSeconds: number,
): Promise<OrganisationTokenRow | null> {
  const [row] = await db<
    { id: string; organisation_id: string; slug: string; scopes: OrganisationTokenScope[]; active: boolean; stale: boolean }[]
  >`
    SELECT t.id, t.organisation_id, o.slug, t.scopes,
           t.revoked_at IS NULL AND (t.expires_at IS NULL OR t.expires_at > now()) AS active,
           t.last_used_at IS NULL OR t.last_used_at < now() - make_interval(secs => ${touchSeconds}) AS stale
    FROM organisation_tokens t JOIN organisations o ON o.id = t.organisation_id
    WHERE t.token_hash = ${hash}`;
  return row
    ? {
        id: row.id,
        organisationId: row.organisation_id,
        organisationSlug: row.slug,
        scopes: row.scopes,
        active: row.active,
        stale: row.stale,
      }
    : null;
}

export async function touchOrganisationToken(db: Db, id: string, touchSeconds: number): Promise<void> {
  await db`
    UPDATE organisation_tokens SET last_used_at = now()
    WHERE id = ${id} AND (last_used_at IS NULL OR last_used_at < now() - make_interval(secs => ${touchSeconds}))`;
}

/** Every workspace of the organisation, archived ones included, oldest first. */
export async function allOrganisationWorkspaces(db: Db, organisationId: string): Promise<{ id: string; slug: string }[]> {
  return db<{ id: string; slug: string }[]>`
    SELECT id, slug FROM workspaces WHERE organisation_id = ${organisationId} ORDER BY created_at, id`;
}
