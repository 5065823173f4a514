import {
  DIRECTORY_QUEUE_PER_ORGANISATION,
  DIRECTORY_QUEUE_WAIT_MS,
  type Invitation,
  type MemberRole,
  SCIM_STATEMENT_TIMEOUT_MS,
} from '@outpost/sdk/contracts';
import postgres from 'postgres';
import type { ApiKeyCache } from '../../auth/db/api-keys.js';
import { releaseManagedAccount } from '../../auth/db/users.js';
import { countRows, type Db, type Sql } from '../../db/client.js';
import type { directoryGroups, directoryUsers, Row } from '../../db/schema.js';
import { iso, textArray } from '../../db/values.js';
import { DomainError } from '../../domain-error.js';
import { KEY_RANK_SQL, revokeCredentialsInOrganisation } from './credentials.js';
import { voidInvitationTokens } from './email-tokens.js';
import { deleteOrganisationMember, lockOrganisation } from './organisations.js';

/*
 * An organisation's directory (SCIM, scim/handlers.ts): the people and groups its identity provider
 * provisions, and the memberships their groups grant. Every write here runs in the caller's
 * transaction under the organisation's lock (lockOrganisation), so two provisioning calls never
 * derive roles from each other's half-made changes.
 */

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

/** Whether `value` can be an id of this service provider (anything else names nothing). */
export function isUuid(value: string): boolean {
  return UUID.test(value);
}

/** What a group grants is ranked, and a person gets the highest role any of their groups grants. */
const RANK = (column: string) =>
  `CASE ${column} WHEN 'admin' THEN 4 WHEN 'developer' THEN 3 WHEN 'runner' THEN 2 WHEN 'viewer' THEN 1 END`;

/** What deriving roles from groups changed, for the audit log. */
export interface RoleChanges {
  /** Memberships the directory made. */
  granted: number;
  /** Directory memberships whose role changed. */
  changed: number;
  /** Directory memberships no group grants any more, deleted. */
  removed: number;
  /** Sessions of those removed memberships, ended. */
  sessionsEnded: number;
  /**
   * API keys the people made in the workspaces they lost (and the sessions those keys opened),
   * revoked: a key answers to its maker (identity/db/credentials.ts). Forget them with `forgetRevokedKeys`
   * once the transaction has committed.
   */
  revokedKeyIds: string[];
  /** The workspaces where anything changed. */
  workspaceIds: string[];
}

/**
 * Makes the `directory` memberships of these people in the organisation's workspaces what their
 * groups grant, in one statement: for each person and workspace the highest role of the groups
 * they are in that map a role there — the directory's groups, and the groups their last sign-in with
 * the organisation's single sign-on listed (db/organisation-sso.ts) — counted only while their
 * directory row is active (a person with no row, known only from single sign-on, counts as active)
 * and linked to an account: a pending person (an address outside the organisation's proven domains,
 * directory_users.pending_email) is granted nothing until they accept (claimPendingDirectoryPerson). A directory
 * membership no group grants any more is deleted, and the person's sessions in that workspace end
 * and the API keys they made there are revoked;
 * one with another role is changed, and the keys the person made there above the new role are revoked
 * (a key never outranks its maker); a missing one is made: active for a person of the organisation,
 * an invitation for anyone else (an account its person made elsewhere joins no organisation unasked;
 * accepting makes them its person, by the trigger of migration 0046). A `direct` membership (given
 * by hand, or an invitation) is never touched, so a group never lowers, raises or takes away what a
 * person was given. An owner membership is never the directory's (groups never grant `owner`), and is
 * never removed or changed here even if one were: no group, claim or mapping change can take a
 * workspace's last owner away. Set-based throughout: a group of 10,000 people is one statement, not 10,000.
 */
export async function applyDirectoryRoles(db: Db, organisationId: string, userIds: readonly string[]): Promise<RoleChanges> {
  const none: RoleChanges = { granted: 0, changed: 0, removed: 0, sessionsEnded: 0, revokedKeyIds: [], workspaceIds: [] };
  if (userIds.length === 0) return none;
  const ids = textArray(db, [...new Set(userIds)]);
  return withLinearPlans(db, async () => {
    const [row] = await db<
      {
        granted: number;
        changed: number;
        removed: number;
        sessions_ended: number;
        revoked_key_ids: string[];
        workspace_ids: string[];
      }[]
    >`
      WITH places AS MATERIALIZED (
        SELECT ARRAY(SELECT id FROM workspaces WHERE organisation_id = ${organisationId}) AS ids
      ),
      grants AS (
        SELECT gm.user_id, gr.workspace_id, gr.role
        FROM directory_group_members gm
        JOIN directory_groups g ON g.id = gm.group_id
        JOIN directory_group_roles gr ON gr.group_id = gm.group_id
        WHERE gm.user_id = ANY(${ids}::uuid[])
          AND g.organisation_id = ${organisationId}
          AND gr.workspace_id = ANY((SELECT ids FROM places)::uuid[])
        UNION ALL
        SELECT sg.user_id, sr.workspace_id, sr.role
        FROM organisation_sso_groups sg
        JOIN organisation_sso_group_roles sr
          ON sr.organisation_id = sg.organisation_id AND sr.group_value = sg.group_value
        WHERE sg.organisation_id = ${organisationId} AND sg.user_id = ANY(${ids}::uuid[])
          AND sr.workspace_id = ANY((SELECT ids FROM places)::uuid[])
      ),
      wanted AS MATERIALIZED (
        SELECT x.user_id, x.workspace_id,
               (array_agg(x.role ORDER BY ${db.unsafe(RANK('x.role'))} DESC))[1] AS role
        FROM grants x
        WHERE NOT EXISTS (
            SELECT 1 FROM directory_users du
            WHERE du.organisation_id = ${organisationId} AND du.user_id = x.user_id
              AND (NOT du.active OR du.pending_email IS NOT NULL))
        GROUP BY x.user_id, x.workspace_id
      ),
      removed AS (
        DELETE FROM memberships m
        WHERE m.user_id = ANY(${ids}::uuid[]) AND m.workspace_id = ANY((SELECT ids FROM places)::uuid[])
          AND m.source = 'directory' AND m.role <> 'owner'
          AND NOT EXISTS (SELECT 1 FROM wanted x WHERE x.workspace_id = m.workspace_id AND x.user_id = m.user_id)
        RETURNING m.workspace_id, m.user_id
      ),
      changed AS (
        UPDATE memberships m SET role = x.role, updated_at = now()
        FROM wanted x
        WHERE m.user_id = ANY(${ids}::uuid[]) AND m.workspace_id = ANY((SELECT ids FROM places)::uuid[])
          AND m.workspace_id = x.workspace_id AND m.user_id = x.user_id AND m.source = 'directory' AND m.role <> 'owner' AND m.role <> x.role
        RETURNING m.workspace_id, m.user_id, m.role
      ),
      ended AS (
        UPDATE sessions s SET revoked_at = now()
        FROM removed r
        WHERE s.user_id = ANY(${ids}::uuid[]) AND s.revoked_at IS NULL
          AND s.workspace_id = r.workspace_id AND s.user_id = r.user_id
        RETURNING s.id
      ),
      -- A key answers to its maker: all of theirs go with a membership, and those above a lowered role.
      revoked AS (
        UPDATE api_keys k SET revoked_at = now()
        FROM (SELECT workspace_id, user_id, NULL::text AS role FROM removed
              UNION ALL SELECT workspace_id, user_id, role FROM changed) r
        WHERE k.created_by = ANY(${ids}::uuid[]) AND k.revoked_at IS NULL
          AND k.workspace_id = r.workspace_id AND k.created_by = r.user_id
          AND (r.role IS NULL OR ${db.unsafe(KEY_RANK_SQL('k.role'))} > ${db.unsafe(KEY_RANK_SQL('r.role'))})
        RETURNING k.id
      ),
      key_sessions AS (
        UPDATE sessions s SET revoked_at = now()
        FROM revoked k
        WHERE s.api_key_id = k.id AND s.revoked_at IS NULL
        RETURNING s.id
      ),
      -- Active for a person of the organisation; for anyone else an invitation, which grants nothing
      -- until its person accepts it: an account made elsewhere joins no organisation unasked.
      granted AS (
        INSERT INTO memberships (workspace_id, user_id, role, state, source)
        SELECT x.workspace_id, x.user_id, x.role,
               CASE WHEN EXISTS (SELECT 1 FROM organisation_members om
                                 WHERE om.organisation_id = ${organisationId} AND om.user_id = x.user_id)
                    THEN 'active' ELSE 'invited' END,
               'directory'
        FROM wanted x
        ON CONFLICT (workspace_id, user_id) DO NOTHING
        RETURNING workspace_id
      )
      SELECT (SELECT count(*) FROM granted)::int AS granted,
             (SELECT count(*) FROM changed)::int AS changed,
             (SELECT count(*) FROM removed)::int AS removed,
             (SELECT count(*) FROM ended)::int + (SELECT count(*) FROM key_sessions)::int AS sessions_ended,
             (SELECT coalesce(array_agg(id::text), '{}') FROM revoked) AS revoked_key_ids,
             (SELECT coalesce(array_agg(DISTINCT id::text), '{}') FROM (
                SELECT workspace_id AS id FROM granted UNION SELECT workspace_id FROM changed
                UNION SELECT workspace_id FROM removed) touched) AS workspace_ids`;
    if (!row) return none;
    return {
      granted: row.granted,
      changed: row.changed,
      removed: row.removed,
      sessionsEnded: row.sessions_ended,
      revokedKeyIds: row.revoked_key_ids,
      workspaceIds: row.workspace_ids,
    };
  });
}

/**
 * Runs `work` (statements over sets of up to 10,000 people) with plans that stay linear in the sets,
 * whatever the planner believes, then puts the caller's settings back (they are the transaction's):
 * - nested loops off: right after a directory's first sync the planner believes freshly filled tables
 *   hold a few rows, and a nested loop over two sets of 10,000 would be quadratic; hash joins are not;
 * - custom plans: in a cached generic plan a `= ANY($ids)` filter searches the array for every row
 *   (10,000 × 10,000 comparisons), where a plan made for the values hashes it once.
 */
export async function withLinearPlans<T>(db: Db, work: () => Promise<T>): Promise<T> {
  const [was] = await db<{ nestloop: string; plans: string }[]>`
    SELECT current_setting('enable_nestloop') AS nestloop, current_setting('plan_cache_mode') AS plans,
           set_config('enable_nestloop', 'off', true), set_config('plan_cache_mode', 'force_custom_plan', true)`;
  // Put back after success only: after a failure the transaction is aborted (no statement runs, and
  // one would hide the failure), and its rollback puts the settings back by itself.
  const result = await work();
  await db`
    SELECT set_config('enable_nestloop', ${was?.nestloop ?? 'on'}, true),
           set_config('plan_cache_mode', ${was?.plans ?? 'auto'}, true)`;
  return result;
}

/** What deprovisioning a person ended. */
export interface Deprovisioned {
  /** The workspaces whose memberships (direct or directory) they lost. */
  workspaceIds: string[];
  sessions: number;
  apiKeys: number;
  /** The revoked keys, for the caller to forget from its cache once the transaction commits. */
  apiKeyIds: string[];
  /** Organisation tokens they made, revoked: a token never outranks its maker. */
  organisationTokens: number;
}

/**
 * Takes a person's access to the organisation away at once (SCIM `active: false`, or DELETE): every
 * membership of its workspaces, given by hand or by a group, their invitations' links, their
 * organisation role, their sessions, the API keys they made there and the organisation tokens they
 * made. The caller refuses an organisation owner (scim/handlers.ts): a directory's token does not take
 * an organisation from its owners; the last owner of a workspace is refused here (a 409 naming it,
 * deleteOrganisationMember). An account one of those workspaces manages is let go, as
 * removing a person from the organisation does. The caller holds the organisation's lock.
 */
export async function deprovisionDirectoryUser(
  db: Db,
  organisationId: string,
  userId: string,
  cache?: ApiKeyCache,
): Promise<Deprovisioned> {
  const workspaceIds = await deleteOrganisationMember(db, organisationId, userId);
  for (const workspaceId of workspaceIds) {
    await voidInvitationTokens(db, userId, workspaceId);
    await releaseManagedAccount(db, userId, workspaceId);
  }
  const revoked = await revokeCredentialsInOrganisation(db, organisationId, userId, cache);
  return {
    workspaceIds,
    sessions: revoked.sessions,
    apiKeys: revoked.apiKeys,
    apiKeyIds: revoked.apiKeyIds,
    organisationTokens: revoked.organisationTokens,
  };
}

/**
 * Gives a reactivated person back what the directory gives: the organisation's `member` role (a role
 * given by hand before is not restored) and their groups' memberships. Memberships given by hand
 * are not restored either: deprovisioning ended them for good.
 */
export async function restoreDirectoryUser(db: Db, organisationId: string, userId: string): Promise<RoleChanges> {
  // Only an account the directory made is its person again unasked; another is offered invitations.
  await db`
    INSERT INTO organisation_members (organisation_id, user_id, role)
    SELECT organisation_id, user_id, 'member' FROM directory_users
    WHERE organisation_id = ${organisationId} AND user_id = ${userId} AND account_made
    ON CONFLICT (organisation_id, user_id) DO NOTHING`;
  return applyDirectoryRoles(db, organisationId, [userId]);
}

/** Makes the account a member of the organisation (never lowering a role it holds). */
export async function ensureOrganisationMember(db: Db, organisationId: string, userId: string): Promise<void> {
  await db`
    INSERT INTO organisation_members (organisation_id, user_id, role) VALUES (${organisationId}, ${userId}, 'member')
    ON CONFLICT (organisation_id, user_id) DO NOTHING`;
}

// ---- pending people: addresses outside the organisation's proven domains ------------------------------

/**
 * What the directories of organisations offer the account at `email` while it is pending there (a
 * record provisioned at that address, outside the organisation's proven domains, not yet linked):
 * for each workspace its groups map, the highest role they grant, as an invitation. Only for the
 * account's own, verified address (the caller checks it): the person proves the address, and only
 * then sees who provisioned it. Workspaces where the account has a membership (or an invitation,
 * listed already), and organisations whose directory already holds the account, offer nothing.
 */
export async function pendingDirectoryOffers(db: Db, accountId: string, email: string): Promise<Invitation[]> {
  const rows = await db<{ id: string; slug: string; name: string; ws_created_at: Date; role: MemberRole; created_at: Date }[]>`
    SELECT w.id, w.slug, w.name, w.created_at AS ws_created_at,
           (array_agg(gr.role ORDER BY ${db.unsafe(RANK('gr.role'))} DESC))[1] AS role,
           min(du.created_at) AS created_at
    FROM directory_users du
    JOIN directory_group_members gm ON gm.user_id = du.user_id
    JOIN directory_groups g ON g.id = gm.group_id AND g.organisation_id = du.organisation_id
    JOIN directory_group_roles gr ON gr.group_id = g.id
    JOIN workspaces w ON w.id = gr.workspace_id AND w.organisation_id = du.organisation_id
    WHERE du.pending_email = ${email} AND du.active
      AND NOT EXISTS (SELECT 1 FROM memberships m WHERE m.workspace_id = w.id AND m.user_id = ${accountId})
      AND NOT EXISTS (SELECT 1 FROM directory_users linked
                      WHERE linked.organisation_id = du.organisation_id AND linked.user_id = ${accountId})
    GROUP BY w.id, w.slug, w.name, w.created_at`;
  return rows.map((r) => ({
    workspace: { id: r.id, slug: r.slug, name: r.name, createdAt: iso(r.ws_created_at) },
    role: r.role,
    invitedAt: iso(r.created_at),
  }));
}

/**
 * The person at `email` accepts what the organisation's directory offers them in `workspaceId`
 * (pendingDirectoryOffers): their pending record, and their place in its groups, become their
 * account's (`accountId`), and the directory keeps knowing them by the id it had (scim_id). Their
 * groups' roles are then applied as for anyone the directory links (applyDirectoryRoles): the caller
 * activates the workspace's invitation, which makes them the organisation's person, and the
 * organisation's other workspaces stay invitations until accepted. Null when there is no such offer.
 * The caller holds the organisation's lock and has checked the account's address is verified.
 */
export async function claimPendingDirectoryPerson(
  db: Db,
  organisationId: string,
  workspaceId: string,
  accountId: string,
  email: string,
): Promise<RoleChanges | null> {
  const [pending] = await db<{ user_id: string }[]>`
    SELECT du.user_id FROM directory_users du
    WHERE du.organisation_id = ${organisationId} AND du.pending_email = ${email} AND du.active
      AND NOT EXISTS (SELECT 1 FROM directory_users linked
                      WHERE linked.organisation_id = ${organisationId} AND linked.user_id = ${accountId})
      AND EXISTS (SELECT 1 FROM directory_group_members gm
                  JOIN directory_groups g ON g.id = gm.group_id
                  JOIN directory_group_roles gr ON gr.group_id = g.id
                  WHERE gm.user_id = du.user_id AND g.organisation_id = ${organisationId} AND gr.workspace_id = ${workspaceId})
    FOR UPDATE OF du`;
  if (!pending) return null;
  await db`
    UPDATE directory_group_members gm SET user_id = ${accountId}
    FROM directory_groups g
    WHERE g.id = gm.group_id AND g.organisation_id = ${organisationId} AND gm.user_id = ${pending.user_id}
      AND NOT EXISTS (SELECT 1 FROM directory_group_members held WHERE held.group_id = gm.group_id AND held.user_id = ${accountId})`;
  await db`DELETE FROM directory_group_members WHERE user_id = ${pending.user_id}`;
  await db`
    UPDATE directory_users
    SET user_id = ${accountId}, scim_id = ${pending.user_id}, pending_email = NULL, updated_at = now()
    WHERE organisation_id = ${organisationId} AND user_id = ${pending.user_id}`;
  return applyDirectoryRoles(db, organisationId, [accountId]);
}

// ---- people ---------------------------------------------------------------------------------------

type DirectoryUserRow = Row<typeof directoryUsers> & { email: string };

/** A person as the directory provisioned them, with their account's address. */
export interface DirectoryUser {
  /** The id the directory knows them by (SCIM `id`): `userId`, or a pending person's own id once they accepted. */
  id: string;
  /** Their account's id, or a pending person's own id (directory_users.user_id: the key of groups and of every change). */
  userId: string;
  /** No account is linked: the address is outside the organisation's proven domains and its person has not accepted. */
  pending: boolean;
  userName: string;
  externalId: string | null;
  active: boolean;
  /** The SCIM attributes kept as sent (name, emails, the enterprise extension…). */
  attributes: Record<string, unknown>;
  /** The account's address; a pending person's address. */
  email: string;
  createdAt: Date;
  updatedAt: Date;
}

function toDirectoryUser(row: DirectoryUserRow): DirectoryUser {
  return {
    id: row.scim_id ?? row.user_id,
    userId: row.user_id,
    pending: row.pending_email !== null,
    userName: row.user_name,
    externalId: row.external_id,
    active: row.active,
    attributes: row.attributes,
    email: row.email,
    createdAt: row.created_at,
    updatedAt: row.updated_at,
  };
}

/** A pending person has no account: their address is the one they were provisioned with. */
const SELECT_USER = (db: Db) => db`
  SELECT du.*, coalesce(u.email, du.pending_email) AS email
  FROM directory_users du LEFT JOIN users u ON u.id = du.user_id AND du.pending_email IS NULL`;

/** The person the directory knows by `id` (its SCIM id), as a condition on `du`. */
const BY_SCIM_ID = (db: Db, id: string) => db`(du.scim_id = ${id} OR (du.scim_id IS NULL AND du.user_id = ${id}))`;

export async function countDirectoryUsers(db: Db, organisationId: string): Promise<number> {
  return countRows(db, db`directory_users WHERE organisation_id = ${organisationId}`);
}

/** The person the directory knows by `id` (SCIM `id`: DirectoryUser.id), if any. */
export async function findDirectoryUser(db: Db, organisationId: string, id: string): Promise<DirectoryUser | null> {
  if (!isUuid(id)) return null;
  const [row] = await db<DirectoryUserRow[]>`
    ${SELECT_USER(db)} WHERE du.organisation_id = ${organisationId} AND ${BY_SCIM_ID(db, id)}`;
  return row ? toDirectoryUser(row) : null;
}

/**
 * The person the organisation's directory holds at this address, if any: a pending one provisioned
 * with it, or the one linked to its account. Either way a second record of the address is refused,
 * and the answer is the organisation's own records, never whether an account exists elsewhere.
 */
export async function directoryUserAt(db: Db, organisationId: string, email: string): Promise<DirectoryUser | null> {
  const [row] = await db<DirectoryUserRow[]>`
    ${SELECT_USER(db)}
    WHERE du.organisation_id = ${organisationId}
      AND (du.pending_email = ${email}
           OR (du.pending_email IS NULL AND du.user_id = (SELECT id FROM users WHERE email = ${email})))
    LIMIT 1`;
  return row ? toDirectoryUser(row) : null;
}

/**
 * Whether the directory may make or link the account of this address: its domain is one the
 * organisation proved it holds (organisation_domains.verified_at, proven by DNS: organisation-sso-handlers.ts).
 */
export async function inProvenDomain(db: Db, organisationId: string, email: string): Promise<boolean> {
  const domain = email.slice(email.lastIndexOf('@') + 1);
  const [row] = await db<{ found: boolean }[]>`
    SELECT EXISTS (SELECT 1 FROM organisation_domains
                   WHERE organisation_id = ${organisationId} AND domain = ${domain} AND verified_at IS NOT NULL) AS found`;
  return row?.found ?? false;
}

/**
 * The account at this address when it is already a person of the organisation (organisation_members:
 * they joined by accepting, or were given a role by hand), locked until the transaction ends; null
 * otherwise, whether or not an account exists — the organisation lists its people already, so linking
 * one tells it nothing new, and nothing is learnt of anyone else.
 */
export async function organisationPersonAt(db: Db, organisationId: string, email: string): Promise<string | null> {
  const [row] = await db<{ id: string }[]>`
    SELECT u.id FROM users u
    JOIN organisation_members om ON om.user_id = u.id AND om.organisation_id = ${organisationId}
    WHERE u.email = ${email}
    FOR UPDATE OF u`;
  return row?.id ?? null;
}

/** The person holding `userName` in the organisation (regardless of case), if any. */
export async function directoryUserNamed(db: Db, organisationId: string, userName: string): Promise<DirectoryUser | null> {
  const [row] = await db<DirectoryUserRow[]>`
    ${SELECT_USER(db)} WHERE du.organisation_id = ${organisationId} AND lower(du.user_name) = lower(${userName})`;
  return row ? toDirectoryUser(row) : null;
}

/**
 * The account with this address, made when there is none: unverified, without a password and
 * managed by no workspace, so its person signs in with single sign-on or a reset link. An existing
 * account is linked as it is, locked until the transaction ends: its address, password and
 * verification are its person's own. Only for an address of a domain the organisation proved
 * (inProvenDomain): anywhere else a directory makes or links nothing (scim/handlers.ts).
 */
export async function findOrMakeAccount(
  db: Db,
  email: string,
  name: string | null,
): Promise<{ userId: string; created: boolean }> {
  const [made] = await db<{ id: string }[]>`
    INSERT INTO users (email, name) VALUES (${email}, ${name})
    ON CONFLICT (email) DO NOTHING
    RETURNING id`;
  if (made) return { userId: made.id, created: true };
  const [existing] = await db<{ id: string }[]>`SELECT id FROM users WHERE email = ${email} FOR UPDATE`;
  if (!existing) throw new Error(`the account of ${email} vanished after a conflicting insert`);
  return { userId: existing.id, created: false };
}

export interface DirectoryUserFields {
  /** The directory made the account (only on insert): see directory_users.account_made. */
  accountMade?: boolean;
  /** Only on insert: the person is pending at this address (no account; `userId` is the directory's own id). */
  pendingEmail?: string | null;
  userName: string;
  externalId: string | null;
  active: boolean;
  attributes: Record<string, unknown>;
}

export async function insertDirectoryUser(
  db: Db,
  organisationId: string,
  userId: string,
  fields: DirectoryUserFields,
): Promise<void> {
  await db`
    INSERT INTO directory_users (organisation_id, user_id, user_name, external_id, active, account_made, pending_email, attributes)
    VALUES (${organisationId}, ${userId}, ${fields.userName}, ${fields.externalId}, ${fields.active}, ${fields.accountMade ?? false},
            ${fields.pendingEmail ?? null}, ${db.json(fields.attributes as postgres.JSONValue)})`;
}

export async function updateDirectoryUser(
  db: Db,
  organisationId: string,
  userId: string,
  fields: DirectoryUserFields,
): Promise<void> {
  await db`
    UPDATE directory_users
    SET user_name = ${fields.userName}, external_id = ${fields.externalId}, active = ${fields.active},
        attributes = ${db.json(fields.attributes as postgres.JSONValue)}, updated_at = now()
    WHERE organisation_id = ${organisationId} AND user_id = ${userId}`;
}

/**
 * Forgets the person: their directory row and their place in every group of the organisation (groups
 * are touched). An account the directory made (directory_users.account_made) that nobody ever used
 * goes too (deleteUnusedAccount), so a directory that creates and deletes people leaves no accounts
 * behind. Call it once the person's memberships of the organisation are gone (deprovisioning), or the
 * account is kept.
 */
export async function deleteDirectoryUser(db: Db, organisationId: string, userId: string): Promise<{ accountDeleted: boolean }> {
  await db`
    WITH left_groups AS (
      DELETE FROM directory_group_members gm USING directory_groups g
      WHERE g.id = gm.group_id AND g.organisation_id = ${organisationId} AND gm.user_id = ${userId}
      RETURNING gm.group_id
    )
    UPDATE directory_groups SET updated_at = now() WHERE id IN (SELECT group_id FROM left_groups)`;
  const [gone] = await db<{ account_made: boolean }[]>`
    DELETE FROM directory_users WHERE organisation_id = ${organisationId} AND user_id = ${userId}
    RETURNING account_made`;
  return { accountDeleted: gone?.account_made === true && (await deleteUnusedAccount(db, userId)) };
}

/**
 * Deletes the account when nobody ever used it: no password set and no address proven (a password,
 * a sign-in with single sign-on or a followed link would have done one or the other), never signed
 * in (no session, even an ended one), no identity linked, no link used, and nothing of any
 * organisation or workspace held or made (memberships, invitations, organisation roles, another
 * directory's row, groups, keys, tokens, workspaces). Its unused emailed links go with it. The row is
 * locked first, so another organisation's directory linking the account meanwhile is seen (it waits
 * for this transaction, or this one for it). Returns whether it was deleted.
 */
async function deleteUnusedAccount(db: Db, userId: string): Promise<boolean> {
  const [locked] = await db<{ id: string }[]>`
    SELECT id FROM users
    WHERE id = ${userId} AND password_hash IS NULL AND password_changed_at IS NULL
      AND email_verified_at IS NULL AND managed_by IS NULL
    FOR UPDATE`;
  if (!locked) return false;
  const [unused] = await db<{ unused: boolean }[]>`
    SELECT NOT (
      EXISTS (SELECT 1 FROM sessions WHERE user_id = ${userId})
      OR EXISTS (SELECT 1 FROM user_identities WHERE user_id = ${userId})
      OR EXISTS (SELECT 1 FROM email_tokens WHERE user_id = ${userId} AND used_at IS NOT NULL)
      OR EXISTS (SELECT 1 FROM password_setup_tokens WHERE user_id = ${userId} AND used_at IS NOT NULL)
      OR EXISTS (SELECT 1 FROM memberships WHERE user_id = ${userId})
      OR EXISTS (SELECT 1 FROM organisation_members WHERE user_id = ${userId})
      OR EXISTS (SELECT 1 FROM directory_users WHERE user_id = ${userId})
      OR EXISTS (SELECT 1 FROM directory_group_members WHERE user_id = ${userId})
      OR EXISTS (SELECT 1 FROM organisation_sso_groups WHERE user_id = ${userId})
      OR EXISTS (SELECT 1 FROM api_keys WHERE created_by = ${userId})
      OR EXISTS (SELECT 1 FROM organisation_tokens WHERE created_by = ${userId})
      OR EXISTS (SELECT 1 FROM organisations WHERE created_by = ${userId})
      OR EXISTS (SELECT 1 FROM workspaces WHERE created_by = ${userId})
    ) AS unused`;
  if (!unused?.unused) return false;
  await db`DELETE FROM email_tokens WHERE user_id = ${userId}`;
  await db`DELETE FROM password_setup_tokens WHERE user_id = ${userId}`;
  const deleted = await db`DELETE FROM users WHERE id = ${userId} RETURNING id`;
  return deleted.length > 0;
}

/** One equality a list's filter asks of people; the conditions of a filter all hold. */
export type UserCondition =
  | { attr: 'id' | 'userName' | 'externalId' | 'email'; value: string }
  | { attr: 'active'; value: boolean };

function userCondition(db: Db, c: UserCondition) {
  switch (c.attr) {
    case 'id':
      return isUuid(c.value) ? BY_SCIM_ID(db, c.value) : db`FALSE`;
    case 'userName':
      // The expression index (organisation_id, lower(user_name)).
      return db`lower(du.user_name) = lower(${c.value})`;
    case 'externalId':
      return db`du.external_id = ${c.value}`;
    case 'active':
      return db`du.active = ${c.value}`;
    case 'email':
      // The account's address, or any address the directory sent, regardless of case.
      return db`(coalesce(u.email, du.pending_email) = lower(${c.value}) OR EXISTS (
        SELECT 1 FROM jsonb_array_elements(CASE WHEN jsonb_typeof(du.attributes->'emails') = 'array'
                                                THEN du.attributes->'emails' ELSE '[]'::jsonb END) e
        WHERE lower(e->>'value') = lower(${c.value})))`;
  }
}

function conditions(db: Db, organisationId: string, where: readonly UserCondition[]) {
  return where.reduce((sql, c) => db`${sql} AND ${userCondition(db, c)}`, db`du.organisation_id = ${organisationId}`);
}

/** A page of the organisation's people matching every condition, in the order they were provisioned, and how many match. */
export async function listDirectoryUsers(
  db: Db,
  organisationId: string,
  where: readonly UserCondition[],
  offset: number,
  limit: number,
): Promise<{ total: number; items: DirectoryUser[] }> {
  const filter = conditions(db, organisationId, where);
  const total = await countRows(
    db,
    db`directory_users du LEFT JOIN users u ON u.id = du.user_id AND du.pending_email IS NULL WHERE ${filter}`,
  );
  const rows =
    limit === 0
      ? []
      : await db<DirectoryUserRow[]>`
          ${SELECT_USER(db)} WHERE ${filter}
          ORDER BY du.created_at, du.user_id
          OFFSET ${offset} LIMIT ${limit}`;
  return { total, items: rows.map(toDirectoryUser) };
}

/** The organisation's groups each person is in, by person. */
export async function groupsOfUsers(
  db: Db,
  organisationId: string,
  userIds: readonly string[],
): Promise<Map<string, { id: string; displayName: string }[]>> {
  const found = new Map<string, { id: string; displayName: string }[]>(userIds.map((id) => [id, []]));
  if (userIds.length === 0) return found;
  const rows = await db<{ user_id: string; id: string; display_name: string }[]>`
    SELECT gm.user_id, g.id, g.display_name
    FROM directory_group_members gm JOIN directory_groups g ON g.id = gm.group_id
    WHERE gm.user_id = ANY(${textArray(db, userIds)}::uuid[]) AND g.organisation_id = ${organisationId}
    ORDER BY lower(g.display_name), g.id`;
  for (const row of rows) found.get(row.user_id)?.push({ id: row.id, displayName: row.display_name });
  return found;
}

/** Of these values, those that are not people provisioned in the organisation (ids or not). */
export async function notProvisioned(db: Db, organisationId: string, values: readonly string[]): Promise<string[]> {
  const known = await directoryKeys(db, organisationId, values);
  return values.filter((v) => !known.has(v.toLowerCase()));
}

/**
 * Of these values (ids the directory knows people by: DirectoryUser.id), those naming a person
 * provisioned in the organisation, lowercased, each with the person's directory_users.user_id (the
 * key of their groups). The two differ only for a pending person who accepted.
 */
export async function directoryKeys(db: Db, organisationId: string, values: readonly string[]): Promise<Map<string, string>> {
  const ids = values.filter(isUuid).map((v) => v.toLowerCase());
  const known = new Map<string, string>();
  if (ids.length === 0) return known;
  // One index lookup per id: `user_id = ANY($ids)` in a cached generic plan would compare every
  // row of the organisation's directory with every id (10,000 × 50,000), whatever the statistics.
  // (No condition on scim_id here: a new column's guessed selectivity would turn it quadratic.)
  const rows = await db<{ user_id: string; scim_id: string | null }[]>`
    SELECT du.user_id, du.scim_id FROM unnest(${textArray(db, ids)}::uuid[]) AS wanted(id)
    JOIN directory_users du ON du.organisation_id = ${organisationId} AND du.user_id = wanted.id`;
  // A person who accepted is known by their scim_id only (their user_id is their account's).
  for (const row of rows) if (row.scim_id === null) known.set(row.user_id, row.user_id);
  if (known.size < ids.length) {
    const accepted = await acceptedPeople(db, organisationId);
    for (const id of ids) {
      const key = accepted.byScimId.get(id);
      if (key !== undefined) known.set(id, key);
    }
  }
  return known;
}

/**
 * The organisation's people who accepted after being pending, the only ones whose id for the
 * directory (scim_id) is not their key (user_id): one scan of the partial index of scim_id, which
 * holds them alone.
 */
async function acceptedPeople(
  db: Db,
  organisationId: string,
): Promise<{ byScimId: Map<string, string>; byKey: Map<string, string> }> {
  const rows = await db<{ user_id: string; scim_id: string }[]>`
    SELECT user_id, scim_id FROM directory_users WHERE organisation_id = ${organisationId} AND scim_id IS NOT NULL`;
  return {
    byScimId: new Map(rows.map((r) => [r.scim_id, r.user_id])),
    byKey: new Map(rows.map((r) => [r.user_id, r.scim_id])),
  };
}

// ---- groups ---------------------------------------------------------------------------------------

type DirectoryGroupRow = Row<typeof directoryGroups>;

export interface DirectoryGroupRecord {
  id: string;
  displayName: string;
  externalId: string | null;
  createdAt: Date;
  updatedAt: Date;
}

function toGroup(row: DirectoryGroupRow): DirectoryGroupRecord {
  return {
    id: row.id,
    displayName: row.display_name,
    externalId: row.external_id,
    createdAt: row.created_at,
    updatedAt: row.updated_at,
  };
}

export async function countDirectoryGroups(db: Db, organisationId: string): Promise<number> {
  return countRows(db, db`directory_groups WHERE organisation_id = ${organisationId}`);
}

export async function findDirectoryGroup(db: Db, organisationId: string, id: string): Promise<DirectoryGroupRecord | null> {
  if (!isUuid(id)) return null;
  const [row] = await db<DirectoryGroupRow[]>`
    SELECT * FROM directory_groups WHERE organisation_id = ${organisationId} AND id = ${id}`;
  return row ? toGroup(row) : null;
}

/** The group named `displayName` in the organisation (regardless of case), if any. */
export async function directoryGroupNamed(
  db: Db,
  organisationId: string,
  displayName: string,
): Promise<DirectoryGroupRecord | null> {
  const [row] = await db<DirectoryGroupRow[]>`
    SELECT * FROM directory_groups WHERE organisation_id = ${organisationId} AND lower(display_name) = lower(${displayName})`;
  return row ? toGroup(row) : null;
}

export async function insertDirectoryGroup(
  db: Db,
  organisationId: string,
  fields: { displayName: string; externalId: string | null },
): Promise<DirectoryGroupRecord> {
  const [row] = await db<DirectoryGroupRow[]>`
    INSERT INTO directory_groups (organisation_id, display_name, external_id)
    VALUES (${organisationId}, ${fields.displayName}, ${fields.externalId})
    RETURNING *`;
  if (!row) throw new Error('insert returned no row');
  return toGroup(row);
}

export async function updateDirectoryGroup(
  db: Db,
  id: string,
  fields: { displayName: string; externalId: string | null },
): Promise<void> {
  await db`
    UPDATE directory_groups SET display_name = ${fields.displayName}, external_id = ${fields.externalId}, updated_at = now()
    WHERE id = ${id}`;
}

/** Deletes the group (its members and roles go with it); returns who was in it. */
export async function deleteDirectoryGroup(db: Db, id: string): Promise<string[]> {
  const members = await groupMemberIds(db, id);
  await db`DELETE FROM directory_groups WHERE id = ${id}`;
  return members;
}

export async function groupMemberIds(db: Db, groupId: string): Promise<string[]> {
  const rows = await db<{ user_id: string }[]>`SELECT user_id FROM directory_group_members WHERE group_id = ${groupId}`;
  return rows.map((r) => r.user_id);
}

/** These members of a group (their keys: groupMemberIds) as the directory knows them (DirectoryUser.id): what a PATCH starts from. */
export async function groupMemberScimIds(db: Db, organisationId: string, memberKeys: readonly string[]): Promise<string[]> {
  if (memberKeys.length === 0) return [];
  const { byKey } = await acceptedPeople(db, organisationId);
  return memberKeys.map((key) => byKey.get(key) ?? key);
}

/** Makes the group's members exactly `userIds` (people of its organisation), in two statements; who came and went. */
export async function setGroupMembers(
  db: Db,
  groupId: string,
  userIds: readonly string[],
): Promise<{ added: string[]; removed: string[] }> {
  const wanted = textArray(db, userIds);
  return withLinearPlans(db, async () => {
    const removed = await db<{ user_id: string }[]>`
      DELETE FROM directory_group_members WHERE group_id = ${groupId} AND NOT (user_id = ANY(${wanted}::uuid[]))
      RETURNING user_id`;
    const added = await db<{ user_id: string }[]>`
      INSERT INTO directory_group_members (group_id, user_id)
      SELECT ${groupId}, unnest(${wanted}::uuid[])
      ON CONFLICT (group_id, user_id) DO NOTHING
      RETURNING user_id`;
    return { added: added.map((r) => r.user_id), removed: removed.map((r) => r.user_id) };
  });
}

export type GroupCondition = { attr: 'id' | 'displayName' | 'externalId' | 'member'; value: string };

function groupCondition(db: Db, organisationId: string, c: GroupCondition) {
  switch (c.attr) {
    case 'id':
      return isUuid(c.value) ? db`g.id = ${c.value}` : db`FALSE`;
    case 'displayName':
      // The expression index (organisation_id, lower(display_name)).
      return db`lower(g.display_name) = lower(${c.value})`;
    case 'externalId':
      return db`g.external_id = ${c.value}`;
    case 'member':
      // The value is the id the directory knows the person by (DirectoryUser.id): their key is found
      // once, then each group is one lookup of its members' primary key.
      return isUuid(c.value)
        ? db`EXISTS (SELECT 1 FROM directory_group_members gm
                     WHERE gm.group_id = g.id
                       AND gm.user_id = (SELECT du.user_id FROM directory_users du
                                         WHERE du.organisation_id = ${organisationId} AND ${BY_SCIM_ID(db, c.value)}))`
        : db`FALSE`;
  }
}

/** A page of the organisation's groups matching every condition, oldest first, each with how many members it has. */
export async function listDirectoryGroups(
  db: Db,
  organisationId: string,
  where: readonly GroupCondition[],
  offset: number,
  limit: number,
): Promise<{ total: number; items: (DirectoryGroupRecord & { memberCount: number })[] }> {
  const filter = where.reduce(
    (sql, c) => db`${sql} AND ${groupCondition(db, organisationId, c)}`,
    db`g.organisation_id = ${organisationId}`,
  );
  const total = await countRows(db, db`directory_groups g WHERE ${filter}`);
  const rows =
    limit === 0
      ? []
      : await db<(DirectoryGroupRow & { member_count: number })[]>`
          SELECT g.*, (SELECT count(*)::int FROM directory_group_members gm WHERE gm.group_id = g.id) AS member_count
          FROM directory_groups g WHERE ${filter}
          ORDER BY g.created_at, g.id
          OFFSET ${offset} LIMIT ${limit}`;
  return { total, items: rows.map((row) => ({ ...toGroup(row), memberCount: row.member_count })) };
}

/** A group member as a group answers them: their id and the name to show. */
export interface GroupMember {
  /** The id the directory knows them by (DirectoryUser.id). */
  userId: string;
  display: string;
}

/**
 * The members of these groups (of one organisation), by group, in the order they were provisioned.
 * The organisation is a constant of the query, so each member's directory row is one lookup of its
 * primary key, whatever the planner believes of tables a first sync has just filled.
 */
export async function membersOfGroups(
  db: Db,
  organisationId: string,
  groupIds: readonly string[],
): Promise<Map<string, GroupMember[]>> {
  const found = new Map<string, GroupMember[]>(groupIds.map((id) => [id, []]));
  if (groupIds.length === 0) return found;
  const rows = await db<{ group_id: string; user_id: string; display: string }[]>`
    SELECT gm.group_id, coalesce(du.scim_id, gm.user_id) AS user_id,
           coalesce(nullif(du.attributes->>'displayName', ''), du.user_name, u.email, du.pending_email) AS display
    FROM directory_group_members gm
    LEFT JOIN users u ON u.id = gm.user_id
    LEFT JOIN directory_users du ON du.organisation_id = ${organisationId} AND du.user_id = gm.user_id
    WHERE gm.group_id = ANY(${textArray(db, groupIds)}::uuid[])
    ORDER BY du.created_at, gm.user_id`;
  for (const row of rows) found.get(row.group_id)?.push({ userId: row.user_id, display: row.display });
  return found;
}

const queueBusy = (why: string) =>
  new DomainError('unavailable', `the organisation's directory is busy (${why}); nothing was changed: retry`, {
    retryAfterSeconds: 5,
  });

/**
 * At most `capacity` calls of each organisation's directory at a time in this process, the others
 * waiting in memory (DIRECTORY_QUEUE_PER_ORGANISATION of them, each up to DIRECTORY_QUEUE_WAIT_MS): only
 * the running ones hold database connections, so an identity provider sending in parallel takes one
 * or two connections of the pool, not all of them. The organisation's advisory lock still orders
 * writes across processes.
 */
class OrganisationQueue {
  readonly #lines = new Map<string, { running: number; waiting: (() => void)[] }>();

  constructor(private readonly capacity: number) {}

  async run<T>(organisationId: string, work: () => Promise<T>): Promise<T> {
    let line = this.#lines.get(organisationId);
    if (!line) {
      line = { running: 0, waiting: [] };
      this.#lines.set(organisationId, line);
    }
    // A turn handed over by a call that ended keeps its place in `running`.
    if (line.running < this.capacity) line.running += 1;
    else await this.#wait(line.waiting);
    try {
      return await work();
    } finally {
      const next = line.waiting.shift();
      if (next) next();
      else {
        line.running -= 1;
        if (line.running === 0) this.#lines.delete(organisationId);
      }
    }
  }

  #wait(queue: (() => void)[]): Promise<void> {
    if (queue.length >= DIRECTORY_QUEUE_PER_ORGANISATION) {
      return Promise.reject(queueBusy(`${DIRECTORY_QUEUE_PER_ORGANISATION} calls are waiting`));
    }
    return new Promise<void>((resolve, reject) => {
      const go = () => {
        clearTimeout(timer);
        resolve();
      };
      const timer = setTimeout(() => {
        const at = queue.indexOf(go);
        if (at >= 0) queue.splice(at, 1);
        reject(queueBusy(`waited ${DIRECTORY_QUEUE_WAIT_MS / 1000} seconds`));
      }, DIRECTORY_QUEUE_WAIT_MS);
      timer.unref();
      queue.push(go);
    });
  }
}

/** One write at a time per organisation (they take its lock anyway); two reads. */
const writes = new OrganisationQueue(1);
const reads = new OrganisationQueue(2);

/**
 * Runs `work` in one transaction whose statements are cancelled after SCIM_STATEMENT_TIMEOUT_MS: the
 * directory's calls and the changes of what its groups grant recompute memberships for up to
 * SCIM_GROUP_MEMBERS_MAX people, under the organisation's lock, which a write takes first. A call
 * cut short changes nothing and is a 503 saying so.
 */
export async function directoryTransaction<T>(
  sql: Sql,
  organisationId: string,
  write: boolean,
  work: (tx: Db) => Promise<T>,
): Promise<T> {
  return (write ? writes : reads).run(organisationId, () => directoryTransactionNow(sql, organisationId, write, work));
}

async function directoryTransactionNow<T>(
  sql: Sql,
  organisationId: string,
  write: boolean,
  work: (tx: Db) => Promise<T>,
): Promise<T> {
  try {
    return (await sql.begin(async (tx) => {
      await tx`SELECT set_config('statement_timeout', ${String(SCIM_STATEMENT_TIMEOUT_MS)}, true)`;
      if (write) await lockOrganisation(tx, organisationId);
      return work(tx);
    })) as T;
  } catch (error) {
    if (error instanceof postgres.PostgresError && error.code === '57014') {
      throw new DomainError(
        'unavailable',
        `the change took longer than ${SCIM_STATEMENT_TIMEOUT_MS / 1000} seconds, its limit, and changed nothing: retry it`,
        { retryAfterSeconds: 5 },
      );
    }
    throw error;
  }
}

/**
 * Refuses to take away by hand what the directory keeps giving: its next change for the person
 * would give it back. A membership a group grants is the directory's (change the group or what it
 * grants); a person the directory keeps active is the directory's (deactivate or unassign them there).
 */
export async function assertNotTheDirectorys(
  db: Db,
  what: { organisationId: string; userId: string; workspaceId?: string },
): Promise<void> {
  const [row] = await db<{ provisioned: boolean; granted: boolean }[]>`
    SELECT EXISTS (SELECT 1 FROM directory_users
                   WHERE organisation_id = ${what.organisationId} AND user_id = ${what.userId} AND active) AS provisioned,
           EXISTS (SELECT 1 FROM memberships
                   WHERE workspace_id = ${what.workspaceId ?? null}::uuid AND user_id = ${what.userId}
                     AND source = 'directory') AS granted`;
  if (what.workspaceId === undefined && row?.provisioned) {
    throw new DomainError(
      'conflict',
      "the organisation's directory provisions this person: deactivate or unassign them in the identity provider, which takes their access away here at once",
    );
  }
  if (what.workspaceId !== undefined && row?.granted) {
    throw new DomainError(
      'conflict',
      "this membership comes from the person's groups (the directory's, or those their single sign-on lists): take them out of the group, or change what the group grants (the organisation's Groups, or its single sign-on mapping)",
    );
  }
}
