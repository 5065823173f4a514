import {
  API_PREFIX,
  ORGANISATION_READERS,
  type OrganisationRole,
  type OrganisationSso,
  type OrganisationSsoRequest,
  SCIM_STATEMENT_TIMEOUT_MS,
} from '@outpost/sdk/contracts';
import postgres from 'postgres';
import type { AppDeps } from '../context.js';
import type { Db } from '../db/client.js';
import { DomainError, notFound } from '../domain-error.js';
import type { Handlers } from '../http/route-types.js';
import { forgetRevokedKeys } from './db/credentials.js';
import { applyDirectoryRoles, directoryTransaction } from './db/directory.js';
import { organisationWorkspacesBySlug } from './db/directory-groups.js';
import {
  deleteOrganisationSso,
  endSsoSessions,
  forgetSsoGroups,
  forgetSsoGroupsAtDomains,
  getOrganisationSso,
  markDomainVerified,
  type OrganisationSsoRecord,
  organisationDomains,
  replaceOrganisationDomains,
  replaceSsoGroupRoles,
  ssoGroupRoles,
  upsertOrganisationSso,
} from './db/organisation-sso.js';
import { lockOrganisation } from './db/organisations.js';
import { DOMAIN_CHALLENGE_PREFIX, DOMAIN_CHALLENGE_VALUE } from './domain-records.js';
import { OidcError, randomToken } from './oidc.js';
import { OIDC_CALLBACK_PATH } from './oidc-sign-in.js';
import { actingWithRole, noteIn } from './organisation-handlers.js';
import { organisationWithRole } from './organisations.js';

/*
 * The organisation's own single sign-on (docs/organisations.md, "Single sign-on for the
 * organisation"): owners, admins and auditors read it; owners alone set and remove it, because whoever
 * runs the provider can sign in as any person of the organisation, its owners included: choosing it
 * is an owner's power, as making an owner is. Setting
 * a new mapping of groups to roles, or removing the provider, recomputes at once the roles of
 * everyone whose last sign-in listed an affected group, under the organisation's lock and within the
 * directory's time limit, as a change of a directory group's roles does (organisation-group-handlers.ts).
 */

const DEFAULT_GROUPS_CLAIM = 'groups';
/** Who sets and removes the provider. */
const OWNERS: readonly OrganisationRole[] = ['owner'];

async function toSso(deps: AppDeps, db: Db, slug: string, record: OrganisationSsoRecord): Promise<OrganisationSso> {
  return {
    issuer: record.issuer,
    clientId: record.clientId,
    hasClientSecret: record.clientSecretEncrypted !== null,
    allowedDomains: record.allowedDomains,
    domains: (await organisationDomains(db, record.organisationId)).map((d) => ({
      domain: d.domain,
      verified: d.verifiedAt !== null,
      verifiedAt: d.verifiedAt?.toISOString() ?? null,
      recordName: `${DOMAIN_CHALLENGE_PREFIX}.${d.domain}`,
      recordValue: `${DOMAIN_CHALLENGE_VALUE}${d.token}`,
    })),
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

/** Organisations whose domain is being looked up in this process: one lookup each at a time. */
const lookups = new Set<string>();

async function lookingUp<T>(organisationId: string, lookup: () => Promise<T>): Promise<T> {
  if (lookups.has(organisationId)) {
    throw new DomainError('conflict', "a domain of the organisation is being checked already: wait for that check's answer");
  }
  lookups.add(organisationId);
  try {
    return await lookup();
  } finally {
    lookups.delete(organisationId);
  }
}

/**
 * Records the domain as this organisation's, proven by `served` (the TXT values found), under the
 * locks of this organisation and of the one holding the domain, taken in one order. `changed`: the
 * domain was removed, or given another token, meanwhile; `held`: another organisation holds it and
 * its record is served too; `taken`: the holder's record is gone, so the domain passed to this one,
 * and the holder's people at that domain lost what its provider's groups gave them.
 */
async function claimDomain(
  deps: AppDeps,
  organisationId: string,
  domain: { domain: string; token: string },
  served: readonly string[],
): Promise<{ result: 'verified' | 'taken' | 'held' | 'changed'; revokedKeyIds: string[] }> {
  const [holder] = await deps.sql<{ organisation_id: string }[]>`
    SELECT organisation_id FROM organisation_domains
    WHERE domain = ${domain.domain} AND verified_at IS NOT NULL AND organisation_id <> ${organisationId}`;
  const involved = [organisationId, ...(holder ? [holder.organisation_id] : [])].sort();
  try {
    return await deps.sql.begin(async (tx) => {
      await tx`SELECT set_config('statement_timeout', ${String(SCIM_STATEMENT_TIMEOUT_MS)}, true)`;
      for (const id of involved) await lockOrganisation(tx, id);
      const [mine] = await tx<{ token: string; verified: boolean }[]>`
        SELECT token, verified_at IS NOT NULL AS verified FROM organisation_domains
        WHERE organisation_id = ${organisationId} AND domain = ${domain.domain}`;
      if (!mine || mine.token !== domain.token) return { result: 'changed' as const, revokedKeyIds: [] };
      if (mine.verified) return { result: 'verified' as const, revokedKeyIds: [] };
      const [theirs] = await tx<{ organisation_id: string; token: string }[]>`
        SELECT organisation_id, token FROM organisation_domains
        WHERE domain = ${domain.domain} AND verified_at IS NOT NULL AND organisation_id <> ${organisationId}`;
      let revokedKeyIds: string[] = [];
      if (theirs) {
        if (theirs.organisation_id !== holder?.organisation_id) return { result: 'changed' as const, revokedKeyIds: [] };
        if (served.includes(`${DOMAIN_CHALLENGE_VALUE}${theirs.token}`)) return { result: 'held' as const, revokedKeyIds: [] };
        await tx`
          UPDATE organisation_domains SET verified_at = NULL
          WHERE organisation_id = ${theirs.organisation_id} AND domain = ${domain.domain}`;
        const people = await forgetSsoGroupsAtDomains(tx, theirs.organisation_id, [domain.domain]);
        await endSsoSessions(tx, theirs.organisation_id, [domain.domain]);
        revokedKeyIds = (await applyDirectoryRoles(tx, theirs.organisation_id, people)).revokedKeyIds;
      }
      await markDomainVerified(tx, organisationId, domain.domain, domain.token);
      return { result: theirs ? ('taken' as const) : ('verified' as const), revokedKeyIds };
    });
  } catch (error) {
    // Another organisation proved it a moment ago (the unique index of proven domains).
    if (error instanceof postgres.PostgresError && error.code === '23505') return { result: 'held', revokedKeyIds: [] };
    throw error;
  }
}

export const organisationSsoHandlers = {
  organisationSsoGet: async ({ params, principal, deps }) => {
    const { organisation } = await actingWithRole(
      deps,
      principal,
      params.org,
      ORGANISATION_READERS,
      "reading the organisation's single sign-on",
    );
    const record = await getOrganisationSso(deps.sql, organisation.id);
    // Off is a state of the organisation's settings like any other, not a missing resource.
    if (!record) return null;
    return toSso(deps, deps.sql, params.org, record);
  },

  organisationSsoPut: async ({ params, body, principal, deps, audit, logger }) => {
    const doing = "changing the organisation's single sign-on";
    const { userId, organisation: seen } = await actingWithRole(deps, principal, params.org, OWNERS, doing);
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
    const { sso, changes, sessionsEnded, workspaceIds } = await directoryTransaction(deps.sql, seen.id, true, async (tx) => {
      // Read again under the lock: a role taken away a moment ago no longer acts.
      const organisation = await organisationWithRole(tx, userId, params.org, OWNERS, doing);
      const roles =
        body.groupRoles === undefined ? null : await resolveGroupRoles(tx, organisation.id, params.org, body.groupRoles);
      const existing = await getOrganisationSso(tx, organisation.id);
      if (
        body.expectedUpdatedAt !== undefined &&
        existing?.updatedAt.toISOString() !== new Date(body.expectedUpdatedAt).toISOString()
      ) {
        throw new DomainError(
          'conflict',
          existing
            ? "the organisation's single sign-on changed since these settings were read: reload them, then make the change again"
            : "the organisation's single sign-on was turned off since these settings were read: set it up again",
        );
      }
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
      // Another provider, client or claim: what the old one vouched for ends (its sessions, and the
      // groups its tokens listed); other domains: its sessions end, and people sign in again.
      const providerChanged =
        existing !== null &&
        (existing.issuer !== record.issuer ||
          existing.clientId !== record.clientId ||
          existing.groupsClaim !== record.groupsClaim);
      const kept = new Set(record.allowedDomains);
      const removedDomains = (existing?.allowedDomains ?? []).filter((d) => !kept.has(d));
      const domainsChanged =
        existing !== null &&
        (removedDomains.length > 0 || record.allowedDomains.some((d) => !existing.allowedDomains.includes(d)));
      // The provider no longer vouches for addresses of a domain taken out: its people's groups go.
      const forgotten = providerChanged
        ? await forgetSsoGroups(tx, organisation.id)
        : await forgetSsoGroupsAtDomains(tx, organisation.id, removedDomains);
      const sessionsEnded = providerChanged || domainsChanged ? await endSsoSessions(tx, organisation.id) : 0;
      await replaceOrganisationDomains(tx, organisation.id, record.allowedDomains, randomToken);
      const people = roles === null ? [] : await replaceSsoGroupRoles(tx, organisation.id, roles);
      const changes = await applyDirectoryRoles(tx, organisation.id, [...new Set([...forgotten, ...people])]);
      const everywhere = await tx<{ id: string }[]>`SELECT id FROM workspaces WHERE organisation_id = ${organisation.id}`;
      return {
        sso: await toSso(deps, tx, params.org, record),
        changes,
        sessionsEnded,
        workspaceIds: everywhere.map((w) => w.id),
      };
    });
    forgetRevokedKeys(deps.apiKeys, changes.revokedKeyIds);
    // Every workspace of the organisation records it: whoever runs the provider can sign in as its people.
    noteIn(audit, principal, workspaceIds, {
      targetIds: {},
      summary: {
        issuer: sso.issuer,
        clientId: sso.clientId,
        allowedDomains: sso.allowedDomains,
        groupsClaim: sso.groupsClaim,
        groupRoles: sso.groupRoles.length,
        sessionsEnded,
        rolesFromGroups: { granted: changes.granted, changed: changes.changed, removed: changes.removed },
      },
    });
    logger.info({ workspaces: changes.workspaceIds.length, grants: sso.groupRoles.length }, "organisation's single sign-on set");
    return sso;
  },

  /**
   * Looks the domain's TXT record up and, when it holds the organisation's token, records the domain
   * as proven. The lookup is bounded (auth/domain-records.ts), one at a time per organisation, and
   * made outside any transaction; what it proved is written only if the token is still the domain's.
   * A domain another organisation holds passes to this one when this one's record is served and the
   * holder's is not any more (the domain changed hands); while both are served, the holder keeps it.
   */
  organisationSsoDomainVerify: async ({ params, principal, deps, audit }) => {
    const doing = "proving a domain of the organisation's single sign-on";
    const { organisation } = await actingWithRole(deps, principal, params.org, OWNERS, doing);
    const domain = (await organisationDomains(deps.sql, organisation.id)).find((d) => d.domain === params.domain);
    if (!domain) throw notFound('allowed domain of the organisation');
    if (domain.verifiedAt === null) {
      const name = `${DOMAIN_CHALLENGE_PREFIX}.${domain.domain}`;
      const expected = `${DOMAIN_CHALLENGE_VALUE}${domain.token}`;
      const values = await lookingUp(organisation.id, () => deps.domainRecords.txt(name));
      if (!values.includes(expected)) {
        throw new DomainError(
          'conflict',
          `no TXT record at ${name} holds "${expected}" yet: add it at the domain's DNS provider, wait for it to be served, and try again`,
        );
      }
      const outcome = await claimDomain(deps, organisation.id, domain, values);
      forgetRevokedKeys(deps.apiKeys, outcome.revokedKeyIds);
      if (outcome.result === 'held') {
        throw new DomainError(
          'conflict',
          `another organisation holds ${domain.domain} verified, and its record is still served: one organisation at a time signs in the people of a domain`,
        );
      }
      if (outcome.result === 'changed') {
        throw new DomainError('conflict', `${domain.domain} was changed while it was checked: try again`);
      }
      const everywhere = await deps.sql<{ id: string }[]>`SELECT id FROM workspaces WHERE organisation_id = ${organisation.id}`;
      noteIn(
        audit,
        principal,
        everywhere.map((w) => w.id),
        { targetIds: {}, summary: { domain: domain.domain, verified: true, takenFromAnother: outcome.result === 'taken' } },
      );
    }
    const now = await getOrganisationSso(deps.sql, organisation.id);
    if (!now) throw notFound('single sign-on settings of the organisation');
    return toSso(deps, deps.sql, params.org, now);
  },

  organisationSsoDelete: async ({ params, principal, deps, audit, logger }) => {
    const doing = "turning the organisation's single sign-on off";
    const { userId, organisation: seen } = await actingWithRole(deps, principal, params.org, OWNERS, doing);
    const { changes, sessionsEnded, workspaceIds } = await directoryTransaction(deps.sql, seen.id, true, async (tx) => {
      const organisation = await organisationWithRole(tx, userId, params.org, OWNERS, doing);
      const { found, people, sessionsEnded } = await deleteOrganisationSso(tx, organisation.id);
      if (!found) throw notFound('single sign-on settings of the organisation');
      const everywhere = await tx<{ id: string }[]>`SELECT id FROM workspaces WHERE organisation_id = ${organisation.id}`;
      return {
        changes: await applyDirectoryRoles(tx, organisation.id, people),
        sessionsEnded,
        workspaceIds: everywhere.map((w) => w.id),
      };
    });
    forgetRevokedKeys(deps.apiKeys, changes.revokedKeyIds);
    noteIn(audit, principal, workspaceIds, {
      targetIds: {},
      summary: { turnedOff: true, sessionsEnded, rolesFromGroups: { removed: changes.removed } },
    });
    logger.info({ workspaces: changes.workspaceIds.length, removed: changes.removed }, "organisation's single sign-on off");
    return null;
  },
} satisfies Pick<Handlers, 'organisationSsoGet' | 'organisationSsoPut' | 'organisationSsoDomainVerify' | 'organisationSsoDelete'>;
