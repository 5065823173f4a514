import {
  API_PREFIX,
  ORGANISATION_ADMINS,
  ORGANISATION_READERS,
  type OrganisationSso,
  type OrganisationSsoRequest,
} from '@outpost/sdk/contracts';
import { OidcError } from '../auth/oidc.js';
import { OIDC_CALLBACK_PATH } from '../auth/oidc-sign-in.js';
import { organisationWithRole } from '../auth/organisations.js';
import type { AppDeps } from '../context.js';
import type { Db } from '../db/client.js';
import { forgetRevokedKeys } from '../db/credentials.js';
import { applyDirectoryRoles, directoryTransaction, type RoleChanges } from '../db/directory.js';
import { organisationWorkspacesBySlug } from '../db/directory-groups.js';
import {
  deleteOrganisationSso,
  getOrganisationSso,
  type OrganisationSsoRecord,
  replaceSsoGroupRoles,
  ssoGroupRoles,
  upsertOrganisationSso,
} from '../db/organisation-sso.js';
import { DomainError, notFound } from '../domain-error.js';
import { actingIn, noteIn } from './organisations.js';
import type { Handlers } from './types.js';

/*
 * The organisation's own single sign-on (docs/organisations.md, "Single sign-on for the
 * organisation"): owners, admins and auditors read it; owners and admins set and remove it. Setting
 * a new mapping of groups to roles, or removing the provider, recomputes at once the roles of
 * everyone whose last sign-in listed an affected group, under the organisation's lock and within the
 * directory's time limit, as a change of a directory group's roles does (routes/organisation-groups.ts).
 */

const DEFAULT_GROUPS_CLAIM = 'groups';

async function toSso(deps: AppDeps, db: Db, slug: string, record: OrganisationSsoRecord): Promise<OrganisationSso> {
  return {
    issuer: record.issuer,
    clientId: record.clientId,
    hasClientSecret: record.clientSecretEncrypted !== null,
    allowedDomains: record.allowedDomains,
    groupsClaim: record.groupsClaim,
    groupRoles: await ssoGroupRoles(db, record.organisationId),
    redirectUri: `${deps.publicUrl}${OIDC_CALLBACK_PATH}`,
    signInPath: `${API_PREFIX}/auth/oidc/organisations/${slug}/start`,
    updatedAt: record.updatedAt.toISOString(),
  };
}

const invalid = (path: string, message: string) =>
  new DomainError('validation_failed', "the organisation's single sign-on settings are invalid", {
    errors: [{ path, message }],
  });

/** The mapping with workspace ids, once every workspace named is the organisation's. */
async function resolveGroupRoles(
  db: Db,
  organisationId: string,
  slug: string,
  roles: NonNullable<OrganisationSsoRequest['groupRoles']>,
): Promise<{ group: string; workspaceId: string; role: (typeof roles)[number]['role'] }[]> {
  const bySlug = await organisationWorkspacesBySlug(
    db,
    organisationId,
    roles.map((r) => r.workspace),
  );
  // The same answer whether another organisation has a workspace of that slug or nobody does.
  const unknown = roles.flatMap((r, index) =>
    bySlug.has(r.workspace)
      ? []
      : [{ path: `body.groupRoles.${index}.workspace`, message: `no workspace of this organisation is named "${r.workspace}"` }],
  );
  if (unknown.length > 0) {
    throw new DomainError('validation_failed', `groups grant roles only in workspaces of the organisation "${slug}"`, {
      errors: unknown,
    });
  }
  return roles.map((r) => ({ group: r.group, workspaceId: bySlug.get(r.workspace) as string, role: r.role }));
}

/** Records, in each workspace where someone's role from groups changed, who changed the mapping. */
function noteChanges(
  audit: Parameters<typeof noteIn>[0],
  principal: Parameters<typeof noteIn>[1],
  changes: RoleChanges,
  summary: Record<string, unknown>,
): void {
  noteIn(audit, principal, changes.workspaceIds, { targetIds: {}, summary });
}

export const organisationSsoHandlers = {
  organisationSsoGet: async ({ params, principal, deps }) => {
    const userId = await actingIn(deps, principal, params.org);
    const organisation = await organisationWithRole(
      deps.sql,
      userId,
      params.org,
      ORGANISATION_READERS,
      "reading the organisation's single sign-on",
    );
    const record = await getOrganisationSso(deps.sql, organisation.id);
    if (!record) throw notFound('single sign-on settings of the organisation');
    return toSso(deps, deps.sql, params.org, record);
  },

  organisationSsoPut: async ({ params, body, principal, deps, audit, logger }) => {
    const doing = "changing the organisation's single sign-on";
    const userId = await actingIn(deps, principal, params.org);
    const seen = await organisationWithRole(deps.sql, userId, params.org, ORGANISATION_ADMINS, doing);
    try {
      // The form and the address are checked here; the issuer is first contacted when someone signs in.
      await deps.oidc.checkIssuerDestination(body.issuer);
    } catch (error) {
      if (error instanceof OidcError) throw invalid('body.issuer', error.message);
      throw error;
    }
    if (body.clientSecret !== undefined && body.clientSecret !== null && !deps.secretBox) {
      throw invalid(
        'body.clientSecret',
        'the server has no OUTPOST_SECRET_KEY to encrypt it with; set one, or use a public client',
      );
    }
    const { sso, changes } = await directoryTransaction(deps.sql, seen.id, true, async (tx) => {
      // Read again under the lock: a role taken away a moment ago no longer acts.
      const organisation = await organisationWithRole(tx, userId, params.org, ORGANISATION_ADMINS, doing);
      const roles =
        body.groupRoles === undefined ? null : await resolveGroupRoles(tx, organisation.id, params.org, body.groupRoles);
      const existing = await getOrganisationSso(tx, organisation.id);
      let sealed = existing?.clientSecretEncrypted ?? null;
      if (body.clientSecret === null) sealed = null;
      else if (body.clientSecret !== undefined && deps.secretBox)
        sealed = deps.secretBox.seal(body.clientSecret, organisation.id);
      const record = await upsertOrganisationSso(tx, {
        organisationId: organisation.id,
        issuer: body.issuer,
        clientId: body.clientId,
        clientSecretEncrypted: sealed,
        allowedDomains: [...new Set(body.allowedDomains)],
        groupsClaim: body.groupsClaim ?? existing?.groupsClaim ?? DEFAULT_GROUPS_CLAIM,
      });
      const people = roles === null ? [] : await replaceSsoGroupRoles(tx, organisation.id, roles);
      const changes = await applyDirectoryRoles(tx, organisation.id, people);
      return { sso: await toSso(deps, tx, params.org, record), changes };
    });
    forgetRevokedKeys(deps.apiKeys, changes.revokedKeyIds);
    noteChanges(audit, principal, changes, {
      singleSignOn: 'mapping changed',
      changed: changes.changed,
      granted: changes.granted,
      removed: changes.removed,
    });
    logger.info({ workspaces: changes.workspaceIds.length, grants: sso.groupRoles.length }, "organisation's single sign-on set");
    return sso;
  },

  organisationSsoDelete: async ({ params, principal, deps, audit, logger }) => {
    const doing = "turning the organisation's single sign-on off";
    const userId = await actingIn(deps, principal, params.org);
    const seen = await organisationWithRole(deps.sql, userId, params.org, ORGANISATION_ADMINS, doing);
    const changes = await directoryTransaction(deps.sql, seen.id, true, async (tx) => {
      const organisation = await organisationWithRole(tx, userId, params.org, ORGANISATION_ADMINS, doing);
      const { found, people } = await deleteOrganisationSso(tx, organisation.id);
      if (!found) throw notFound('single sign-on settings of the organisation');
      return applyDirectoryRoles(tx, organisation.id, people);
    });
    forgetRevokedKeys(deps.apiKeys, changes.revokedKeyIds);
    noteChanges(audit, principal, changes, { singleSignOn: 'turned off', removed: changes.removed });
    logger.info({ workspaces: changes.workspaceIds.length, removed: changes.removed }, "organisation's single sign-on off");
    return null;
  },
} satisfies Pick<Handlers, 'organisationSsoGet' | 'organisationSsoPut' | 'organisationSsoDelete'>;
