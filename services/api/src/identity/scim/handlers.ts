import { randomUUID } from 'node:crypto';
import {
  ScimGroupRequest as GroupBody,
  groupDigits,
  type RouteName,
  SCIM_GROUPS_PER_ORGANISATION,
  SCIM_LIST_MEMBERS_MAX,
  SCIM_PAGE_DEFAULT,
  SCIM_PAGE_MAX,
  SCIM_SCHEMAS,
  SCIM_USERS_PER_ORGANISATION,
  type ScimGroupRequest,
  type ScimListQuery,
  type ScimPatchOperation,
  type ScimUserRequest,
  ScimUserRequest as UserBody,
} from '@outpost/sdk/contracts';
import * as z from 'zod';
import { allOrganisationWorkspaces } from '../../auth/db/organisation-tokens.js';
import { normaliseEmail } from '../../auth/db/users.js';
import { assertTokenFor, type OrganisationTokenCaller } from '../../auth/organisation-tokens.js';
import type { AppDeps } from '../../context.js';
import type { Db } from '../../db/client.js';
import { isDomainError, notFound } from '../../domain-error.js';
import { ApiError, zodFieldErrors } from '../../errors.js';
import type { HandlerContext, Handlers } from '../../http/route-types.js';
import { ScimProblem, scimBadRequest } from '../../http/scim-errors.js';
import { forgetRevokedKeys } from '../db/credentials.js';
import {
  applyDirectoryRoles,
  countDirectoryGroups,
  countDirectoryUsers,
  type Deprovisioned,
  type DirectoryGroupRecord,
  type DirectoryUser,
  deleteDirectoryGroup,
  deleteDirectoryUser,
  deprovisionDirectoryUser,
  directoryGroupNamed,
  directoryKeys,
  directoryTransaction,
  directoryUserAt,
  directoryUserNamed,
  ensureOrganisationMember,
  findDirectoryGroup,
  findDirectoryUser,
  findOrMakeAccount,
  groupMemberIds,
  groupMemberScimIds,
  groupsOfUsers,
  inProvenDomain,
  insertDirectoryGroup,
  insertDirectoryUser,
  listDirectoryGroups,
  listDirectoryUsers,
  membersOfGroups,
  organisationPersonAt,
  type RoleChanges,
  restoreDirectoryUser,
  setGroupMembers,
  updateDirectoryGroup,
  updateDirectoryUser,
} from '../db/directory.js';
import { assertTokenMayStaff } from '../organisations.js';
import { GROUP_SCHEMA, USER_SCHEMA } from './attributes.js';
import { resourceTypes, schemaDocuments, serviceProviderConfig } from './discovery.js';
import { type CompiledOperation, compilePatch, PatchApplier } from './patch.js';
import { groupConditions, userConditions } from './query.js';
import {
  accountName,
  answers,
  groupDocument,
  keptUserAttributes,
  memberValues,
  type Projection,
  project,
  projection,
  renderGroup,
  renderUser,
  scimBaseUrl,
  userDocument,
} from './resources.js';

/*
 * The organisation's SCIM 2.0 service provider (docs/organisations.md, "Directory provisioning
 * (SCIM)"). Only an organisation token with the `scim` scope reaches these handlers (the route table's
 * `organisationTokenOnly`), for its own organisation. Every write takes the organisation's lock in one
 * transaction with a statement timeout, so a provisioning call is all or nothing, never races another,
 * and takes bounded time; every input was bounded where it arrived (the contract's SCIM_* limits).
 */

type Ctx<N extends RouteName> = HandlerContext<N>;

/** The calling token, for the organisation the path names: another organisation's path is a 404. */
function tokenFor(ctx: { organisationToken: OrganisationTokenCaller | null; params: { org: string } }): OrganisationTokenCaller {
  const token = ctx.organisationToken;
  if (!token) throw new Error('a SCIM route was reached without an organisation token');
  assertTokenFor(token, ctx.params.org);
  return token;
}

const baseOf = (deps: AppDeps, token: OrganisationTokenCaller) => scimBaseUrl(deps.publicUrl, token.organisationSlug);

/** One transaction under the directory's time limit (db/directory.ts inDirectory); a write holds the organisation's lock. */
const inDirectory = <T>(deps: AppDeps, organisationId: string, write: boolean, work: (tx: Db) => Promise<T>): Promise<T> =>
  directoryTransaction(deps.sql, organisationId, write, work);

/**
 * Deprovisions a person (db/directory.ts), unless they own the organisation: a directory, or whoever
 * holds its token, does not take the organisation from its owners. An owner is made an admin (or
 * removed) by another owner first; the organisation is never left without one by a token. The token
 * acts with its maker's powers (assertTokenMayStaff), and a workspace is never left without an owner
 * (db/organisations.ts deleteOrganisationMember: a 409 naming it).
 */
async function deprovision(deps: AppDeps, tx: Db, token: OrganisationTokenCaller, userId: string): Promise<Deprovisioned> {
  await assertTokenMayStaff(tx, token, [userId]);
  const [owner] = await tx<{ role: string }[]>`
    SELECT role FROM organisation_members
    WHERE organisation_id = ${token.organisationId} AND user_id = ${userId} AND role = 'owner'`;
  if (owner) {
    throw new ScimProblem(
      'validation_failed',
      'mutability',
      'this person owns the organisation, and the directory does not deprovision an owner: another owner changes their organisation role first',
    );
  }
  try {
    return await deprovisionDirectoryUser(tx, token.organisationId, userId, deps.apiKeys);
  } catch (error) {
    // The last owner of a workspace: a 409 of no `scimType` (SCIM's 409s are otherwise `uniqueness`).
    if (isDomainError(error, 'conflict')) throw new ScimProblem('conflict', null, error.message);
    throw error;
  }
}

/** What deprovisioning a pending person takes away: nothing, as they hold nothing (no account is theirs yet). */
const NOTHING_DEPROVISIONED: Deprovisioned = { workspaceIds: [], sessions: 0, apiKeys: 0, apiKeyIds: [], organisationTokens: 0 };

/** Deprovisions the person: a linked one as `deprovision` does; a pending one holds nothing to take. */
async function deprovisionPerson(deps: AppDeps, tx: Db, token: OrganisationTokenCaller, person: DirectoryUser) {
  return person.pending ? NOTHING_DEPROVISIONED : deprovision(deps, tx, token, person.userId);
}

/** What an audit entry of a provisioning call records, filled in as the call goes. */
interface Recorded {
  resultIds: Record<string, string>;
  summary: Record<string, unknown>;
}

/**
 * Notes the call in the audit log of every workspace of the organisation, with the token as its actor:
 * a provisioning change is a change of the organisation's people, which each workspace's admins see,
 * as they see a change of organisation role. Noted before the work, so a refusal is recorded too
 * (with its status); `resultIds` and `summary` are the entries' own objects, completed on success.
 */
async function recordIn(
  ctx: Ctx<RouteName>,
  token: OrganisationTokenCaller,
  targetIds: Record<string, string>,
  summary: Record<string, unknown>,
): Promise<Recorded> {
  const recorded: Recorded = { resultIds: {}, summary: { ...summary } };
  for (const workspace of await allOrganisationWorkspaces(ctx.deps.sql, token.organisationId)) {
    ctx.audit({
      workspaceId: workspace.id,
      actorKind: 'organisation_token',
      actorId: token.tokenId,
      targetIds,
      resultIds: recorded.resultIds,
      summary: recorded.summary,
    });
  }
  return recorded;
}

/** What a change of roles and a deprovisioning did, for the audit summary. */
/**
 * What a committed provisioning call did, for its audit entry; and this app's cache of verified keys
 * forgets the keys it revoked (identity/db/credentials.ts: other replicas stop believing them within seconds).
 */
function settled(deps: AppDeps, changes: RoleChanges | null, deprovisioned: Deprovisioned | null): Record<string, number> {
  forgetRevokedKeys(deps.apiKeys, [...(changes?.revokedKeyIds ?? []), ...(deprovisioned?.apiKeyIds ?? [])]);
  return {
    ...(changes
      ? {
          membershipsGranted: changes.granted,
          membershipsChanged: changes.changed,
          membershipsRemoved: changes.removed,
          apiKeysRevoked: changes.revokedKeyIds.length,
        }
      : {}),
    ...(deprovisioned
      ? {
          membershipsRemoved: deprovisioned.workspaceIds.length,
          sessionsEnded: deprovisioned.sessions,
          apiKeysRevoked: deprovisioned.apiKeys,
          organisationTokensRevoked: deprovisioned.organisationTokens,
        }
      : {}),
  };
}

/** startIndex (1-based, less than 1 is 1) and count (negative is 0, at most SCIM_PAGE_MAX), as RFC 7644 §3.4.2.4 reads them. */
function paging(query: ScimListQuery): { startIndex: number; count: number } {
  const startIndex = Math.min(Math.max(query.startIndex ?? 1, 1), 1_000_000_000);
  const count = Math.min(Math.max(query.count ?? SCIM_PAGE_DEFAULT, 0), SCIM_PAGE_MAX);
  return { startIndex, count };
}

function listOf<T>(total: number, startIndex: number, items: T[]) {
  return {
    schemas: [SCIM_SCHEMAS.listResponse],
    totalResults: total,
    itemsPerPage: items.length,
    startIndex,
    Resources: items,
  };
}

/** The resource a PATCH made, as a PUT body; one that is not valid is the 400 a PUT of it would get, with its field paths. */
function patchedResource<T>(schema: z.ZodType<T>, doc: unknown, what: string): T {
  const parsed = schema.safeParse(doc);
  if (parsed.success) return parsed.data;
  throw new ApiError('validation_failed', `the PATCH would leave the ${what} invalid`, {
    errors: zodFieldErrors('', parsed.error),
  });
}

// ---- people -----------------------------------------------------------------------------------------

const EMAIL = z.email();

/**
 * The address that finds or makes the person's account: their primary email, else their work
 * email, else their first one, else userName when it is an address.
 */
function addressOf(body: ScimUserRequest): string {
  const emails = (body.emails ?? []).filter((e) => typeof e.value === 'string' && e.value !== '');
  const chosen =
    emails.find((e) => e.primary === true) ?? emails.find((e) => e.type?.toLowerCase() === 'work') ?? emails[0] ?? null;
  const address = chosen?.value ?? body.userName;
  if (!EMAIL.safeParse(address.trim()).success) {
    throw scimBadRequest(
      'invalidValue',
      chosen
        ? `emails: "${address}" is not an email address: the primary email finds or makes the person's account`
        : "give the person's email address in emails (or as userName): it finds or makes their account",
    );
  }
  return normaliseEmail(address);
}

/**
 * Who a person the directory provisions at `address` is (docs/organisations.md, "Directory
 * provisioning (SCIM)"). In a domain the organisation proved it holds, their account, found or made
 * (`made`). Anywhere else the directory makes and claims nothing: the account of someone who is
 * already a person of the organisation is linked (the organisation lists its people anyway), and
 * anyone else is pending — a record at the address (`pendingEmail`) with an id of its own, no
 * account made or linked, and nothing granted until the person, signed in with that address
 * proven, accepts what the groups offer. So whether an account exists at an address outside the
 * proven domains changes nothing the directory, or the organisation, is answered.
 */
async function newPerson(
  tx: Db,
  organisationId: string,
  address: string,
  name: string | null,
): Promise<{ userId: string; made: boolean; pendingEmail: string | null }> {
  if (await inProvenDomain(tx, organisationId, address)) {
    const account = await findOrMakeAccount(tx, address, name);
    return { userId: account.userId, made: account.created, pendingEmail: null };
  }
  const person = await organisationPersonAt(tx, organisationId, address);
  if (person !== null) return { userId: person, made: false, pendingEmail: null };
  return { userId: randomUUID(), made: false, pendingEmail: address };
}

function userNameTaken(userName: string): ScimProblem {
  return new ScimProblem('conflict', 'uniqueness', `the userName "${userName}" is already provisioned in this organisation`);
}

/** The person the directory knows by `id` (DirectoryUser.id), as a resource. */
async function renderedUser(tx: Db, token: OrganisationTokenCaller, base: string, id: string, p: Projection | null) {
  const user = (await findDirectoryUser(tx, token.organisationId, id)) as DirectoryUser;
  const groups =
    p === null || answers(p, 'groups')
      ? ((await groupsOfUsers(tx, token.organisationId, [user.userId])).get(user.userId) ?? [])
      : null;
  const resource = renderUser(user, groups, base);
  return p === null ? resource : project(resource, p);
}

/**
 * Makes the stored person what `body` says (PUT, and what a PATCH made): userName (unique in the
 * organisation regardless of case), externalId, active and the attributes kept. The account is not
 * changed: its address, name and password are its person's own. `active` absent keeps what it was;
 * false deprovisions, true again restores what the directory gives.
 */
async function replaceUser(deps: AppDeps, tx: Db, token: OrganisationTokenCaller, current: DirectoryUser, body: ScimUserRequest) {
  if (body.userName.toLowerCase() !== current.userName.toLowerCase()) {
    const holder = await directoryUserNamed(tx, token.organisationId, body.userName);
    if (holder && holder.userId !== current.userId) throw userNameTaken(body.userName);
  }
  const active = body.active ?? current.active;
  await updateDirectoryUser(tx, token.organisationId, current.userId, {
    userName: body.userName,
    externalId: body.externalId ?? null,
    active,
    attributes: keptUserAttributes(body),
  });
  let changes: RoleChanges | null = null;
  let deprovisioned: Deprovisioned | null = null;
  if (current.active && !active) deprovisioned = await deprovisionPerson(deps, tx, token, current);
  if (!current.active && active) {
    await assertTokenMayStaff(tx, token, [current.userId]);
    changes = await restoreDirectoryUser(tx, token.organisationId, current.userId);
  }
  return { changes, deprovisioned };
}

/** A change of a person, PUT or PATCH: `make` turns the stored person into the body to store. */
async function changeUser(
  ctx: Ctx<'scimUsersReplace' | 'scimUsersPatch'>,
  make: (current: DirectoryUser) => ScimUserRequest | Promise<ScimUserRequest>,
) {
  const { deps, params } = ctx;
  const token = tokenFor(ctx);
  const base = baseOf(deps, token);
  const recorded = await recordIn(ctx, token, { userId: params.id }, {});
  const done = await inDirectory(deps, token.organisationId, true, async (tx) => {
    const current = await findDirectoryUser(tx, token.organisationId, params.id);
    if (!current) throw notFound('user');
    const body = await make(current);
    const outcome = await replaceUser(deps, tx, token, current, body);
    return { ...outcome, body, resource: await renderedUser(tx, token, base, current.id, null) };
  });
  recorded.resultIds.userId = done.resource.id;
  Object.assign(
    recorded.summary,
    { userName: done.body.userName, active: done.resource.active },
    settled(deps, done.changes, done.deprovisioned),
  );
  return done.resource;
}

// ---- groups -----------------------------------------------------------------------------------------

/**
 * The members a group's body names, each a person provisioned in the organisation, as their keys
 * (directory_users.user_id); anyone else is a 400 naming them.
 */
async function checkedMembers(tx: Db, token: OrganisationTokenCaller, body: ScimGroupRequest): Promise<string[]> {
  const values = memberValues(body);
  const keys = await directoryKeys(tx, token.organisationId, values);
  const unknown = values.filter((v) => !keys.has(v));
  if (unknown.length > 0) {
    const named = unknown.slice(0, 10).map((v) => `"${v}"`);
    if (unknown.length > 10) named.push(`and ${unknown.length - 10} more`);
    throw scimBadRequest(
      'invalidValue',
      `members: ${named.join(', ')} ${unknown.length === 1 ? 'is not a person' : 'are not people'} provisioned in this organisation (groups hold people, not groups)`,
    );
  }
  return [...new Set(values.map((v) => keys.get(v) as string))];
}

function groupNameTaken(displayName: string): ScimProblem {
  return new ScimProblem('conflict', 'uniqueness', `the displayName "${displayName}" is already a group of this organisation`);
}

async function renderedGroup(
  tx: Db,
  token: OrganisationTokenCaller,
  base: string,
  group: DirectoryGroupRecord,
  p: Projection | null,
) {
  const members =
    p === null || answers(p, 'members')
      ? ((await membersOfGroups(tx, token.organisationId, [group.id])).get(group.id) ?? [])
      : null;
  const resource = renderGroup(group, members, base);
  return p === null ? resource : project(resource, p);
}

/** A change of a group, PUT or PATCH: `make` turns the stored group (and its members' ids, as the directory knows them) into the body to store. */
async function changeGroup(
  ctx: Ctx<'scimGroupsReplace' | 'scimGroupsPatch'>,
  make: (current: DirectoryGroupRecord, memberIds: string[]) => ScimGroupRequest | Promise<ScimGroupRequest>,
) {
  const { deps, params } = ctx;
  const token = tokenFor(ctx);
  const base = baseOf(deps, token);
  const recorded = await recordIn(ctx, token, { groupId: params.id }, {});
  const done = await inDirectory(deps, token.organisationId, true, async (tx) => {
    const current = await findDirectoryGroup(tx, token.organisationId, params.id);
    if (!current) throw notFound('group');
    const before = await groupMemberIds(tx, current.id);
    const body = await make(current, await groupMemberScimIds(tx, token.organisationId, before));
    if (body.displayName.toLowerCase() !== current.displayName.toLowerCase()) {
      const holder = await directoryGroupNamed(tx, token.organisationId, body.displayName);
      if (holder && holder.id !== current.id) throw groupNameTaken(body.displayName);
    }
    const wanted = await checkedMembers(tx, token, body);
    await updateDirectoryGroup(tx, current.id, { displayName: body.displayName, externalId: body.externalId ?? null });
    // Members left as they were need no statement: a PATCH of the name of a group of 10,000 stays cheap.
    const held = new Set(before);
    const same = wanted.length === held.size && wanted.every((id) => held.has(id));
    const moved = same ? { added: [], removed: [] } : await setGroupMembers(tx, current.id, wanted);
    await assertTokenMayStaff(tx, token, [...moved.added, ...moved.removed]);
    const changes = await applyDirectoryRoles(tx, token.organisationId, [...moved.added, ...moved.removed]);
    const group = (await findDirectoryGroup(tx, token.organisationId, current.id)) as DirectoryGroupRecord;
    return { changes, moved, resource: await renderedGroup(tx, token, base, group, null) };
  });
  recorded.resultIds.groupId = done.resource.id;
  Object.assign(
    recorded.summary,
    { displayName: done.resource.displayName, membersAdded: done.moved.added.length, membersRemoved: done.moved.removed.length },
    settled(deps, done.changes, null),
  );
  return done.resource;
}

/**
 * A PATCH's operations, their paths parsed (and refused, naming the limit) before the organisation's
 * lock is taken; then applied to a resource's document in slices that yield to the event loop (scim/patch.ts).
 */
async function patchOf(operations: readonly ScimPatchOperation[]) {
  const compiled: CompiledOperation[] = await compilePatch(operations);
  return (doc: Record<string, unknown>, schema: typeof USER_SCHEMA) => new PatchApplier(schema, doc).apply(compiled);
}

export const scimHandlers = {
  scimUsersList: async (ctx) => {
    const { deps, query } = ctx;
    const token = tokenFor(ctx);
    const base = baseOf(deps, token);
    const where = userConditions(query.filter);
    const { startIndex, count } = paging(query);
    const p = projection(USER_SCHEMA, query);
    return inDirectory(deps, token.organisationId, false, async (tx) => {
      const { total, items } = await listDirectoryUsers(tx, token.organisationId, where, startIndex - 1, count);
      const groups = answers(p, 'groups')
        ? await groupsOfUsers(
            tx,
            token.organisationId,
            items.map((u) => u.userId),
          )
        : null;
      const resources = items.map((user) => project(renderUser(user, groups?.get(user.userId) ?? null, base), p));
      return listOf(total, startIndex, resources);
    });
  },

  scimUsersGet: async (ctx) => {
    const { deps, params, query } = ctx;
    const token = tokenFor(ctx);
    return inDirectory(deps, token.organisationId, false, async (tx) => {
      if (!(await findDirectoryUser(tx, token.organisationId, params.id))) throw notFound('user');
      return renderedUser(tx, token, baseOf(deps, token), params.id, projection(USER_SCHEMA, query));
    });
  },

  scimUsersCreate: async (ctx) => {
    const { deps, body } = ctx;
    const token = tokenFor(ctx);
    const base = baseOf(deps, token);
    const recorded = await recordIn(ctx, token, {}, { userName: body.userName });
    const address = addressOf(body);
    const active = body.active ?? true;
    const done = await inDirectory(deps, token.organisationId, true, async (tx) => {
      if ((await countDirectoryUsers(tx, token.organisationId)) >= SCIM_USERS_PER_ORGANISATION) {
        throw new ScimProblem(
          'validation_failed',
          null,
          `the organisation's directory holds ${groupDigits(SCIM_USERS_PER_ORGANISATION)} people, the most it may: delete people it no longer provisions`,
        );
      }
      if (await directoryUserNamed(tx, token.organisationId, body.userName)) throw userNameTaken(body.userName);
      // One record per address: the organisation's own records answer, never whether an account exists.
      const held = await directoryUserAt(tx, token.organisationId, address);
      if (held) {
        throw new ScimProblem(
          'conflict',
          'uniqueness',
          `${address} is already provisioned in this organisation, as the userName "${held.userName}"`,
        );
      }
      const person = await newPerson(tx, token.organisationId, address, accountName(body));
      await insertDirectoryUser(tx, token.organisationId, person.userId, {
        accountMade: person.made,
        pendingEmail: person.pendingEmail,
        userName: body.userName,
        externalId: body.externalId ?? null,
        active,
        attributes: keptUserAttributes(body),
      });
      const user = (await findDirectoryUser(tx, token.organisationId, person.userId)) as DirectoryUser;
      // Every path below runs for a pending person too, granting and taking nothing: the answer, and
      // the audit entry, are the same whichever path the address took.
      let changes: RoleChanges | null = null;
      let deprovisioned: Deprovisioned | null = null;
      if (active) {
        // An account the directory made is the organisation's person; one its person made elsewhere is
        // offered what the groups grant as invitations (applyDirectoryRoles), and joins by accepting;
        // a pending person is granted nothing until they accept (db/directory.ts pendingDirectoryOffers).
        if (person.made) await ensureOrganisationMember(tx, token.organisationId, person.userId);
        changes = await applyDirectoryRoles(tx, token.organisationId, [person.userId]);
      } else {
        // Provisioned inactive: an account that was already in the organisation loses its access now.
        deprovisioned = await deprovisionPerson(deps, tx, token, user);
      }
      return { changes, deprovisioned, resource: await renderedUser(tx, token, base, user.id, null) };
    });
    recorded.resultIds.userId = done.resource.id;
    Object.assign(
      recorded.summary,
      // Not whether the account was made: workspace admins read this entry, and must not learn who has an account.
      { active },
      settled(deps, done.changes, done.deprovisioned),
    );
    ctx.location(`${base}/Users/${done.resource.id}`);
    return done.resource;
  },

  scimUsersReplace: async (ctx) => changeUser(ctx, () => ctx.body),

  scimUsersPatch: async (ctx) => {
    const patch = await patchOf(ctx.body.Operations);
    return changeUser(ctx, async (current) =>
      patchedResource(UserBody, await patch(userDocument(current), USER_SCHEMA), 'person'),
    );
  },

  scimUsersDelete: async (ctx) => {
    const { deps, params } = ctx;
    const token = tokenFor(ctx);
    const recorded = await recordIn(ctx, token, { userId: params.id }, { deleted: true });
    const done = await inDirectory(deps, token.organisationId, true, async (tx) => {
      const current = await findDirectoryUser(tx, token.organisationId, params.id);
      if (!current) throw notFound('user');
      const deprovisioned = await deprovisionPerson(deps, tx, token, current);
      await deleteDirectoryUser(tx, token.organisationId, current.userId);
      return { current, deprovisioned };
    });
    recorded.resultIds.userId = done.current.id;
    Object.assign(recorded.summary, { userName: done.current.userName }, settled(deps, null, done.deprovisioned));
    return null;
  },

  scimGroupsList: async (ctx) => {
    const { deps, query } = ctx;
    const token = tokenFor(ctx);
    const base = baseOf(deps, token);
    const where = groupConditions(query.filter);
    const { startIndex, count } = paging(query);
    const p = projection(GROUP_SCHEMA, query);
    return inDirectory(deps, token.organisationId, false, async (tx) => {
      const { total, items } = await listDirectoryGroups(tx, token.organisationId, where, startIndex - 1, count);
      let page = items;
      let members: Awaited<ReturnType<typeof membersOfGroups>> | null = null;
      if (answers(p, 'members')) {
        // A page ends before the group whose members would pass SCIM_LIST_MEMBERS_MAX (one group at least):
        // itemsPerPage says how many came, and the directory asks again from there.
        let carried = 0;
        page = [];
        for (const group of items) {
          if (page.length > 0 && carried + group.memberCount > SCIM_LIST_MEMBERS_MAX) break;
          carried += group.memberCount;
          page.push(group);
        }
        members = await membersOfGroups(
          tx,
          token.organisationId,
          page.map((g) => g.id),
        );
      }
      const resources = page.map((group) => project(renderGroup(group, members?.get(group.id) ?? null, base), p));
      return listOf(total, startIndex, resources);
    });
  },

  scimGroupsGet: async (ctx) => {
    const { deps, params, query } = ctx;
    const token = tokenFor(ctx);
    return inDirectory(deps, token.organisationId, false, async (tx) => {
      const group = await findDirectoryGroup(tx, token.organisationId, params.id);
      if (!group) throw notFound('group');
      return renderedGroup(tx, token, baseOf(deps, token), group, projection(GROUP_SCHEMA, query));
    });
  },

  scimGroupsCreate: async (ctx) => {
    const { deps, body } = ctx;
    const token = tokenFor(ctx);
    const base = baseOf(deps, token);
    const recorded = await recordIn(ctx, token, {}, { displayName: body.displayName });
    const done = await inDirectory(deps, token.organisationId, true, async (tx) => {
      if ((await countDirectoryGroups(tx, token.organisationId)) >= SCIM_GROUPS_PER_ORGANISATION) {
        throw new ScimProblem(
          'validation_failed',
          null,
          `the organisation's directory holds ${groupDigits(SCIM_GROUPS_PER_ORGANISATION)} groups, the most it may: delete groups it no longer uses`,
        );
      }
      if (await directoryGroupNamed(tx, token.organisationId, body.displayName)) throw groupNameTaken(body.displayName);
      const wanted = await checkedMembers(tx, token, body);
      const group = await insertDirectoryGroup(tx, token.organisationId, {
        displayName: body.displayName,
        externalId: body.externalId ?? null,
      });
      const { added } = await setGroupMembers(tx, group.id, wanted);
      await assertTokenMayStaff(tx, token, added);
      // A new group maps no roles yet (owners and admins map them), but the call stays correct if it ever does.
      const changes = await applyDirectoryRoles(tx, token.organisationId, added);
      return { changes, members: added.length, resource: await renderedGroup(tx, token, base, group, null) };
    });
    recorded.resultIds.groupId = done.resource.id;
    Object.assign(recorded.summary, { membersAdded: done.members }, settled(deps, done.changes, null));
    ctx.location(`${base}/Groups/${done.resource.id}`);
    return done.resource;
  },

  scimGroupsReplace: async (ctx) => changeGroup(ctx, () => ctx.body),

  scimGroupsPatch: async (ctx) => {
    const patch = await patchOf(ctx.body.Operations);
    return changeGroup(ctx, async (current, memberIds) =>
      patchedResource(GroupBody, await patch(groupDocument(current, memberIds), GROUP_SCHEMA), 'group'),
    );
  },

  scimGroupsDelete: async (ctx) => {
    const { deps, params } = ctx;
    const token = tokenFor(ctx);
    const recorded = await recordIn(ctx, token, { groupId: params.id }, { deleted: true });
    const done = await inDirectory(deps, token.organisationId, true, async (tx) => {
      const group = await findDirectoryGroup(tx, token.organisationId, params.id);
      if (!group) throw notFound('group');
      const members = await deleteDirectoryGroup(tx, group.id);
      await assertTokenMayStaff(tx, token, members);
      return { group, members, changes: await applyDirectoryRoles(tx, token.organisationId, members) };
    });
    recorded.resultIds.groupId = done.group.id;
    Object.assign(
      recorded.summary,
      { displayName: done.group.displayName, membersRemoved: done.members.length },
      settled(deps, done.changes, null),
    );
    return null;
  },

  scimServiceProviderConfig: async (ctx) => serviceProviderConfig(baseOf(ctx.deps, tokenFor(ctx))),

  scimResourceTypesList: async (ctx) => {
    const types = resourceTypes(baseOf(ctx.deps, tokenFor(ctx)));
    return listOf(types.length, 1, types);
  },

  scimResourceTypesGet: async (ctx) => {
    const type = resourceTypes(baseOf(ctx.deps, tokenFor(ctx))).find((t) => t.id === ctx.params.id);
    if (!type) throw notFound('resource type');
    return type;
  },

  scimSchemasList: async (ctx) => {
    const schemas = schemaDocuments(baseOf(ctx.deps, tokenFor(ctx)));
    return listOf(schemas.length, 1, schemas);
  },

  scimSchemasGet: async (ctx) => {
    const schema = schemaDocuments(baseOf(ctx.deps, tokenFor(ctx))).find((s) => s.id === ctx.params.id);
    if (!schema) throw notFound('schema');
    return schema;
  },
} satisfies Pick<
  Handlers,
  | 'scimUsersList'
  | 'scimUsersGet'
  | 'scimUsersCreate'
  | 'scimUsersReplace'
  | 'scimUsersPatch'
  | 'scimUsersDelete'
  | 'scimGroupsList'
  | 'scimGroupsGet'
  | 'scimGroupsCreate'
  | 'scimGroupsReplace'
  | 'scimGroupsPatch'
  | 'scimGroupsDelete'
  | 'scimServiceProviderConfig'
  | 'scimResourceTypesList'
  | 'scimResourceTypesGet'
  | 'scimSchemasList'
  | 'scimSchemasGet'
>;
