import type { OrganisationRole } from '@outpost/sdk/contracts';
import { z } from 'zod';
import type { Principal } from '../auth/principal.js';
import { sessionCookies } from '../auth/sessions.js';
import type { AppDeps } from '../context.js';
import { encodeCursor } from '../db/values.js';
import { DomainError, notFound } from '../domain-error.js';
import { auditActor } from '../http/audit.js';
import { decodeCursor } from '../http/pagination.js';
import type { HandlerContext, Handlers } from '../http/route-types.js';
import { type OrganisationRow, organisationSlugOf, organisationsOf } from './db/organisations.js';
import {
  changeOrganisationRole,
  createOrganisationWorkspace,
  forgetDirectoryPerson,
  getOrganisation,
  listMembersOfOrganisation,
  listOrganisations,
  organisationHealth,
  organisationWithRole,
  organisationWorkspaceIds,
  putWorkspaceMember,
  removeFromOrganisation,
  removeWorkspaceMember,
  setOrganisationWorkspaceArchived,
  updateOrganisation,
  updateOrganisationWorkspace,
} from './organisations.js';
import { switchWorkspace } from './users.js';
import { whoAmI } from './whoami-handlers.js';

/**
 * The account of a person's session opened with its password or with an organisation's single
 * sign-on. The routes' access (`person`) admits no caller without an account; a session opened with
 * a workspace's single sign-on is refused here, because that workspace's owner chose the identity
 * provider, and what it vouches for holds in that workspace only: not across an organisation, nor in
 * another workspace. An organisation's provider vouches across that organisation only (actingIn,
 * confinedTo).
 */
function personOf(principal: Principal): string {
  if (principal.kind !== 'session' || !principal.userId) throw new Error('a caller without an account reached a person route');
  if (principal.openedBy !== 'password' && principal.openedBy !== 'organisation-sign-on') {
    throw new DomainError(
      'forbidden',
      principal.openedBy === 'single-sign-on'
        ? "this session was opened with a workspace's single sign-on, which vouches for you in that workspace only: sign in with your password to act on an organisation or open another workspace"
        : 'this session was not opened with your password: sign in with your password to act on an organisation or open another workspace',
    );
  }
  return principal.userId;
}

/**
 * The organisation a session is confined to: that of its workspace for a session opened with an
 * organisation's single sign-on (its provider vouches for the person there and nowhere else), none
 * for a password session.
 */
export async function confinedTo(deps: AppDeps, principal: Principal): Promise<string | null> {
  if (principal.kind !== 'session' || principal.openedBy !== 'organisation-sign-on') return null;
  return organisationSlugOf(deps.sql, principal.workspaceId);
}

/**
 * The person acting on organisation `org`, from a session in one of its workspaces. The pipeline
 * records every call in the session's workspace, so acting on another organisation from here would
 * tell this workspace's admins about it: the person opens one of its workspaces first. An
 * organisation the person is not in is a 404 either way, and so is any other organisation for a
 * session its single sign-on opened: that session does not learn which others its person is in.
 */
export async function actingIn(deps: AppDeps, principal: Principal, org: string): Promise<string> {
  const userId = personOf(principal);
  const here = await organisationSlugOf(deps.sql, principal.workspaceId);
  if (here === org) return userId;
  if (principal.kind === 'session' && principal.openedBy === 'organisation-sign-on') throw notFound('organisation');
  if ((await organisationsOf(deps.sql, userId, org)).length === 0) throw notFound('organisation');
  throw new DomainError(
    'forbidden',
    `this session is in a workspace of the organisation "${here}": open a workspace of "${org}" to act on it`,
  );
}

/**
 * The caller acting on the organisation `org` (actingIn) in one of the roles `allowed` there (`doing`
 * names the act in a refusal): the person, and the organisation as read outside any lock.
 */
export async function actingWithRole(
  deps: AppDeps,
  principal: Principal,
  org: string,
  allowed: readonly OrganisationRole[],
  doing: string,
): Promise<{ userId: string; organisation: OrganisationRow }> {
  const userId = await actingIn(deps, principal, org);
  return { userId, organisation: await organisationWithRole(deps.sql, userId, org, allowed, doing) };
}

/** A cursor of the organisation's people: when the last one joined, and their id. */
const MemberCursor = z.tuple([z.iso.datetime(), z.uuid()]);

type Audit = HandlerContext<'organisationsUpdate'>['audit'];

/** Archives a workspace of the organisation, or restores it: noted in the audit log and the server's log. */
async function archiveWorkspace(
  { params, principal, deps, audit, logger }: HandlerContext<'organisationWorkspacesArchive' | 'organisationWorkspacesRestore'>,
  archived: boolean,
) {
  const workspace = await setOrganisationWorkspaceArchived(
    deps,
    await actingIn(deps, principal, params.org),
    params.org,
    params.workspace,
    archived,
  );
  noteIn(audit, principal, [workspace.id], { targetIds: { workspaceId: workspace.id }, summary: { archived } });
  logger.info({ workspaceId: workspace.id }, archived ? 'workspace archived' : 'workspace restored');
  return workspace;
}

/**
 * The pipeline records every call in the workspace of the caller's session, refusals included. A
 * change that lands in other workspaces is recorded in each of them too, so their own admins see
 * who archived, renamed or staffed them from the organisation.
 */
export function noteIn(
  audit: Audit,
  principal: Principal,
  workspaceIds: Iterable<string>,
  note: { targetIds: Record<string, string>; summary: Record<string, unknown> },
): void {
  for (const workspaceId of new Set(workspaceIds)) {
    if (workspaceId === principal.workspaceId) continue;
    audit({ workspaceId, ...auditActor(principal), resultIds: {}, ...note });
  }
}

export const organisationHandlers = {
  /** A session its organisation's single sign-on opened sees that organisation only. */
  organisationsList: async ({ principal, deps }) => {
    const userId = personOf(principal);
    const confined = await confinedTo(deps, principal);
    const items = await listOrganisations(deps, userId);
    return { items: confined === null ? items : items.filter((o) => o.slug === confined) };
  },

  organisationsGet: async ({ params, principal, deps }) =>
    getOrganisation(deps, await actingIn(deps, principal, params.org), params.org),

  organisationsHealth: async ({ params, principal, deps }) =>
    organisationHealth(deps, await actingIn(deps, principal, params.org), params.org),

  organisationsUpdate: async ({ params, body, principal, deps, audit }) => {
    const userId = await actingIn(deps, principal, params.org);
    const updated = await updateOrganisation(deps, userId, params.org, body.name);
    noteIn(audit, principal, await organisationWorkspaceIds(deps, userId, params.org), {
      targetIds: { organisationId: updated.id },
      summary: { name: body.name },
    });
    return updated;
  },

  organisationWorkspacesCreate: async ({ params, body, principal, deps, audit }) => {
    const created = await createOrganisationWorkspace(deps, await actingIn(deps, principal, params.org), params.org, body);
    noteIn(audit, principal, [created.id], { targetIds: { workspaceId: created.id }, summary: { slug: created.slug } });
    return created;
  },

  organisationWorkspacesUpdate: async ({ params, body, principal, deps, audit }) => {
    const updated = await updateOrganisationWorkspace(
      deps,
      await actingIn(deps, principal, params.org),
      params.org,
      params.workspace,
      body.name,
    );
    noteIn(audit, principal, [updated.id], { targetIds: { workspaceId: updated.id }, summary: { name: body.name } });
    return updated;
  },

  organisationWorkspacesArchive: (ctx) => archiveWorkspace(ctx, true),

  organisationWorkspacesRestore: (ctx) => archiveWorkspace(ctx, false),

  organisationMembersList: async ({ params, query, principal, deps }) => {
    const after = decodeCursor(query.cursor, MemberCursor);
    const page = await listMembersOfOrganisation(
      deps,
      await actingIn(deps, principal, params.org),
      params.org,
      after,
      query.limit,
    );
    return { items: page.items, nextCursor: page.next === null ? null : encodeCursor([...page.next]) };
  },

  organisationMembersUpdate: async ({ params, body, principal, deps, audit }) => {
    const userId = await actingIn(deps, principal, params.org);
    const changed = await changeOrganisationRole(deps, userId, params.org, params.userId, body.role);
    // An owner, admin or auditor reads every workspace: each one's admins are told who now can.
    noteIn(audit, principal, await organisationWorkspaceIds(deps, userId, params.org), {
      targetIds: { userId: params.userId },
      summary: { organisationRole: body.role },
    });
    return changed;
  },

  organisationMembersRemove: async ({ params, principal, deps, audit, logger }) => {
    const left = await removeFromOrganisation(deps, await actingIn(deps, principal, params.org), params.org, params.userId);
    noteIn(audit, principal, left, { targetIds: { userId: params.userId }, summary: { removedFromOrganisation: true } });
    logger.info({ userId: params.userId, workspaces: left.length }, 'person removed from the organisation');
    return null;
  },

  /** Recorded in the session's workspace and in each workspace where the person lost a membership. */
  organisationDirectoryUserDelete: async ({ params, principal, deps, audit, logger }) => {
    const forgotten = await forgetDirectoryPerson(deps, await actingIn(deps, principal, params.org), params.org, params.userId);
    noteIn(audit, principal, forgotten.workspaceIds, {
      targetIds: { userId: params.userId },
      summary: {
        forgottenByDirectory: true,
        leftOrganisation: forgotten.leftOrganisation,
        sessionsEnded: forgotten.sessionsEnded,
      },
    });
    logger.info(
      { userId: params.userId, workspaces: forgotten.workspaceIds.length, accountDeleted: forgotten.accountDeleted },
      'person of the directory forgotten',
    );
    return null;
  },

  organisationWorkspaceMembersPut: async ({ params, body, principal, deps, audit }) => {
    const { workspaceId, ...member } = await putWorkspaceMember(
      deps,
      await actingIn(deps, principal, params.org),
      params.org,
      params.workspace,
      params.userId,
      body.role,
    );
    noteIn(audit, principal, [workspaceId], { targetIds: { userId: params.userId }, summary: { role: body.role } });
    return member;
  },

  organisationWorkspaceMembersRemove: async ({ params, principal, deps, audit }) => {
    const { workspaceId } = await removeWorkspaceMember(
      deps,
      await actingIn(deps, principal, params.org),
      params.org,
      params.workspace,
      params.userId,
    );
    noteIn(audit, principal, [workspaceId], { targetIds: { userId: params.userId }, summary: {} });
    return null;
  },

  /** Recorded in the workspace left and the one entered, as the sign-in it is. */
  authSessionSwitch: async ({ body, principal, deps, secure, setCookies, audit, logger }) => {
    if (principal.kind !== 'session') throw new Error('a caller without an account reached a person route');
    const userId = personOf(principal);
    // A session its organisation's single sign-on opened moves within that organisation, and stays one.
    const confined = await confinedTo(deps, principal);
    const opened = await switchWorkspace(deps, {
      userId,
      sessionId: principal.sessionId,
      fromWorkspaceId: principal.workspaceId,
      workspace: body.workspace,
      openedBy: confined === null ? 'password' : 'organisation-sign-on',
      withinOrganisation: confined,
    });
    // The workspace left is not told where the person went: it may be another organisation's.
    for (const [workspaceId, summary] of [
      [principal.workspaceId, {}],
      [opened.principal.workspaceId, { workspace: body.workspace }],
    ] as const) {
      audit({
        workspaceId,
        ...auditActor(principal),
        targetIds: { sessionId: principal.sessionId },
        resultIds: { sessionId: opened.principal.sessionId },
        summary,
      });
    }
    logger.info(
      { sessionId: opened.principal.sessionId, workspaceId: opened.principal.workspaceId },
      'session moved to another workspace',
    );
    setCookies(sessionCookies(opened, secure));
    return whoAmI(deps.sql, opened.principal);
  },
} satisfies Pick<
  Handlers,
  | 'organisationsList'
  | 'organisationsGet'
  | 'organisationsHealth'
  | 'organisationsUpdate'
  | 'organisationWorkspacesCreate'
  | 'organisationWorkspacesUpdate'
  | 'organisationWorkspacesArchive'
  | 'organisationWorkspacesRestore'
  | 'organisationMembersList'
  | 'organisationMembersUpdate'
  | 'organisationMembersRemove'
  | 'organisationDirectoryUserDelete'
  | 'organisationWorkspaceMembersPut'
  | 'organisationWorkspaceMembersRemove'
  | 'authSessionSwitch'
>;
