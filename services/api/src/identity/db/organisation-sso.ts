import type { GroupRole, SsoGroupRole } from '@outpost/sdk/contracts';
import type { Db } from '../../db/client.js';
import type { organisationSso, Row } from '../../db/schema.js';
import { textArray } from '../../db/values.js';

/*
 * An organisation's own single sign-on (auth/organisation-sign-in.ts): its provider, the roles the
 * groups claim grants, and each person's groups as their last sign-in listed them. The memberships
 * those grants make are db/directory.ts applyDirectoryRoles's, beside the directory groups'.
 *
 * Costs: a mapping holds at most SSO_GROUP_ROLES_MAX grants, a person at most SSO_CLAIM_GROUPS_MAX
 * stored groups (both checked before anything is written); finding who a change of mapping concerns is
 * one index scan per group value (organisation_sso_groups_group_idx).
 */

export interface OrganisationSsoRecord {
  organisationId: string;
  issuer: string;
  clientId: string;
  clientSecretEncrypted: string | null;
  allowedDomains: string[];
  groupsClaim: string;
  updatedAt: Date;
}

type SsoRow = Pick<
  Row<typeof organisationSso>,
  'organisation_id' | 'issuer' | 'client_id' | 'client_secret_encrypted' | 'allowed_domains' | 'groups_claim' | 'updated_at'
>;

function toRecord(row: SsoRow): OrganisationSsoRecord {
  return {
    organisationId: row.organisation_id,
    issuer: row.issuer,
    clientId: row.client_id,
    clientSecretEncrypted: row.client_secret_encrypted,
    allowedDomains: row.allowed_domains,
    groupsClaim: row.groups_claim,
    updatedAt: row.updated_at,
  };
}

export async function getOrganisationSso(db: Db, organisationId: string): Promise<OrganisationSsoRecord | null> {
  const [row] = await db<SsoRow[]>`SELECT * FROM organisation_sso WHERE organisation_id = ${organisationId}`;
  return row ? toRecord(row) : null;
}

export async function upsertOrganisationSso(db: Db, p: Omit<OrganisationSsoRecord, 'updatedAt'>): Promise<OrganisationSsoRecord> {
  const [row] = await db<SsoRow[]>`
    INSERT INTO organisation_sso (organisation_id, issuer, client_id, client_secret_encrypted, allowed_domains, groups_claim)
    VALUES (${p.organisationId}, ${p.issuer}, ${p.clientId}, ${p.clientSecretEncrypted},
            ${textArray(db, p.allowedDomains)}::text[], ${p.groupsClaim})
    ON CONFLICT (organisation_id) DO UPDATE SET
      issuer = excluded.issuer, client_id = excluded.client_id, client_secret_encrypted = excluded.client_secret_encrypted,
      allowed_domains = excluded.allowed_domains, groups_claim = excluded.groups_claim, updated_at = now()
    RETURNING *`;
  if (!row) throw new Error('upsert returned no row');
  return toRecord(row);
}

/** The mapping, by group, then workspace slug. */
export async function ssoGroupRoles(db: Db, organisationId: string): Promise<SsoGroupRole[]> {
  const rows = await db<{ group_value: string; slug: string; role: GroupRole }[]>`
    SELECT r.group_value, w.slug, r.role
    FROM organisation_sso_group_roles r JOIN workspaces w ON w.id = r.workspace_id
    WHERE r.organisation_id = ${organisationId}
    ORDER BY r.group_value, w.slug`;
  return rows.map((r) => ({ group: r.group_value, workspace: r.slug, role: r.role }));
}

/**
 * Replaces the mapping. Returns the people whose roles it may change: everyone whose stored groups
 * name a group of the old mapping or the new one.
 */
export async function replaceSsoGroupRoles(
  db: Db,
  organisationId: string,
  roles: readonly { group: string; workspaceId: string; role: GroupRole }[],
): Promise<string[]> {
  const before = await db<{ group_value: string }[]>`
    DELETE FROM organisation_sso_group_roles WHERE organisation_id = ${organisationId} RETURNING group_value`;
  if (roles.length > 0) {
    await db`
      INSERT INTO organisation_sso_group_roles (organisation_id, group_value, workspace_id, role)
      SELECT ${organisationId}, g, w::uuid, r
      FROM unnest(${textArray(
        db,
        roles.map((x) => x.group),
      )}::text[],
                  ${textArray(
                    db,
                    roles.map((x) => x.workspaceId),
                  )}::text[],
                  ${textArray(
                    db,
                    roles.map((x) => x.role),
                  )}::text[]) AS t(g, w, r)`;
  }
  const groups = [...new Set([...before.map((r) => r.group_value), ...roles.map((r) => r.group)])];
  return peopleInGroups(db, organisationId, groups);
}

/** The people whose last sign-in listed any of these groups. */
async function peopleInGroups(db: Db, organisationId: string, groups: readonly string[]): Promise<string[]> {
  if (groups.length === 0) return [];
  const rows = await db<{ user_id: string }[]>`
    SELECT DISTINCT sg.user_id
    FROM unnest(${textArray(db, groups)}::text[]) AS g(value)
    JOIN organisation_sso_groups sg ON sg.organisation_id = ${organisationId} AND sg.group_value = g.value`;
  return rows.map((r) => r.user_id);
}

/** Forgets every person's stored groups (another provider lists other groups); returns whose they were. */
export async function forgetSsoGroups(db: Db, organisationId: string): Promise<string[]> {
  const people = await db<{ user_id: string }[]>`
    DELETE FROM organisation_sso_groups WHERE organisation_id = ${organisationId} RETURNING user_id`;
  return [...new Set(people.map((r) => r.user_id))];
}

/** The domain of an address, as sign-in reads it: what follows its last `@`. */
const EMAIL_DOMAIN_SQL = "substring(u.email from '@([^@]*)$')";

/** Forgets the stored groups of the people whose address is at one of these domains; returns whose they were. */
export async function forgetSsoGroupsAtDomains(db: Db, organisationId: string, domains: readonly string[]): Promise<string[]> {
  if (domains.length === 0) return [];
  const people = await db<{ user_id: string }[]>`
    DELETE FROM organisation_sso_groups sg USING users u
    WHERE sg.organisation_id = ${organisationId} AND u.id = sg.user_id
      AND ${db.unsafe(EMAIL_DOMAIN_SQL)} = ANY(${textArray(db, domains)}::text[])
    RETURNING sg.user_id`;
  return [...new Set(people.map((r) => r.user_id))];
}

/**
 * Ends the sessions the organisation's provider opened, in every workspace of the organisation (of
 * people at these domains only, when given): what it vouched for ends when it is replaced or turned
 * off, or no longer vouches for a domain. Returns how many ended.
 */
export async function endSsoSessions(db: Db, organisationId: string, domains: readonly string[] | null = null): Promise<number> {
  const ended = await db`
    UPDATE sessions s SET revoked_at = now()
    FROM users u
    WHERE u.id = s.user_id
      AND s.user_id IN (SELECT user_id FROM organisation_members WHERE organisation_id = ${organisationId})
      AND s.opened_by = 'organisation-sign-on' AND s.revoked_at IS NULL
      AND s.workspace_id IN (SELECT id FROM workspaces WHERE organisation_id = ${organisationId})
      AND (${domains === null} OR ${db.unsafe(EMAIL_DOMAIN_SQL)} = ANY(${textArray(db, domains ?? [])}::text[]))
    RETURNING s.id`;
  return ended.length;
}

/**
 * Turns the organisation's single sign-on off: its provider, its domains and their proofs, its
 * mapping, every stored group and the sessions it opened go. Returns the people who had stored groups, whose roles from them end.
 */
export async function deleteOrganisationSso(
  db: Db,
  organisationId: string,
): Promise<{ found: boolean; people: string[]; sessionsEnded: number }> {
  const deleted = await db`DELETE FROM organisation_sso WHERE organisation_id = ${organisationId} RETURNING organisation_id`;
  await db`DELETE FROM organisation_sso_group_roles WHERE organisation_id = ${organisationId}`;
  await db`DELETE FROM organisation_domains WHERE organisation_id = ${organisationId}`;
  // Sessions first: a person whose last groups go may leave the organisation (migration 0052's trigger).
  const sessionsEnded = await endSsoSessions(db, organisationId);
  const people = await forgetSsoGroups(db, organisationId);
  return { found: deleted.length > 0, people, sessionsEnded };
}

/** Stores the person's groups as this sign-in listed them, replacing what the last one did. */
export async function replacePersonSsoGroups(
  db: Db,
  organisationId: string,
  userId: string,
  groups: readonly string[],
): Promise<void> {
  await db`DELETE FROM organisation_sso_groups WHERE organisation_id = ${organisationId} AND user_id = ${userId}`;
  if (groups.length === 0) return;
  await db`
    INSERT INTO organisation_sso_groups (organisation_id, user_id, group_value)
    SELECT ${organisationId}, ${userId}, g FROM unnest(${textArray(db, [...new Set(groups)])}::text[]) AS t(g)`;
}

/** Whether any of these groups grants a role in the organisation. */
export async function anySsoGrant(db: Db, organisationId: string, groups: readonly string[]): Promise<boolean> {
  if (groups.length === 0) return false;
  const [row] = await db<{ found: boolean }[]>`
    SELECT EXISTS (
      SELECT 1 FROM organisation_sso_group_roles
      WHERE organisation_id = ${organisationId} AND group_value = ANY(${textArray(db, groups)}::text[])) AS found`;
  return row?.found ?? false;
}

// ---- the allowed domains and what proves them -----------------------------------------------------

export interface OrganisationDomainRecord {
  domain: string;
  token: string;
  verifiedAt: Date | null;
}

/** The organisation's allowed domains, by name. */
export async function organisationDomains(db: Db, organisationId: string): Promise<OrganisationDomainRecord[]> {
  const rows = await db<{ domain: string; token: string; verified_at: Date | null }[]>`
    SELECT domain, token, verified_at FROM organisation_domains WHERE organisation_id = ${organisationId} ORDER BY domain`;
  return rows.map((r) => ({ domain: r.domain, token: r.token, verifiedAt: r.verified_at }));
}

/**
 * Makes the organisation's domains these: a new one gets a token to prove it with, one left out is
 * forgotten with its proof. A domain kept keeps its token and its proof.
 */
export async function replaceOrganisationDomains(
  db: Db,
  organisationId: string,
  domains: readonly string[],
  newToken: () => string,
): Promise<void> {
  await db`
    DELETE FROM organisation_domains
    WHERE organisation_id = ${organisationId} AND NOT (domain = ANY(${textArray(db, domains)}::text[]))`;
  if (domains.length === 0) return;
  await db`
    INSERT INTO organisation_domains (organisation_id, domain, token)
    SELECT ${organisationId}, d, t
    FROM unnest(${textArray(db, domains)}::text[], ${textArray(
      db,
      domains.map(() => newToken()),
    )}::text[]) AS x(d, t)
    ON CONFLICT (organisation_id, domain) DO NOTHING`;
}

/**
 * Records the domain as proven by the record holding `token`. The unique index of proven domains
 * refuses it (23505) while another organisation holds the domain.
 */
export async function markDomainVerified(db: Db, organisationId: string, domain: string, token: string): Promise<void> {
  await db`
    UPDATE organisation_domains SET verified_at = now()
    WHERE organisation_id = ${organisationId} AND domain = ${domain} AND token = ${token} AND verified_at IS NULL`;
}

/** Whether the organisation holds this domain proven. */
export async function domainVerified(db: Db, organisationId: string, domain: string): Promise<boolean> {
  const [row] = await db<{ found: boolean }[]>`
    SELECT EXISTS (SELECT 1 FROM organisation_domains
                   WHERE organisation_id = ${organisationId} AND domain = ${domain} AND verified_at IS NOT NULL) AS found`;
  return row?.found ?? false;
}
