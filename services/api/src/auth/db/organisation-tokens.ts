import {
  ORGANISATION_ADMINS,
  type OrganisationRole,
  type OrganisationToken,
  type OrganisationTokenScope,
  TOKEN_SCOPE_MAKERS,
} from '@outpost/sdk/contracts';
import { countRows, type Db } from '../../db/client.js';
import { iso, isoOrNull } from '../../db/values.js';

/** The roles that may make (and keep) a token holding every one of these scopes. */
export function rolesToMake(scopes: readonly OrganisationTokenScope[]): OrganisationRole[] {
  return ORGANISATION_ADMINS.filter((role) => scopes.every((scope) => TOKEN_SCOPE_MAKERS[scope].includes(role)));
}

/** SQL true when `role` (a column, maybe null) may hold a token with the scope `scope` (a column): TOKEN_SCOPE_MAKERS. */
const MAY_HOLD_SQL = (scope: string, role: string): string =>
  `coalesce(CASE ${scope} ${Object.entries(TOKEN_SCOPE_MAKERS)
    .map(([s, roles]) => `WHEN '${s}' THEN ${role} IN (${roles.map((r) => `'${r}'`).join(', ')})`)
    .join(' ')} ELSE false END, false)`;

/**
 * Revokes the organisation's live tokens that `userId` made and whose scopes need a role they no longer
 * hold there (demoted, removed, deprovisioned): in the caller's transaction, the one that changed the
 * role. Tokens are looked up on every call, so they stop at the commit. Returns how many.
 */
export async function revokeTokensOutrankingMaker(db: Db, organisationId: string, userId: string): Promise<number> {
  const rows = await db`
    UPDATE organisation_tokens t SET revoked_at = now()
    WHERE t.organisation_id = ${organisationId} AND t.created_by = ${userId} AND t.revoked_at IS NULL
      AND EXISTS (
        SELECT 1 FROM unnest(t.scopes) AS s(scope)
        WHERE NOT ${db.unsafe(
          MAY_HOLD_SQL(
            's.scope',
            `(SELECT om.role FROM organisation_members om
              WHERE om.organisation_id = t.organisation_id AND om.user_id = t.created_by)`,
          ),
        )})
    RETURNING t.id`;
  return rows.length;
}

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
  return countRows(
    db,
    db`organisation_tokens
       WHERE organisation_id = ${organisationId} AND revoked_at IS NULL AND (expires_at IS NULL OR expires_at > now())`,
  );
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
  /** The person who made it; null for a token an operator made, which answers to nobody. */
  createdBy: string | null;
  /** Whether its maker still holds a role that may hold every scope of it (always true without a maker). */
  makerMayHold: boolean;
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
    {
      id: string;
      organisation_id: string;
      slug: string;
      scopes: OrganisationTokenScope[];
      created_by: string | null;
      maker_may_hold: boolean;
      active: boolean;
      stale: boolean;
    }[]
  >`
    SELECT t.id, t.organisation_id, o.slug, t.scopes, t.created_by,
           t.created_by IS NULL OR NOT EXISTS (
             SELECT 1 FROM unnest(t.scopes) AS s(scope)
             WHERE NOT ${db.unsafe(MAY_HOLD_SQL('s.scope', 'om.role'))}) AS maker_may_hold,
           t.revoked_at IS NULL AND (t.expires_at IS NULL OR t.expires_at > now()) AS active,
           t.last_used_at IS NULL OR t.last_used_at < now() - make_interval(secs => ${touchSeconds}) AS stale
    FROM organisation_tokens t JOIN organisations o ON o.id = t.organisation_id
    LEFT JOIN organisation_members om ON om.organisation_id = t.organisation_id AND om.user_id = t.created_by
    WHERE t.token_hash = ${hash}`;
  return row
    ? {
        id: row.id,
        organisationId: row.organisation_id,
        organisationSlug: row.slug,
        scopes: row.scopes,
        createdBy: row.created_by,
        makerMayHold: row.maker_may_hold,
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
