import type { OidcConfig, Workspace } from '@outpost/sdk/contracts';
import { API_PREFIX, Name } from '@outpost/sdk/contracts';
import { readCookie, sessionCookies } from '../auth/sessions.js';
import type { AppDeps } from '../context.js';
import { ApiError, errorCode, notFound } from '../errors.js';
import { type HandlerContext, type Handlers, type Recover, redirectTo } from '../http/route-types.js';
import { forgetRevokedKeys } from './db/credentials.js';
import type { RoleChanges } from './db/directory.js';
import { deleteOidcProvider, getOidcProvider, type OidcProviderRecord, upsertOidcProvider } from './db/oidc.js';
import { getWorkspace } from './db/workspaces.js';
import { OidcError } from './oidc.js';
import {
  finishOidcSignIn,
  OIDC_CALLBACK_PATH,
  OIDC_COOKIE_PATH,
  OIDC_LOGIN_SECONDS,
  OIDC_STATE_COOKIE,
  type OidcSignedIn,
  SsoError,
  type SsoFailure,
  safeReturnTo,
  startOidcSignIn,
  takeSignIn,
} from './oidc-sign-in.js';
import { finishOrganisationSignIn, type OrganisationSignedIn, startOrganisationSignIn } from './organisation-sign-in.js';

function toConfig(deps: AppDeps, provider: OidcProviderRecord, workspace: Workspace): OidcConfig {
  return {
    issuer: provider.issuer,
    clientId: provider.clientId,
    hasClientSecret: provider.clientSecretEncrypted !== null,
    defaultRole: provider.defaultRole,
    allowedDomains: provider.allowedDomains,
    redirectUri: `${deps.publicUrl}${OIDC_CALLBACK_PATH}`,
    signInPath: `${API_PREFIX}/auth/oidc/${workspace.slug}/start`,
    updatedAt: provider.updatedAt.toISOString(),
  };
}

async function workspaceOf(deps: AppDeps, id: string): Promise<Workspace> {
  const workspace = await getWorkspace(deps.sql, id);
  if (!workspace) throw new ApiError('unauthenticated', 'the workspace of this credential no longer exists');
  return workspace;
}

const invalid = (path: string, message: string) =>
  new ApiError('validation_failed', 'the single sign-on settings are invalid', { errors: [{ path, message }] });

export const ssoHandlers = {
  oidcConfigGet: async ({ principal, deps }) => {
    const provider = await getOidcProvider(deps.sql, principal.workspaceId);
    // Off is a state of the workspace's settings like any other, not a missing resource.
    if (!provider) return null;
    return toConfig(deps, provider, await workspaceOf(deps, principal.workspaceId));
  },

  oidcConfigPut: async ({ body, principal, deps }) => {
    const workspaceId = principal.workspaceId;
    try {
      // The form and the address are checked here; the issuer is first contacted when someone signs in.
      await deps.oidc.checkIssuerDestination(body.issuer);
    } catch (error) {
      if (error instanceof OidcError) throw invalid('body.issuer', error.message);
      throw error;
    }
    const allowedDomains = [...new Set(body.allowedDomains ?? [])];
    const defaultRole = body.defaultRole ?? null;
    if (defaultRole !== null && allowedDomains.length === 0) {
      throw invalid('body.allowedDomains', 'name the email domains whose people may join with the default role');
    }
    const existing = await getOidcProvider(deps.sql, workspaceId);
    let sealed = existing?.clientSecretEncrypted ?? null;
    if (body.clientSecret === null) sealed = null;
    else if (body.clientSecret !== undefined) {
      if (!deps.secretBox) {
        throw invalid(
          'body.clientSecret',
          'the server has no OUTPOST_SECRET_KEY to encrypt it with; set one, or use a public client',
        );
      }
      sealed = deps.secretBox.seal(body.clientSecret, workspaceId);
    }
    const provider = await upsertOidcProvider(deps.sql, {
      workspaceId,
      issuer: body.issuer,
      clientId: body.clientId,
      clientSecretEncrypted: sealed,
      defaultRole,
      allowedDomains,
    });
    return toConfig(deps, provider, await workspaceOf(deps, workspaceId));
  },

  oidcConfigDelete: async ({ principal, deps }) => {
    if (!(await deleteOidcProvider(deps.sql, principal.workspaceId))) throw notFound('single sign-on settings');
    return null;
  },
} satisfies Pick<Handlers, 'oidcConfigGet' | 'oidcConfigPut' | 'oidcConfigDelete'>;

// ---- the browser's side: redirects, no credential --------------------------------------------------

function stateCookie(value: string, maxAge: number, secure: boolean): string {
  return `${OIDC_STATE_COOKIE}=${value}; Path=${OIDC_COOKIE_PATH}; HttpOnly; SameSite=Lax; Max-Age=${maxAge}${secure ? '; Secure' : ''}`;
}

/** A query value as the handler reads it: the first, when a key is repeated. */
const first = (value: string | string[] | undefined): string | undefined => (Array.isArray(value) ? value[0] : value);

/** Where to land once signed in, from the start's query; anything but a dashboard path lands on `/`. */
const returnToOf = (url: URL): string => safeReturnTo(url.searchParams.get('returnTo') ?? undefined);

/**
 * A browser that navigated to a start lands back on the sign-in page with the reason; API clients get
 * the problem document. Either way a workspace or organisation without single sign-on looks like an
 * unknown one.
 */
const toSignInPage: Recover = (error, { url, header }) => {
  const code = errorCode(error);
  if (code === null || !/\btext\/html\b/.test(header('accept') ?? '')) return null;
  const failure: SsoFailure = code === 'not_found' ? 'sso_off' : code === 'rate_limited' ? 'sso_busy' : 'sso_unavailable';
  const returnTo = returnToOf(url);
  const next = returnTo === '/' ? '' : `&next=${encodeURIComponent(returnTo)}`;
  return redirectTo(`/#/sign-in?error=${failure}${next}`);
};

/**
 * What an organisation's sign-in changed in the person's roles: the keys of workspaces they lost are
 * forgotten here (identity/db/credentials.ts), and each workspace where their role from groups changed records
 * it, as a change of a group does (the workspace the session opens records the sign-in itself).
 */
function roleChangesOfSignIn(
  deps: AppDeps,
  audit: HandlerContext<'oidcSignInCallback'>['audit'],
  userId: string,
  changes: RoleChanges,
  openedIn: string | null,
): void {
  forgetRevokedKeys(deps.apiKeys, changes.revokedKeyIds);
  for (const changed of changes.workspaceIds) {
    if (changed === openedIn) continue;
    audit({
      workspaceId: changed,
      actorKind: 'user',
      actorId: userId,
      action: 'authOidcSignIn',
      targetIds: { userId },
      resultIds: {},
      summary: {
        through: 'organisation single sign-on',
        rolesFromGroups: { granted: changes.granted, changed: changes.changed, removed: changes.removed },
      },
    });
  }
}

/**
 * `GET /auth/oidc/:workspace/start?returnTo=/runs` sends the browser to the identity provider with
 * state, nonce and a PKCE challenge; `GET /auth/oidc/callback` comes back with the code, opens a
 * session and lands on the dashboard. The state cookie is SameSite=Lax: the callback is a top-level
 * navigation from the provider's site, which a Strict cookie would not accompany.
 */
export const oidcBrowserHandlers = {
  oidcSignInStart: {
    handle: async ({ params, url, deps, secure, setCookies }) => {
      // A workspace name that cannot exist is an unknown workspace, not a malformed request.
      const slug = Name.safeParse(params.workspace);
      if (!slug.success) throw notFound('single sign-on for this workspace');
      const { location, state } = await startOidcSignIn(deps, { workspaceSlug: slug.data, returnTo: returnToOf(url) });
      setCookies([stateCookie(state, OIDC_LOGIN_SECONDS, secure)]);
      return redirectTo(location);
    },
    recover: toSignInPage,
  },

  organisationSignInStart: {
    handle: async ({ params, url, deps, secure, setCookies }) => {
      const slug = Name.safeParse(params.org);
      if (!slug.success) throw notFound('single sign-on for this organisation');
      const workspace = Name.safeParse(url.searchParams.get('workspace') ?? undefined);
      const { location, state } = await startOrganisationSignIn(deps, {
        organisationSlug: slug.data,
        workspaceSlug: workspace.success ? workspace.data : undefined,
        returnTo: returnToOf(url),
      });
      setCookies([stateCookie(state, OIDC_LOGIN_SECONDS, secure)]);
      return redirectTo(location);
    },
    recover: toSignInPage,
  },

  oidcSignInCallback: async ({ query, header, deps, secure, logger, setCookies, audit }) => {
    const cleared = stateCookie('', 0, secure);
    const code = first(query.code);
    const state = first(query.state);
    let signedIn: OidcSignedIn | OrganisationSignedIn;
    try {
      if (query.error !== undefined || !code || !state || code.length > 4096 || state.length > 200) {
        throw new SsoError('sso_rejected', 'the identity provider did not sign the person in');
      }
      const login = await takeSignIn(deps, { state, cookieState: readCookie(header('cookie'), OIDC_STATE_COOKIE) });
      signedIn =
        login.organisationId === null
          ? await finishOidcSignIn(deps, login, code)
          : await finishOrganisationSignIn(deps, login, code);
    } catch (error) {
      if (!(error instanceof SsoError)) throw error;
      logger.warn({ err: error, failure: error.failure }, 'single sign-on failed');
      // A refused organisation sign-in may still have taken away roles its groups no longer grant.
      if (error.after) roleChangesOfSignIn(deps, audit, error.after.userId, error.after.changes, null);
      setCookies([cleared]);
      return redirectTo(`/#/sign-in?error=${error.failure}`);
    }
    const { opened, userId, workspaceId, returnTo, verifiedNow, accepted } = signedIn;
    const changes = 'changes' in signedIn ? (signedIn as OrganisationSignedIn).changes : null;
    if (changes) roleChangesOfSignIn(deps, audit, userId, changes, workspaceId);
    if (accepted) {
      audit({
        workspaceId,
        actorKind: 'user',
        actorId: userId,
        action: 'accountInvitationsAccept',
        targetIds: { userId },
        resultIds: {},
        summary: { through: 'single sign-on' },
      });
    }
    audit({
      workspaceId,
      actorKind: 'user',
      actorId: userId,
      action: 'authOidcSignIn',
      targetIds: { userId },
      resultIds: { sessionId: opened.principal.sessionId },
      summary: {
        ...(verifiedNow ? { emailVerified: true } : {}),
        ...(changes ? { through: 'organisation single sign-on' } : {}),
        ...(changes?.workspaceIds.includes(workspaceId)
          ? { rolesFromGroups: { granted: changes.granted, changed: changes.changed, removed: changes.removed } }
          : {}),
      },
    });
    logger.info({ sessionId: opened.principal.sessionId, userId }, 'single sign-on');
    setCookies([cleared, ...sessionCookies(opened, secure)]);
    return redirectTo(`/#${returnTo}`);
  },
} satisfies Pick<Handlers, 'oidcSignInStart' | 'organisationSignInStart' | 'oidcSignInCallback'>;
