import { SCIM_USERS_PER_ORGANISATION } from '@outpost/sdk/contracts';
import { openableWorkspaces } from '../auth/db/memberships.js';
import { ensureUser, findUserByIdentity, linkIdentity, lockUserByEmail, verifyAccount } from '../auth/db/users.js';
import { type OpenedSession, openUserSession } from '../auth/sessions.js';
import type { AppDeps } from '../context.js';
import { countRows, type Db } from '../db/client.js';
import { DomainError, notFound } from '../domain-error.js';
import { applyDirectoryRoles, directoryTransaction, type RoleChanges } from './db/directory.js';
import type { OidcLogin } from './db/oidc.js';
import {
  anySsoGrant,
  domainVerified,
  getOrganisationSso,
  type OrganisationSsoRecord,
  replacePersonSsoGroups,
} from './db/organisation-sso.js';
import { putOrganisationMember } from './db/organisations.js';
import type { IdentityClaims } from './oidc.js';
import { beginSignIn, clientSecret, domainAllowed, identityOf, type OidcSignedIn, SsoError } from './oidc-sign-in.js';

/*
 * Signing in with an organisation's own provider (docs/organisations.md, "Single sign-on for the
 * organisation"). The organisation's owners and admins chose the provider, so it is trusted for the
 * organisation and nothing outside it:
 * - only for verified addresses of the organisation's allowed domains;
 * - only for accounts that are already the organisation's people, or that it makes now. An account
 *   its person made elsewhere is never taken over by an address the provider asserts: its person
 *   joins the organisation with their own credentials first (an invitation), and from then on the
 *   provider opens it;
 * - the session it opens is confined to the organisation's workspaces (SessionMethod
 *   `organisation-sign-on`): it moves between them and acts on the organisation, and on nothing else.
 * Each sign-in stores the person's groups claim and recomputes what their groups grant, in the same
 * transaction and under the organisation's lock as the directory's changes (db/directory.ts).
 */

/** Begins a sign-in with the organisation's provider; `workspace` is the one to open, if it is the organisation's. */
export async function startOrganisationSignIn(
  deps: AppDeps,
  input: { organisationSlug: string; workspaceSlug: string | undefined; returnTo: string },
): Promise<{ location: string; state: string }> {
  const [organisation] = await deps.sql<{ id: string }[]>`SELECT id FROM organisations WHERE slug = ${input.organisationSlug}`;
  const provider = organisation ? await getOrganisationSso(deps.sql, organisation.id) : null;
  if (!organisation || !provider) throw notFound('single sign-on for this organisation');
  const [wanted] =
    input.workspaceSlug === undefined
      ? []
      : await deps.sql<{ id: string }[]>`
          SELECT id FROM workspaces WHERE organisation_id = ${organisation.id} AND slug = ${input.workspaceSlug}`;
  return beginSignIn(deps, provider.issuer, provider.clientId, {
    workspaceId: wanted?.id ?? null,
    organisationId: organisation.id,
    returnTo: input.returnTo,
  });
}

interface Resolved {
  userId: string;
  /** The session opened, in the same transaction; null when no workspace is open to the person. */
  opened: OpenedSession | null;
  verifiedNow: boolean;
  changes: RoleChanges;
}

/** Whether the account is one of the organisation's people, and whether its directory made it. */
async function standing(
  db: Db,
  organisationId: string,
  userId: string,
): Promise<{ person: boolean; made: boolean; inactive: boolean }> {
  const [row] = await db<{ person: boolean; made: boolean; inactive: boolean }[]>`
    SELECT EXISTS (SELECT 1 FROM organisation_members WHERE organisation_id = ${organisationId} AND user_id = ${userId}) AS person,
           EXISTS (SELECT 1 FROM directory_users
                   WHERE organisation_id = ${organisationId} AND user_id = ${userId} AND account_made) AS made,
           EXISTS (SELECT 1 FROM directory_users
                   WHERE organisation_id = ${organisationId} AND user_id = ${userId} AND NOT active) AS inactive`;
  return row ?? { person: false, made: false, inactive: false };
}

/** How many people the organisation has: a sign-in makes no account past SCIM_USERS_PER_ORGANISATION. */
async function organisationPeople(db: Db, organisationId: string): Promise<number> {
  return countRows(db, db`organisation_members WHERE organisation_id = ${organisationId}`);
}

/**
 * The provider as it is now, under the organisation's lock: a sign-in that began before its settings
 * changed, or before it was turned off, finishes nothing (the token was checked against the old ones).
 */
async function sameProvider(db: Db, organisationId: string, used: OrganisationSsoRecord): Promise<void> {
  const now = await getOrganisationSso(db, organisationId);
  if (!now || now.updatedAt.getTime() !== used.updatedAt.getTime()) {
    throw new SsoError('sso_unavailable', "the organisation's single sign-on changed during this sign-in: sign in again");
  }
}

async function resolvePerson(
  deps: AppDeps,
  provider: OrganisationSsoRecord,
  claims: IdentityClaims & { email: string },
  wantedWorkspaceId: string | null,
): Promise<Resolved> {
  const organisationId = provider.organisationId;
  return directoryTransaction(deps.sql, organisationId, true, async (tx) => {
    await sameProvider(tx, organisationId, provider);
    // Only a domain the organisation proved it holds: otherwise it could make or open accounts at
    // anyone's addresses.
    if (!(await domainVerified(tx, organisationId, claims.email.split('@').at(-1) ?? ''))) {
      throw new SsoError(
        'sso_not_member',
        "the address's domain is not yet verified for the organisation: an owner verifies it under Single sign-on",
      );
    }
    let user = await findUserByIdentity(tx, claims.issuer, claims.subject);
    user ??= await lockUserByEmail(tx, claims.email);
    let verifiedNow = false;
    if (user) {
      const { person, made, inactive } = await standing(tx, organisationId, user.id);
      if (inactive) {
        throw new SsoError('sso_not_member', "the organisation's directory has deactivated this person");
      }
      if (!person) {
        throw new SsoError(
          'sso_not_member',
          'an account with this address exists outside the organisation: its person signs in with its password and accepts an invitation of the organisation first; from then on single sign-on opens it',
        );
      }
      if (user.emailVerifiedAt === null) {
        // Only an account the organisation's directory made is the organisation's to prove.
        if (!made) {
          throw new SsoError('sso_not_member', "this account's address is not proven: sign in with its password and verify it");
        }
        verifiedNow = await verifyAccount(tx, user.id, null);
      }
    } else {
      // A new account only for someone a group of theirs gives a workspace: nobody else has a use for one.
      if (!(await anySsoGrant(tx, organisationId, claims.groups))) {
        throw new SsoError(
          'sso_not_member',
          "none of this person's groups grants a role in the organisation's workspaces: ask its admins to map one",
        );
      }
      if ((await organisationPeople(tx, organisationId)) >= SCIM_USERS_PER_ORGANISATION) {
        throw new SsoError(
          'sso_not_member',
          `the organisation has ${SCIM_USERS_PER_ORGANISATION} people, its limit: an owner removes someone first`,
        );
      }
      // Made verified: the organisation's provider vouched for an address of the organisation's domains.
      const made = await ensureUser(tx, { email: claims.email, name: claims.name, managedBy: null });
      // Someone else made this account a moment ago: it is not this sign-in's to take.
      if (!made.created) throw new SsoError('sso_state', 'an account with this address was just made: sign in again');
      user = made.user;
      await putOrganisationMember(tx, organisationId, user.id, 'member');
    }
    await linkIdentity(tx, { issuer: claims.issuer, subject: claims.subject, userId: user.id });
    await replacePersonSsoGroups(tx, organisationId, user.id, claims.groups);
    const changes = await applyDirectoryRoles(tx, organisationId, [user.id]);
    const places = await tx<{ id: string }[]>`SELECT id FROM workspaces WHERE organisation_id = ${organisationId}`;
    const ours = new Set(places.map((w) => w.id));
    const openable = (await openableWorkspaces(tx, user.id)).filter((w) => ours.has(w.workspaceId));
    const chosen = openable.find((w) => w.workspaceId === wantedWorkspaceId) ?? openable[0];
    // With no workspace open, the sign-in still commits what the claim changed (roles it no longer
    // grants are taken away) and is refused after. The session is opened under the lock, so owners
    // who replace or turn off the provider a moment later end it with the others.
    const opened = chosen
      ? await openUserSession(tx, {
          workspaceId: chosen.workspaceId,
          userId: user.id,
          role: chosen.role,
          label: `organisation single sign-on (${user.email})`,
          openedBy: 'organisation-sign-on',
        })
      : null;
    return { userId: user.id, opened, verifiedNow, changes };
  });
}

/** What an organisation's sign-in changed beyond the session: the roles its groups grant. */
export interface OrganisationSignedIn extends OidcSignedIn {
  organisationId: string;
  changes: RoleChanges;
}

/** Finishes a sign-in with the organisation's provider: code exchange, ID token, person, groups, session. */
export async function finishOrganisationSignIn(deps: AppDeps, login: OidcLogin, code: string): Promise<OrganisationSignedIn> {
  const organisationId = login.organisationId;
  const provider = organisationId === null ? null : await getOrganisationSso(deps.sql, organisationId);
  if (organisationId === null || !provider) {
    throw new SsoError('sso_unavailable', 'single sign-on was turned off for the organisation');
  }
  const claims = await identityOf(
    deps,
    {
      issuer: provider.issuer,
      clientId: provider.clientId,
      clientSecret: clientSecret(deps, provider.clientSecretEncrypted, organisationId),
      groupsClaim: provider.groupsClaim,
    },
    login,
    code,
  );
  const { email } = claims;
  if (!claims.emailVerified || email === null || !domainAllowed(email, provider.allowedDomains)) {
    throw new SsoError(
      'sso_not_member',
      "the identity provider did not vouch for a verified address of the organisation's domains",
    );
  }
  let resolved: Resolved;
  try {
    resolved = await resolvePerson(deps, provider, { ...claims, email }, login.workspaceId);
  } catch (error) {
    // The organisation's queue is full, or its change ran past its time: the sign-in page says try again.
    if (error instanceof DomainError && error.code === 'unavailable') {
      throw new SsoError('sso_busy', error.message, { cause: error });
    }
    throw error;
  }
  const { opened } = resolved;
  if (opened === null) {
    throw new SsoError(
      'sso_not_member',
      'no workspace of the organisation is open to this person: ask its admins to map one of their groups, or add them',
      { after: { userId: resolved.userId, organisationId, changes: resolved.changes } },
    );
  }
  return {
    opened,
    userId: resolved.userId,
    workspaceId: opened.principal.workspaceId,
    returnTo: login.returnTo,
    verifiedNow: resolved.verifiedNow,
    accepted: false,
    organisationId,
    changes: resolved.changes,
  };
}
